// StageContext (the host side of abi::Context) and apply_param_defaults.
#include "core/plugin/stage_context.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace graft;

namespace {

StageRunSpec sample_spec() {
    StageRunSpec spec;
    spec.stage_id = "clean";
    spec.params_json = R"({"min_chars":5,"lowercase":true})";
    spec.inputs = {{"data", "/w/data/raw.jsonl"}, {"aux", "/w/aux dir"}};
    spec.outputs = {{"out", "/w/.graft/tmp/out"}, {"report", "/w/.graft/tmp/report.json"}};
    spec.scratch_dir = "/w/.graft/scratch/clean";
    spec.pipeline_dir = "/w";
    spec.seed = 0xfeedbeefcafeULL;
    spec.threads = 6;
    return spec;
}

bool equals(const char* got, const char* want) {
    return got != nullptr && std::strcmp(got, want) == 0;
}

StageContext quiet_context(StageRunSpec spec) {
    return StageContext(std::move(spec), nullptr, nullptr);
}

ParamSpec param(std::string name, std::string type, std::optional<json> def) {
    ParamSpec p;
    p.name = std::move(name);
    p.type = std::move(type);
    p.required = !def.has_value();
    p.default_value = std::move(def);
    return p;
}

}  // namespace

TEST_CASE("StageContext hands the run spec to the plugin unchanged", "[plugin][context]") {
    StageContext ctx = quiet_context(sample_spec());
    CHECK(equals(ctx.params_json(), R"({"min_chars":5,"lowercase":true})"));
    CHECK(equals(ctx.stage_id(), "clean"));
    CHECK(equals(ctx.scratch_dir(), "/w/.graft/scratch/clean"));
    CHECK(equals(ctx.pipeline_dir(), "/w"));
    CHECK(ctx.seed() == 0xfeedbeefcafeULL);
    CHECK(ctx.threads() == 6);

    CHECK(equals(ctx.input("data"), "/w/data/raw.jsonl"));
    CHECK(equals(ctx.input("aux"), "/w/aux dir"));
    CHECK(ctx.input("missing") == nullptr);
    CHECK(ctx.input(nullptr) == nullptr);

    CHECK(equals(ctx.output("out"), "/w/.graft/tmp/out"));
    CHECK(equals(ctx.output("report"), "/w/.graft/tmp/report.json"));
    CHECK(ctx.output("data") == nullptr);  // an input port is not an output
    CHECK(ctx.output(nullptr) == nullptr);
}

TEST_CASE("StageContext lists bound input ports in name order", "[plugin][context]") {
    StageContext ctx = quiet_context(sample_spec());
    REQUIRE(ctx.input_count() == 2);
    CHECK(equals(ctx.input_name(0), "aux"));
    CHECK(equals(ctx.input_name(1), "data"));
    CHECK(ctx.input_name(2) == nullptr);

    StageRunSpec none = sample_spec();
    none.inputs.clear();
    StageContext empty = quiet_context(std::move(none));
    CHECK(empty.input_count() == 0);
    CHECK(empty.input_name(0) == nullptr);
}

TEST_CASE("StageContext reports cancellation from the shared flag", "[plugin][context]") {
    CHECK_FALSE(quiet_context(sample_spec()).cancelled());  // no flag: never cancelled

    std::atomic<bool> cancel{false};
    StageRunSpec spec = sample_spec();
    spec.cancel = &cancel;
    StageContext ctx = quiet_context(std::move(spec));
    CHECK_FALSE(ctx.cancelled());
    cancel = true;
    CHECK(ctx.cancelled());
}

TEST_CASE("StageContext forwards logs and progress to the sinks", "[plugin][context]") {
    std::vector<std::pair<abi::LogLevel, std::string>> logs;
    std::vector<std::string> progress;
    StageContext ctx(
        sample_spec(), [&](abi::LogLevel l, const std::string& m) { logs.emplace_back(l, m); },
        [&](std::uint64_t done, std::uint64_t total, const std::string& unit) {
            progress.push_back(std::to_string(done) + "/" + std::to_string(total) + " " + unit);
        });
    ctx.log(abi::LogLevel::warn, "careful");
    ctx.log(abi::LogLevel::debug, nullptr);
    ctx.progress(3, 10, "rows");
    ctx.progress(4, 0, nullptr);
    REQUIRE(logs.size() == 2);
    CHECK(logs[0] == std::pair<abi::LogLevel, std::string>{abi::LogLevel::warn, "careful"});
    CHECK(logs[1] == std::pair<abi::LogLevel, std::string>{abi::LogLevel::debug, ""});
    CHECK(progress == std::vector<std::string>{"3/10 rows", "4/0 "});
}

TEST_CASE("a throwing sink never reaches the plugin", "[plugin][context]") {
    StageContext ctx(
        sample_spec(), [](abi::LogLevel, const std::string&) { throw std::runtime_error("log"); },
        [](std::uint64_t, std::uint64_t, const std::string&) {
            throw std::runtime_error("progress");
        });
    // The methods are noexcept: an escaping exception would terminate the test binary.
    ctx.log(abi::LogLevel::info, "hello");
    ctx.progress(1, 2, "rows");
    CHECK(ctx.error().empty());
}

TEST_CASE("StageContext collects metrics and the failure reason", "[plugin][context]") {
    StageContext ctx = quiet_context(sample_spec());
    CHECK(ctx.metrics().empty());
    CHECK(ctx.error().empty());
    ctx.metric("accuracy", 0.5);
    ctx.metric("rows", 10);
    ctx.metric("accuracy", 0.75);  // the last value wins
    ctx.metric(nullptr, 1.0);      // ignored
    CHECK(ctx.metrics() == std::map<std::string, double>{{"accuracy", 0.75}, {"rows", 10.0}});

    ctx.fail("bad input on line 3");
    CHECK(ctx.error() == "bad input on line 3");
    ctx.fail(nullptr);
    CHECK(ctx.error() == "stage failed");
}

TEST_CASE("apply_param_defaults fills every missing param that has a default",
          "[plugin][defaults]") {
    StageDescriptor d;
    d.type = "demo";
    d.params = {param("min_chars", "int", json(1)), param("field", "string", json("text")),
                param("label", "string", json()),  // null default: present, null
                param("cmd", "string", std::nullopt)};

    const json given = {{"min_chars", 5}, {"extra", true}};
    const json out = apply_param_defaults(d, given);
    CHECK(out == json{{"min_chars", 5}, {"extra", true}, {"field", "text"}, {"label", nullptr}});
    CHECK_FALSE(out.contains("cmd"));  // required: nothing to fill in
    CHECK(given == json{{"min_chars", 5}, {"extra", true}});  // the input is not modified

    const json from_null = apply_param_defaults(d, json());
    CHECK(from_null == json{{"min_chars", 1}, {"field", "text"}, {"label", nullptr}});
}
