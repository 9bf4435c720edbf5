#include "ml/train/trainer.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace graft::ml {

namespace {

constexpr int64_t kStateVersion = 1;
using Clock = std::chrono::steady_clock;

void require(bool ok, const std::string& message) {
    if (!ok) throw std::invalid_argument(message);
}

void validate(const TrainerOptions& o) {
    require(o.epochs > 0 || o.max_steps > 0,
            fmt::format("trainer: set epochs > 0 or max_steps > 0 (got epochs = {}, max_steps = "
                        "{}), otherwise there is nothing to train",
                        o.epochs, o.max_steps));
    require(o.epochs >= 0 && o.max_steps >= 0,
            "trainer: epochs and max_steps must not be negative");
    require(o.batch_size >= 1,
            fmt::format("trainer: batch_size must be >= 1, got {}", o.batch_size));
    require(o.grad_accum_steps >= 1,
            fmt::format("trainer: grad_accum_steps must be >= 1, got {}", o.grad_accum_steps));
    require(o.bucket_size >= 0, fmt::format("trainer: bucket_size must be >= 0, got {}",
                                            o.bucket_size));
    require(o.eval_batch_size >= 0,
            fmt::format("trainer: eval_batch_size must be >= 0, got {}", o.eval_batch_size));
    require(o.weight_decay >= 0 && std::isfinite(o.weight_decay),
            fmt::format("trainer: weight_decay must be >= 0, got {}", o.weight_decay));
    require(o.warmup_steps >= 0, fmt::format("trainer: warmup_steps must be >= 0, got {}",
                                             o.warmup_steps));
    require(o.warmup_ratio >= 0 && o.warmup_ratio <= 1,
            fmt::format("trainer: warmup_ratio must be in [0, 1], got {}", o.warmup_ratio));
    require(o.eval_every >= 0 && o.early_stopping_patience >= 0 && o.checkpoint_every >= 0 &&
                o.stop_after_steps >= 0,
            "trainer: eval_every, early_stopping_patience, checkpoint_every and "
            "stop_after_steps must not be negative");
    require(!o.selection_metric.empty(), "trainer: selection_metric must name a metric");
}

std::string rng_to_string(const std::mt19937_64& rng) {
    std::ostringstream out;
    out << rng;
    return out.str();
}

void rng_from_string(std::mt19937_64& rng, const std::string& text) {
    std::istringstream in(text);
    in >> rng;
    if (!in) throw std::runtime_error("training state: the data-order RNG state is corrupt");
}

// Parameters then buffers, in registration order: what best-weights snapshots hold.
std::vector<torch::Tensor> module_tensors(const torch::nn::Module& module) {
    std::vector<torch::Tensor> tensors = module.parameters(true);
    for (const auto& buffer : module.buffers(true)) tensors.push_back(buffer);
    return tensors;
}

int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key) {
    c10::IValue value;
    archive.read(key, value);
    return value.toInt();
}

std::string read_string(torch::serialize::InputArchive& archive, const std::string& key) {
    c10::IValue value;
    archive.read(key, value);
    return value.toStringRef();
}

// Global L2 norm of all defined gradients; scales them down to max_norm when it is exceeded
// (max_norm <= 0: measure only). Same rule as torch.nn.utils.clip_grad_norm_.
double clip_gradients(const std::vector<torch::Tensor>& params, double max_norm) {
    std::vector<torch::Tensor> norms;
    for (const auto& p : params) {
        if (p.grad().defined()) norms.push_back(p.grad().detach().norm(2).to(torch::kFloat64));
    }
    if (norms.empty()) return 0.0;
    const double total = torch::stack(norms).norm(2).item<double>();
    if (max_norm > 0 && std::isfinite(total) && total > max_norm) {
        const double coefficient = max_norm / (total + 1e-6);
        torch::NoGradGuard no_grad;
        for (const auto& p : params) {
            if (p.grad().defined()) p.mutable_grad().mul_(coefficient);
        }
    }
    return total;
}

}  // namespace

MetricMode parse_metric_mode(const std::string& text) {
    if (text == "max") return MetricMode::max;
    if (text == "min") return MetricMode::min;
    throw std::invalid_argument(
        fmt::format("selection mode '{}' is not supported: expected \"max\" or \"min\"", text));
}

