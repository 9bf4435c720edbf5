// `finetune`: a pretrained encoder (or none: the from-scratch baseline) turned into a sequence
// classifier or a token classifier (task = token_classification: pre-tokenized {"tokens",
// "tags"} rows, first-subword labelling), with the fine-tuning strategies of the
// transfer-learning literature.
#include "common.hpp"
#include "stages.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <set>

namespace graft::transfer {

namespace {

const std::vector<std::string> kStrategies = {"full",          "freeze_lower",      "feature_extraction",
                                              "discriminative_lr", "gradual_unfreeze", "scratch", "auto"};

// Applies a strategy to the model during training: frozen layers, per-layer learning rates,
// gradual unfreezing (ULMFiT).
class StrategyTask final : public ClassifyTask {
public:
    StrategyTask(ml::TaskModelPtr model, std::string strategy, std::int64_t freeze_layers, double lr_decay)
        : ClassifyTask(std::move(model)), strategy_(std::move(strategy)), freeze_layers_(freeze_layers),
          lr_decay_(lr_decay), n_layers_(model_->encoder()->options().n_layers()) {
        if (strategy_ == "freeze_lower") model_->encoder()->freeze_lower(freeze_layers_);
        if (strategy_ == "feature_extraction") model_->encoder()->freeze_lower(n_layers_);
    }

    double lr_multiplier(const std::string& name) const override {
        if (strategy_ != "discriminative_lr") return 1.0;
        // ULMFiT: each layer down from the top learns lr_decay times slower; the head at full rate.
        static const std::regex layer(R"(encoder\.layers\.(\d+)\.)");
        std::smatch m;
        if (std::regex_search(name, m, layer))
            return std::pow(lr_decay_, static_cast<double>(n_layers_ - std::stoll(m[1].str())));
        if (name.find("encoder.embeddings.") != std::string::npos)
            return std::pow(lr_decay_, static_cast<double>(n_layers_ + 1));
        return 1.0;
    }

