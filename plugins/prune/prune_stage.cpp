// `prune`: magnitude pruning of a classifier checkpoint. Unstructured (masks of exact sparsity,
// masks.hpp) or structured (heads and feed-forward units removed, structured.hpp), one-shot or
// along the cubic schedule of schedule.hpp with fine-tuning between the steps (prune_task.hpp).
// Measures what it achieved on the weights it writes and fails when that misses the target.
#include "latency.hpp"
#include "masks.hpp"
#include "prune_task.hpp"
#include "schedule.hpp"
#include "stages.hpp"
#include "structured.hpp"

#include "common.hpp"  // the transfer plugin's row reading, tokenizer and progress helpers

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>

namespace graft::prune {

namespace {

// How far the achieved sparsity may miss the target before the stage fails (0.5 points).
constexpr double kTolerance = 0.005;

struct Rows {
    std::vector<ml::Example> train, val;
};

std::vector<ml::Example> labelled_examples(const std::filesystem::path& file, const ml::Tokenizer& tok,
                                           const std::map<std::string, std::int64_t>& ids,
                                           const std::string& text_field, const std::string& label_field,
                                           std::size_t max_len, ml::Truncation truncation,
                                           std::size_t* truncated) {
    const auto rows = transfer::read_rows(file, text_field, label_field);
    auto examples = transfer::encode_rows(tok, rows.texts, max_len, truncated, truncation);
    transfer::assign_class_labels(rows, ids, file, "model", "prune with rows of the model's task", examples);
    return examples;
}

double accuracy(ml::TaskModelPtr model, const std::vector<ml::Example>& examples, std::int64_t pad_id) {
    model->eval();
    transfer::ClassifyTask task(model);
    return task.evaluate(ml::make_eval_batches(examples, 64, {pad_id, ml::LabelKind::sequence, 0}))
        .metrics.at("accuracy");
}

std::int64_t parameters(ml::TaskModelImpl& model) { return transfer::count_parameters(model, false); }

std::int64_t nonzero_parameters(ml::TaskModelImpl& model) {
    std::int64_t n = 0;
    for (const auto& p : model.parameters()) n += p.detach().count_nonzero().item<std::int64_t>();
    return n;
}

// Entries of the encoder layers' attention and feed-forward weight matrices.
std::int64_t matrix_entries(ml::TaskModelImpl& model) {
    const auto names = prunable_weight_names(model, {});
    std::int64_t n = 0;
    for (const auto& item : model.named_parameters(true))
        if (std::find(names.begin(), names.end(), item.key()) != names.end()) n += item.value().numel();
    return n;
}

std::string percent(double fraction) { return fmt::format("{:.2f}%", 100.0 * fraction); }

}  // namespace

sdk::Descriptor PruneStage::describe() {
    return sdk::Descriptor(
               "prune", "1",
               "Prunes a sequence classifier by weight magnitude. method = unstructured zeroes exactly "
               "round(sparsity x N) of the encoder's attention and feed-forward weights (smallest |w| first, "
               "ranked across all of them with scope = global or within each matrix with scope = layer; "
               "embeddings and the classifier only when asked). Unstructured sparsity does NOT make the model "
               "smaller or faster: the weights stay dense tensors, the checkpoint keeps its size and dense "
               "LibTorch kernels run no faster on zeros (the latency metrics show this). method = structured "
               "removes whole attention heads and feed-forward units (least important first: magnitude or "
               "first-order Taylor importance; every layer keeps at least one of each), which really shrinks "
               "the tensors: fewer parameters, a smaller checkpoint, faster inference. steps = 1 prunes once; "
               "steps > 1 follows the cubic schedule s_t = s_f + (s_i - s_f)(1 - t/steps)^3 (Zhu & Gupta "
               "2017) with epochs_per_step of fine-tuning on 'train' after every step; masks stay applied "
               "through fine-tuning. The achieved sparsity is measured on the written weights (overall and per "
               "layer) and the stage fails if it misses the target by more than 0.5 points.")
        .exclusive()  // LibTorch global RNG and thread pool
        .input_dir("model", "model", "the classifier checkpoint to prune (a finetune or distill output)")
        .input("train", "jsonl", "labelled rows for fine-tuning between steps and for taylor importance", true)
        .input("val", "jsonl", "labelled rows: accuracy before and after, model selection while fine-tuning", true)
        .input_dir("tokenizer", "tokenizer", "tokenizer (default: the checkpoint's)", true)
        .output_dir("model", "model", "the pruned checkpoint (loads like any finetune output)")
        .param_string("method", "unstructured", "unstructured: zeroed weights; structured: removed heads and units",
                      {"unstructured", "structured"})
        .param_float("sparsity", 0.5, "unstructured: fraction of the prunable weights set to zero", 0, 0.99)
        .param_string("scope", "global",
                      "global: rank across all prunable weights (heads / units across layers); layer: prune every "
                      "weight matrix (every layer) to the target on its own",
                      {"global", "layer"})
        .param_bool("prune_embeddings", false, "unstructured: also prune the token and position embeddings")
        .param_bool("prune_classifier", false, "unstructured: also prune the head's weight matrix")
        .param_float("heads_fraction", 0.25, "structured: fraction of all attention heads removed", 0, 0.99)
        .param_float("ffn_fraction", 0.25, "structured: fraction of all feed-forward units removed", 0, 0.99)
        .param_string("importance", "magnitude",
                      "structured: magnitude (||W_out|| x ||W_in|| of the head or unit), or taylor (first-order "
                      "loss change on importance_batches batches of 'train')",
                      {"magnitude", "taylor"})
        .param_int("importance_batches", 8, "taylor: batches of 'train' the importance is averaged over", 1)
        .param_int("steps", 1, "pruning events; 1 = one-shot, more = cubic schedule", 1, 100)
        .param_float("initial_sparsity", 0.0,
                     "unstructured: s_i of the cubic schedule (the curve starts there; the last step reaches "
                     "sparsity)", 0, 0.99)
        .param_int("epochs_per_step", 1, "fine-tuning epochs on 'train' after every pruning step (0 = none)", 0)
        .param_int("batch_size", 16, "fine-tuning rows per micro-batch", 1)
        .param_float("lr", 1e-4, "fine-tuning peak learning rate", 0)
        .param_float("warmup_ratio", 0.1, "fraction of each fine-tuning round of linear warmup", 0, 1)
        .param_float("weight_decay", 0.01, "AdamW weight decay", 0)
        .param_int("max_len", 256, "tokens per row (longer rows are truncated, counted)", 8, 4096)
        .param_int("latency_runs", 30, "single-row forwards timed before and after (median reported); 0 = skip", 0)
        .param_string("text_field", "text", "field holding the text")
        .param_string("label_field", "label", "field holding the class label");
}

void PruneStage::run(sdk::RunContext& ctx) {
    transfer::init_torch(ctx, "fp32");
    torch::manual_seed(ctx.seed());
    const auto model_dir = ctx.input("model");
    auto model = ml::load_checkpoint(model_dir).model;
    const auto arch = model->architecture();

    const bool structured = ctx.param<std::string>("method") == "structured";
    const Scope scope = parse_scope(ctx.param<std::string>("scope"));
    const auto steps = ctx.param<std::int64_t>("steps");
    const auto epochs = ctx.param<std::int64_t>("epochs_per_step");
    const double sparsity = ctx.param<double>("sparsity");
    const double initial = ctx.param<double>("initial_sparsity");
    const double heads_fraction = ctx.param<double>("heads_fraction");
    const double ffn_fraction = ctx.param<double>("ffn_fraction");
    const Importance importance = parse_importance(ctx.param<std::string>("importance"));
    if (!structured && initial > sparsity)
        throw sdk::StageError(fmt::format("initial_sparsity = {} exceeds sparsity = {}: the schedule only ever "
                                          "prunes more (set initial_sparsity <= sparsity)", initial, sparsity));
    if (structured && heads_fraction == 0.0 && ffn_fraction == 0.0)
        throw sdk::StageError("method = structured with heads_fraction = 0 and ffn_fraction = 0 removes nothing: "
                              "set at least one of them");

    // Rows: needed to fine-tune or for taylor importance; val for accuracy.
    const auto train_file = ctx.optional_input("train");
    const auto val_file = ctx.optional_input("val");
    const bool taylor = structured && importance == Importance::taylor;
    if ((epochs > 0 || taylor) && !train_file)
        throw sdk::StageError(fmt::format(
            "{} needs labelled rows: connect a 'train' input{}", taylor ? "importance = taylor" : "fine-tuning between steps",
            taylor ? "" : ", or set epochs_per_step = 0 to prune without fine-tuning"));
    if ((train_file || val_file) && arch.head != ml::HeadKind::sequence_classification)
        throw sdk::StageError(fmt::format("{} is a {} model; prune fine-tunes and evaluates sequence classifiers "
                                          "only (leave 'train' and 'val' unconnected to prune it without data)",
                                          model_dir.string(), ml::to_string(arch.head)));
    std::filesystem::path tok_file;
    std::optional<ml::Tokenizer> tok;
    if (train_file || val_file || ctx.optional_input("tokenizer") ||
        std::filesystem::exists(model_dir / ml::kCheckpointTokenizerFile))
        tok.emplace(transfer::load_tokenizer(ctx.optional_input("tokenizer"), model_dir, &tok_file));
    const std::int64_t pad_id = arch.encoder.pad_id();
    Rows rows;
    if (train_file || val_file) {
        std::map<std::string, std::int64_t> label_id;
        for (std::size_t i = 0; i < arch.labels.size(); ++i) label_id[arch.labels[i]] = static_cast<std::int64_t>(i);
        const auto max_len = static_cast<std::size_t>(
            std::min<std::int64_t>(ctx.param<std::int64_t>("max_len"), arch.encoder.max_len()));
        const auto text_field = ctx.param<std::string>("text_field");
        const auto label_field = ctx.param<std::string>("label_field");
        std::size_t truncated = 0;
        // The rows are cut as the classifier was fine-tuned (its checkpoint says how).
        const ml::Truncation truncation = arch.truncation;
        if (train_file)
            rows.train = labelled_examples(*train_file, *tok, label_id, text_field, label_field, max_len, truncation, &truncated);
        if (val_file)
            rows.val = labelled_examples(*val_file, *tok, label_id, text_field, label_field, max_len, truncation, &truncated);
        if (truncated) ctx.info("{} rows longer than max_len = {} tokens were truncated (truncation = {}, the model's)",
                           truncated, max_len, ml::to_string(truncation));
    }

    const auto params_before = parameters(*model);
    const auto matrix_entries_before = matrix_entries(*model);
    const auto original = widths_of(arch.encoder);
    std::optional<double> acc_before;
    if (!rows.val.empty()) acc_before = accuracy(model, rows.val, pad_id);

    // Unstructured: masks over the chosen weights of the one model, pruned in place.
    PruneTargets targets{ctx.param<bool>("prune_embeddings"), ctx.param<bool>("prune_classifier")};
    const auto prunable = prunable_weight_names(*model, targets);
    std::unique_ptr<MaskSet> masks;
    if (!structured) masks = std::make_unique<MaskSet>(*model, prunable);

    ml::TrainerOptions o;
    o.epochs = std::max<std::int64_t>(1, epochs);
    o.batch_size = ctx.param<std::int64_t>("batch_size");
    o.collate.pad_id = pad_id;
    o.collate.label_kind = ml::LabelKind::sequence;
    o.lr = ctx.param<double>("lr");
    o.weight_decay = ctx.param<double>("weight_decay");
    o.warmup_ratio = ctx.param<double>("warmup_ratio");
    o.selection_metric = "accuracy";
    o.selection_mode = ml::MetricMode::max;
    o.restore_best = !rows.val.empty();
    o.threads = ctx.threads();
    std::int64_t trained_steps = 0;

    for (std::int64_t t = 1; t <= steps; ++t) {
        ctx.check_cancelled();
        if (structured) {
            const double h = cubic_sparsity(0.0, heads_fraction, t, steps);
            const double u = cubic_sparsity(0.0, ffn_fraction, t, steps);
            std::vector<LayerScores> scores;
            if (taylor) {
                std::mt19937_64 rng(ctx.seed() + static_cast<std::uint64_t>(t));
                ml::BatchingOptions b;
                b.batch_size = o.batch_size;
                b.shuffle = true;
                auto plan = ml::plan_batches(rows.train, b, rng);
                plan.resize(std::min<std::size_t>(plan.size(), static_cast<std::size_t>(ctx.param<std::int64_t>("importance_batches"))));
                std::vector<ml::Batch> batches;
                for (const auto& indices : plan) batches.push_back(ml::collate(rows.train, indices, o.collate));
                scores = taylor_importance(*model, batches);
            } else {
                scores = magnitude_importance(*model);
            }
            model = shrink(*model, plan_removal(scores, original, h, u, scope));
            const auto now = widths_of(model->architecture().encoder);
            ctx.info("step {}/{}: {} of {} heads and {} of {} feed-forward units left (targets: {} and {} removed)",
                     t, steps, now.total_heads(), original.total_heads(), now.total_units(), original.total_units(),
                     percent(h), percent(u));
        } else {
            const double s = cubic_sparsity(initial, sparsity, t, steps);
            try {
                masks->prune_to(s, scope);
            } catch (const std::invalid_argument& e) {
                throw sdk::StageError(e.what());
            }
            ctx.info("step {}/{}: {} of {} prunable weights pruned (target {})", t, steps, masks->pruned(),
                     masks->total(), percent(s));
        }
        if (epochs > 0) {
            model->train();
            PruneTask task(model, masks.get());
            o.epochs = epochs;
            o.seed = ctx.seed() + static_cast<std::uint64_t>(t);
            o.log_path = ctx.scratch_dir() / fmt::format("train_log_step{}.jsonl", t);
            ml::Trainer trainer(task, o);
            trainer.set_progress_callback(transfer::progress_to(ctx));
            const auto r = trainer.fit(rows.train, rows.val);
            trained_steps += r.steps;
            if (masks) masks->apply();
            if (r.best) ctx.info("step {}/{}: fine-tuned {} steps, best validation accuracy {:.4f}", t, steps, r.steps,
                                 r.best->metrics.at("accuracy"));
        }
        model->eval();
    }

    // What was achieved, measured on the final weights and shapes.
    const auto params_after = parameters(*model);
    ctx.metric("parameters_before", static_cast<double>(params_before));
    ctx.metric("parameters_after", static_cast<double>(params_after));
    ctx.metric("nonzero_parameters_after", static_cast<double>(nonzero_parameters(*model)));
    ctx.metric("fine_tuning_steps", static_cast<double>(trained_steps));
    std::vector<std::string> misses;
    const auto check = [&](const std::string& what, double achieved, double target) {
        if (std::abs(achieved - target) > kTolerance)
            misses.push_back(fmt::format("{} {} against the target {}", what, percent(achieved), percent(target)));
    };
    nlohmann::json summary = {{"method", structured ? "structured" : "unstructured"},
                              {"scope", scope == Scope::global ? "global" : "layer"},
                              {"steps", steps},
                              {"epochs_per_step", epochs},
                              {"source", model_dir.filename().string()}};
    if (structured) {
        const auto now = widths_of(model->architecture().encoder);
        const double heads_removed = 1.0 - static_cast<double>(now.total_heads()) / static_cast<double>(original.total_heads());
        const double units_removed = 1.0 - static_cast<double>(now.total_units()) / static_cast<double>(original.total_units());
        ctx.metric("heads_before", static_cast<double>(original.total_heads()));
        ctx.metric("heads_after", static_cast<double>(now.total_heads()));
        ctx.metric("ffn_units_before", static_cast<double>(original.total_units()));
        ctx.metric("ffn_units_after", static_cast<double>(now.total_units()));
        ctx.metric("heads_removed", heads_removed);
        ctx.metric("ffn_removed", units_removed);
        ctx.metric("heads_target", heads_fraction);
        ctx.metric("ffn_target", ffn_fraction);
        for (std::size_t i = 0; i < now.heads.size(); ++i) {
            ctx.metric(fmt::format("layer_{}_heads", i), static_cast<double>(now.heads[i]));
            ctx.metric(fmt::format("layer_{}_ffn_units", i), static_cast<double>(now.units[i]));
        }
        // Entries removed from the encoder layers' attention and feed-forward matrices: the same
        // weights that unstructured sparsity counts, here gone from the tensors.
        const double removed = 1.0 - static_cast<double>(matrix_entries(*model)) / static_cast<double>(matrix_entries_before);
        ctx.metric("sparsity", removed);
        ctx.metric("parameters_removed", 1.0 - static_cast<double>(params_after) / static_cast<double>(params_before));
        check("removed heads", heads_removed, heads_fraction);
        check("removed feed-forward units", units_removed, ffn_fraction);
        summary["heads_fraction"] = heads_fraction;
        summary["ffn_fraction"] = ffn_fraction;
        summary["importance"] = ctx.param<std::string>("importance");
        summary["layer_heads"] = now.heads;
        summary["layer_d_ff"] = now.units;
        ctx.info("structured: {} -> {} heads, {} -> {} feed-forward units, {} -> {} parameters", original.total_heads(),
                 now.total_heads(), original.total_units(), now.total_units(), params_before, params_after);
    } else {
        const auto report = measure_sparsity(*model, prunable);
        ctx.metric("sparsity", report.overall);
        ctx.metric("sparsity_target", sparsity);
        ctx.metric("prunable_weights", static_cast<double>(report.total));
        ctx.metric("zero_weights", static_cast<double>(report.zeros));
        for (const auto& [group, value] : report.by_group) ctx.metric(group + "_sparsity", value);
        check("sparsity", report.overall, sparsity);
        if (scope == Scope::layer)
            for (const auto& e : masks->entries()) {
                const double s = 1.0 - static_cast<double>(e.weight.count_nonzero().item<std::int64_t>()) /
                                           static_cast<double>(e.weight.numel());
                check(e.name + " sparsity", s, sparsity);
            }
        summary["sparsity"] = sparsity;
        summary["achieved_sparsity"] = report.overall;
        summary["pruned_weights"] = prunable;
        ctx.info("unstructured: {} of {} prunable weights are zero ({}); the tensors stay dense", report.zeros,
                 report.total, percent(report.overall));
    }
    if (!rows.val.empty()) {
        const double acc_after = accuracy(model, rows.val, pad_id);
        ctx.metric("val_accuracy_before", *acc_before);
        ctx.metric("val_accuracy", acc_after);
        ctx.info("validation accuracy: {:.4f} before, {:.4f} after pruning", *acc_before, acc_after);
    }
    if (const auto runs = ctx.param<std::int64_t>("latency_runs"); runs > 0) {
        const auto& probe = !rows.val.empty() ? rows.val : rows.train;
        if (probe.empty()) {
            ctx.info("latency not measured: connect 'val' or 'train' rows to time single-row forwards");
        } else {
            auto reference = ml::load_checkpoint(model_dir).model;
            const auto l = transfer::paired_median_latency_ms(*reference, *model, probe, runs);
            ctx.metric("latency_before_ms", l.first_ms);
            ctx.metric("latency_after_ms", l.second_ms);
            ctx.metric("speedup", l.first_ms / l.second_ms);
            ctx.metric("latency_threads", static_cast<double>(at::get_num_threads()));
            ctx.info("batch-1 latency (median of {} interleaved forwards, {} thread(s)): {:.3f} ms before, {:.3f} ms "
                     "after, {:.2f}x", runs, at::get_num_threads(), l.first_ms, l.second_ms, l.first_ms / l.second_ms);
        }
    }
    if (!misses.empty())
        throw sdk::StageError(fmt::format(
            "pruning missed its target by more than 0.5 points: {}. {}", fmt::join(misses, "; "),
            structured ? "Every layer keeps at least one head and one unit, and a fraction of N items is achieved "
                         "only in steps of 1/N: choose a fraction that is a multiple of 1/N, or scope = global"
                       : "The weights to prune are too few for this target (each matrix is rounded on its own "
                         "with scope = layer): use scope = global or prune a larger model"));

    ml::SaveCheckpointOptions so;
    so.tokenizer = tok_file;
    so.extra = {{"pruning", summary}};
    ml::save_checkpoint(ctx.output("model"), *model, so);
    const auto bytes = [](const std::filesystem::path& dir) {
        return static_cast<double>(std::filesystem::file_size(dir / ml::kCheckpointWeightsFile));
    };
    ctx.metric("checkpoint_bytes_before", bytes(model_dir));
    ctx.metric("checkpoint_bytes_after", bytes(ctx.output("model")));
}

}  // namespace graft::prune
