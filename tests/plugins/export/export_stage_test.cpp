// The export stage through the real host: the bundle's files and manifest (digests as graft-predict
// checks them), its metrics, refused inputs, and graft-predict refusing an edited bundle.
#include "plugins/export/export_fixture.hpp"

#include "core/cache/hash.hpp"
#include "ml/model/checkpoint.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace graft::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool has_log(const StageRun& r, const std::string& needle) {
    for (const auto& l : r.logs)
        if (l.find(needle) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("export writes a bundle whose manifest lists every file with its digest", "[export][stage]") {
    auto& f = export_fixture();
    const auto r = run_export({{"max_len", 12}, {"latency_runs", 5}}, {{"model", f.classifier}});
    INFO(r.error);
    REQUIRE(r.status == 0);
    const auto bundle = r.outputs.at("bundle");
    const json manifest = json::parse(read_text(bundle / "manifest.json"));
    CHECK(manifest.at("format") == "graft.bundle/1");
    CHECK(manifest.at("max_len") == 12);  // the requested one, below the model's 32
    const auto loaded = graft::ml::load_checkpoint(f.classifier);
    CHECK(manifest.at("labels").get<std::vector<std::string>>() == loaded.model->architecture().labels);
    CHECK(manifest.at("graft_version").is_string());

    // Every file in the bundle but the manifest itself is listed, with XXH3-128 of its bytes.
    std::set<std::string> on_disk, listed;
    std::uint64_t bytes = 0;
    for (const auto& e : fs::directory_iterator(bundle)) {
        bytes += fs::file_size(e.path());
        if (e.path().filename() != "manifest.json") on_disk.insert(e.path().filename().string());
    }
    for (const auto& [name, digest] : manifest.at("files").items()) {
        listed.insert(name);
        CHECK(digest == graft::hash_bytes(read_text(bundle / name)).hex());
    }
    CHECK(listed == std::set<std::string>{"model.safetensors", "config.json", "tokenizer.json"});
    CHECK(on_disk == listed);
    CHECK(r.metrics.at("bundle_bytes") == Approx(static_cast<double>(bytes)));

    // Weights and tokenizer byte for byte; the config points at the bundled tokenizer.
    CHECK(read_text(bundle / "model.safetensors") == read_text(f.classifier / "model.safetensors"));
    CHECK(read_text(bundle / "tokenizer.json") == read_text(f.classifier / "tokenizer.json"));
    const auto reloaded = graft::ml::load_checkpoint(bundle);
    CHECK(reloaded.config.tokenizer == std::optional<std::string>("tokenizer.json"));
    CHECK_FALSE(reloaded.config.training_state);

    std::int64_t params = 0;
    for (const auto& p : loaded.model->parameters()) params += p.numel();
    CHECK(r.metrics.at("parameters") == Approx(static_cast<double>(params)));
    CHECK(r.metrics.at("latency_p50_ms") > 0);
    CHECK(r.metrics.at("latency_p50_ms") <= r.metrics.at("latency_p90_ms"));
    CHECK(r.metrics.at("latency_threads") == 1);
    CHECK(has_log(r, "batch-1 latency over 5 predictions (1 probe texts, 1 thread(s))"));
}

TEST_CASE("export caps max_len at the model's, takes probes from data and skips latency on request",
          "[export][stage]") {
    auto& f = export_fixture();
    auto r = run_export({{"max_len", 256}, {"latency_runs", 4}},
                        {{"model", f.classifier}, {"data", f.dir / "val.jsonl"}, {"tokenizer", f.tokenizer}});
    INFO(r.error);
    REQUIRE(r.status == 0);
    CHECK(json::parse(read_text(r.outputs.at("bundle") / "manifest.json")).at("max_len") == 32);
    CHECK(has_log(r, "batch-1 latency over 4 predictions (4 probe texts"));

    r = run_export({{"latency_runs", 0}}, {{"model", f.classifier}});
    REQUIRE(r.status == 0);
    CHECK(r.metrics.count("latency_p50_ms") == 0);
    CHECK(r.metrics.count("parameters") == 1);
}

TEST_CASE("export refuses a language model and a tokenizer that does not fit the model", "[export][stage]") {
    auto& f = export_fixture();
    auto r = run_export({}, {{"model", f.lm}});
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Catch::Contains("config.json: head is 'mlm' (a language model)") &&
                            Catch::Contains("export bundles sequence classifiers") &&
                            Catch::Contains("finetune or distill"));

    // A tokenizer with more ids than the classifier's embedding table.
    const auto big = f.dir / "bigtok";
    fs::create_directories(big);
    graft::ml::WordPieceTrainerOptions to;
    to.vocab_size = 400;
    to.min_frequency = 1;
    graft::ml::train_wordpiece(std::vector<std::string>{"the quick brown fox jumps over the lazy dog",
                                                        "pack my box with five dozen liquor jugs",
                                                        "how vexingly quick daft zebras jump"}, to)
        .save(big / "tokenizer.json");
    r = run_export({{"latency_runs", 0}}, {{"model", f.classifier}, {"tokenizer", big}});
    CHECK(r.status != 0);
    CHECK_THAT(r.error, Catch::Contains("bigtok/tokenizer.json: the tokenizer has") &&
                            Catch::Contains("is not the tokenizer the model was trained with"));
}