struct Trainer::State {
    State(TrainTask& t, TrainerOptions o) : task(t), options(std::move(o)) {}

    TrainTask& task;
    TrainerOptions options;
    std::vector<ParamGroup> groups;
    std::vector<double> base_lrs;
    std::vector<torch::Tensor> params;
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    ProgressCallback progress;

    // Run position; everything below is in the state file.
    int64_t step = 0;
    int64_t epoch = 0;
    int64_t position = 0;          // micro-batches of the current epoch consumed
    std::mt19937_64 data_rng;
    std::string epoch_start_rng;   // data_rng before the current epoch's plan (position > 0)
    int64_t evals_without_improvement = 0;
    int64_t last_eval_step = -1;
    bool stopped_early = false;
    std::optional<EvalRecord> best;
    std::vector<torch::Tensor> best_tensors;
    // The run's shape, saved so that a resume can check it gets the same data and options.
    bool resumed = false;
    int64_t saved_train_size = 0;
    int64_t saved_total_steps = 0;

    std::vector<std::vector<size_t>> plan;  // current epoch (rebuilt on resume)
    std::ofstream log;

    // Training-loop pieces.
    int64_t total_steps(size_t train_size) const;
    double step_once(std::span<const Example> train, size_t begin, size_t end,
                     int64_t& tokens, double& grad_norm);
    EvalRecord evaluate(const std::vector<Batch>& batches);
    bool record_eval(const EvalRecord& record);  // true when it is the new best
    void open_log();
    void write_log(int64_t step_epoch, double loss, double lr, int64_t tokens,
                   double tokens_per_s, double grad_norm, const EvalRecord* eval);
    void restore_best();
};

int64_t Trainer::State::total_steps(size_t train_size) const {
    const auto batches = (static_cast<int64_t>(train_size) + options.batch_size - 1) /
                         options.batch_size;
    const int64_t per_epoch = (batches + options.grad_accum_steps - 1) / options.grad_accum_steps;
    if (options.epochs == 0) return options.max_steps;
    const int64_t by_epochs = per_epoch * options.epochs;
    return options.max_steps > 0 ? std::min(by_epochs, options.max_steps) : by_epochs;
}

double Trainer::State::step_once(std::span<const Example> train, size_t begin, size_t end,
                                 int64_t& tokens, double& grad_norm) {
    // Prepare every micro-batch first: exact accumulation needs the total weight up front.
    std::vector<Batch> micro;
    std::vector<double> weights;
    double total_weight = 0;
    tokens = 0;
    for (size_t i = begin; i < end; ++i) {
        micro.push_back(task.prepare(collate(train, plan[i], options.collate)));
        const double weight = task.loss_weight(micro.back());
        if (!(weight >= 0) || !std::isfinite(weight)) {
            throw std::runtime_error(fmt::format(
                "trainer: the task's loss_weight is {} at step {}: it must be a finite count >= 0",
                weight, step + 1));
        }
        weights.push_back(weight);
        total_weight += weight;
        tokens += micro.back().real_tokens;
    }
    for (auto& p : params) p.mutable_grad() = torch::Tensor();  // set_to_none
    task.module().train();
    double loss_sum = 0;
    for (size_t i = 0; i < micro.size(); ++i) {
        if (weights[i] == 0) continue;
        torch::Tensor loss;
        {
            AutocastScope autocast(options.precision == Precision::bf16);
            loss = task.loss(micro[i]);
        }
        loss = loss.to(torch::kFloat32);
        const double value = loss.item<double>();
        if (!std::isfinite(value)) {
            throw std::runtime_error(fmt::format(
                "training diverged: the loss is {} at step {} (epoch {}); lower the learning rate "
                "(lr = {}), keep clip_norm > 0 (now {}) or check the inputs for bad labels",
                value, step + 1, epoch, options.lr, options.clip_norm));
        }
        const double share = weights[i] / total_weight;
        (loss * share).backward();
        loss_sum += value * share;
    }
    {
        torch::NoGradGuard no_grad;
        task.before_optimizer_step();
    }
    grad_norm = clip_gradients(params, options.clip_norm);
    if (!std::isfinite(grad_norm)) {
        throw std::runtime_error(fmt::format(
            "training diverged: the gradient norm is {} at step {}; lower the learning rate or "
            "keep clip_norm > 0",
            grad_norm, step + 1));
    }
    optimizer->step();
    {
        torch::NoGradGuard no_grad;
        task.after_step();
    }
    return total_weight > 0 ? loss_sum : std::numeric_limits<double>::quiet_NaN();
}

