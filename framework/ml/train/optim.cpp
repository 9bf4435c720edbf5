#include "ml/train/optim.hpp"

#include <torch/torch.h>

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace graft::ml {

OptimizerKind parse_optimizer(const std::string& text) {
    if (text == "adamw") return OptimizerKind::adamw;
    if (text == "sgd") return OptimizerKind::sgd;
    throw std::invalid_argument(
        fmt::format("optimizer '{}' is not supported: expected \"adamw\" or \"sgd\"", text));
}

ScheduleKind parse_schedule(const std::string& text) {
    if (text == "constant") return ScheduleKind::constant;
    if (text == "linear") return ScheduleKind::linear;
    if (text == "cosine") return ScheduleKind::cosine;
    throw std::invalid_argument(fmt::format(
        "schedule '{}' is not supported: expected \"constant\", \"linear\" or \"cosine\"", text));
}

const char* to_string(OptimizerKind kind) { return kind == OptimizerKind::sgd ? "sgd" : "adamw"; }

const char* to_string(ScheduleKind kind) {
    switch (kind) {
        case ScheduleKind::constant: return "constant";
        case ScheduleKind::linear: return "linear";
        case ScheduleKind::cosine: return "cosine";
    }
    return "?";
}

bool is_no_decay_parameter(const std::string& name) {
    const bool bias = name == "bias" || (name.size() >= 5 && name.ends_with(".bias"));
    return bias || name.find("norm") != std::string::npos ||
           name.find("LayerNorm") != std::string::npos ||
           name.find("layer_norm") != std::string::npos;
}

std::vector<ParamGroup> make_param_groups(const torch::nn::Module& module, double weight_decay,
                                          const LrMultiplier& lr_multiplier) {
    std::vector<ParamGroup> groups;
    for (const auto& item : module.named_parameters(/*recurse=*/true)) {
        const std::string& name = item.key();
        const double scale = lr_multiplier ? lr_multiplier(name) : 1.0;
        if (!(scale > 0.0) || !std::isfinite(scale)) {
            throw std::invalid_argument(fmt::format(
                "lr multiplier for parameter '{}' is {}: it must be a positive finite number "
                "(freeze a parameter with requires_grad_(false) instead of a zero lr)",
                name, scale));
        }
        const double decay = is_no_decay_parameter(name) ? 0.0 : weight_decay;
        auto found = std::find_if(groups.begin(), groups.end(), [&](const ParamGroup& g) {
            return g.weight_decay == decay && g.lr_scale == scale;
        });
        if (found == groups.end()) {
            groups.push_back(ParamGroup{{}, {}, decay, scale});
            found = groups.end() - 1;
        }
        found->names.push_back(name);
        found->params.push_back(item.value());
    }
    if (groups.empty()) {
        throw std::invalid_argument("the model has no parameters to train");
    }
    return groups;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<ParamGroup>& groups,
                                                        const OptimizerSettings& settings) {
    if (!(settings.lr > 0.0) || !std::isfinite(settings.lr)) {
        throw std::invalid_argument(
            fmt::format("learning rate must be a positive number, got {}", settings.lr));
    }
    std::vector<torch::optim::OptimizerParamGroup> torch_groups;
    if (settings.kind == OptimizerKind::adamw) {
        for (const ParamGroup& group : groups) {
            auto options = std::make_unique<torch::optim::AdamWOptions>(settings.lr *
                                                                        group.lr_scale);
            options->betas({settings.beta1, settings.beta2})
                .eps(settings.eps)
                .weight_decay(group.weight_decay);
            torch_groups.emplace_back(group.params, std::move(options));
        }
        torch::optim::AdamWOptions defaults(settings.lr);
        return std::make_unique<torch::optim::AdamW>(std::move(torch_groups), defaults);
    }
    for (const ParamGroup& group : groups) {
        auto options = std::make_unique<torch::optim::SGDOptions>(settings.lr * group.lr_scale);
        options->momentum(settings.momentum)
            .nesterov(settings.nesterov)
            .weight_decay(group.weight_decay);
        torch_groups.emplace_back(group.params, std::move(options));
    }
    torch::optim::SGDOptions defaults(settings.lr);
    defaults.momentum(settings.momentum).nesterov(settings.nesterov);
    return std::make_unique<torch::optim::SGD>(std::move(torch_groups), defaults);
}

double LrSchedule::factor(int64_t step) const {
    const int64_t total = std::max<int64_t>(total_steps, 1);
    const int64_t warmup = std::clamp<int64_t>(warmup_steps, 0, total);
    step = std::max<int64_t>(step, 0);
    if (step < warmup) {
        return static_cast<double>(step + 1) / static_cast<double>(warmup);
    }
    if (kind == ScheduleKind::constant) return 1.0;
    if (warmup >= total) return 0.0;  // all steps were warm-up; past the end
    const double progress = std::min(
        1.0, static_cast<double>(step - warmup) / static_cast<double>(total - warmup));
    if (kind == ScheduleKind::linear) return 1.0 - progress;
    return 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

void set_learning_rates(torch::optim::Optimizer& optimizer, const std::vector<double>& base_lrs,
                        double factor) {
    auto& groups = optimizer.param_groups();
    if (groups.size() != base_lrs.size()) {
        throw std::logic_error(fmt::format("set_learning_rates: {} base lrs for {} groups",
                                           base_lrs.size(), groups.size()));
    }
    for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(base_lrs[i] * factor);
}

}  // namespace graft::ml
