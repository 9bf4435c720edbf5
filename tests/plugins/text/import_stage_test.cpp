// text.import run through the real plugin host.
#include "support/stage_runner.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

using graft::testing::run_stage;
using graft::testing::StageRun;
using graft::testing::TempDir;
using graft::testing::write_text;
using nlohmann::json;

namespace {

struct Imported {
    StageRun run;
    std::vector<json> rows;
};

Imported import_file(const TempDir& dir, const std::string& name, const std::string& content,
                     const json& params = json::object()) {
    write_text(dir / name, content);
    Imported r;
    r.run = run_stage("text.import", params, {{"data", dir / name}}, dir / "out");
    if (r.run.status != 0) return r;
    std::ifstream in(r.run.outputs.at("data"));
    std::string line;
    while (std::getline(in, line)) r.rows.push_back(json::parse(line));
    return r;
}

const json kImdbMap = {{"0", "neg"}, {"1", "pos"}};

}  // namespace

TEST_CASE("text.import reads a JSON array with t/s fields and a label_map", "[text][import]") {
    TempDir dir;
    auto r = import_file(dir, "imdb.json",
                         R"([{"t": "Great film", "s": 1}, {"t": "Awful", "s": 0, "id": 9}])",
                         {{"text_field", "t"}, {"label_field", "s"}, {"label_map", kImdbMap}});
    REQUIRE(r.run.status == 0);
    REQUIRE(r.rows.size() == 2);
    CHECK(r.rows[0] == json{{"text", "Great film"}, {"label", "pos"}});
    CHECK(r.rows[1] == json{{"text", "Awful"}, {"label", "neg"}, {"id", 9}});
    CHECK(r.run.metrics.at("rows") == 2);
}

TEST_CASE("text.import fails on a label missing from label_map", "[text][import]") {
    TempDir dir;
    auto r = import_file(dir, "imdb.json", R"([{"t": "a", "s": 1}, {"t": "b", "s": 2}])",
                         {{"text_field", "t"}, {"label_field", "s"}, {"label_map", kImdbMap}});
    CHECK(r.run.status != 0);
    CHECK_THAT(r.run.error, Catch::Contains("imdb.json") && Catch::Contains("element 2") &&
                                Catch::Contains("'2'") && Catch::Contains("label_map"));
}

TEST_CASE("text.import reads RFC 4180 CSV with quoted commas and newlines", "[text][import]") {
    TempDir dir;
    const std::string csv = "review,sentiment,year\r\n"
                            "\"Good, really \"\"good\"\"\",positive,2001\r\n"
                            "\"Line one\nline two\",negative,2002\r\n";
    auto r = import_file(dir, "reviews.csv", csv,
                         {{"text_field", "review"}, {"label_field", "sentiment"}});
    REQUIRE(r.run.status == 0);
    REQUIRE(r.rows.size() == 2);
    CHECK(r.rows[0] == json{{"text", "Good, really \"good\""}, {"label", "positive"},
                            {"year", "2001"}});
    CHECK(r.rows[1] == json{{"text", "Line one\nline two"}, {"label", "negative"},
                            {"year", "2002"}});

    TempDir lean;
    auto k = import_file(lean, "reviews.csv", csv,
                         {{"text_field", "review"}, {"label_field", "sentiment"},
                          {"keep_fields", false}});
    REQUIRE(k.run.status == 0);
    CHECK(k.rows[0] == json{{"text", "Good, really \"good\""}, {"label", "positive"}});
}

TEST_CASE("text.import reads TSV, with or without a header", "[text][import]") {
    TempDir dir;
    auto r = import_file(dir, "data.tsv", "text\tlabel\nhello, world\t1\nbye\t0\n",
                         {{"label_map", kImdbMap}});
    REQUIRE(r.run.status == 0);
    REQUIRE(r.rows.size() == 2);
    CHECK(r.rows[0] == json{{"text", "hello, world"}, {"label", "pos"}});
    CHECK(r.rows[1] == json{{"text", "bye"}, {"label", "neg"}});

    TempDir bare;
    auto b = import_file(bare, "data.tsv", "1\tfirst\n0\tsecond\n",
                         {{"header", false}, {"text_field", "1"}, {"label_field", "0"}});
    REQUIRE(b.run.status == 0);
    REQUIRE(b.rows.size() == 2);
    CHECK(b.rows[1] == json{{"text", "second"}, {"label", "0"}});
}

TEST_CASE("text.import reports CSV problems with file and line", "[text][import]") {
    TempDir d1, d2;
    auto ragged = import_file(d1, "bad.csv", "text,label\na,pos\nb,c,neg\n");
    CHECK(ragged.run.status != 0);
    CHECK_THAT(ragged.run.error, Catch::Contains("bad.csv:3") && Catch::Contains("3 fields"));

    auto open_quote = import_file(d2, "bad.csv", "text,label\n\"never closed,pos\n");
    CHECK(open_quote.run.status != 0);
    CHECK_THAT(open_quote.run.error,
               Catch::Contains("bad.csv:2") && Catch::Contains("never closed"));
}

TEST_CASE("text.import converts JSONL and supports unlabeled data", "[text][import]") {
    TempDir dir;
    auto r = import_file(dir, "u.jsonl", "{\"body\": \"x\", \"label\": \"old\", \"n\": 1}\n\n",
                         {{"text_field", "body"}, {"label_field", ""}});
    REQUIRE(r.run.status == 0);
    REQUIRE(r.rows.size() == 1);
    // With label_field = "" no label is written, not even the source's "label" field.
    CHECK(r.rows[0] == json{{"text", "x"}, {"n", 1}});
}

TEST_CASE("text.import explains missing fields and unknown formats", "[text][import]") {
    TempDir d1, d2, d3;
    auto no_label =
        import_file(d1, "a.jsonl", "{\"text\": \"x\", \"label\": 1}\n{\"text\": \"y\"}\n");
    CHECK(no_label.run.status != 0);
    CHECK_THAT(no_label.run.error, Catch::Contains("a.jsonl:2") && Catch::Contains("'label'"));

    auto ext = import_file(d2, "data.parquet", "PAR1");
    CHECK(ext.run.status != 0);
    CHECK_THAT(ext.run.error, Catch::Contains(".parquet") && Catch::Contains("format"));

    auto not_array = import_file(d3, "obj.json", "{\"text\": \"x\"}");
    CHECK(not_array.run.status != 0);
    CHECK_THAT(not_array.run.error, Catch::Contains("obj.json") && Catch::Contains("array"));
}