EvalRecord Trainer::State::evaluate(const std::vector<Batch>& batches) {
    EvalRecord record;
    record.step = step;
    record.epoch = epoch;
    task.module().eval();
    {
        torch::NoGradGuard no_grad;
        AutocastScope autocast(options.precision == Precision::bf16);
        record.metrics = task.evaluate(batches).metrics;
    }
    task.module().train();
    if (record.metrics.find(options.selection_metric) == record.metrics.end()) {
        std::string names;
        for (const auto& entry : record.metrics) {
            names += (names.empty() ? "" : ", ") + entry.first;
        }
        throw std::invalid_argument(fmt::format(
            "trainer: selection metric '{}' is not among the task's evaluation metrics ({}); set "
            "selection_metric to one of them",
            options.selection_metric, names.empty() ? "none" : names));
    }
    return record;
}

bool Trainer::State::record_eval(const EvalRecord& record) {
    last_eval_step = step;
    const double value = record.metrics.at(options.selection_metric);
    bool improved = false;
    if (std::isfinite(value)) {
        if (!best) {
            improved = true;
        } else {
            const double previous = best->metrics.at(options.selection_metric);
            improved = options.selection_mode == MetricMode::max
                           ? value > previous + options.min_delta
                           : value < previous - options.min_delta;
        }
    }
    if (improved) {
        best = record;
        evals_without_improvement = 0;
        best_tensors.clear();
        for (const auto& t : module_tensors(task.module())) {
            best_tensors.push_back(t.detach().clone());
        }
    } else {
        ++evals_without_improvement;
        if (options.early_stopping_patience > 0 &&
            evals_without_improvement >= options.early_stopping_patience) {
            stopped_early = true;
        }
    }
    return improved;
}

void Trainer::State::restore_best() {
    auto tensors = module_tensors(task.module());
    if (tensors.size() != best_tensors.size()) {
        throw std::logic_error("trainer: the module's tensors changed since the best snapshot");
    }
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < tensors.size(); ++i) tensors[i].copy_(best_tensors[i]);
}

void Trainer::State::open_log() {
    const auto& path = options.log_path;
    if (path.empty()) return;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    if (resumed && std::filesystem::exists(path)) {
        // Keep the lines up to the resumed step: a crash after the last checkpoint left lines
        // for steps that will now run again.
        std::ifstream in(path);
        std::vector<std::string> kept;
        for (std::string line; std::getline(in, line);) {
            const auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
            if (parsed.is_object() && parsed.contains("step") && parsed["step"].is_number() &&
                parsed["step"].get<int64_t>() <= step) {
                kept.push_back(line);
            }
        }
        in.close();
        log.open(path, std::ios::trunc);
        for (const auto& line : kept) log << line << '\n';
    } else {
        log.open(path, std::ios::trunc);
    }
    if (!log) {
        throw std::runtime_error(fmt::format("cannot write the training log {}: check that the "
                                             "directory is writable",
                                             path.string()));
    }
}

void Trainer::State::write_log(int64_t step_epoch, double loss, double lr, int64_t tokens,
                               double tokens_per_s, double grad_norm, const EvalRecord* eval) {
    if (!log.is_open()) return;
    nlohmann::json line = {{"step", step},
                           {"epoch", step_epoch},
                           {"loss", loss},
                           {"lr", lr},
                           {"tokens", tokens},
                           {"tokens_per_s", tokens_per_s},
                           {"grad_norm", grad_norm}};
    if (eval) line["eval"] = eval->metrics;
    log << line.dump() << '\n';
    log.flush();
}