    void on_epoch_begin(std::int64_t epoch) override {
        if (strategy_ != "gradual_unfreeze") return;
        // Epoch 0 trains the head alone; each later epoch unfreezes one more layer from the top,
        // and finally the embeddings.
        model_->encoder()->freeze_lower(std::max<std::int64_t>(0, n_layers_ - epoch));
    }

private:
    std::string strategy_;
    std::int64_t freeze_layers_;
    double lr_decay_;
    std::int64_t n_layers_;
};

struct AutoChoice {
    std::string strategy;
    std::int64_t freeze_layers = 0;
};

}  // namespace

sdk::Descriptor FinetuneStage::describe() {
    return with_truncation_param(with_dropout_params(sdk::Descriptor("finetune", "1",
                           "Fine-tunes a pretrained encoder into a sequence classifier, or a token "
                           "classifier with task = token_classification (or trains one from "
                           "scratch, the baseline). strategy: full | freeze_lower | "
                           "feature_extraction | discriminative_lr | gradual_unfreeze | scratch | "
                           "auto (size x similarity rule, logged).")
        .exclusive()  // LibTorch global RNG and thread pool
        .input("train", "jsonl", "labelled training rows")
        .input("val", "jsonl", "labelled rows for early stopping and model selection")
        .refuses_augmented_input()  // validation rows must be real
        .input_dir("model", "model", "pretrained checkpoint (omit for scratch)", true)
        .input_dir("tokenizer", "tokenizer", "tokenizer (default: the checkpoint's)", true)
        .output_dir("model", "model", "the fine-tuned classifier checkpoint")
        .param_string("task", "sequence_classification",
                      "one label per row (text_field/label_field), or one tag per word "
                      "(tokens_field/tags_field; the first sub-word of each word is labelled)",
                      {"sequence_classification", "token_classification"})
        .param_string("strategy", "full", "how to transfer", kStrategies)
        .param_int("freeze_layers", 1, "freeze_lower: lower layers kept frozen", 0)
        .param_float("lr_decay", 1.0 / 2.6, "discriminative_lr: factor per layer down from the top", 0.01, 1)
        .param_int("epochs", 4, "passes over the training rows", 1)
        .param_int("batch_size", 16, "rows per micro-batch", 1)
        .param_int("grad_accum", 1, "micro-batches per optimizer step", 1)
        .param_float("lr", 2e-4, "peak learning rate", 0)
        .param_float("warmup_ratio", 0.1, "fraction of steps of linear warmup", 0, 1)
        .param_float("weight_decay", 0.01, "AdamW weight decay", 0)
        .param_int("patience", 2, "evaluations without improvement before stopping (0 = never)", 0)
        .param_int("eval_every", 0, "evaluate every N steps (0 = each epoch)", 0)
        .param_int("max_len", 256, "tokens per row (longer rows are truncated, counted)", 8, 4096)
        .param_string("pooling", "cls", "how the classifier pools tokens", {"cls", "mean"})
        .param_float("classifier_dropout", 0.1, "dropout before the classifier", 0, 0.9)
        .param_int("auto_large", 5000, "auto: labelled rows from which a dataset counts as large", 1)
        .param_float("auto_similar_ratio", 2.0,
                     "auto: target perplexity / pretraining perplexity up to which the target "
                     "counts as similar", 1)
        .param_int("d_model", 128, "scratch without a checkpoint: hidden size", 8)
        .param_int("n_layers", 2, "scratch without a checkpoint: blocks", 1)
        .param_int("n_heads", 4, "scratch without a checkpoint: heads", 1)
        .param_int("d_ff", 512, "scratch without a checkpoint: feed-forward size", 8)
        .param_string("position_bias", "none",
                      "scratch without a checkpoint: \"alibi\" adds ALiBi attention biases to the "
                      "learned positions", {"none", "alibi"})
        .param_string("precision", "fp32", "fp32, or bf16 compute with fp32 master weights", {"fp32", "bf16"})
        .param_string("text_field", "text", "field holding the text")
        .param_string("label_field", "label", "field holding the class label")
        .param_string("tokens_field", "tokens", "token_classification: field holding the words")
        .param_string("tags_field", "tags", "token_classification: field holding one tag per word")),
        false);
}

void FinetuneStage::run(sdk::RunContext& ctx) {
    const auto precision = init_torch(ctx, ctx.param<std::string>("precision"));
    torch::manual_seed(ctx.seed());
    const auto pretrained = ctx.optional_input("model");
    std::filesystem::path tok_file;
    const ml::Tokenizer tok = load_tokenizer(ctx.optional_input("tokenizer"), pretrained, &tok_file);
    const bool tagging = ctx.param<std::string>("task") == "token_classification";
    const auto head = tagging ? ml::HeadKind::token_classification : ml::HeadKind::sequence_classification;
    const auto max_len = static_cast<std::size_t>(ctx.param<std::int64_t>("max_len"));
    const ml::Truncation truncation = read_truncation_param(ctx, nullptr);
    if (tagging && truncation != ml::Truncation::head)
        throw sdk::StageError(fmt::format(
            "truncation = \"{}\" applies to sequence classification; token classification keeps each "
            "sentence's first max_len tokens (remove the truncation param)", ml::to_string(truncation)));
    std::vector<ml::Example> train, val;
    std::vector<std::string> labels;
    if (tagging) {
        const auto tokens_field = ctx.param<std::string>("tokens_field");
        const auto tags_field = ctx.param<std::string>("tags_field");
        const TaggedRows train_rows = read_tagged_rows(ctx.input("train"), tokens_field, tags_field);
        const TaggedRows val_rows = read_tagged_rows(ctx.input("val"), tokens_field, tags_field);
        std::set<std::string> tag_set;
        for (const auto& tags : train_rows.tags) tag_set.insert(tags.begin(), tags.end());
        if (tag_set.size() < 2)
            throw sdk::StageError(fmt::format("the training rows have {} tag(s); need at least 2", tag_set.size()));
        labels.assign(tag_set.begin(), tag_set.end());
        std::map<std::string, std::int64_t> tag_id;
        for (std::size_t i = 0; i < labels.size(); ++i) tag_id[labels[i]] = static_cast<std::int64_t>(i);
        std::set<std::string> unseen;
        auto id_of = [&](const std::string& t) {
            auto it = tag_id.find(t);
            if (it != tag_id.end()) return it->second;
            unseen.insert(t);
            return ml::kIgnoreIndex;  // validation tag never seen in training: not scored
        };
        auto tr = encode_tagged(tok, train_rows, max_len, id_of);
        auto va = encode_tagged(tok, val_rows, max_len, id_of);
        if (!unseen.empty())
            ctx.warn("{} validation tag(s) never occur in the training rows and are not scored: {}",
                     unseen.size(), fmt::join(unseen, ", "));
        if (const auto cut = tr.truncated_words + va.truncated_words)
            ctx.info("{} words past max_len = {} tokens were cut", cut, max_len);
        if (const auto dropped = tr.dropped_words + va.dropped_words)
            ctx.warn("{} words encode to no sub-word and carry no label", dropped);
        train = std::move(tr.examples);
        val = std::move(va.examples);
        ctx.info("token classification: {} tags, {} training sentences", labels.size(), train.size());
    } else {
        const auto text_field = ctx.param<std::string>("text_field");
        const auto label_field = ctx.param<std::string>("label_field");
        const TextRows train_rows = read_rows(ctx.input("train"), text_field, label_field);
        const TextRows val_rows = read_rows(ctx.input("val"), text_field, label_field);
        std::set<std::string> label_set(train_rows.labels.begin(), train_rows.labels.end());
        if (label_set.size() < 2)
            throw sdk::StageError(fmt::format("the training rows have {} label(s); need at least 2", label_set.size()));
        for (const auto& l : val_rows.labels)
            if (!label_set.count(l))
                throw sdk::StageError(fmt::format(
                    "validation label '{}' never occurs in the training rows (the classifier can only "
                    "predict labels it was trained on)", l));
        labels.assign(label_set.begin(), label_set.end());
        std::map<std::string, std::int64_t> label_id;
        for (std::size_t i = 0; i < labels.size(); ++i) label_id[labels[i]] = static_cast<std::int64_t>(i);
        std::size_t truncated = 0;
        train = encode_rows(tok, train_rows.texts, max_len, &truncated, truncation);
        val = encode_rows(tok, val_rows.texts, max_len, &truncated, truncation);
        if (truncated)
            ctx.info("{} rows longer than max_len = {} tokens were truncated (truncation = {})", truncated,
                     max_len, ml::to_string(truncation));
        for (std::size_t i = 0; i < train.size(); ++i) train[i].labels = {label_id.at(train_rows.labels[i])};
        for (std::size_t i = 0; i < val.size(); ++i) val[i].labels = {label_id.at(val_rows.labels[i])};
    }

    std::string strategy = ctx.param<std::string>("strategy");
    std::int64_t freeze_layers = ctx.param<std::int64_t>("freeze_layers");
    if (!pretrained && strategy != "scratch" && strategy != "auto")
        throw sdk::StageError(fmt::format("strategy '{}' needs a pretrained 'model' input (or use "
                                          "strategy = \"scratch\")", strategy));
    if (!pretrained && strategy == "auto") {
        ctx.info("auto: no pretrained model given, so training from scratch");
        strategy = "scratch";
    }

    if (strategy == "auto") {
        // The size x similarity rule: size = labelled rows; similarity = how surprised the
        // pretrained language model is by the target text, relative to its own held-out text.
        const auto cfg = ml::read_checkpoint_config(*pretrained);
        auto lm = ml::load_checkpoint(*pretrained).model;
        double ratio = 1.0;
        if (lm->architecture().is_language_model()) {
            LmTask probe(lm, tok, 0.15, ctx.seed());
            std::vector<ml::Example> sample(train.begin(), train.begin() + static_cast<std::ptrdiff_t>(
                                                                 std::min<std::size_t>(train.size(), 256)));
            const double target_ppl =
                probe.evaluate(ml::make_eval_batches(sample, 32, {tok.pad_id().value_or(0), ml::LabelKind::none, 0}))
                    .metrics.at("perplexity");
            const double source_ppl = cfg.extra.contains("pretraining")
                                          ? cfg.extra["pretraining"].value("val_perplexity", target_ppl)
                                          : target_ppl;
            ratio = target_ppl / source_ppl;
            ctx.metric("auto_target_perplexity", target_ppl);
            ctx.metric("auto_source_perplexity", source_ppl);
        } else {
            ctx.warn("auto: the model is not a language model; similarity assumed");
        }
        const bool large = static_cast<std::int64_t>(train.size()) >= ctx.param<std::int64_t>("auto_large");
        const bool similar = ratio <= ctx.param<double>("auto_similar_ratio");
        const std::int64_t n_layers = cfg.architecture.encoder.n_layers();
        AutoChoice c;
        if (!large && similar) c = {"feature_extraction", n_layers};
        else if (large && similar) c = {"freeze_lower", std::max<std::int64_t>(1, n_layers / 3)};
        else if (!large && !similar) c = {"freeze_lower", std::max<std::int64_t>(1, n_layers / 2) - 1};
        else c = {"full", 0};
        ctx.info("auto: {} labelled rows ({}), perplexity ratio {:.2f} ({}) -> {}{}", train.size(),
                 large ? "large" : "small", ratio, similar ? "similar" : "dissimilar", c.strategy,
                 c.strategy == "freeze_lower" ? fmt::format(" with {} frozen layer(s)", c.freeze_layers) : "");
        ctx.metric("auto_rows", static_cast<double>(train.size()));
        ctx.metric("auto_perplexity_ratio", ratio);
        strategy = c.strategy;
        freeze_layers = c.freeze_layers;
    }

    const auto dropout = read_dropout_params(ctx);
    ml::TaskModelPtr model;
    if (strategy == "scratch") {
        ml::ModelArchitecture arch;
        if (pretrained) {
            arch = ml::read_checkpoint_config(*pretrained).architecture;  // same size, fresh weights
        } else {
            arch.encoder = ml::TransformerEncoderOptions(static_cast<std::int64_t>(tok.vocab_size()))
                               .max_len(static_cast<std::int64_t>(max_len))
                               .d_model(ctx.param<std::int64_t>("d_model"))
                               .n_layers(ctx.param<std::int64_t>("n_layers"))
                               .n_heads(ctx.param<std::int64_t>("n_heads"))
                               .d_ff(ctx.param<std::int64_t>("d_ff"))
                               .pre_ln(true)
                               .position_bias(ctx.param<std::string>("position_bias"))
                               .pad_id(tok.pad_id().value_or(0));
        }
        dropout.apply(arch.encoder);
        arch.head = head;
        arch.labels = labels;
        arch.pooling = ctx.param<std::string>("pooling");
        arch.classifier_dropout = ctx.param<double>("classifier_dropout");
        arch.truncation = truncation;
        model = ml::build_model(arch);
    } else {
        ml::TransferOptions t;
        t.head = head;
        t.labels = labels;
        t.pooling = ctx.param<std::string>("pooling");
        t.classifier_dropout = ctx.param<double>("classifier_dropout");
        t.truncation = truncation;
        dropout.apply(t);
        auto loaded = ml::load_encoder_for_transfer(*pretrained, t);
        model = loaded.model;
        ctx.info("transferred the encoder of {}; {} parameter tensor(s) start fresh", pretrained->string(),
                 loaded.fresh_parameters.size());
    }
    if (model->encoder()->options().max_len() < static_cast<std::int64_t>(max_len))
        throw sdk::StageError(fmt::format("max_len = {} exceeds the model's {} positions", max_len,
                                          model->encoder()->options().max_len()));
    model->train();

    StrategyTask task(model, strategy, freeze_layers, ctx.param<double>("lr_decay"));
    ctx.info("strategy {}: {} of {} parameters trainable at the start", strategy,
             count_parameters(*model, true), count_parameters(*model, false));
    ml::TrainerOptions o;
    o.epochs = ctx.param<std::int64_t>("epochs");
    o.batch_size = ctx.param<std::int64_t>("batch_size");
    o.grad_accum_steps = ctx.param<std::int64_t>("grad_accum");
    o.collate.pad_id = tok.pad_id().value_or(0);
    o.collate.label_kind = tagging ? ml::LabelKind::token : ml::LabelKind::sequence;
    o.lr = ctx.param<double>("lr");
    o.weight_decay = ctx.param<double>("weight_decay");
    o.warmup_ratio = ctx.param<double>("warmup_ratio");
    o.eval_every = ctx.param<std::int64_t>("eval_every");
    o.early_stopping_patience = ctx.param<std::int64_t>("patience");
    o.selection_metric = "accuracy";
    o.selection_mode = ml::MetricMode::max;
    o.restore_best = true;
    o.seed = ctx.seed();
    o.threads = ctx.threads();
    o.precision = precision;
    o.log_path = ctx.scratch_dir() / "train_log.jsonl";
    ml::Trainer trainer(task, o);
    trainer.set_progress_callback(progress_to(ctx));
    const ml::TrainResult r = trainer.fit(train, val);
    model->eval();

    ml::SaveCheckpointOptions so;
    so.tokenizer = tok_file;
    so.extra = {{"finetuning", {{"strategy", strategy}, {"task", ml::to_string(head)}, {"steps", r.steps}, {"train_rows", train.size()}}}};
    ml::save_checkpoint(ctx.output("model"), *model, so);
    std::filesystem::copy_file(o.log_path, ctx.output("model") / "train_log.jsonl");

    if (r.best)
        for (const auto& [k, v] : r.best->metrics) ctx.metric("val_" + k, v);
    ctx.metric("steps", static_cast<double>(r.steps));
    ctx.metric("train_tokens_per_s", r.tokens_per_s);
    ctx.metric("train_seconds", r.train_seconds);
    ctx.metric("stopped_early", r.stopped_early ? 1 : 0);
    ctx.metric("trainable_parameters", static_cast<double>(count_parameters(*model, true)));
    if (r.best)
        ctx.info("best validation accuracy {:.4f} at step {}", r.best->metrics.count("accuracy") ? r.best->metrics.at("accuracy") : 0.0,
                 r.best->step);
}

}  // namespace graft::transfer
