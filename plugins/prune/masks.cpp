#include "masks.hpp"

#include <fmt/format.h>

#include <cmath>
#include <regex>
#include <stdexcept>

namespace graft::prune {

namespace {

std::map<std::string, torch::Tensor> parameters_by_name(ml::TaskModelImpl& model) {
    std::map<std::string, torch::Tensor> out;
    for (const auto& item : model.named_parameters(true)) out.emplace(item.key(), item.value());
    return out;
}

bool is_layer_matrix(const std::string& name) {
    static const std::regex pattern(
        R"(encoder\.layers\.\d+\.(attention\.(query|key|value|output)|feed_forward\.(intermediate|output))\.weight)");
    return std::regex_match(name, pattern);
}

std::string group_of(const std::string& name) {
    const int64_t layer = layer_of(name);
    if (layer >= 0) return fmt::format("layer_{}", layer);
    if (name.rfind("encoder.embeddings.", 0) == 0) return "embeddings";
    return "head";
}

int64_t exact_count(double sparsity, int64_t n) {
    return static_cast<int64_t>(std::llround(sparsity * static_cast<double>(n)));
}

// Ranks `scores` (flat, float64) ascending with a stable sort and returns a flat mask with the
// first k entries zero.
torch::Tensor mask_smallest(const torch::Tensor& scores, int64_t k) {
    auto mask = torch::ones_like(scores);
    if (k <= 0) return mask;
    const auto order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
    mask.index_fill_(0, order.narrow(0, 0, k), 0.0);
    return mask;
}

}  // namespace

Scope parse_scope(const std::string& text) {
    if (text == "global") return Scope::global;
    if (text == "layer") return Scope::layer;
    throw std::invalid_argument(fmt::format("unknown pruning scope \"{}\": expected \"global\" or \"layer\"", text));
}

int64_t layer_of(const std::string& name) {
    static const std::regex pattern(R"(^encoder\.layers\.(\d+)\.)");
    std::smatch m;
    if (!std::regex_search(name, m, pattern)) return -1;
    return std::stoll(m[1].str());
}

std::vector<std::string> prunable_weight_names(ml::TaskModelImpl& model, const PruneTargets& targets) {
    std::vector<std::string> names;
    for (const auto& item : model.named_parameters(true)) {
        const auto& name = item.key();
        if (item.value().dim() != 2) continue;
        const bool embedding = name == "encoder.embeddings.token.weight" ||
                               name == "encoder.embeddings.position.weight";
        const bool head = name.rfind("head.", 0) == 0;
        if (is_layer_matrix(name) || (embedding && targets.embeddings) || (head && targets.classifier))
            names.push_back(name);
    }
    return names;
}

MaskSet::MaskSet(ml::TaskModelImpl& model, const std::vector<std::string>& names) {
    const auto params = parameters_by_name(model);
    for (const auto& name : names) {
        const auto it = params.find(name);
        if (it == params.end())
            throw std::invalid_argument(fmt::format("pruning: the model has no parameter \"{}\"", name));
        entries_.push_back({name, it->second, torch::ones_like(it->second.detach())});
    }
}

void MaskSet::prune_to(double sparsity, Scope scope) {
    if (!(sparsity >= 0.0 && sparsity < 1.0))
        throw std::invalid_argument(fmt::format("pruning: sparsity must be in [0, 1), got {}", sparsity));
    torch::NoGradGuard no_grad;
    // Pruned entries score -1, below every |w| >= 0: they stay pruned whatever the weights did.
    std::vector<torch::Tensor> scores;
    for (const auto& e : entries_) {
        scores.push_back(e.weight.detach().abs().to(torch::kFloat64).reshape({-1})
                             .masked_fill(e.mask.reshape({-1}).eq(0), -1.0));
    }
    const auto check_monotone = [&](int64_t k, int64_t already, const std::string& what) {
        if (k < already)
            throw std::invalid_argument(fmt::format(
                "pruning: sparsity {} would prune {} entries of {}, fewer than the {} already pruned; "
                "a schedule must not decrease", sparsity, k, what, already));
    };
    if (scope == Scope::global) {
        const int64_t k = exact_count(sparsity, total());
        check_monotone(k, pruned(), "all masked weights");
        const auto flat = mask_smallest(torch::cat(scores), k);
        int64_t offset = 0;
        for (auto& e : entries_) {
            const int64_t n = e.mask.numel();
            e.mask.copy_(flat.narrow(0, offset, n).view(e.mask.sizes()));
            offset += n;
        }
    } else {
        for (size_t i = 0; i < entries_.size(); ++i) {
            auto& e = entries_[i];
            const int64_t k = exact_count(sparsity, e.mask.numel());
            check_monotone(k, e.mask.numel() - e.mask.count_nonzero().item<int64_t>(), e.name);
            e.mask.copy_(mask_smallest(scores[i], k).view(e.mask.sizes()));
        }
    }
    apply();
}

void MaskSet::apply() {
    torch::NoGradGuard no_grad;
    for (auto& e : entries_) e.weight.mul_(e.mask);
}

void MaskSet::mask_gradients() {
    torch::NoGradGuard no_grad;
    for (auto& e : entries_)
        if (e.weight.grad().defined()) e.weight.mutable_grad().mul_(e.mask);
}

int64_t MaskSet::total() const {
    int64_t n = 0;
    for (const auto& e : entries_) n += e.mask.numel();
    return n;
}

int64_t MaskSet::pruned() const {
    int64_t n = 0;
    for (const auto& e : entries_) n += e.mask.numel() - e.mask.count_nonzero().item<int64_t>();
    return n;
}

SparsityReport measure_sparsity(ml::TaskModelImpl& model, const std::vector<std::string>& names) {
    const auto params = parameters_by_name(model);
    SparsityReport r;
    std::map<std::string, std::pair<int64_t, int64_t>> groups;  // zeros, total
    for (const auto& name : names) {
        const auto it = params.find(name);
        if (it == params.end())
            throw std::invalid_argument(fmt::format("pruning: the model has no parameter \"{}\"", name));
        const int64_t n = it->second.numel();
        const int64_t zeros = n - it->second.detach().count_nonzero().item<int64_t>();
        r.total += n;
        r.zeros += zeros;
        auto& g = groups[group_of(name)];
        g.first += zeros;
        g.second += n;
    }
    r.overall = r.total > 0 ? static_cast<double>(r.zeros) / static_cast<double>(r.total) : 0.0;
    for (const auto& [group, counts] : groups)
        r.by_group[group] = static_cast<double>(counts.first) / static_cast<double>(counts.second);
    return r;
}

}  // namespace graft::prune
