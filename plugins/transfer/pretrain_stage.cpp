// `pretrain`: a transformer language model (masked or causal) trained from scratch on unlabelled
// text, or continued from a checkpoint (domain-adaptive pretraining). Reports held-out perplexity.
#include "common.hpp"
#include "stages.hpp"

#include <random>

namespace graft::transfer {

sdk::Descriptor PretrainStage::describe() {
    return sdk::Descriptor("pretrain", "1",
                           "Pretrains a transformer language model (objective mlm or clm) on "
                           "unlabelled JSONL text; reports held-out perplexity. With 'init' it "
                           "continues from a checkpoint (domain-adaptive pretraining).")
        .exclusive()  // LibTorch global RNG and thread pool
        .input("data", "jsonl", "unlabelled text rows")
        .input_dir("tokenizer", "tokenizer", "tokenizer artifact (tokenizer.json)", true)
        .input_dir("init", "model", "checkpoint to continue from", true)
        .output_dir("model", "model", "checkpoint: model.safetensors + config.json + tokenizer.json")
        .param_string("objective", "mlm", "masked (BERT) or causal (GPT) language modelling", {"mlm", "clm"})
        .param_int("d_model", 128, "hidden size", 8)
        .param_int("n_layers", 2, "transformer blocks", 1)
        .param_int("n_heads", 4, "attention heads (divide d_model)", 1)
        .param_int("d_ff", 512, "feed-forward size", 8)
        .param_int("max_len", 128, "tokens per training window", 8, 4096)
        .param_float("dropout", 0.1, "dropout", 0, 0.9)
        .param_bool("pre_ln", true, "pre-LayerNorm blocks (GPT-2 style) instead of post-LN (BERT)")
        .param_string("position_bias", "none",
                      "\"alibi\": also bias each head's attention by -slope x distance (ALiBi), so "
                      "attention starts local; \"none\": learned positions only",
                      {"none", "alibi"})
        .param_int("epochs", 1, "passes over the data", 1)
        .param_int("max_steps", 0, "stop after this many optimizer steps (0 = epochs decide)", 0)
        .param_int("batch_size", 32, "windows per micro-batch", 1)
        .param_int("grad_accum", 1, "micro-batches per optimizer step", 1)
        .param_float("lr", 5e-4, "peak learning rate", 0)
        .param_float("warmup_ratio", 0.06, "fraction of steps of linear warmup", 0, 1)
        .param_float("weight_decay", 0.01, "AdamW weight decay (not on biases and norms)", 0)
        .param_float("mask_prob", 0.15, "MLM: fraction of tokens selected for prediction", 0.01, 0.9)
        .param_float("val_fraction", 0.02, "rows held out for perplexity", 0, 0.5)
        .param_int("max_rows", 0, "use at most this many rows (0 = all)", 0)
        .param_string("precision", "fp32", "fp32, or bf16 compute with fp32 master weights", {"fp32", "bf16"})
        .param_string("text_field", "text", "field holding the text");
}

void PretrainStage::run(sdk::RunContext& ctx) {
    const auto precision = init_torch(ctx, ctx.param<std::string>("precision"));
    torch::manual_seed(ctx.seed());
    const auto init = ctx.optional_input("init");
    std::filesystem::path tok_file;
    const ml::Tokenizer tok = load_tokenizer(ctx.optional_input("tokenizer"), init, &tok_file);

    TextRows rows = read_rows(ctx.input("data"), ctx.param<std::string>("text_field"), "");
    std::mt19937_64 rng(ctx.seed());
    ml::deterministic_shuffle(rows.texts, rng);
    if (auto max_rows = ctx.param<std::int64_t>("max_rows"); max_rows > 0 &&
                                                               rows.texts.size() > static_cast<std::size_t>(max_rows))
        rows.texts.resize(static_cast<std::size_t>(max_rows));
    const auto n_val = static_cast<std::size_t>(
        std::ceil(static_cast<double>(rows.texts.size()) * ctx.param<double>("val_fraction")));
    std::vector<std::string> val_texts(rows.texts.end() - static_cast<std::ptrdiff_t>(n_val), rows.texts.end());
    rows.texts.resize(rows.texts.size() - n_val);

    const auto max_len = static_cast<std::size_t>(ctx.param<std::int64_t>("max_len"));
    auto train = encode_chunks(tok, rows.texts, max_len);
    auto val = encode_chunks(tok, val_texts, max_len);
    if (train.empty()) throw sdk::StageError("no training windows: the text is empty after tokenization");
    std::int64_t train_tokens = 0;
    for (const auto& e : train) train_tokens += static_cast<std::int64_t>(e.ids.size());
    ctx.info("{} training windows ({} tokens), {} held-out windows, vocabulary {}", train.size(),
             train_tokens, val.size(), tok.vocab_size());

    ml::TaskModelPtr model;
    if (init) {
        model = ml::load_checkpoint(*init).model;
        if (!model->architecture().is_language_model())
            throw sdk::StageError(fmt::format("init checkpoint {} is a {} model, not a language model",
                                              init->string(), ml::to_string(model->head_kind())));
        model->train();
        ctx.info("continuing from {} (its architecture wins over the size params)", init->string());
    } else {
        ml::ModelArchitecture arch;
        arch.head = ml::head_kind_from_string(ctx.param<std::string>("objective"));
        arch.encoder = ml::TransformerEncoderOptions(static_cast<std::int64_t>(tok.vocab_size()))
                           .max_len(static_cast<std::int64_t>(max_len))
                           .d_model(ctx.param<std::int64_t>("d_model"))
                           .n_layers(ctx.param<std::int64_t>("n_layers"))
                           .n_heads(ctx.param<std::int64_t>("n_heads"))
                           .d_ff(ctx.param<std::int64_t>("d_ff"))
                           .dropout(ctx.param<double>("dropout"))
                           .attention_dropout(ctx.param<double>("dropout"))
                           .pre_ln(ctx.param<bool>("pre_ln"))
                           .position_bias(ctx.param<std::string>("position_bias"))
                           .pad_id(tok.pad_id().value_or(0));
        try {
            arch.validate();
        } catch (const std::exception& e) {
            throw sdk::StageError(fmt::format("invalid model size params: {}", e.what()));
        }
        model = ml::build_model(arch);
    }
    ctx.info("model: {} parameters", count_parameters(*model, false));

    LmTask task(model, tok, ctx.param<double>("mask_prob"), ctx.seed());
    ml::TrainerOptions o;
    o.epochs = ctx.param<std::int64_t>("epochs");
    o.max_steps = ctx.param<std::int64_t>("max_steps");
    o.batch_size = ctx.param<std::int64_t>("batch_size");
    o.grad_accum_steps = ctx.param<std::int64_t>("grad_accum");
    o.collate.pad_id = tok.pad_id().value_or(0);
    o.lr = ctx.param<double>("lr");
    o.weight_decay = ctx.param<double>("weight_decay");
    o.warmup_ratio = ctx.param<double>("warmup_ratio");
    o.schedule = ml::ScheduleKind::linear;
    o.selection_metric = "loss";
    o.selection_mode = ml::MetricMode::min;
    o.restore_best = false;  // pretraining keeps its last weights
    o.seed = ctx.seed();
    o.threads = ctx.threads();
    o.precision = precision;
    o.log_path = ctx.scratch_dir() / "train_log.jsonl";
    ml::Trainer trainer(task, o);
    trainer.set_progress_callback(progress_to(ctx));
    const ml::TrainResult r = trainer.fit(train, {});
    model->eval();
    const auto eval = val.empty() ? ml::EvalResult{}
                                  : task.evaluate(ml::make_eval_batches(val, o.batch_size, o.collate));

    ml::SaveCheckpointOptions so;
    so.tokenizer = tok_file;
    so.extra = {{"pretraining", {{"objective", ml::to_string(model->head_kind())},
                                 {"steps", r.steps},
                                 {"tokens", r.real_tokens}}}};
    if (eval.metrics.count("perplexity")) so.extra["pretraining"]["val_perplexity"] = eval.metrics.at("perplexity");
    ml::save_checkpoint(ctx.output("model"), *model, so);
    std::filesystem::copy_file(o.log_path, ctx.output("model") / "train_log.jsonl");

    ctx.metric("steps", static_cast<double>(r.steps));
    ctx.metric("train_tokens_per_s", r.tokens_per_s);
    ctx.metric("train_seconds", r.train_seconds);
    if (!r.losses.empty()) ctx.metric("final_loss", r.losses.back());
    ctx.metric("parameters", static_cast<double>(count_parameters(*model, false)));
    for (const auto& [k, v] : eval.metrics) ctx.metric("val_" + k, v);
    if (eval.metrics.count("perplexity"))
        ctx.info("held-out perplexity {:.2f} after {} steps ({:.0f} tokens/s)", eval.metrics.at("perplexity"),
                 r.steps, r.tokens_per_s);
}

}  // namespace graft::transfer