TEST_CASE("graft-predict serves the bundle and refuses it once a file is modified", "[export][predict]") {
    auto& f = export_fixture();
    const auto r = run_export({{"max_len", 12}, {"latency_runs", 0}}, {{"model", f.classifier}});
    REQUIRE(r.status == 0);
    const auto bundle = r.outputs.at("bundle");
    auto p = run_graft_predict("'" + bundle.string() + "' --text 'great wonderful film'");
    INFO(p.err);
    REQUIRE(p.rc == 0);
    CHECK((p.out.rfind("pos\n", 0) == 0 || p.out.rfind("neg\n", 0) == 0));

    // One weight byte flipped: the predictions would silently change, so the bundle is refused.
    {
        std::fstream w(bundle / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
        w.seekg(-1, std::ios::end);
        char c = 0;
        w.get(c);
        w.seekp(-1, std::ios::end);
        w.put(static_cast<char>(c ^ 0x01));
    }
    p = run_graft_predict("'" + bundle.string() + "' --text 'great wonderful film'");
    CHECK(p.rc == 1);
    CHECK_THAT(p.err, Catch::Contains("model.safetensors: digest does not match manifest.json") &&
                          Catch::Contains("re-export it"));
    CHECK(p.out.empty());

    // A listed file removed, and a manifest that stops covering a file the predictor reads.
    fs::copy_file(f.classifier / "model.safetensors", bundle / "model.safetensors", fs::copy_options::overwrite_existing);
    REQUIRE(run_graft_predict("'" + bundle.string() + "' --text 'fine'").rc == 0);
    json manifest = json::parse(read_text(bundle / "manifest.json"));
    manifest["files"].erase("tokenizer.json");
    write_text(bundle / "manifest.json", manifest.dump());
    p = run_graft_predict("'" + bundle.string() + "' --text 'fine'");
    CHECK(p.rc == 1);
    CHECK_THAT(p.err, Catch::Contains("\"files\" does not list tokenizer.json"));
    fs::remove(bundle / "config.json");
    manifest = json::parse(read_text(bundle / "manifest.json"));
    manifest["files"]["tokenizer.json"] = graft::hash_bytes(read_text(bundle / "tokenizer.json")).hex();
    write_text(bundle / "manifest.json", manifest.dump());
    p = run_graft_predict("'" + bundle.string() + "' --text 'fine'");
    CHECK(p.rc == 1);
    CHECK_THAT(p.err, Catch::Contains("config.json: missing (listed in manifest.json)"));
}
