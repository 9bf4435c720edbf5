// The `augment` stage run through the real plugin host: deterministic for a seed (whatever the
// thread count), labels and other fields never changed, copies marked, errors located.
#include "support/stage_runner.hpp"
#include "support/temp_dir.hpp"
#include "wordnet_fixture.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <map>
#include <set>
#include <sstream>

using graft::testing::read_text;
using graft::testing::run_stage;
using graft::testing::StageRun;
using graft::testing::TempDir;
using graft::testing::write_text;
using Catch::Matchers::Contains;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<json> rows_of(const fs::path& file) {
    std::vector<json> out;
    std::istringstream in(read_text(file));
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(json::parse(line));
    return out;
}

// The stage with `threads` worker threads (run_stage always gives one).
StageRun run_with_threads(const json& params, const fs::path& input, const fs::path& out_dir,
                          std::uint64_t seed, int threads) {
    using namespace graft;
    PluginHost& host = testing::test_plugin_host();
    const StageDescriptor* d = host.find("augment");
    REQUIRE(d);
    StageRunSpec spec;
    spec.stage_id = "augment";
    spec.params_json = apply_param_defaults(*d, params).dump();
    spec.inputs = {{"data", input}};
    spec.outputs = {{"data", out_dir / "data"}};
    spec.scratch_dir = out_dir / ".scratch";
    spec.pipeline_dir = out_dir;
    spec.seed = seed;
    spec.threads = threads;
    fs::create_directories(spec.scratch_dir);
    StageRun run;
    run.outputs = spec.outputs;
    StageContext ctx(spec, [](abi::LogLevel, const std::string&) {},
                     [](std::uint64_t, std::uint64_t, const std::string&) {});
    StageHandle stage = host.create("augment");
    run.status = stage->run(ctx);
    run.error = ctx.error();
    run.metrics = ctx.metrics();
    return run;
}

const char* const kTexts[] = {
    "The film was great and the actor could run fast",
    "A good dog, a good film.",
    "I would not watch this movie again",
    "FILM night with the dog",
    "Run, actor, run!",
    "nothing here has a synonym at all",
};

struct Fixture {
    TempDir dir{"augment"};
    fs::path wordnet = dir / "wordnet";
    fs::path input = dir / "in.jsonl";
    Fixture() {
        graft::augment::test::write_wordnet(wordnet);
        std::string text;
        for (int rep = 0; rep < 8; ++rep)
            for (std::size_t i = 0; i < std::size(kTexts); ++i) {
                const auto id = rep * std::size(kTexts) + i;
                json row = {{"id", id},
                            {"text", kTexts[i]},
                            {"label", id % 3 == 0 ? "pos" : id % 3 == 1 ? "neg" : "neutral"},
                            {"meta", {{"source", "test"}, {"n", id}}}};
                if (id % 5 == 0) row["label"] = static_cast<int>(id % 2);  // numeric labels too
                text += row.dump() + "\n";
            }
        write_text(input, text);
    }
    json params(json extra = json::object()) const {
        json p = {{"wordnet", wordnet.string()}, {"per_example", 4}};
        for (auto& [k, v] : extra.items()) p[k] = v;
        return p;
    }
    StageRun run(const fs::path& out, json extra = json::object(), std::uint64_t seed = 17) const {
        fs::create_directories(out);
        return run_stage("augment", params(std::move(extra)), {{"data", input}}, out, seed);
    }
};

}  // namespace

