// text.import run through the real plugin host.
#include "support/stage_runner.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using graft::testing::run_stage;
using graft::testing::StageRun;
using graft::testing::TempDir;
using graft::testing::write_text;
using nlohmann::json;
namespace fs = std::filesystem;

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

namespace {

struct TextImport {
    StageRun run;
    std::vector<json> rows;
    std::vector<std::string> texts() const {
        std::vector<std::string> t;
        for (const auto& r : rows) t.push_back(r.at("text").get<std::string>());
        return t;
    }
};

// Runs text.import on `inputs` (port -> path) and reads its rows.
TextImport import_text(const TempDir& dir, const std::map<std::string, fs::path>& inputs,
                       const json& params = json::object(), const std::string& out = "out") {
    TextImport r;
    r.run = run_stage("text.import", params, inputs, dir / out);
    if (r.run.status != 0) return r;
    std::ifstream in(r.run.outputs.at("data"));
    std::string line;
    while (std::getline(in, line)) r.rows.push_back(json::parse(line));
    return r;
}

// A small corpus: nested files, a non-.txt file, CRLF, a byte order mark, blank lines made of
// spaces, an indented continuation line.
void write_corpus(const TempDir& dir) {
    write_text(dir / "corpus/b.txt", "\xEF\xBB\xBF" "First para\r\nsame para.\r\n\r\nSecond.\r\n");
    write_text(dir / "corpus/a.txt", "  Alpha one.\n    indented.\n \t \n\n\nAlpha two.");
    write_text(dir / "corpus/sub/c.txt", "x\n\nLonger third file.\n");
    write_text(dir / "corpus/notes.md", "not a text file\n");
    write_text(dir / "corpus/empty.txt", "\n  \n");
}

}  // namespace

TEST_CASE("text.import reads a directory of .txt files by paragraph, in path order",
          "[text][import][plain]") {
    TempDir dir;
    write_corpus(dir);
    auto r = import_text(dir, {{"dir", dir / "corpus"}}, {{"format", "text"}});
    REQUIRE(r.run.status == 0);
    const std::vector<json> expected = {
        {{"text", "Alpha one.\n    indented."}, {"source", "a.txt"}},
        {{"text", "Alpha two."}, {"source", "a.txt"}},
        {{"text", "First para\nsame para."}, {"source", "b.txt"}},
        {{"text", "Second."}, {"source", "b.txt"}},
        {{"text", "x"}, {"source", "sub/c.txt"}},
        {{"text", "Longer third file."}, {"source", "sub/c.txt"}}};
    CHECK(r.rows == expected);
    CHECK(r.run.metrics.at("rows") == 6);
    CHECK(r.run.metrics.at("files") == 4);  // empty.txt counts, notes.md does not
    CHECK(r.run.metrics.at("dropped_too_short") == 0);

    // format "auto" picks "text" for a directory; min_chars drops short segments.
    auto m = import_text(dir, {{"dir", dir / "corpus"}}, {{"min_chars", 8}}, "min");
    REQUIRE(m.run.status == 0);
    CHECK(m.texts() == std::vector<std::string>{"Alpha one.\n    indented.", "Alpha two.",
                                                "First para\nsame para.", "Longer third file."});
    CHECK(m.run.metrics.at("dropped_too_short") == 2);
}

TEST_CASE("text.import segments plain text by line or by file", "[text][import][plain]") {
    TempDir dir;
    write_corpus(dir);
    auto lines = import_text(dir, {{"dir", dir / "corpus"}},
                             {{"format", "text"}, {"segment", "line"}, {"label_field", "s"}},
                             "lines");
    REQUIRE(lines.run.status == 0);
    CHECK(lines.texts() == std::vector<std::string>{"Alpha one.", "indented.", "Alpha two.",
                                                    "First para", "same para.", "Second.", "x",
                                                    "Longer third file."});
    for (const auto& row : lines.rows) CHECK(!row.contains("label"));  // label_field ignored

    auto files = import_text(dir, {{"dir", dir / "corpus"}}, {{"segment", "file"}}, "files");
    REQUIRE(files.run.status == 0);
    REQUIRE(files.rows.size() == 3);  // empty.txt has no text
    CHECK(files.rows[0] == json{{"text", "Alpha one.\n    indented.\n \t \n\n\nAlpha two."},
                                {"source", "a.txt"}});
    CHECK(files.rows[1].at("text") == "First para\nsame para.\n\nSecond.");
    CHECK(files.rows[2].at("source") == "sub/c.txt");
}

