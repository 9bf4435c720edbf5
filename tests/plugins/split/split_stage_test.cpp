// The `split` stage run through the real plugin host, as the executor runs it.
#include "support/stage_runner.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using graft::testing::read_text;
using graft::testing::run_stage;
using graft::testing::StageRun;
using graft::testing::TempDir;
using graft::testing::write_text;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const fs::path& file) {
    std::vector<std::string> out;
    std::istringstream in(read_text(file));
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

// Row i: {"id":i,"label":...,"group":...}; `label_of` / `group_of` may return "" for none.
template <class LabelFn>
fs::path dataset(const TempDir& dir, std::size_t n, LabelFn label_of,
                 const std::string& name = "data.jsonl") {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) {
        json row = {{"id", i}, {"text", fmt::format("row {}", i)}};
        const auto [label, group] = label_of(i);
        if (!label.empty()) row["label"] = label;
        if (!group.empty()) row["group"] = group;
        text += row.dump() + "\n";
    }
    const auto path = dir / name;
    write_text(path, text);
    return path;
}

fs::path plain_dataset(const TempDir& dir, std::size_t n) {
    return dataset(dir, n, [](std::size_t) { return std::pair<std::string, std::string>{}; });
}

// 90 % "neg", 10 % "pos" (every 10th row).
fs::path imbalanced_dataset(const TempDir& dir, std::size_t n) {
    return dataset(dir, n, [](std::size_t i) {
        return std::pair<std::string, std::string>{i % 10 == 3 ? "pos" : "neg", ""};
    });
}

StageRun split(const TempDir& dir, const fs::path& data, const json& params,
               const std::string& out = "out", std::uint64_t seed = 17) {
    fs::create_directories(dir / out);
    return run_stage("split", params, {{"data", data}}, dir / out, seed);
}

std::vector<std::string> part(const StageRun& run, const std::string& name) {
    return lines_of(run.outputs.at(name));
}

std::size_t id_of(const std::string& line) { return json::parse(line).at("id").get<std::size_t>(); }

std::map<std::string, std::size_t> label_counts(const std::vector<std::string>& lines) {
    std::map<std::string, std::size_t> counts;
    for (const auto& l : lines) ++counts[json::parse(l).at("label").get<std::string>()];
    return counts;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

std::vector<std::string> concat(std::initializer_list<std::vector<std::string>> parts) {
    std::vector<std::string> all;
    for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
    return all;
}

bool in_input_order(const std::vector<std::string>& lines) {
    for (std::size_t i = 1; i < lines.size(); ++i)
        if (id_of(lines[i - 1]) >= id_of(lines[i])) return false;
    return true;
}

}  // namespace

TEST_CASE("split: sizes are exact for several n and ratios", "[split][stage]") {
    TempDir dir;
    struct Case {
        std::size_t n;
        json ratios;
        std::size_t train, val, test;
    };
    const std::vector<Case> cases = {{10, {0.8, 0.1, 0.1}, 8, 1, 1},
                                     {7, {0.5, 0.5}, 4, 3, 0},
                                     {101, {0.7, 0.2, 0.1}, 71, 20, 10},
                                     {3, {0.6, 0.2, 0.2}, 2, 1, 0},
                                     {0, {0.8, 0.1, 0.1}, 0, 0, 0}};
    for (std::size_t k = 0; k < cases.size(); ++k) {
        const auto& c = cases[k];
        INFO("n = " << c.n << ", ratios = " << c.ratios.dump());
        const auto data = plain_dataset(dir, c.n);
        const auto run = split(dir, data, {{"ratios", c.ratios}}, fmt::format("out{}", k));
        REQUIRE(run.status == 0);
        CHECK(part(run, "train").size() == c.train);
        CHECK(part(run, "val").size() == c.val);
        CHECK(part(run, "test").size() == c.test);
        CHECK(fs::exists(run.outputs.at("test")));
        CHECK(fs::exists(run.outputs.at("rest")));  // written, and empty, with ratios
        CHECK(part(run, "rest").empty());
        CHECK(run.metrics.at("rest") == 0);
        CHECK(run.metrics.at("rows") == static_cast<double>(c.n));
        CHECK(run.metrics.at("train") == static_cast<double>(c.train));
        CHECK(run.metrics.at("val") == static_cast<double>(c.val));
        CHECK(run.metrics.at("test") == static_cast<double>(c.test));
        CHECK(fs::is_empty(run.outputs.at("folds")));  // only kfold fills it
    }
}