TEST_CASE("augmentation is deterministic for a seed and never changes labels",
          "[augment][stage]") {
    Fixture f;
    const StageRun a = f.run(f.dir / "a");
    REQUIRE(a.status == 0);
    const StageRun b = f.run(f.dir / "b");
    REQUIRE(b.status == 0);
    const std::string out_a = read_text(a.outputs.at("data"));
    CHECK(out_a == read_text(b.outputs.at("data")));  // byte for byte
    CHECK(a.metrics == b.metrics);

    // Thread count changes nothing.
    fs::create_directories(f.dir / "t4");
    const StageRun t4 = run_with_threads(f.params(), f.input, f.dir / "t4", 17, 4);
    REQUIRE(t4.status == 0);
    CHECK(read_text(t4.outputs.at("data")) == out_a);

    // Another seed gives other copies.
    const StageRun c = f.run(f.dir / "c", json::object(), 18);
    REQUIRE(c.status == 0);
    CHECK(read_text(c.outputs.at("data")) != out_a);

    // Every output row is an input row (original, marked false) or a copy of the original
    // just before its copies: same id, label and other fields; only text and the mark differ.
    const std::vector<json> in = rows_of(f.input);
    const std::vector<json> out = rows_of(a.outputs.at("data"));
    std::map<std::int64_t, json> by_id;
    for (const auto& r : in) by_id[r["id"].get<std::int64_t>()] = r;
    std::size_t originals = 0, copies = 0, changed_text = 0;
    std::int64_t current = -1;
    for (const auto& r : out) {
        REQUIRE(r.contains("augmented"));
        const auto id = r["id"].get<std::int64_t>();
        const json& src = by_id.at(id);
        CHECK(r["label"] == src["label"]);
        CHECK(r["label"].type() == src["label"].type());
        CHECK(r["meta"] == src["meta"]);
        CHECK(r.size() == src.size() + 1);  // the mark is the only new field
        if (r["augmented"] == false) {
            CHECK(r["text"] == src["text"]);
            current = id;
            ++originals;
        } else {
            REQUIRE(r["augmented"] == true);
            CHECK(id == current);  // copies follow their original
            CHECK(r["text"] != src["text"]);
            ++copies;
            ++changed_text;
        }
    }
    CHECK(originals == in.size());
    CHECK(copies > in.size() * 3);  // 4 asked per row; only unchanged ones are dropped
    CHECK(a.metrics.at("rows_in") == static_cast<double>(in.size()));
    CHECK(a.metrics.at("rows_out") == static_cast<double>(out.size()));
    CHECK(a.metrics.at("copies") == static_cast<double>(copies));
    CHECK(a.metrics.at("copies") + a.metrics.at("copies_unchanged") == 4.0 * in.size());
    CHECK(a.metrics.at("copies_synonym") + a.metrics.at("copies_insert") +
              a.metrics.at("copies_swap") + a.metrics.at("copies_delete") ==
          a.metrics.at("copies"));
    for (const char* op : {"synonym", "insert", "swap", "delete"}) {
        CHECK(a.metrics.at(fmt::format("copies_{}", op)) > 0);
        CHECK(a.metrics.at(fmt::format("words_{}", op)) >= a.metrics.at(fmt::format("copies_{}", op)));
    }
    // "nothing here has a synonym at all": 5 looked-up words (not "at", "all"...), no synonyms.
    CHECK(a.metrics.at("words_no_synonym") > 0);
    CHECK(a.metrics.at("words_looked_up") > a.metrics.at("words_no_synonym"));
}

TEST_CASE("augment: one operation, keep_original, mark_field and a fixed seed",
          "[augment][stage]") {
    Fixture f;
    SECTION("synonyms only: the copies' words come from the text or WordNet") {
        const StageRun r = f.run(f.dir / "syn", {{"insert_rate", 0.0},
                                                 {"swap_rate", 0.0},
                                                 {"delete_prob", 0.0},
                                                 {"keep_original", false},
                                                 {"mark_field", "is_aug"}});
        REQUIRE(r.status == 0);
        const auto out = rows_of(r.outputs.at("data"));
        REQUIRE_FALSE(out.empty());
        for (const auto& row : out) {
            CHECK(row["is_aug"] == true);
            CHECK_FALSE(row.contains("augmented"));
        }
        CHECK(r.metrics.at("copies") == r.metrics.at("copies_synonym"));
        CHECK(r.metrics.at("copies_swap") == 0);
        // The row without synonyms got no copies.
        for (const auto& row : out) CHECK(row["text"] != "nothing here has a synonym at all");
    }
    SECTION("swap and delete only: WordNet is not read") {
        const StageRun r = f.run(f.dir / "nown", {{"synonym_rate", 0.0},
                                                  {"insert_rate", 0.0},
                                                  {"wordnet", (f.dir / "nowhere").string()}});
        REQUIRE(r.status == 0);
        CHECK(r.metrics.count("words_no_synonym") == 0);
        CHECK(r.metrics.at("copies_synonym") == 0);
    }
    SECTION("per_example = 0 only marks the rows") {
        const StageRun r = f.run(f.dir / "zero", {{"per_example", 0}});
        REQUIRE(r.status == 0);
        CHECK(read_text(r.outputs.at("data")).find("\"augmented\":true") == std::string::npos);
        CHECK(r.metrics.at("rows_out") == r.metrics.at("rows_in"));
    }
    SECTION("seed >= 0 replaces the pipeline's stage seed") {
        const StageRun a = f.run(f.dir / "s1", {{"seed", 5}}, 1);
        const StageRun b = f.run(f.dir / "s2", {{"seed", 5}}, 2);
        REQUIRE(a.status == 0);
        REQUIRE(b.status == 0);
        CHECK(read_text(a.outputs.at("data")) == read_text(b.outputs.at("data")));
    }
}