TEST_CASE("text.import reads one .txt file through `data`", "[text][import][plain]") {
    TempDir dir;
    write_text(dir / "book.txt", "Call me Ishmael.\n\nSome years ago\xFF never mind.\n");
    auto r = import_text(dir, {{"data", dir / "book.txt"}});  // auto: .txt is plain text
    REQUIRE(r.run.status == 0);
    REQUIRE(r.rows.size() == 2);
    CHECK(r.rows[0] == json{{"text", "Call me Ishmael."}, {"source", "book.txt"}});
    CHECK(r.rows[1].at("text") == "Some years ago\xEF\xBF\xBD never mind.");
    CHECK(r.run.metrics.at("invalid_utf8_replaced") == 1);
    CHECK(r.run.metrics.at("files") == 1);
}

TEST_CASE("text.import needs exactly one of data and dir, and .txt files in a directory",
          "[text][import][plain]") {
    TempDir dir;
    write_corpus(dir);
    write_text(dir / "one.txt", "hello\n");
    write_text(dir / "nothing/readme.md", "no text files here\n");

    auto both = import_text(dir, {{"data", dir / "one.txt"}, {"dir", dir / "corpus"}}, json::object(), "a");
    CHECK(both.run.status != 0);
    CHECK_THAT(both.run.error, Catch::Contains("both inputs") && Catch::Contains("only one"));

    auto none = import_text(dir, {}, json::object(), "b");
    CHECK(none.run.status != 0);
    CHECK_THAT(none.run.error, Catch::Contains("no input") && Catch::Contains("`dir`"));

    auto empty = import_text(dir, {{"dir", dir / "nothing"}}, json::object(), "c");
    CHECK(empty.run.status != 0);
    CHECK_THAT(empty.run.error, Catch::Contains("no .txt files under") &&
                                    Catch::Contains("nothing"));

    auto csv = import_text(dir, {{"dir", dir / "corpus"}}, {{"format", "csv"}}, "d");
    CHECK(csv.run.status != 0);
    CHECK_THAT(csv.run.error, Catch::Contains("is a directory") &&
                                  Catch::Contains("format = \"text\""));

    auto file_as_dir = import_text(dir, {{"dir", dir / "one.txt"}}, json::object(), "e");
    CHECK(file_as_dir.run.status != 0);
    CHECK_THAT(file_as_dir.run.error, Catch::Contains("not a directory"));

    auto segment = import_text(dir, {{"data", dir / "one.txt"}}, {{"segment", "sentence"}}, "f");
    CHECK(segment.run.status != 0);
    CHECK_THAT(segment.run.error, Catch::Contains("segment = \"sentence\""));
}

// The public-domain corpora fetched by scripts/setup.sh (CI runs it first); missing data fails.
TEST_CASE("text.import reads the State of the Union and Moby-Dick corpora",
          "[text][import][plain][data]") {
    const fs::path sotu = fs::path(GRAFT_SOURCE_DIR) / "data/sotu/data";
    const fs::path moby = fs::path(GRAFT_SOURCE_DIR) / "data/moby-dick/data";
    INFO("data/sotu and data/moby-dick come from scripts/setup.sh: run it first");
    REQUIRE(fs::is_directory(sotu));
    REQUIRE(fs::is_directory(moby));
    TempDir dir;
    auto s = import_text(dir, {{"dir", sotu}}, json::object(), "sotu");
    REQUIRE(s.run.status == 0);
    CHECK(s.run.metrics.at("files") == 233);
    CHECK(s.run.metrics.at("rows") >= 233);
    CHECK(s.rows.front().at("source") == "1790_george_washington_n.txt");
    CHECK_THAT(s.rows.front().at("text").get<std::string>(),
               Catch::StartsWith("Fellow-Citizens of the Senate"));

    auto m = import_text(dir, {{"dir", moby}}, json::object(), "moby");
    REQUIRE(m.run.status == 0);
    CHECK(m.run.metrics.at("rows") > 1000);  // paragraphs
    bool ishmael = false;
    for (const auto& row : m.rows)
        ishmael = ishmael || (row.at("source") == "chapter_1.txt" &&
                              row.at("text").get<std::string>().rfind("Call me Ishmael.", 0) == 0);
    CHECK(ishmael);
}