TEST_CASE("split: every row lands in exactly one split, in input order", "[split][stage]") {
    TempDir dir;
    const auto data = plain_dataset(dir, 57);
    const auto run = split(dir, data, json::object());
    REQUIRE(run.status == 0);
    const auto train = part(run, "train"), val = part(run, "val"), test = part(run, "test");
    CHECK(sorted(concat({train, val, test})) == sorted(lines_of(data)));
    CHECK(in_input_order(train));
    CHECK(in_input_order(val));
    CHECK(in_input_order(test));
    // Shuffled: the train rows are not just the first 46 of the input.
    CHECK(id_of(train.back()) != 45);
}

TEST_CASE("split: rows are copied byte for byte, blank lines skipped", "[split][stage]") {
    TempDir dir;
    const auto data = dir / "data.jsonl";
    write_text(data, "{\"z\": 1,  \"a\": 0.10}\r\n\n{\"id\":2}\n   \n{\"b\":[1, 2]}\n");
    const auto run = split(dir, data, {{"ratios", {1.0, 0.0}}});
    REQUIRE(run.status == 0);
    CHECK(part(run, "train") ==
          std::vector<std::string>{"{\"z\": 1,  \"a\": 0.10}", "{\"id\":2}", "{\"b\":[1, 2]}"});
    CHECK(part(run, "val").empty());
}

TEST_CASE("split: deterministic for a seed, different for another", "[split][stage]") {
    TempDir dir;
    const auto data = plain_dataset(dir, 100);
    const auto a = split(dir, data, {{"seed", 5}}, "a");
    const auto b = split(dir, data, {{"seed", 5}}, "b");
    const auto c = split(dir, data, {{"seed", 6}}, "c");
    REQUIRE((a.status == 0 && b.status == 0 && c.status == 0));
    CHECK(part(a, "train") == part(b, "train"));
    CHECK(part(a, "val") == part(b, "val"));
    CHECK(part(a, "test") == part(b, "test"));
    CHECK(part(a, "val") != part(c, "val"));

    // seed = -1 follows the stage seed handed over by the host.
    const auto d = split(dir, data, json::object(), "d", 17);
    const auto e = split(dir, data, json::object(), "e", 17);
    const auto f = split(dir, data, json::object(), "f", 18);
    CHECK(part(d, "val") == part(e, "val"));
    CHECK(part(d, "val") != part(f, "val"));

    // shuffle = false: a plain cut in input order.
    const auto g = split(dir, data, {{"shuffle", false}}, "g");
    CHECK(id_of(part(g, "train").back()) == 79);
    CHECK(id_of(part(g, "val").front()) == 80);
    CHECK(id_of(part(g, "test").front()) == 90);
}

TEST_CASE("split: stratified keeps class proportions within one row", "[split][stage]") {
    TempDir dir;
    const auto data = imbalanced_dataset(dir, 100);  // 90 neg, 10 pos
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        // The example: method "random" with stratify set splits stratified.
        const auto run = split(dir, data, {{"ratios", {0.8, 0.1, 0.1}}, {"stratify", "label"}},
                               fmt::format("s{}", seed), seed);
        REQUIRE(run.status == 0);
        CHECK(label_counts(part(run, "train")) == std::map<std::string, std::size_t>{
                                                      {"neg", 72}, {"pos", 8}});
        CHECK(label_counts(part(run, "val")) ==
              std::map<std::string, std::size_t>{{"neg", 9}, {"pos", 1}});
        CHECK(label_counts(part(run, "test")) ==
              std::map<std::string, std::size_t>{{"neg", 9}, {"pos", 1}});
        CHECK(run.metrics.at("classes") == 2);
    }

    // Odd sizes: every class within one row of its quota, totals still exact.
    const auto odd = imbalanced_dataset(dir, 73);  // 7 pos, 66 neg
    const auto run = split(dir, odd, {{"method", "stratified"}, {"stratify", "label"},
                                      {"ratios", {0.6, 0.25, 0.15}}},
                           "odd");
    REQUIRE(run.status == 0);
    const std::map<std::string, double> sizes = {{"neg", 66}, {"pos", 7}};
    const std::vector<double> ratios = {0.6, 0.25, 0.15};
    const std::vector<std::size_t> totals = {44, 18, 11};  // 43.8, 18.25, 10.95
    const char* names[] = {"train", "val", "test"};
    for (std::size_t s = 0; s < 3; ++s) {
        const auto lines = part(run, names[s]);
        CHECK(lines.size() == totals[s]);
        auto counts = label_counts(lines);
        for (const auto& [label, size] : sizes)
            CHECK(std::fabs(static_cast<double>(counts[label]) - size * ratios[s]) < 1.0);
    }
}