Trainer::Trainer(TrainTask& task, TrainerOptions options)
    : state_(std::make_unique<State>(task, std::move(options))) {
    State& s = *state_;
    validate(s.options);
    s.groups = make_param_groups(
        task.module(), s.options.weight_decay,
        [&task](const std::string& name) { return task.lr_multiplier(name); });
    OptimizerSettings settings;
    settings.kind = s.options.optimizer;
    settings.lr = s.options.lr;
    settings.beta1 = s.options.beta1;
    settings.beta2 = s.options.beta2;
    settings.eps = s.options.eps;
    settings.momentum = s.options.momentum;
    s.optimizer = make_optimizer(s.groups, settings);
    for (const auto& group : s.groups) {
        s.base_lrs.push_back(s.options.lr * group.lr_scale);
        s.params.insert(s.params.end(), group.params.begin(), group.params.end());
    }
    s.data_rng.seed(s.options.seed);
}

Trainer::~Trainer() = default;

void Trainer::set_progress_callback(ProgressCallback callback) {
    state_->progress = std::move(callback);
}

int64_t Trainer::step() const { return state_->step; }
torch::optim::Optimizer& Trainer::optimizer() { return *state_->optimizer; }
const std::vector<ParamGroup>& Trainer::param_groups() const { return state_->groups; }

std::filesystem::path Trainer::state_path() const {
    if (state_->options.checkpoint_dir.empty()) return {};
    return state_->options.checkpoint_dir / "train_state.pt";
}

TrainResult Trainer::fit(const std::vector<Example>& train, const std::vector<Example>& eval) {
    State& s = *state_;
    const TrainerOptions& o = s.options;
    if (!o.resume_from.empty() && !s.resumed) load_state(o.resume_from);
    if (train.empty()) {
        throw std::invalid_argument(
            "trainer: the training set is empty; check the input data and the split sizes");
    }
    if (o.threads > 0) at::set_num_threads(o.threads);

    TrainResult result;
    result.total_steps = s.total_steps(train.size());
    if (s.resumed) {
        if (s.saved_train_size != static_cast<int64_t>(train.size()) ||
            s.saved_total_steps != result.total_steps) {
            throw std::invalid_argument(fmt::format(
                "cannot resume: the saved run had {} training examples and {} steps, this one "
                "has {} and {}; resume with the same data, batch_size, grad_accum_steps, epochs "
                "and max_steps, or start afresh",
                s.saved_train_size, s.saved_total_steps, train.size(), result.total_steps));
        }
    } else if (s.step == 0) {
        torch::manual_seed(o.seed);  // dropout and other draws from the global generator
    }
    s.saved_train_size = static_cast<int64_t>(train.size());
    s.saved_total_steps = result.total_steps;
    const LrSchedule schedule{o.schedule,
                              o.warmup_steps > 0
                                  ? o.warmup_steps
                                  : static_cast<int64_t>(std::llround(
                                        o.warmup_ratio * static_cast<double>(result.total_steps))),
                              result.total_steps};
    BatchingOptions batching;
    batching.batch_size = o.batch_size;
    batching.bucket_size = o.bucket_size;
    batching.shuffle = true;
    const auto eval_batches = make_eval_batches(
        eval, o.eval_batch_size > 0 ? o.eval_batch_size : o.batch_size, o.collate, o.bucket_size);
    s.open_log();

    double train_seconds = 0;
    bool interrupted = false;
    while (s.step < result.total_steps && !s.stopped_early) {
        if (s.position == 0 || s.plan.empty()) {
            // A fresh epoch, or the current one rebuilt after a resume from its starting RNG.
            if (s.position == 0) s.epoch_start_rng = rng_to_string(s.data_rng);
            s.plan = plan_batches(train, batching, s.data_rng);
            s.task.on_epoch_begin(s.epoch);
        }
        const auto begin = static_cast<size_t>(s.position);
        const size_t end =
            std::min(s.plan.size(), begin + static_cast<size_t>(o.grad_accum_steps));
        const double lr_factor = schedule.factor(s.step);
        set_learning_rates(*s.optimizer, s.base_lrs, lr_factor);

        const auto step_start = Clock::now();
        int64_t tokens = 0;
        double grad_norm = 0;
        const double loss = s.step_once(train, begin, end, tokens, grad_norm);
        const double step_seconds =
            std::chrono::duration<double>(Clock::now() - step_start).count();
        train_seconds += step_seconds;
        const int64_t step_epoch = s.epoch;
        s.step += 1;
        s.position = static_cast<int64_t>(end);
        const bool epoch_done = end == s.plan.size();
        if (epoch_done) {
            s.epoch += 1;
            s.position = 0;
            s.plan.clear();
        }
        result.losses.push_back(loss);
        result.real_tokens += tokens;

        const bool has_eval = !eval_batches.empty();
        const bool eval_due =
            has_eval && ((o.eval_every > 0 ? s.step % o.eval_every == 0 : epoch_done) ||
                         s.step == result.total_steps);
        std::optional<EvalRecord> record;
        if (eval_due) {
            record = s.evaluate(eval_batches);
            record->epoch = step_epoch;
            s.record_eval(*record);
            result.evals.push_back(*record);
        }
        const double step_tokens_per_s = step_seconds > 0 ? tokens / step_seconds : 0.0;
        s.write_log(step_epoch, loss, o.lr * lr_factor, tokens, step_tokens_per_s, grad_norm,
                    record ? &*record : nullptr);
        if (s.progress) {
            const auto done = static_cast<double>(result.losses.size());
            Progress p;
            p.step = s.step;
            p.total_steps = result.total_steps;
            p.epoch = step_epoch;
            p.loss = loss;
            p.lr = o.lr * lr_factor;
            p.tokens_per_s = train_seconds > 0 ? result.real_tokens / train_seconds : 0.0;
            p.eta_s = train_seconds / done * static_cast<double>(result.total_steps - s.step);
            s.progress(p);
        }
        if (o.checkpoint_every > 0 && s.step % o.checkpoint_every == 0 && !state_path().empty()) {
            save_state(state_path());
        }
        if (o.stop_after_steps > 0 && s.step >= o.stop_after_steps &&
            s.step < result.total_steps && !s.stopped_early) {
            interrupted = true;
            break;
        }
    }

    if (!state_path().empty()) save_state(state_path());
    result.steps = s.step;
    result.epochs_completed = s.epoch;
    result.stopped_early = s.stopped_early;
    result.interrupted = interrupted;
    result.best = s.best;
    if (!interrupted && o.restore_best && !s.best_tensors.empty()) {
        s.restore_best();
        result.restored_best = true;
    }
    result.train_seconds = train_seconds;
    result.tokens_per_s = train_seconds > 0 ? result.real_tokens / train_seconds : 0.0;
    s.log.close();
    release_free_memory();  // the steps' activations, kept in the heap by tune_allocator()
    return result;
}

