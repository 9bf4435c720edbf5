// `multitask`: one encoder (pretrained, or fresh with the size params) shared by up to four
// classification heads, trained on all tasks at once (see multitask_task.hpp and schedule.hpp).
// Each task's head plus the shared encoder is saved as an ordinary sequence or token classifier
// checkpoint (model_a, model_b, ...), which evaluate, export and predict load unchanged.
#include "multitask_task.hpp"
#include "stages.hpp"
#include "task_spec.hpp"

#include "common.hpp"  // the transfer plugin's tokenizer, LibTorch and progress helpers

#include <algorithm>

namespace graft::multitask {

sdk::Descriptor MultitaskStage::describe() {
    sdk::Descriptor d("multitask", "1",
                      "Trains one shared encoder with one classification head per task (up to 4; "
                      "sequence_classification or token_classification each). Task i reads train_<x> / val_<x> "
                      "and writes model_<x> (x = a, b, c, d): an ordinary classifier checkpoint (the shared "
                      "encoder + that task's head) for evaluate and export. schedule: round_robin (one batch per "
                      "step, tasks in turn, smaller tasks upsampled) | proportional (one batch per step, tasks "
                      "in proportion to their batches, each row once per epoch) | mixed (batches pooled across "
                      "tasks). Loss = sum of loss_weight x task loss; early stopping and the best weights use "
                      "the metric-weighted mean of the tasks' validation accuracies (val_score).");
    d.exclusive()  // LibTorch global RNG and thread pool
        .input_dir("model", "model", "pretrained checkpoint whose encoder is shared (omit for a fresh encoder)", true)
        .input_dir("tokenizer", "tokenizer", "tokenizer (default: the checkpoint's)", true);
    for (std::size_t i = 0; i < kMaxTasks; ++i) {
        const auto l = port_letter(i);
        d.input("train_" + l, "jsonl", fmt::format("task {} (tasks[{}]): labelled training rows", l, i), true)
            .input("val_" + l, "jsonl", fmt::format("task {}: labelled rows for early stopping and selection", l), true)
            .refuses_augmented_input();  // validation rows must be real
    }
    for (std::size_t i = 0; i < kMaxTasks; ++i) {
        const auto l = port_letter(i);
        d.output_dir("model_" + l, "model",
                     fmt::format("task {}'s classifier checkpoint (left empty when there is no task {})", l, l));
    }
    return transfer::with_truncation_param(transfer::with_dropout_params(d
        .required("tasks", "list<string>", "task names, 1 to 4 (prefix of the per-task metrics), e.g. [\"sentiment\", \"pos\"]")
        .param("kinds", "list<string>", sdk::json::array(),
               "per task: sequence_classification or token_classification (empty = all sequence_classification)")
        .param("loss_weights", "list<float>", sdk::json::array(),
               "per task: weight of its loss (empty = all 1; 0 = not trained, only evaluated)")
        .param("metric_weights", "list<float>", sdk::json::array(),
               "per task: weight of its validation accuracy in val_score (empty = the loss weights)")
        .param("fields", "table", sdk::json::object(),
               "per-task field names overriding the defaults below, e.g. { sentiment = { text = \"t\", label = \"s\" } } "
               "(keys text, label, tokens, tags)")
        .param_string("schedule", "proportional", "which task each step trains on",
                      {"round_robin", "proportional", "mixed"})
        .param_int("freeze_layers", 0, "lower encoder blocks kept frozen (0 = train the whole encoder)", 0)
        .param_int("epochs", 4, "epochs of the schedule", 1)
        .param_int("batch_size", 16, "rows per micro-batch (one task's rows, or several tasks' with mixed)", 1)
        .param_int("grad_accum", 1, "micro-batches per optimizer step", 1)
        .param_float("lr", 2e-4, "peak learning rate", 0)
        .param_float("warmup_ratio", 0.1, "fraction of steps of linear warmup", 0, 1)
        .param_float("weight_decay", 0.01, "AdamW weight decay", 0)
        .param_int("patience", 2, "evaluations without val_score improving before stopping (0 = never)", 0)
        .param_int("eval_every", 0, "evaluate every N steps (0 = each epoch)", 0)
        .param_int("max_len", 256, "tokens per row (longer rows are truncated, counted)", 8, 4096)
        .param_string("pooling", "cls", "sequence classification heads: how tokens are pooled", {"cls", "mean"})
        .param_float("classifier_dropout", 0.1, "dropout before each classifier", 0, 0.9)
        .param_int("d_model", 128, "fresh encoder (no model input): hidden size", 8)
        .param_int("n_layers", 2, "fresh encoder: blocks", 1)
        .param_int("n_heads", 4, "fresh encoder: heads", 1)
        .param_int("d_ff", 512, "fresh encoder: feed-forward size", 8)
        .param_string("position_bias", "none",
                      "fresh encoder: \"alibi\" adds ALiBi attention biases to the learned positions",
                      {"none", "alibi"})
        .param_string("precision", "fp32", "fp32, or bf16 compute with fp32 master weights", {"fp32", "bf16"})
        .param_string("text_field", "text", "default field holding the text")
        .param_string("label_field", "label", "default field holding the class label")
        .param_string("tokens_field", "tokens", "token_classification default: field holding the words")
        .param_string("tags_field", "tags", "token_classification default: field holding one tag per word")),
        /*follow_model=*/false);
}

namespace {

// One classifier per task; with a checkpoint each starts from its encoder, otherwise from the
// fresh encoder the size params describe. share_encoder() then leaves one encoder for all.
std::vector<ml::TaskModelPtr> build_models(sdk::RunContext& ctx, const std::vector<TaskSpec>& specs,
                                           const std::vector<TaskData>& data,
                                           const std::optional<std::filesystem::path>& pretrained,
                                           const ml::Tokenizer& tok, std::size_t max_len,
                                           ml::Truncation truncation) {
    const auto dropout = transfer::read_dropout_params(ctx);
    std::vector<ml::TaskModelPtr> models;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        if (pretrained) {
            ml::TransferOptions t;
            t.head = specs[i].kind;
            t.labels = data[i].labels;
            t.pooling = ctx.param<std::string>("pooling");
            t.classifier_dropout = ctx.param<double>("classifier_dropout");
            if (t.head == ml::HeadKind::sequence_classification) t.truncation = truncation;
            dropout.apply(t);
            models.push_back(ml::load_encoder_for_transfer(*pretrained, t).model);
            continue;
        }
        ml::ModelArchitecture arch;
        arch.encoder = ml::TransformerEncoderOptions(static_cast<std::int64_t>(tok.vocab_size()))
                           .max_len(static_cast<std::int64_t>(max_len))
                           .d_model(ctx.param<std::int64_t>("d_model"))
                           .n_layers(ctx.param<std::int64_t>("n_layers"))
                           .n_heads(ctx.param<std::int64_t>("n_heads"))
                           .d_ff(ctx.param<std::int64_t>("d_ff"))
                           .position_bias(ctx.param<std::string>("position_bias"))
                           .pre_ln(true)
                           .pad_id(tok.pad_id().value_or(0));
        dropout.apply(arch.encoder);
        arch.head = specs[i].kind;
        arch.labels = data[i].labels;
        arch.pooling = ctx.param<std::string>("pooling");
        arch.classifier_dropout = ctx.param<double>("classifier_dropout");
        if (arch.head == ml::HeadKind::sequence_classification) arch.truncation = truncation;
        try {
            models.push_back(ml::build_model(arch));
        } catch (const std::invalid_argument& e) {
            throw sdk::StageError(fmt::format("fresh encoder (d_model, n_layers, n_heads, d_ff): {}", e.what()));
        }
    }
    share_encoder(models);
    if (pretrained)
        ctx.info("shared encoder from {}; {} fresh head(s)", pretrained->string(), models.size());
    else
        ctx.info("no pretrained model: a fresh encoder shared by {} head(s)", models.size());
    return models;
}

}  // namespace