TEST_CASE("split: stratified without shuffle differs from random cut", "[split][stage]") {
    TempDir dir;
    // All positives at the end: a plain cut would put them all in test.
    const auto data = dataset(dir, 20, [](std::size_t i) {
        return std::pair<std::string, std::string>{i >= 16 ? "pos" : "neg", ""};
    });
    const auto run = split(dir, data,
                           {{"stratify", "label"}, {"shuffle", false}, {"ratios", {0.5, 0.5}}});
    REQUIRE(run.status == 0);
    CHECK(label_counts(part(run, "train")) ==
          std::map<std::string, std::size_t>{{"neg", 8}, {"pos", 2}});
    CHECK(label_counts(part(run, "val")) ==
          std::map<std::string, std::size_t>{{"neg", 8}, {"pos", 2}});
    bool logged = false;
    for (const auto& l : run.logs)
        logged = logged || l.find("stratified by 'label'") != std::string::npos;
    CHECK(logged);
}

TEST_CASE("split: kfold folds partition the non-test rows, val is fold i", "[split][stage]") {
    TempDir dir;
    const auto data = plain_dataset(dir, 50);
    std::vector<std::string> first_test;
    for (int fold = 0; fold < 4; ++fold) {
        INFO("fold " << fold);
        const auto run = split(dir, data,
                               {{"method", "kfold"}, {"folds", 4}, {"fold", fold},
                                {"ratios", {0.8, 0.1, 0.1}}},
                               fmt::format("k{}", fold));
        REQUIRE(run.status == 0);
        const auto folds_dir = run.outputs.at("folds");
        std::vector<std::vector<std::string>> folds;
        for (int f = 0; f < 4; ++f)
            folds.push_back(lines_of(folds_dir / fmt::format("fold-{}.jsonl", f)));
        CHECK(!fs::exists(folds_dir / "fold-4.jsonl"));
        const auto test = part(run, "test");
        CHECK(test.size() == 5);
        if (fold == 0) first_test = test;
        CHECK(test == first_test);  // the held-out test set does not depend on the fold
        CHECK(sorted(concat({folds[0], folds[1], folds[2], folds[3], test})) ==
              sorted(lines_of(data)));
        std::vector<std::size_t> sizes;
        for (const auto& f : folds) sizes.push_back(f.size());
        CHECK(sizes == std::vector<std::size_t>{12, 11, 11, 11});
        CHECK(part(run, "val") == folds[static_cast<std::size_t>(fold)]);
        std::vector<std::string> rest;
        for (int f = 0; f < 4; ++f)
            if (f != fold) rest = concat({rest, folds[static_cast<std::size_t>(f)]});
        CHECK(sorted(part(run, "train")) == sorted(rest));
        CHECK(in_input_order(part(run, "train")));
    }
}

TEST_CASE("split: stratified kfold balances classes across folds", "[split][stage]") {
    TempDir dir;
    const auto data = imbalanced_dataset(dir, 100);  // 90 neg, 10 pos
    const auto run = split(dir, data,
                           {{"method", "kfold"}, {"folds", 3}, {"stratify", "label"},
                            {"ratios", {0.8, 0.1, 0.1}}});
    REQUIRE(run.status == 0);
    CHECK(label_counts(part(run, "test")) ==
          std::map<std::string, std::size_t>{{"neg", 9}, {"pos", 1}});
    for (int f = 0; f < 3; ++f) {
        const auto fold = run.outputs.at("folds") / fmt::format("fold-{}.jsonl", f);
        auto counts = label_counts(lines_of(fold));
        CHECK(std::fabs(static_cast<double>(counts["neg"]) - 81.0 / 3) < 1.0);
        CHECK(std::fabs(static_cast<double>(counts["pos"]) - 9.0 / 3) < 1.0);
    }
}