void Trainer::save_state(const std::filesystem::path& path) const {
    const State& s = *state_;
    torch::serialize::OutputArchive archive;
    archive.write("version", c10::IValue(kStateVersion));
    archive.write("optimizer_kind", c10::IValue(std::string(to_string(s.options.optimizer))));

    torch::serialize::OutputArchive model(archive.compilation_unit());
    s.task.module().save(model);
    archive.write("model", model);
    torch::serialize::OutputArchive optimizer(archive.compilation_unit());
    s.optimizer->save(optimizer);
    archive.write("optimizer", optimizer);
    torch::serialize::OutputArchive task(archive.compilation_unit());
    s.task.save_state(task);
    archive.write("task", task);

    {
        at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle
        std::lock_guard<std::mutex> lock(generator.mutex());
        archive.write("torch_rng", generator.get_state(), /*is_buffer=*/true);
    }
    archive.write("data_rng", c10::IValue(s.position == 0 ? rng_to_string(s.data_rng)
                                                          : s.epoch_start_rng));
    archive.write("step", c10::IValue(s.step));
    archive.write("epoch", c10::IValue(s.epoch));
    archive.write("position", c10::IValue(s.position));
    archive.write("evals_without_improvement", c10::IValue(s.evals_without_improvement));
    archive.write("last_eval_step", c10::IValue(s.last_eval_step));
    archive.write("stopped_early", c10::IValue(static_cast<int64_t>(s.stopped_early)));
    archive.write("train_size", c10::IValue(s.saved_train_size));
    archive.write("total_steps", c10::IValue(s.saved_total_steps));

    nlohmann::json best = nullptr;
    if (s.best) {
        best = {{"step", s.best->step}, {"epoch", s.best->epoch}, {"metrics", s.best->metrics}};
    }
    archive.write("best", c10::IValue(best.dump()));
    torch::serialize::OutputArchive best_tensors(archive.compilation_unit());
    best_tensors.write("count", c10::IValue(static_cast<int64_t>(s.best_tensors.size())));
    for (size_t i = 0; i < s.best_tensors.size(); ++i) {
        best_tensors.write("t" + std::to_string(i), s.best_tensors[i], /*is_buffer=*/true);
    }
    archive.write("best_tensors", best_tensors);

    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    auto temporary = path;
    temporary += ".tmp";
    archive.save_to(temporary.string());
    std::filesystem::rename(temporary, path);
}