void MultitaskStage::run(sdk::RunContext& ctx) {
    const auto specs = parse_task_specs(ctx.params(), ctx.input_names());
    const auto precision = transfer::init_torch(ctx, ctx.param<std::string>("precision"));
    torch::manual_seed(ctx.seed());
    const auto pretrained = ctx.optional_input("model");
    std::filesystem::path tok_file;
    const ml::Tokenizer tok = transfer::load_tokenizer(ctx.optional_input("tokenizer"), pretrained, &tok_file);
    const auto max_len = static_cast<std::size_t>(ctx.param<std::int64_t>("max_len"));
    // Sequence classification tasks cut long rows this way (and their checkpoints record it);
    // token classification tasks keep each sentence's first max_len tokens.
    const ml::Truncation truncation = transfer::read_truncation_param(ctx, nullptr);
    if (truncation != ml::Truncation::head &&
        std::none_of(specs.begin(), specs.end(),
                     [](const TaskSpec& s) { return s.kind == ml::HeadKind::sequence_classification; }))
        throw sdk::StageError(fmt::format(
            "truncation = \"{}\" applies to sequence classification tasks and every task here is token "
            "classification, which keeps each sentence's first max_len tokens (remove the truncation param)",
            ml::to_string(truncation)));

    std::vector<TaskData> data;
    for (const auto& s : specs)
        data.push_back(load_task_data(
            s, ctx.input(s.train_port.c_str()), ctx.input(s.val_port.c_str()), tok, max_len, truncation,
            [&](const std::string& m) { ctx.info("{}", m); }, [&](const std::string& m) { ctx.warn("{}", m); }));
    const auto models = build_models(ctx, specs, data, pretrained, tok, max_len, truncation);
    auto& encoder = models.front()->encoder();
    if (encoder->options().max_len() < static_cast<std::int64_t>(max_len))
        throw sdk::StageError(fmt::format("max_len = {} exceeds the model's {} positions", max_len,
                                          encoder->options().max_len()));
    const auto freeze = ctx.param<std::int64_t>("freeze_layers");
    if (freeze > encoder->options().n_layers())
        throw sdk::StageError(fmt::format("freeze_layers = {} but the encoder has {} blocks", freeze,
                                          encoder->options().n_layers()));
    encoder->freeze_lower(freeze);

    std::vector<TaskSlot> slots;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        models[i]->train();
        slots.push_back({specs[i].name, models[i], std::move(data[i].train), std::move(data[i].val),
                         specs[i].loss_weight, specs[i].metric_weight});
        if (specs[i].loss_weight == 0)
            ctx.info("task '{}' has loss weight 0: its head is not trained, only evaluated", specs[i].name);
    }
    ScheduleOptions so;
    so.kind = schedule_from_string(ctx.param<std::string>("schedule"));
    so.batch_size = ctx.param<std::int64_t>("batch_size");
    so.seed = ctx.seed();
    const std::int64_t pad_id = tok.pad_id().value_or(0);
    MultitaskTask task(std::move(slots), so, pad_id, so.batch_size);
    const auto placeholders = task.placeholder_train();
    ctx.info("schedule {}: {} steps per epoch", to_string(so.kind), placeholders.size());

    ml::TrainerOptions o;
    o.epochs = ctx.param<std::int64_t>("epochs");
    o.batch_size = 1;   // one placeholder per scheduled step
    o.bucket_size = 0;  // the schedule does the bucketing
    o.grad_accum_steps = ctx.param<std::int64_t>("grad_accum");
    o.collate.pad_id = pad_id;
    o.lr = ctx.param<double>("lr");
    o.weight_decay = ctx.param<double>("weight_decay");
    o.warmup_ratio = ctx.param<double>("warmup_ratio");
    o.eval_every = ctx.param<std::int64_t>("eval_every");
    o.early_stopping_patience = ctx.param<std::int64_t>("patience");
    o.selection_metric = "val_score";
    o.selection_mode = ml::MetricMode::max;
    o.restore_best = true;
    o.seed = ctx.seed();
    o.threads = ctx.threads();
    o.precision = precision;
    o.log_path = ctx.scratch_dir() / "train_log.jsonl";
    ml::Trainer trainer(task, o);
    trainer.set_progress_callback(transfer::progress_to(ctx));
    const ml::TrainResult r = trainer.fit(placeholders, MultitaskTask::placeholder_val());

    std::vector<std::string> names, kinds;
    std::vector<double> weights;
    for (const auto& s : specs) {
        names.push_back(s.name);
        kinds.push_back(ml::to_string(s.kind));
        weights.push_back(s.loss_weight);
    }
    for (std::size_t i = 0; i < specs.size(); ++i) {
        const auto& t = task.tasks()[i];
        t.model->eval();
        ml::SaveCheckpointOptions save;
        save.tokenizer = tok_file;
        save.extra = {{"multitask",
                       {{"task", t.name}, {"tasks", names}, {"kinds", kinds}, {"loss_weights", weights},
                        {"schedule", to_string(so.kind)}, {"steps", r.steps}, {"train_rows", t.train.size()},
                        {"rows_trained", task.rows_trained()[i]}}}};
        const auto dir = ctx.output(specs[i].model_port.c_str());
        ml::save_checkpoint(dir, *t.model, save);
        std::filesystem::copy_file(o.log_path, dir / "train_log.jsonl");
        ctx.metric(t.name + "_rows_trained", static_cast<double>(task.rows_trained()[i]));
        ctx.metric(t.name + "_batches_trained", static_cast<double>(task.parts_trained()[i]));
    }
    if (r.best) {
        for (const auto& [k, v] : r.best->metrics) ctx.metric(k, v);
        for (const auto& s : specs)
            ctx.info("task '{}': best validation accuracy {:.4f}", s.name, r.best->metrics.at(s.name + "_val_accuracy"));
        ctx.info("best val_score {:.4f} at step {}", r.best->metrics.at("val_score"), r.best->step);
    }
    ctx.metric("steps", static_cast<double>(r.steps));
    ctx.metric("train_tokens_per_s", r.tokens_per_s);
    ctx.metric("train_seconds", r.train_seconds);
    ctx.metric("stopped_early", r.stopped_early ? 1 : 0);
    ctx.metric("trainable_parameters", static_cast<double>(transfer::count_parameters(task.module(), true)));
}

}  // namespace graft::multitask
