// text.clean run through the real plugin host.
#include "support/stage_runner.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <string>
#include <vector>

using graft::testing::read_text;
using graft::testing::run_stage;
using graft::testing::StageRun;
using graft::testing::TempDir;
using graft::testing::write_text;
using nlohmann::json;

namespace {

// One JSONL line per text: {"text": t}.
std::string rows_of(const std::vector<std::string>& texts) {
    std::string out;
    for (const auto& t : texts) out += json{{"text", t}}.dump() + "\n";
    return out;
}

struct Cleaned {
    StageRun run;
    std::vector<json> rows;
    std::vector<std::string> texts() const {
        std::vector<std::string> t;
        for (const auto& r : rows) t.push_back(r.at("text").get<std::string>());
        return t;
    }
};

Cleaned clean(const TempDir& dir, const std::string& input, const json& params = json::object()) {
    write_text(dir / "in.jsonl", input);
    Cleaned c;
    c.run = run_stage("text.clean", params, {{"data", dir / "in.jsonl"}}, dir / "out");
    if (c.run.status != 0) return c;
    std::ifstream in(c.run.outputs.at("data"));
    std::string line;
    while (std::getline(in, line)) c.rows.push_back(json::parse(line));
    return c;
}

}  // namespace

TEST_CASE("text.clean strips HTML and decodes entities", "[text][clean]") {
    TempDir dir;
    auto c = clean(dir, rows_of({"a<br />b &amp; c&#39;s", "plain text"}));
    REQUIRE(c.run.status == 0);
    CHECK(c.texts() == std::vector<std::string>{"a b & c's", "plain text"});
    CHECK(c.run.metrics.at("html_stripped") == 1);

    TempDir raw;
    auto kept = clean(raw, rows_of({"a<br />b &amp; c"}), {{"strip_html", false}});
    REQUIRE(kept.run.status == 0);
    CHECK(kept.texts() == std::vector<std::string>{"a<br />b &amp; c"});
}

TEST_CASE("text.clean applies NFKC, NFC or no normalization", "[text][clean]") {
    // "ﬁne" with a ligature, full-width "１２３", and "e" + combining acute.
    const std::string input = rows_of({"\xEF\xAC\x81ne \xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93",
                                       "cafe\xCC\x81",
                                       // precomposed text around a ligature and a combining mark
                                       "\xC3\x9C" "ber \xEF\xAC\x81 re\xCC\x81sum\xC3\xA9"});
    TempDir d1, d2, d3;
    auto nfkc = clean(d1, input);
    REQUIRE(nfkc.run.status == 0);
    CHECK(nfkc.texts() == std::vector<std::string>{"fine 123", "caf\xC3\xA9",
                                                   "\xC3\x9C" "ber fi r\xC3\xA9sum\xC3\xA9"});

    auto nfc = clean(d2, input, {{"unicode", "NFC"}});
    REQUIRE(nfc.run.status == 0);
    CHECK(nfc.texts() == std::vector<std::string>{
                             "\xEF\xAC\x81ne \xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93", "caf\xC3\xA9",
                             "\xC3\x9C" "ber \xEF\xAC\x81 r\xC3\xA9sum\xC3\xA9"});

    auto none = clean(d3, input, {{"unicode", "none"}});
    REQUIRE(none.run.status == 0);
    CHECK(none.texts()[1] == "cafe\xCC\x81");
}

TEST_CASE("text.clean collapses whitespace and lower-cases on request", "[text][clean]") {
    TempDir d1, d2;
    const std::string input = rows_of({"  Hello \t\n  W\xC3\x96RLD\xC2\xA0 !  "});
    auto c = clean(d1, input, {{"lowercase", true}});
    REQUIRE(c.run.status == 0);
    CHECK(c.texts() == std::vector<std::string>{"hello w\xC3\xB6rld !"});

    auto raw = clean(d2, input, {{"normalize_whitespace", false}, {"unicode", "none"}});
    REQUIRE(raw.run.status == 0);
    CHECK(raw.texts() == std::vector<std::string>{"  Hello \t\n  W\xC3\x96RLD\xC2\xA0 !  "});
}

TEST_CASE("text.clean drops duplicates judged after cleaning", "[text][clean]") {
    TempDir dir;
    auto c = clean(dir, rows_of({"a  b", "a b", "<i>a</i> b", "c", "a b "}));
    REQUIRE(c.run.status == 0);
    CHECK(c.texts() == std::vector<std::string>{"a b", "c"});
    CHECK(c.run.metrics.at("rows_in") == 5);
    CHECK(c.run.metrics.at("rows_out") == 2);
    CHECK(c.run.metrics.at("dropped_duplicate") == 3);

    TempDir keep;
    auto all = clean(keep, rows_of({"a  b", "a b"}), {{"dedupe", false}});
    REQUIRE(all.run.status == 0);
    CHECK(all.rows.size() == 2);
    CHECK(all.run.metrics.at("dropped_duplicate") == 0);
}

