#include "core/spec/diagnostic.hpp"

#include <catch2/catch.hpp>

using namespace graft;

TEST_CASE("format_diagnostic gives file:line:col, key, message, expected and hint",
          "[spec][diagnostic]") {
    Diagnostic d{{"pipeline.toml", 12, 10},
                 "stages.split.params.ratio",
                 "unknown parameter of stage type 'split'",
                 "one of: ratios, stratify, method",
                 "did you mean 'ratios'?"};
    CHECK(format_diagnostic(d) ==
          "pipeline.toml:12:10: error: stages.split.params.ratio: unknown parameter of stage type "
          "'split' (expected one of: ratios, stratify, method)\n  hint: did you mean 'ratios'?");
}

TEST_CASE("format_diagnostic leaves out what is unknown", "[spec][diagnostic]") {
    CHECK(format_diagnostic({{"p.toml", 0, 0}, "stages", "no stages", "", ""}) ==
          "p.toml: error: stages: no stages");
    CHECK(format_diagnostic({{"p.toml", 3, 0}, "", "bad", "", ""}) == "p.toml:3: error: bad");
    CHECK(format_diagnostic({{}, "", "bad", "", ""}) == "error: bad");
}

TEST_CASE("format_diagnostic names the --set override for command-line locations",
          "[spec][diagnostic]") {
    Diagnostic d{{"<command line>", 0, 2}, "stages.x.params.n", "wrong type", "int", ""};
    CHECK(format_diagnostic(d) ==
          "<command line>: --set #2: error: stages.x.params.n: wrong type (expected int)");
    // Other command-line problems (no override index) name only the command line.
    CHECK(format_diagnostic({{"<command line>", 0, 0}, "trian", "no stage 'trian'", "", ""}) ==
          "<command line>: error: trian: no stage 'trian'");
}

TEST_CASE("PipelineError carries every diagnostic and formats them all", "[spec][diagnostic]") {
    PipelineError e(
        {{{"a.toml", 1, 1}, "k1", "first", "", ""}, {{"a.toml", 2, 1}, "k2", "second", "", ""}});
    REQUIRE(e.diagnostics().size() == 2);
    const std::string what = e.what();
    CHECK(what.find("a.toml:1:1: error: k1: first") != std::string::npos);
    CHECK(what.find("a.toml:2:1: error: k2: second") != std::string::npos);
    PipelineError single(Diagnostic{{"b.toml", 4, 2}, "k", "only", "", ""});
    CHECK(single.diagnostics().size() == 1);
    CHECK(std::string(single.what()) == "b.toml:4:2: error: k: only");
}

TEST_CASE("did_you_mean finds typos by Damerau-Levenshtein distance", "[spec][diagnostic]") {
    const std::vector<std::string> c = {"ratios", "stratify", "method"};
    CHECK(did_you_mean("ratio", c) == "ratios");   // deletion
    CHECK(did_you_mean("rtaios", c) == "ratios");  // one transposition
    CHECK(did_you_mean("RATIOS", c) == "ratios");  // case-insensitive
    CHECK(did_you_mean("methdo", c) == "method");
    CHECK_FALSE(did_you_mean("learning_rate", c));  // nothing close
    CHECK_FALSE(did_you_mean("x", {}));
    // Threshold max(1, len/3): 'abcdef' allows 2 edits, 'abc' only 1.
    CHECK(did_you_mean("abcdef", {"abcxyf"}) == "abcxyf");
    CHECK_FALSE(did_you_mean("abcdef", {"axcxyf"}));
    CHECK_FALSE(did_you_mean("abc", {"xyc"}));
}

TEST_CASE("did_you_mean breaks ties by candidate order", "[spec][diagnostic]") {
    CHECK(did_you_mean("cat", {"bat", "hat"}) == "bat");
    CHECK(did_you_mean("cat", {"hat", "bat"}) == "hat");
    CHECK(did_you_mean("cat", {"hat", "cat"}) == "cat");  // exact beats earlier near miss
}

TEST_CASE("did_you_mean_hint phrases the suggestion or stays empty", "[spec][diagnostic]") {
    CHECK(did_you_mean_hint("claen", {"split", "clean"}) == "did you mean 'clean'?");
    CHECK(did_you_mean_hint("zzzzzz", {"split", "clean"}).empty());
}