void Trainer::load_state(const std::filesystem::path& path) {
    State& s = *state_;
    if (!std::filesystem::exists(path)) {
        throw std::invalid_argument(fmt::format(
            "cannot resume: training state {} does not exist; point resume_from at the "
            "train_state.pt of an earlier run's checkpoint_dir",
            path.string()));
    }
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path.string());
    } catch (const c10::Error& e) {
        throw std::runtime_error(fmt::format(
            "cannot resume: {} is not a readable training state ({})", path.string(),
            e.what_without_backtrace()));
    }
    const int64_t version = read_int(archive, "version");
    if (version != kStateVersion) {
        throw std::runtime_error(fmt::format(
            "cannot resume: {} has training-state version {}, this graft reads version {}",
            path.string(), version, kStateVersion));
    }
    const std::string kind = read_string(archive, "optimizer_kind");
    if (kind != to_string(s.options.optimizer)) {
        throw std::invalid_argument(fmt::format(
            "cannot resume: {} was saved with optimizer '{}' but this run uses '{}'",
            path.string(), kind, to_string(s.options.optimizer)));
    }
    try {
        torch::serialize::InputArchive model;
        archive.read("model", model);
        s.task.module().load(model);
        torch::serialize::InputArchive optimizer;
        archive.read("optimizer", optimizer);
        s.optimizer->load(optimizer);
    } catch (const c10::Error& e) {
        throw std::runtime_error(fmt::format(
            "cannot resume from {}: the model or optimizer does not match this run's ({}); use "
            "the same architecture, strategy and parameter groups",
            path.string(), e.what_without_backtrace()));
    }
    torch::serialize::InputArchive task;
    archive.read("task", task);
    s.task.load_state(task);

    torch::Tensor torch_rng;
    archive.read("torch_rng", torch_rng, /*is_buffer=*/true);
    {
        at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle
        std::lock_guard<std::mutex> lock(generator.mutex());
        generator.set_state(torch_rng);
    }
    rng_from_string(s.data_rng, read_string(archive, "data_rng"));
    s.epoch_start_rng = read_string(archive, "data_rng");
    s.step = read_int(archive, "step");
    s.epoch = read_int(archive, "epoch");
    s.position = read_int(archive, "position");
    s.evals_without_improvement = read_int(archive, "evals_without_improvement");
    s.last_eval_step = read_int(archive, "last_eval_step");
    s.stopped_early = read_int(archive, "stopped_early") != 0;
    s.saved_train_size = read_int(archive, "train_size");
    s.saved_total_steps = read_int(archive, "total_steps");

    const auto best = nlohmann::json::parse(read_string(archive, "best"));
    s.best.reset();
    if (!best.is_null()) {
        s.best = EvalRecord{best.at("step").get<int64_t>(), best.at("epoch").get<int64_t>(),
                            best.at("metrics").get<std::map<std::string, double>>()};
    }
    torch::serialize::InputArchive best_tensors;
    archive.read("best_tensors", best_tensors);
    s.best_tensors.assign(static_cast<size_t>(read_int(best_tensors, "count")), torch::Tensor());
    for (size_t i = 0; i < s.best_tensors.size(); ++i) {
        best_tensors.read("t" + std::to_string(i), s.best_tensors[i], /*is_buffer=*/true);
    }
    s.plan.clear();
    s.resumed = true;
}

}  // namespace graft::ml