TEST_CASE("split: group_by keeps groups together", "[split][stage]") {
    TempDir dir;
    // 30 groups of 1..5 rows; labels by group parity, with a few mixed groups.
    const auto data = dataset(dir, 90, [](std::size_t i) {
        const std::size_t g = (i * 7) % 30;
        return std::pair<std::string, std::string>{(g % 2 == 0) != (i % 11 == 0) ? "a" : "b",
                                                   fmt::format("g{}", g)};
    });
    int runs = 0;
    for (const json& extra : {json::object(), json{{"stratify", "label"}},
                              json{{"method", "kfold"}, {"folds", 3}}}) {
        for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
            INFO("params " << extra.dump() << ", seed " << seed);
            json params = extra;
            params["group_by"] = "group";
            const auto run = split(dir, data, params, fmt::format("g{}", runs++), seed);
            REQUIRE(run.status == 0);
            std::map<std::string, std::set<std::string>> where;  // group -> splits
            std::size_t total = 0;
            for (const char* name : {"train", "val", "test"})
                for (const auto& l : part(run, name)) {
                    where[json::parse(l).at("group").get<std::string>()].insert(name);
                    ++total;
                }
            CHECK(total == 90);
            CHECK(where.size() == 30);
            for (const auto& [g, splits] : where) CHECK(splits.size() == 1);
            CHECK(run.metrics.at("groups") == 30);
            CHECK(run.metrics.at("train") > 50);  // roughly 80 %
        }
    }
}

TEST_CASE("split: bad ratios fail with a clear message", "[split][stage]") {
    TempDir dir;
    const auto data = plain_dataset(dir, 10);
    const auto sum = split(dir, data, {{"ratios", {0.8, 0.05, 0.05}}}, "a");
    CHECK(sum.status != 0);
    CHECK_THAT(sum.error, Catch::Contains("sum to 0.9;") && Catch::Contains("must sum to 1"));
    const auto neg = split(dir, data, {{"ratios", {1.1, -0.1}}}, "b");
    CHECK(neg.status != 0);
    CHECK_THAT(neg.error, Catch::Contains("ratios[1] (val) = -0.1 is negative"));
    const auto four = split(dir, data, {{"ratios", {0.25, 0.25, 0.25, 0.25}}}, "c");
    CHECK(four.status != 0);
    CHECK_THAT(four.error, Catch::Contains("has 4 entries") && Catch::Contains("expected 2"));
}

TEST_CASE("split: a row without the stratify field fails naming the line", "[split][stage]") {
    TempDir dir;
    const auto data = dir / "data.jsonl";
    write_text(data, "{\"label\":\"a\"}\n\n{\"text\":\"no label\"}\n");
    const auto run = split(dir, data, {{"stratify", "label"}});
    CHECK(run.status != 0);
    CHECK_THAT(run.error, Catch::Contains("data.jsonl:3:") && Catch::Contains("'label'"));
    const auto grouped = split(dir, data, {{"group_by", "text"}}, "g");
    CHECK(grouped.status != 0);
    CHECK_THAT(grouped.error, Catch::Contains("data.jsonl:1:") && Catch::Contains("group_by"));
}

TEST_CASE("split: invalid parameters and input fail clearly", "[split][stage]") {
    TempDir dir;
    const auto data = plain_dataset(dir, 10);
    const auto fold = split(dir, data, {{"method", "kfold"}, {"folds", 3}, {"fold", 3}}, "a");
    CHECK(fold.status != 0);
    CHECK_THAT(fold.error, Catch::Contains("fold = 3 is out of range for folds = 3"));
    const auto strat = split(dir, data, {{"method", "stratified"}}, "b");
    CHECK(strat.status != 0);
    CHECK_THAT(strat.error, Catch::Contains("stratify = \"label\""));
    const auto bad = dir / "bad.jsonl";
    write_text(bad, "{\"a\":1}\n[1,2]\n");
    const auto array = split(dir, bad, json::object(), "c");
    CHECK(array.status != 0);
    CHECK_THAT(array.error, Catch::Contains("bad.jsonl:2: expected a JSON object"));
}

TEST_CASE("split: a cancelled run stops", "[split][stage]") {
    TempDir dir;
    const auto data = plain_dataset(dir, 10);
    std::atomic<bool> cancel{true};
    fs::create_directories(dir / "out");
    const auto run = run_stage("split", json::object(), {{"data", data}}, dir / "out", 17, &cancel);
    CHECK(run.status != 0);
    CHECK(run.error == "cancelled");
}

