// text.concat run through the real plugin host.
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

struct Concat {
    StageRun run;
    std::vector<json> rows;
    std::vector<std::string> texts() const {
        std::vector<std::string> t;
        for (const auto& r : rows) t.push_back(r.at("text").get<std::string>());
        return t;
    }
};

// Writes each input as a JSONL file named after its port and runs text.concat on them.
Concat concat(const TempDir& dir, const std::map<std::string, std::vector<json>>& inputs,
              const json& params = json::object(), const std::string& out = "out") {
    std::map<std::string, fs::path> ports;
    for (const auto& [port, rows] : inputs) {
        std::string text;
        for (const auto& r : rows) text += r.dump() + "\n";
        const auto path = dir / (out + "-" + port + ".jsonl");
        write_text(path, text);
        ports[port] = path;
    }
    Concat c;
    c.run = run_stage("text.concat", params, ports, dir / out);
    if (c.run.status != 0) return c;
    std::ifstream in(c.run.outputs.at("data"));
    std::string line;
    while (std::getline(in, line)) c.rows.push_back(json::parse(line));
    return c;
}

json labeled(const std::string& text, const std::string& label) {
    return {{"text", text}, {"label", label}};
}

}  // namespace

TEST_CASE("text.concat joins inputs in port-name order and keeps every field by default",
          "[text][concat]") {
    TempDir dir;
    const auto c = concat(dir, {{"b_books", {{{"text", "Call me Ishmael."}, {"source", "c1"}}}},
                                {"a_reviews", {labeled("Great film", "pos"),
                                               labeled("Awful", "neg")}}});
    REQUIRE(c.run.status == 0);
    const std::vector<json> expected = {labeled("Great film", "pos"), labeled("Awful", "neg"),
                                        {{"text", "Call me Ishmael."}, {"source", "c1"}}};
    CHECK(c.rows == expected);
    CHECK(c.run.metrics.at("rows_in_a_reviews") == 2);
    CHECK(c.run.metrics.at("rows_in_b_books") == 1);
    CHECK(c.run.metrics.at("rows_out") == 3);
    CHECK(c.run.metrics.at("dropped_duplicate") == 0);
    CHECK(c.run.metrics.at("dropped_excluded") == 0);
}

TEST_CASE("text.concat keep_fields = [\"text\"] turns labeled rows into plain text",
          "[text][concat]") {
    TempDir dir;
    const auto c = concat(dir,
                          {{"reviews", {labeled("Great film", "pos"),
                                        {{"text", "Meh"}, {"label", "neg"}, {"id", 7}}}}},
                          {{"keep_fields", {"text"}}});
    REQUIRE(c.run.status == 0);
    CHECK(c.rows == std::vector<json>{{{"text", "Great film"}}, {{"text", "Meh"}}});

    // Other fields can be kept too; the text field always is.
    const auto ids = concat(dir, {{"reviews", {{{"body", "x"}, {"label", "pos"}, {"id", 1}}}}},
                            {{"text_field", "body"}, {"keep_fields", {"id", "missing"}}}, "ids");
    REQUIRE(ids.run.status == 0);
    CHECK(ids.rows == std::vector<json>{{{"body", "x"}, {"id", 1}}});
    bool warned = false;
    for (const auto& l : ids.run.logs)
        warned = warned || (l.rfind("warn:", 0) == 0 && l.find("'missing'") != std::string::npos);
    CHECK(warned);
}

TEST_CASE("text.concat drops duplicate texts across inputs after whitespace normalization",
          "[text][concat]") {
    TempDir dir;
    const std::map<std::string, std::vector<json>> inputs = {
        {"a", {labeled("Same  text", "pos"), labeled("Unique", "neg")}},
        {"b", {{{"text", " Same\ttext\n"}}, {{"text", "Same text"}}, {{"text", "Other"}}}}};
    const auto c = concat(dir, inputs);
    REQUIRE(c.run.status == 0);
    // The first occurrence is kept, unchanged.
    CHECK(c.texts() == std::vector<std::string>{"Same  text", "Unique", "Other"});
    CHECK(c.run.metrics.at("dropped_duplicate") == 2);
    CHECK(c.run.metrics.at("rows_out") == 3);

    const auto all = concat(dir, inputs, {{"dedupe", false}}, "all");
    REQUIRE(all.run.status == 0);
    CHECK(all.rows.size() == 5);
    CHECK(all.run.metrics.at("dropped_duplicate") == 0);
}

TEST_CASE("text.concat exclude_ports drops every text seen in the excluded inputs",
          "[text][concat]") {
    TempDir dir;
    // The leakage guard: no test review may appear in the pretraining text.
    const auto c = concat(dir,
                          {{"unlabeled", {{{"text", "A test review."}},
                                          {{"text", "Pretraining text."}},
                                          {{"text", "Another  test\nreview."}}}},
                           {"train", {labeled("Train review.", "pos"),
                                      labeled("A test review.", "neg")}},
                           {"test", {labeled("A test review.", "pos"),
                                     labeled("Another test review.", "neg")}}},
                          {{"exclude_ports", {"test"}}, {"keep_fields", {"text"}}});
    REQUIRE(c.run.status == 0);
    CHECK(c.texts() == std::vector<std::string>{"Train review.", "Pretraining text."});
    CHECK(c.run.metrics.at("dropped_excluded") == 3);
    CHECK(c.run.metrics.at("rows_in_test") == 2);
    CHECK(c.run.metrics.at("rows_in_train") == 2);
    CHECK(c.run.metrics.at("rows_in_unlabeled") == 3);
    CHECK(c.run.metrics.at("rows_out") == 2);
    for (const auto& row : c.rows) CHECK(row.at("text") != "A test review.");
}

TEST_CASE("text.concat explains bad inputs and parameters", "[text][concat]") {
    TempDir dir;
    const auto typo = concat(dir, {{"train", {labeled("a", "pos")}}, {"test", {labeled("b", "x")}}},
                             {{"exclude_ports", {"tset"}}}, "typo");
    CHECK(typo.run.status != 0);
    CHECK_THAT(typo.run.error, Catch::Contains("'tset'") && Catch::Contains("test, train"));

    const auto only = concat(dir, {{"test", {labeled("b", "x")}}}, {{"exclude_ports", {"test"}}},
                             "only");
    CHECK(only.run.status != 0);
    CHECK_THAT(only.run.error, Catch::Contains("nothing would be written"));

    const auto none = concat(dir, {}, json::object(), "none");
    CHECK(none.run.status != 0);
    CHECK_THAT(none.run.error, Catch::Contains("no inputs"));

    const auto no_text = concat(dir, {{"raw", {labeled("a", "pos"), {{"body", "b"}}}}},
                                json::object(), "notext");
    CHECK(no_text.run.status != 0);
    CHECK_THAT(no_text.run.error, Catch::Contains("input 'raw'") && Catch::Contains(":2:") &&
                                      Catch::Contains("no 'text' field"));

    const auto number = concat(dir, {{"raw", {{{"text", 5}}}}}, json::object(), "number");
    CHECK(number.run.status != 0);
    CHECK_THAT(number.run.error, Catch::Contains("is a number, expected a string"));
}