TEST_CASE("augment reports bad input and bad params with a fix", "[augment][stage]") {
    Fixture f;
    SECTION("missing text field: file and line") {
        write_text(f.input, "{\"text\": \"a film\", \"label\": 1}\n{\"label\": 0}\n");
        const StageRun r = f.run(f.dir / "o");
        CHECK(r.status != 0);
        CHECK_THAT(r.error, Contains("in.jsonl:2: field 'text' is missing"));
    }
    SECTION("mark field clash") {
        write_text(f.input, "{\"text\": \"a film\", \"augmented\": \"yes\"}\n");
        const StageRun r = f.run(f.dir / "o");
        CHECK(r.status != 0);
        CHECK_THAT(r.error, Contains("in.jsonl:1:") && Contains("set mark_field to another name"));
    }
    SECTION("no WordNet: says how to install it") {
        const StageRun r = f.run(f.dir / "o", {{"wordnet", (f.dir / "nowhere").string()}});
        CHECK(r.status != 0);
        CHECK_THAT(r.error, Contains("apt-get install wordnet-base"));
    }
    SECTION("every operation disabled") {
        const StageRun r = f.run(f.dir / "o", {{"synonym_rate", 0.0},
                                               {"insert_rate", 0.0},
                                               {"swap_rate", 0.0},
                                               {"delete_prob", 0.0}});
        CHECK(r.status != 0);
        CHECK_THAT(r.error, Contains("no operation is enabled"));
    }
    SECTION("mark_field equal to text_field") {
        const StageRun r = f.run(f.dir / "o", {{"mark_field", "text"}});
        CHECK(r.status != 0);
        CHECK_THAT(r.error, Contains("choose another mark_field"));
    }
}

TEST_CASE("augment's output is declared augmented, split refuses augmented input",
          "[augment][stage]") {
    auto& host = graft::testing::test_plugin_host();
    const auto* aug = host.find("augment");
    REQUIRE(aug);
    CHECK(aug->find_output("data")->augmented);
    const auto* split = host.find("split");
    REQUIRE(split);
    CHECK(split->find_input("data")->refuses_augmented);

    // At run time split refuses rows marked augmented (e.g. augmented rows passed as a file).
    Fixture f;
    const StageRun a = f.run(f.dir / "a");
    REQUIRE(a.status == 0);
    fs::create_directories(f.dir / "s");
    const StageRun s =
        run_stage("split", json::object(), {{"data", a.outputs.at("data")}}, f.dir / "s");
    CHECK(s.status != 0);
    CHECK_THAT(s.error, Contains("marked \"augmented\": true") &&
                            Contains("augment only the train output"));
}

TEST_CASE("augment with Debian's WordNet", "[augment][stage][system]") {
    if (!fs::exists("/usr/share/wordnet/index.noun")) {
        WARN("skipped: wordnet-base is not installed (/usr/share/wordnet)");
        return;
    }
    TempDir dir("augment-wn");
    write_text(dir / "in.jsonl",
               "{\"id\": 0, \"text\": \"This movie was a wonderful surprise, the acting "
               "superb.\", \"label\": \"pos\"}\n"
               "{\"id\": 1, \"text\": \"Boring plot and terrible dialogue.\", \"label\": "
               "\"neg\"}\n");
    fs::create_directories(dir / "o");
    const StageRun r = run_stage("augment",
                                 {{"per_example", 8}, {"insert_rate", 0.0}, {"swap_rate", 0.0},
                                  {"delete_prob", 0.0}},
                                 {{"data", dir / "in.jsonl"}}, dir / "o");
    REQUIRE(r.status == 0);
    const auto out = rows_of(r.outputs.at("data"));
    std::set<std::string> texts;
    for (const auto& row : out) {
        if (row["augmented"] == true) texts.insert(row["text"].get<std::string>());
        CHECK(row["label"] == (row["id"] == 0 ? "pos" : "neg"));
    }
    CHECK(texts.size() >= 8);  // distinct replacements for 2 rows x 8 copies
    CHECK(r.metrics.at("copies_synonym") >= 8);
    CHECK(r.metrics.at("words_looked_up") > 0);
}
