// `distill`: a fine-tuned sequence classifier (the teacher) compressed into a smaller student by
// knowledge distillation (soft targets at temperature T, hard labels, optionally hidden states).
// See distill_loss.hpp for the objective and student.hpp for the student's shape and init.
#include "distill_task.hpp"
#include "latency.hpp"
#include "stages.hpp"
#include "student.hpp"

#include "common.hpp"  // the transfer plugin's row reading, tokenizer and progress helpers

#include <map>
#include <set>

namespace graft::distill {

sdk::Descriptor DistillStage::describe() {
    return sdk::Descriptor(
               "distill", "1",
               "Distils a fine-tuned sequence classifier (teacher) into a smaller student: loss = "
               "alpha * T^2 * KL(teacher || student at temperature T) + (1 - alpha) * CE(labels) + "
               "hidden_mse * MSE(hidden states). Teacher logits are computed once up front. Reports "
               "parameter counts, batch-1 CPU latency of both models and validation accuracy. A student "
               "not smaller than the teacher is allowed, with a warning.")
        .exclusive()  // LibTorch global RNG and thread pool
        .input_dir("teacher", "model", "the teacher checkpoint (a sequence classifier)")
        .input("train", "jsonl", "labelled training rows")
        .input("val", "jsonl", "labelled rows for model selection and the accuracy metrics", true)
        .input("unlabelled", "jsonl",
               "extra rows (text only) that the teacher labels: soft targets only, no CE term", true)
        .input_dir("tokenizer", "tokenizer", "tokenizer (default: the teacher's)", true)
        .output_dir("model", "model", "the student checkpoint (loads like any finetune output)")
        .param_int("n_layers", 0, "student blocks; 0 = half the teacher's (at least 1)", 0)
        .param_int("d_model", 0, "student width; 0 = the teacher's", 0)
        .param_int("n_heads", 0, "student heads; 0 = the teacher's (must divide d_model)", 0)
        .param_int("d_ff", 0, "student feed-forward size; 0 = teacher's d_ff x d_model / teacher d_model", 0)
        .param_string("init", "random",
                      "random, or teacher_layers: copy the teacher's embeddings, layers 0, 2, 4, ... and "
                      "head (needs the teacher's d_model, n_heads and d_ff)",
                      {"random", "teacher_layers"})
        .param_float("temperature", 2.0, "softmax temperature T of the soft targets", 0.05, 100)
        .param_float("alpha", 0.5, "weight of the soft-target term; 0 = hard labels only", 0, 1)
        .param_float("hidden_mse", 0.0,
                     "weight of the hidden-state MSE (student layer j vs teacher layer round(j * "
                     "n_teacher / n_student), through a learned projection when widths differ; "
                     "runs the teacher on every batch)", 0)
        .param_int("epochs", 4, "passes over the transfer set", 1)
        .param_int("batch_size", 16, "rows per micro-batch", 1)
        .param_float("lr", 3e-4, "peak learning rate", 0)
        .param_float("warmup_ratio", 0.1, "fraction of steps of linear warmup", 0, 1)
        .param_float("weight_decay", 0.01, "AdamW weight decay", 0)
        .param_int("patience", 2, "evaluations without improvement before stopping (0 = never; needs val)", 0)
        .param_int("max_len", 256, "tokens per row (longer rows are truncated, counted)", 8, 4096)
        .param_int("max_unlabelled", 0, "use the first N unlabelled rows (0 = all)", 0)
        .param_int("latency_runs", 50, "single-row forwards timed per model (median reported); 0 = skip", 0)
        .param_string("text_field", "text", "field holding the text")
        .param_string("label_field", "label", "field holding the class label");
}

namespace {

const char* const kLabelFix = "distil on rows of the teacher's task";

double accuracy(ml::TaskModelImpl& model, const std::vector<ml::Example>& examples, std::int64_t pad_id) {
    model.eval();
    torch::NoGradGuard no_grad;
    double correct = 0;
    for (const auto& b : ml::make_eval_batches(examples, 64, {pad_id, ml::LabelKind::sequence, 0}))
        correct += (model.forward(b.ids, b.attention_mask).argmax(-1) == b.labels).sum().item<double>();
    return correct / static_cast<double>(examples.size());
}

}  // namespace

void DistillStage::run(sdk::RunContext& ctx) {
    transfer::init_torch(ctx, "fp32");
    torch::manual_seed(ctx.seed());
    const auto teacher_dir = ctx.input("teacher");
    std::filesystem::path tok_file;
    const ml::Tokenizer tok = transfer::load_tokenizer(ctx.optional_input("tokenizer"), teacher_dir, &tok_file);
    const std::int64_t pad_id = tok.pad_id().value_or(0);
    auto teacher = ml::load_checkpoint(teacher_dir).model;

    StudentShape shape{ctx.param<std::int64_t>("n_layers"), ctx.param<std::int64_t>("d_model"),
                       ctx.param<std::int64_t>("n_heads"), ctx.param<std::int64_t>("d_ff")};
    ml::ModelArchitecture arch;
    try {
        arch = student_architecture(teacher->architecture(), shape);
    } catch (const std::invalid_argument& e) {
        throw sdk::StageError(fmt::format("teacher {}: {}", teacher_dir.string(), e.what()));
    }
    auto student = ml::build_model(arch);
    const std::string init = ctx.param<std::string>("init");
    if (init == "teacher_layers") {
        try {
            init_from_teacher_layers(*student, *teacher);
        } catch (const std::invalid_argument& e) {
            throw sdk::StageError(e.what());
        }
    }
    const auto student_params = count_parameters(*student), teacher_params = count_parameters(*teacher);
    if (student_params >= teacher_params)
        ctx.warn("the student has {} parameters, the teacher {}: this is no compression (lower n_layers "
                 "or d_model)", student_params, teacher_params);
    ctx.info("student: {} layers, d_model {}, {} heads, d_ff {}, init {}: {} parameters ({:.1f}% of the teacher's {})",
             arch.encoder.n_layers(), arch.encoder.d_model(), arch.encoder.n_heads(), arch.encoder.d_ff(), init,
             student_params, 100.0 * static_cast<double>(student_params) / static_cast<double>(teacher_params),
             teacher_params);

    // Rows: labelled train (+ teacher-labelled unlabelled rows), optional val.
    std::map<std::string, std::int64_t> label_id;
    for (std::size_t i = 0; i < arch.labels.size(); ++i) label_id[arch.labels[i]] = static_cast<std::int64_t>(i);
    const auto text_field = ctx.param<std::string>("text_field");
    const auto label_field = ctx.param<std::string>("label_field");
    const auto max_len = static_cast<std::size_t>(
        std::min<std::int64_t>(ctx.param<std::int64_t>("max_len"), arch.encoder.max_len()));
    std::size_t truncated = 0;
    // Rows are cut as the teacher was fine-tuned; the student inherits that (and records it).
    const ml::Truncation truncation = arch.truncation;
    const auto train_rows = transfer::read_rows(ctx.input("train"), text_field, label_field);
    auto train = transfer::encode_rows(tok, train_rows.texts, max_len, &truncated, truncation);
    transfer::assign_class_labels(train_rows, label_id, ctx.input("train"), "teacher", kLabelFix, train);
    const std::size_t labelled_rows = train.size();
    if (const auto unlabelled = ctx.optional_input("unlabelled")) {
        auto rows = transfer::read_rows(*unlabelled, text_field, "");
        const auto cap = static_cast<std::size_t>(ctx.param<std::int64_t>("max_unlabelled"));
        if (cap > 0 && rows.texts.size() > cap) rows.texts.resize(cap);
        for (auto& ex : transfer::encode_rows(tok, rows.texts, max_len, &truncated, truncation)) {
            ex.labels = {ml::kIgnoreIndex};  // the KL term only
            train.push_back(std::move(ex));
        }
    }
    std::vector<ml::Example> val;
    if (const auto val_file = ctx.optional_input("val")) {
        const auto rows = transfer::read_rows(*val_file, text_field, label_field);
        val = transfer::encode_rows(tok, rows.texts, max_len, &truncated, truncation);
        transfer::assign_class_labels(rows, label_id, *val_file, "teacher", kLabelFix, val);
    }
    if (truncated) ctx.info("{} rows longer than max_len = {} tokens were truncated (truncation = {}, the teacher's)",
                           truncated, max_len, ml::to_string(truncation));
    ctx.info("transfer set: {} labelled + {} teacher-labelled rows", labelled_rows, train.size() - labelled_rows);

    const auto batch_size = ctx.param<std::int64_t>("batch_size");
    const auto cached = teacher_logits(*teacher, train, std::max<std::int64_t>(batch_size, 32), pad_id);
    DistillTaskOptions dopt;
    dopt.kd.temperature = ctx.param<double>("temperature");
    dopt.kd.alpha = ctx.param<double>("alpha");
    dopt.hidden_mse = ctx.param<double>("hidden_mse");
    student->train();
    DistillTask task(student, teacher, cached, dopt);

    ml::TrainerOptions o;
    o.epochs = ctx.param<std::int64_t>("epochs");
    o.batch_size = batch_size;
    o.collate.pad_id = pad_id;
    o.collate.label_kind = ml::LabelKind::sequence;
    o.lr = ctx.param<double>("lr");
    o.weight_decay = ctx.param<double>("weight_decay");
    o.warmup_ratio = ctx.param<double>("warmup_ratio");
    o.early_stopping_patience = val.empty() ? 0 : ctx.param<std::int64_t>("patience");
    o.selection_metric = "accuracy";
    o.selection_mode = ml::MetricMode::max;
    o.restore_best = !val.empty();
    o.seed = ctx.seed();
    o.threads = ctx.threads();
    o.log_path = ctx.scratch_dir() / "train_log.jsonl";
    ml::Trainer trainer(task, o);
    trainer.set_progress_callback(transfer::progress_to(ctx));
    const ml::TrainResult r = trainer.fit(train, val);
    student->eval();

    ml::SaveCheckpointOptions so;
    so.tokenizer = tok_file;
    so.extra = {{"distillation",
                 {{"teacher", teacher_dir.filename().string()}, {"init", init}, {"temperature", dopt.kd.temperature},
                  {"alpha", dopt.kd.alpha}, {"hidden_mse", dopt.hidden_mse}, {"steps", r.steps},
                  {"labelled_rows", labelled_rows}, {"unlabelled_rows", train.size() - labelled_rows}}}};
    ml::save_checkpoint(ctx.output("model"), *student, so);
    std::filesystem::copy_file(o.log_path, ctx.output("model") / "train_log.jsonl");

    ctx.metric("student_parameters", static_cast<double>(student_params));
    ctx.metric("teacher_parameters", static_cast<double>(teacher_params));
    ctx.metric("parameter_ratio", static_cast<double>(student_params) / static_cast<double>(teacher_params));
    ctx.metric("steps", static_cast<double>(r.steps));
    ctx.metric("train_seconds", r.train_seconds);
    if (!val.empty()) {
        const double s_acc = accuracy(*student, val, pad_id), t_acc = accuracy(*teacher, val, pad_id);
        ctx.metric("val_accuracy", s_acc);
        ctx.metric("teacher_val_accuracy", t_acc);
        ctx.info("validation accuracy: student {:.4f}, teacher {:.4f}", s_acc, t_acc);
    }
    if (const auto runs = ctx.param<std::int64_t>("latency_runs"); runs > 0) {
        const auto& probe = val.empty() ? train : val;
        const auto [t_ms, s_ms] = transfer::paired_median_latency_ms(*teacher, *student, probe, runs);
        ctx.metric("teacher_latency_ms", t_ms);
        ctx.metric("student_latency_ms", s_ms);
        ctx.metric("speedup", t_ms / s_ms);
        ctx.metric("latency_threads", static_cast<double>(at::get_num_threads()));
        ctx.info("batch-1 latency (median of {} interleaved forwards each, {} thread(s)): teacher {:.3f} ms, student {:.3f} ms, {:.2f}x",
                 runs, at::get_num_threads(), t_ms, s_ms, t_ms / s_ms);
    }
}

}  // namespace graft::distill
