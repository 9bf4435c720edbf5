// End-to-end: exclusive stages never overlap, whatever -j says; ordinary ones do.
#include "e2e/e2e_support.hpp"

#include <fmt/format.h>

#include <map>
#include <sstream>
#include <string>

namespace graft::e2e {
namespace {

// Two independent shell stages that log start and end times (ns) to ../times.log and sleep in
// between; `flag` goes beside `uses` in both.
std::string two_sleepers(const std::string& flag) {
    std::string out = "[pipeline]\nname = \"excl\"\n";
    for (const char* id : {"a", "b"}) {
        out += fmt::format(
            "[stages.{0}]\nuses = \"shell\"\n{1}\n[stages.{0}.params]\n"
            "cmd = \"echo start {0} $(date +%s%N) >> ../times.log; sleep 0.6; "
            "echo end {0} $(date +%s%N) >> ../times.log; echo {0} > {{out}}/done\"\n",
            id, flag);
    }
    return out;
}

struct Span {
    long long start = 0, end = 0;
};

// Parses "start a T" / "end a T" lines into one span per stage.
std::map<std::string, Span> spans(const Project& p) {
    std::map<std::string, Span> out;
    for (const auto& line : p.lines("times.log")) {
        std::istringstream in(line);
        std::string what, id;
        long long t = 0;
        in >> what >> id >> t;
        (what == "start" ? out[id].start : out[id].end) = t;
    }
    return out;
}

bool overlap(const Span& x, const Span& y) { return x.start < y.end && y.start < x.end; }

}  // namespace

TEST_CASE("exclusive stages run one at a time under -j2, ordinary ones in parallel", "[e2e][exclusive]") {
    SECTION("exclusive = true") {
        Project p(two_sleepers("exclusive = true"));
        const RunResult r = p.run({"-j", "2"});
        INFO(describe(r));
        REQUIRE(r.code == 0);
        const auto s = spans(p);
        REQUIRE(s.size() == 2);
        CHECK_FALSE(overlap(s.at("a"), s.at("b")));
    }
    SECTION("control: without it the two overlap") {
        Project p(two_sleepers(""));
        const RunResult r = p.run({"-j", "2"});
        INFO(describe(r));
        REQUIRE(r.code == 0);
        const auto s = spans(p);
        REQUIRE(s.size() == 2);
        CHECK(overlap(s.at("a"), s.at("b")));
    }
}

}  // namespace graft::e2e