TEST_CASE("split: absolute sizes give exact counts, the other rows go to rest",
          "[split][stage][sizes]") {
    TempDir dir;
    const auto data = plain_dataset(dir, 100);
    struct Case {
        json sizes;
        std::size_t train, val, test, rest;
    };
    const std::vector<Case> cases = {{{10, 20, 30}, 10, 20, 30, 40},
                                     {{5, 5}, 5, 5, 0, 90},
                                     {{50, 0, 50}, 50, 0, 50, 0},
                                     {{0, 0, 0}, 0, 0, 0, 100}};
    for (std::size_t k = 0; k < cases.size(); ++k) {
        const auto& c = cases[k];
        INFO("sizes = " << c.sizes.dump());
        const auto run = split(dir, data, {{"sizes", c.sizes}}, fmt::format("out{}", k));
        REQUIRE(run.status == 0);
        const auto train = part(run, "train"), val = part(run, "val"), test = part(run, "test"),
                   rest = part(run, "rest");
        CHECK(train.size() == c.train);
        CHECK(val.size() == c.val);
        CHECK(test.size() == c.test);
        CHECK(rest.size() == c.rest);
        CHECK(run.metrics.at("rest") == static_cast<double>(c.rest));
        CHECK(run.metrics.at("test") == static_cast<double>(c.test));
        CHECK(sorted(concat({train, val, test, rest})) == sorted(lines_of(data)));
        CHECK(in_input_order(rest));
    }
    // Shuffled, not the first rows: rest is not just the tail of the input.
    const auto a = split(dir, data, {{"sizes", {10, 20, 30}}}, "again");
    REQUIRE(a.status == 0);
    CHECK(id_of(part(a, "rest").front()) < 60);
}

TEST_CASE("split: sizes without shuffle cut in input order, seeds are honoured",
          "[split][stage][sizes]") {
    TempDir dir;
    const auto data = plain_dataset(dir, 10);
    const auto run = split(dir, data, {{"sizes", {3, 2, 1}}, {"shuffle", false}}, "cut");
    REQUIRE(run.status == 0);
    const auto ids = [&](const char* name) {
        std::vector<std::size_t> out;
        for (const auto& l : part(run, name)) out.push_back(id_of(l));
        return out;
    };
    CHECK(ids("train") == std::vector<std::size_t>{0, 1, 2});
    CHECK(ids("val") == std::vector<std::size_t>{3, 4});
    CHECK(ids("test") == std::vector<std::size_t>{5});
    CHECK(ids("rest") == std::vector<std::size_t>{6, 7, 8, 9});

    const auto big = plain_dataset(dir, 200);
    const auto a = split(dir, big, {{"sizes", {20, 20, 100}}, {"seed", 4}}, "a");
    const auto b = split(dir, big, {{"sizes", {20, 20, 100}}, {"seed", 4}}, "b");
    const auto c = split(dir, big, {{"sizes", {20, 20, 100}}, {"seed", 5}}, "c");
    REQUIRE((a.status == 0 && b.status == 0 && c.status == 0));
    CHECK(part(a, "rest") == part(b, "rest"));
    CHECK(part(a, "train") == part(b, "train"));
    CHECK(part(a, "rest") != part(c, "rest"));
}

TEST_CASE("split: stratified sizes keep every class's share in each output",
          "[split][stage][sizes]") {
    TempDir dir;
    const auto data = imbalanced_dataset(dir, 100);  // 90 neg, 10 pos
    const auto run = split(dir, data, {{"sizes", {20, 10, 50}}, {"stratify", "label"}});
    REQUIRE(run.status == 0);
    using Counts = std::map<std::string, std::size_t>;
    CHECK(label_counts(part(run, "train")) == Counts{{"neg", 18}, {"pos", 2}});
    CHECK(label_counts(part(run, "val")) == Counts{{"neg", 9}, {"pos", 1}});
    CHECK(label_counts(part(run, "test")) == Counts{{"neg", 45}, {"pos", 5}});
    CHECK(label_counts(part(run, "rest")) == Counts{{"neg", 18}, {"pos", 2}});

    // Odd sizes: totals exact, every class within one row of size * class share.
    const auto odd = imbalanced_dataset(dir, 73);  // 66 neg, 7 pos
    const auto o = split(dir, odd, {{"sizes", {30, 11, 7}}, {"stratify", "label"}}, "odd");
    REQUIRE(o.status == 0);
    const std::map<std::string, double> share = {{"neg", 66.0 / 73}, {"pos", 7.0 / 73}};
    const std::vector<std::pair<const char*, double>> targets = {
        {"train", 30}, {"val", 11}, {"test", 7}, {"rest", 25}};
    for (const auto& [name, size] : targets) {
        INFO(name);
        const auto lines = part(o, name);
        CHECK(static_cast<double>(lines.size()) == size);
        auto counts = label_counts(lines);
        for (const auto& [label, fraction] : share)
            CHECK(std::fabs(static_cast<double>(counts[label]) - size * fraction) < 1.0);
    }
}