TEST_CASE("text.clean filters by length and emptiness", "[text][clean]") {
    TempDir dir;
    // Lengths count code points: "\xC3\xA9\xC3\xA9\xC3\xA9" is 3 characters.
    auto c = clean(dir, rows_of({"", "   ", "ab", "abc", "\xC3\xA9\xC3\xA9\xC3\xA9", "abcdef",
                                 "<br>"}),
                   {{"min_chars", 3}, {"max_chars", 5}});
    REQUIRE(c.run.status == 0);
    CHECK(c.texts() == std::vector<std::string>{"abc", "\xC3\xA9\xC3\xA9\xC3\xA9"});
    CHECK(c.run.metrics.at("dropped_empty") == 3);
    CHECK(c.run.metrics.at("dropped_too_short") == 1);
    CHECK(c.run.metrics.at("dropped_too_long") == 1);

    TempDir keep;
    auto e = clean(keep, rows_of({"", "x"}), {{"drop_empty", false}, {"min_chars", 0}});
    REQUIRE(e.run.status == 0);
    CHECK(e.texts() == std::vector<std::string>{"", "x"});
}

TEST_CASE("text.clean replaces or drops invalid UTF-8", "[text][clean]") {
    // Raw JSONL with bytes that are not UTF-8 inside the string.
    const std::string input = "{\"text\": \"good\"}\n{\"text\": \"bad \xFF\xFE byte\"}\n"
                              "{\"text\": \"cut \xE2\x82\"}\n";
    TempDir d1, d2;
    auto rep = clean(d1, input);
    REQUIRE(rep.run.status == 0);
    CHECK(rep.texts() == std::vector<std::string>{"good", "bad \xEF\xBF\xBD\xEF\xBF\xBD byte",
                                                  "cut \xEF\xBF\xBD"});
    CHECK(rep.run.metrics.at("invalid_utf8_replaced") == 2);
    CHECK(rep.run.metrics.at("dropped_invalid_utf8") == 0);

    auto drop = clean(d2, input, {{"invalid_utf8", "drop"}});
    REQUIRE(drop.run.status == 0);
    CHECK(drop.texts() == std::vector<std::string>{"good"});
    CHECK(drop.run.metrics.at("dropped_invalid_utf8") == 2);
    CHECK(drop.run.metrics.at("invalid_utf8_replaced") == 0);
}

TEST_CASE("text.clean keeps other fields and can require labels", "[text][clean]") {
    TempDir dir;
    const std::string input =
        "{\"text\": \" x \", \"label\": \"pos\", \"id\": 7, \"meta\": {\"src\": \"imdb\"}}\n"
        "{\"text\": \"y\"}\n"
        "{\"text\": \"z\", \"label\": null}\n";
    auto c = clean(dir, input, {{"require_label", true}});
    REQUIRE(c.run.status == 0);
    REQUIRE(c.rows.size() == 1);
    CHECK(c.rows[0] ==
          json{{"text", "x"}, {"label", "pos"}, {"id", 7}, {"meta", {{"src", "imdb"}}}});
    CHECK(c.run.metrics.at("dropped_no_label") == 2);
}

TEST_CASE("text.clean uses the configured text field", "[text][clean]") {
    TempDir dir;
    auto c = clean(dir, "{\"review\": \"A&amp;B\", \"text\": \"untouched &amp;\"}\n",
                   {{"text_field", "review"}});
    REQUIRE(c.run.status == 0);
    REQUIRE(c.rows.size() == 1);
    CHECK(c.rows[0]["review"] == "A&B");
    CHECK(c.rows[0]["text"] == "untouched &amp;");
}

TEST_CASE("text.clean output is deterministic and in input order", "[text][clean]") {
    std::vector<std::string> texts;
    for (int i = 0; i < 2500; ++i) texts.push_back("row " + std::to_string((i * 7919) % 2000));
    const std::string input = rows_of(texts);
    TempDir d1, d2;
    auto a = clean(d1, input);
    auto b = clean(d2, input);
    REQUIRE(a.run.status == 0);
    REQUIRE(b.run.status == 0);
    CHECK(read_text(a.run.outputs.at("data")) == read_text(b.run.outputs.at("data")));
    // First occurrences survive, in input order.
    const auto kept = a.texts();
    REQUIRE(kept.size() == 2000);
    CHECK(std::equal(kept.begin(), kept.end(), texts.begin()));
    CHECK(a.run.metrics.at("dropped_duplicate") == 500);
    bool logged = false;
    for (const auto& l : a.run.logs) logged = logged || l.rfind("info: cleaned 2500 rows", 0) == 0;
    CHECK(logged);
}

TEST_CASE("text.clean fails on malformed JSONL naming file and line", "[text][clean]") {
    TempDir dir;
    auto c = clean(dir, "{\"text\": \"ok\"}\n\n{\"text\": \"broken\"\n");
    CHECK(c.run.status != 0);
    CHECK_THAT(c.run.error, Catch::Contains("in.jsonl:3:") && Catch::Contains("not valid JSON"));

    TempDir missing;
    auto m = clean(missing, "{\"body\": \"x\"}\n");
    CHECK(m.run.status != 0);
    CHECK_THAT(m.run.error, Catch::Contains("in.jsonl:1:") && Catch::Contains("'text'") &&
                                Catch::Contains("body"));
}

TEST_CASE("text.clean stops when the run is cancelled", "[text][clean]") {
    TempDir dir;
    write_text(dir / "in.jsonl", rows_of({"a", "b"}));
    const std::atomic<bool> cancel{true};
    auto run = run_stage("text.clean", json::object(), {{"data", dir / "in.jsonl"}}, dir / "out",
                         17, &cancel);
    CHECK(run.status != 0);
    CHECK_THAT(run.error, Catch::Contains("cancelled"));
}
