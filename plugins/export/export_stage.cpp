// `export`: a sequence classifier checkpoint -> a deployable bundle for `graft predict BUNDLE`
// (see bundle_writer.hpp for the layout), with its size, parameter count and batch-1 latency.
// The latency is measured on the written bundle through graft-predict's own code path
// (predict::Predictor: manifest check and load, then score() of one text per call, i.e.
// tokenization, one forward pass and the softmax of `graft predict BUNDLE --text ...`, without the
// process start and model load).
#include "bundle_writer.hpp"
#include "latency_stats.hpp"
#include "predictor.hpp"
#include "stages.hpp"

#include "common.hpp"  // the transfer plugin's row reading, tokenizer lookup and LibTorch set-up

#include <chrono>
#include <optional>

namespace graft::exporting {

namespace {

// Latency probe when no data input is connected: a review-length sentence.
constexpr const char* kProbeText =
    "The film was far better than I expected: the cast is superb, the story moves quickly and the "
    "ending stayed with me for days after I saw it.";

}  // namespace

sdk::Descriptor ExportStage::describe() {
    return sdk::Descriptor(
               "export", "1",
               "Exports a sequence classifier checkpoint as a deployable bundle: model.safetensors, "
               "config.json, tokenizer.json and manifest.json (format graft.bundle/1: XXH3-128 digest of "
               "every file, max_len, labels), which `graft predict BUNDLE` verifies and serves (--text or "
               "JSONL on stdin). Reports the bundle size, the parameter count and the batch-1 latency "
               "(p50/p90 ms), timed on the written bundle through graft predict's own code path: "
               "tokenization, one forward pass and the softmax per text, without process start-up and "
               "model loading. Language models and token classifiers are refused.")
        .exclusive()  // LibTorch thread pool; latency timing wants the machine to itself
        .input_dir("model", "model", "the classifier checkpoint (a finetune or distill output)")
        .input_dir("tokenizer", "tokenizer",
                   "tokenizer to bundle, e.g. the one evaluate used (default: the checkpoint's tokenizer.json)", true)
        .input("data", "jsonl", "rows whose texts are the latency probes, used in order and cycled "
               "(default: one fixed review-length sentence)", true)
        .output_dir("bundle", "bundle", "the bundle directory (what graft predict BUNDLE reads)")
        .param_int("max_len", 256,
                   "tokens per input recorded in the manifest, capped at the model's max_len; graft predict "
                   "truncates longer inputs to it (set it to evaluate's max_len for the same predictions)",
                   8, 4096)
        .param_int("latency_runs", 50, "batch-1 predictions timed after 3 untimed ones (p50/p90 reported); 0 = skip", 0)
        .param_int("threads", 1,
                   "LibTorch intra-op threads for the latency measurement; 1 is graft predict's default "
                   "--threads; 0 = the stage's thread budget", 0)
        .param_string("text_field", "text", "data: field holding the text");
}

void ExportStage::run(sdk::RunContext& ctx) {
    transfer::init_torch(ctx, "fp32");
    if (const auto t = ctx.param<std::int64_t>("threads"); t > 0) predict::set_threads(static_cast<int>(t));
    const auto model_dir = ctx.input("model");
    std::filesystem::path tok_file;
    transfer::load_tokenizer(ctx.optional_input("tokenizer"), model_dir, &tok_file);
    const auto out = ctx.output("bundle");
    const BundleInfo info = write_bundle(model_dir, tok_file, ctx.param<std::int64_t>("max_len"), out);

    // Loaded as graft predict loads it: the manifest is checked against the written files.
    std::optional<predict::Predictor> predictor;
    try {
        predictor.emplace(out, 0);
    } catch (const std::exception& e) {
        throw sdk::StageError(fmt::format("the written bundle does not load: {}", e.what()));
    }
    const auto params = predictor->parameter_count();
    ctx.metric("bundle_bytes", static_cast<double>(info.bytes));
    ctx.metric("parameters", static_cast<double>(params));
    ctx.metric("max_len", static_cast<double>(info.max_len));
    ctx.info("bundle: {} files + manifest, {} bytes, {} parameters, {} labels, max_len {}", info.files.size(),
             info.bytes, params, info.labels.size(), info.max_len);

    const auto runs = ctx.param<std::int64_t>("latency_runs");
    if (runs == 0) return;
    std::vector<std::string> probes;
    if (const auto data = ctx.optional_input("data")) {
        probes = transfer::read_rows(*data, ctx.param<std::string>("text_field"), "").texts;
        if (probes.empty())
            throw sdk::StageError(fmt::format("{}: no rows; connect rows with a text field for the latency "
                                              "probes, or no data input to use a built-in sentence", data->string()));
    } else {
        probes = {kProbeText};
    }
    constexpr std::int64_t kWarmup = 3;
    std::vector<double> ms;
    for (std::int64_t r = -kWarmup; r < runs; ++r) {
        const std::string& text = probes[static_cast<std::size_t>((r + kWarmup) % static_cast<std::int64_t>(probes.size()))];
        const auto start = std::chrono::steady_clock::now();
        const auto scored = predictor->score({text});
        const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
        if (scored.size() != 1) throw sdk::StageError("latency probe: the predictor returned no row");
        if (r >= 0) ms.push_back(took.count());
        ctx.check_cancelled();
    }
    const double p50 = quantile(ms, 0.5), p90 = quantile(ms, 0.9);
    const int threads = at::get_num_threads();
    ctx.metric("latency_p50_ms", p50);
    ctx.metric("latency_p90_ms", p90);
    ctx.metric("latency_threads", static_cast<double>(threads));
    ctx.info("batch-1 latency over {} predictions ({} probe texts, {} thread(s)): p50 {:.3f} ms, p90 {:.3f} ms",
             runs, std::min<std::size_t>(probes.size(), static_cast<std::size_t>(runs)), threads, p50, p90);
}

}  // namespace graft::exporting
