// End-to-end golden run: the IMDb-like flow (tests/e2e/pipelines/imdb_like.toml) on a fixed
// 40-review fixture. Every stage is seeded, so the metrics and the split are exact.
#include "e2e/e2e_support.hpp"

#include <set>

namespace graft::e2e {
namespace {

// The IMDb npm package's shape: [{"t": text, "s": 0|1}]. 20 negative, 20 positive reviews.
// Duplicates after cleaning (the first occurrence is kept):
//   neg: "A slow, dull film." (<br /><br /> vs a space), "The plot makes no sense at all." (exact)
//   pos: "One of the best movies..." (exact), "I laughed..." (extra spaces),
//        "Wonderful acting..." (<br /> vs a space), "Easily the funniest..." (exact)
// Shorter than min_chars = 12: "Bad.", "Awful!" (neg), "Great!" (pos).
// HTML in 5 rows. Left: 16 neg + 15 pos = 31 rows. Stratified 60/20/20 with largest-remainder
// rounding per class: neg 9.6/3.2/3.2 -> 10/3/3, pos 9/3/3 -> train 19, val 6, test 6.
constexpr const char* kReviews = R"([
{"t": "A slow, dull film.<br /><br />I nearly fell asleep twice.", "s": 0},
{"t": "One of the best movies I have seen this year.", "s": 1},
{"t": "The plot makes no sense at all.", "s": 0},
{"t": "Wonderful acting and a moving score.<br />Go see it.", "s": 1},
{"t": "Bad.", "s": 0},
{"t": "I laughed from start to finish.", "s": 1},
{"t": "The dialogue is wooden and the pacing drags.", "s": 0},
{"t": "A beautiful story, <i>beautifully</i> told.", "s": 1},
{"t": "One of the best movies I have seen this year.", "s": 1},
{"t": "Two hours I will never get back.", "s": 0},
{"t": "The cast clearly had fun, and so did I.", "s": 1},
{"t": "A slow, dull film. I nearly fell asleep twice.", "s": 0},
{"t": "Predictable from the very first scene.", "s": 0},
{"t": "Great!", "s": 1},
{"t": "Sharp writing and a clever twist at the end.", "s": 1},
{"t": "The special effects look cheap.<br /><br />Skip it.", "s": 0},
{"t": "I   laughed from   start to finish.", "s": 1},
{"t": "Awful!", "s": 0},
{"t": "A heartfelt film the whole family can enjoy.", "s": 1},
{"t": "The lead actor seems bored in every scene.", "s": 0},
{"t": "Stunning visuals and a story with real heart.", "s": 1},
{"t": "The plot makes no sense at all.", "s": 0},
{"t": "Easily the funniest comedy of the decade.", "s": 1},
{"t": "Too long, too loud and too stupid.", "s": 0},
{"t": "A masterpiece.<br /><br />Ten out of ten.", "s": 1},
{"t": "I walked out halfway through.", "s": 0},
{"t": "The soundtrack alone is worth the ticket.", "s": 1},
{"t": "Flat characters and a muddled script.", "s": 0},
{"t": "Wonderful acting and a moving score. Go see it.", "s": 1},
{"t": "A sequel nobody asked for.", "s": 0},
{"t": "Touching, funny and wise.", "s": 1},
{"t": "The jokes fall flat every single time.", "s": 0},
{"t": "I would happily watch it again tomorrow.", "s": 1},
{"t": "Even the trailer was better than this.", "s": 0},
{"t": "A charming little gem of a film.", "s": 1},
{"t": "The ending ruins whatever came before.", "s": 0},
{"t": "Easily the funniest comedy of the decade.", "s": 1},
{"t": "Poorly shot and badly edited.", "s": 0},
{"t": "A crowd pleaser with brains.", "s": 1},
{"t": "Not even the music could save it.", "s": 0}
]
)";

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
    std::vector<nlohmann::json> rows;
    for (const auto& line : lines_starting(read_text(p), "{"))
        rows.push_back(nlohmann::json::parse(line));
    return rows;
}

void run_golden(const Project& p) {
    p.write("data/imdb.json", kReviews);
    const RunResult r = p.run();
    INFO(describe(r));
    REQUIRE(r.code == 0);
    for (const char* id : {"import", "clean", "split"}) CHECK(status_of(r.err, id) == "ran");
}

TEST_CASE("golden: IMDb-like import -> clean -> stratified split gives exact metrics", "[e2e]") {
    Project p(golden_pipeline("imdb_like.toml"));
    run_golden(p);

    const RunResult m = p.graft("metrics", {"--json"});
    INFO(describe(m));
    REQUIRE(m.code == 0);
    const auto j = nlohmann::json::parse(m.out, nullptr, false);
    REQUIRE(j.is_object());
    const std::map<std::string, std::map<std::string, double>> expected = {
        {"import", {{"rows", 40}, {"invalid_utf8_replaced", 0}}},
        {"clean",
         {{"rows_in", 40}, {"rows_out", 31}, {"dropped_duplicate", 6}, {"dropped_too_short", 3},
          {"dropped_empty", 0}, {"dropped_too_long", 0}, {"html_stripped", 5}}},
        {"split", {{"rows", 31}, {"train", 19}, {"val", 6}, {"test", 6}, {"classes", 2}}},
    };
    for (const auto& [stage, metrics] : expected) {
        for (const auto& [name, value] : metrics) {
            INFO(stage << "." << name);
            REQUIRE(j.contains(stage));
            REQUIRE(j[stage].contains(name));
            CHECK(j[stage][name].get<double>() == value);
        }
    }

    // The split outputs themselves: sizes, class balance, cleaned text, no row lost or doubled.
    const auto lock = p.lock();
    const auto& outs = lock["stages"]["split"]["outputs"];
    std::map<std::string, std::map<std::string, int>> labels;  // split -> label -> rows
    std::multiset<std::string> texts;
    for (const char* part : {"train", "val", "test"}) {
        for (const auto& row : read_jsonl(p.object_path(outs[part].get<std::string>()))) {
            ++labels[part][row["label"].get<std::string>()];
            texts.insert(row["text"].get<std::string>());
        }
    }
    CHECK(labels["train"] == std::map<std::string, int>{{"neg", 10}, {"pos", 9}});
    CHECK(labels["val"] == std::map<std::string, int>{{"neg", 3}, {"pos", 3}});
    CHECK(labels["test"] == std::map<std::string, int>{{"neg", 3}, {"pos", 3}});
    CHECK(texts.size() == 31);
    CHECK(std::set<std::string>(texts.begin(), texts.end()).size() == 31);  // deduplicated
    CHECK(texts.count("A slow, dull film. I nearly fell asleep twice.") == 1);
    CHECK(texts.count("A beautiful story, beautifully told.") == 1);
    CHECK(texts.count("Bad.") == 0);
    for (const auto& t : texts) CHECK(t.find('<') == std::string::npos);
}

TEST_CASE("golden: the same data gives byte-identical artifacts in a fresh workspace", "[e2e]") {
    Project a(golden_pipeline("imdb_like.toml"));
    Project b(golden_pipeline("imdb_like.toml"));
    run_golden(a);
    run_golden(b);
    const auto la = a.lock(), lb = b.lock();
    for (const char* id : {"import", "clean", "split"}) {
        INFO("stage " << id);
        CHECK(la["stages"][id]["key"] == lb["stages"][id]["key"]);
        CHECK(la["stages"][id]["outputs"] == lb["stages"][id]["outputs"]);
    }
}

}  // namespace
}  // namespace graft::e2e