TEST_CASE("split: sizes with group_by keep groups whole and come close to the sizes",
          "[split][stage][sizes]") {
    TempDir dir;
    // 30 groups of exactly 3 rows (7 is coprime with 30).
    const auto data = dataset(dir, 90, [](std::size_t i) {
        const std::size_t g = (i * 7) % 30;
        return std::pair<std::string, std::string>{g % 3 == 0 ? "a" : "b", fmt::format("g{}", g)};
    });
    int runs = 0;
    for (const json& extra : {json::object(), json{{"stratify", "label"}}}) {
        for (std::uint64_t seed : {1u, 2u, 3u}) {
            INFO("params " << extra.dump() << ", seed " << seed);
            json params = extra;
            params["group_by"] = "group";
            params["sizes"] = {30, 15, 15};
            const auto run = split(dir, data, params, fmt::format("g{}", runs++), seed);
            REQUIRE(run.status == 0);
            std::map<std::string, std::set<std::string>> where;
            std::size_t total = 0;
            for (const char* name : {"train", "val", "test", "rest"}) {
                const auto lines = part(run, name);
                total += lines.size();
                for (const auto& l : lines)
                    where[json::parse(l).at("group").get<std::string>()].insert(name);
            }
            CHECK(total == 90);
            for (const auto& [g, splits] : where) CHECK(splits.size() == 1);
            // Each part is within one group (3 rows) of its target.
            CHECK(std::fabs(run.metrics.at("train") - 30) <= 3);
            CHECK(std::fabs(run.metrics.at("val") - 15) <= 3);
            CHECK(std::fabs(run.metrics.at("test") - 15) <= 3);
            CHECK(std::fabs(run.metrics.at("rest") - 30) <= 3);
        }
    }
}

TEST_CASE("split: kfold with sizes: exact test, folds share train + val, rest unused",
          "[split][stage][sizes]") {
    TempDir dir;
    const auto data = plain_dataset(dir, 50);
    const auto run = split(
        dir, data, {{"method", "kfold"}, {"folds", 4}, {"fold", 2}, {"sizes", {30, 10, 5}}});
    REQUIRE(run.status == 0);
    std::vector<std::vector<std::string>> folds;
    for (int f = 0; f < 4; ++f)
        folds.push_back(lines_of(run.outputs.at("folds") / fmt::format("fold-{}.jsonl", f)));
    for (const auto& f : folds) CHECK(f.size() == 10);
    CHECK(part(run, "test").size() == 5);
    CHECK(part(run, "rest").size() == 5);
    CHECK(part(run, "val") == folds[2]);
    CHECK(part(run, "train").size() == 30);
    CHECK(sorted(concat({folds[0], folds[1], folds[2], folds[3], part(run, "test"),
                         part(run, "rest")})) == sorted(lines_of(data)));
}

TEST_CASE("split: bad sizes fail with a clear message", "[split][stage][sizes]") {
    TempDir dir;
    const auto data = plain_dataset(dir, 10);
    const auto big = split(dir, data, {{"sizes", {5, 5, 5}}}, "a");
    CHECK(big.status != 0);
    CHECK_THAT(big.error, Catch::Contains("ask for 15 rows") &&
                              Catch::Contains("input has only 10"));
    const auto strat = split(dir, data, {{"sizes", {5, 6}}, {"stratify", "id"}}, "b");
    CHECK(strat.status != 0);
    CHECK_THAT(strat.error, Catch::Contains("ask for 11 rows"));
    const auto neg = split(dir, data, {{"sizes", {5, -1}}}, "c");
    CHECK(neg.status != 0);
    CHECK_THAT(neg.error, Catch::Contains("sizes[1] (val) = -1 is negative"));
    const auto one = split(dir, data, {{"sizes", {5}}}, "d");
    CHECK(one.status != 0);
    CHECK_THAT(one.error, Catch::Contains("has 1 entries") && Catch::Contains("expected 2 or 3"));
    // All rows asked for is fine: rest is empty.
    const auto all = split(dir, data, {{"sizes", {5, 3, 2}}}, "e");
    REQUIRE(all.status == 0);
    CHECK(part(all, "rest").empty());
}
