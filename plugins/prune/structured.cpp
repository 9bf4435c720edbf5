#include "structured.hpp"

#include "ml/model/checkpoint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <tuple>

namespace graft::prune {

namespace {

// The rows of query/key/value (= columns of the output projection) that belong to `heads`.
torch::Tensor head_rows(const std::vector<int64_t>& heads, int64_t head_dim) {
    std::vector<int64_t> rows;
    for (const int64_t h : heads)
        for (int64_t k = 0; k < head_dim; ++k) rows.push_back(h * head_dim + k);
    return torch::tensor(rows, torch::kLong);
}

// Per-group sums of squares of `t` split along `dim` into groups of `size` (rows or columns).
torch::Tensor group_sq(const torch::Tensor& t, int64_t dim, int64_t size) {
    auto sq = t.detach().to(torch::kFloat64).pow(2);
    if (sq.dim() == 1) return sq.view({-1, size}).sum(1);
    if (dim == 1) sq = sq.t();
    return sq.reshape({sq.size(0) / size, -1}).sum(1);
}

// Same for w * grad, summed (not squared) per group.
torch::Tensor group_wg(const torch::Tensor& w, int64_t dim, int64_t size) {
    auto wg = (w.detach() * w.grad()).to(torch::kFloat64);
    if (wg.dim() == 1) return wg.view({-1, size}).sum(1);
    if (dim == 1) wg = wg.t();
    return wg.reshape({wg.size(0) / size, -1}).sum(1);
}

std::vector<double> to_vector(const torch::Tensor& t) {
    const auto c = t.contiguous().to(torch::kFloat64);
    return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

}  // namespace

Importance parse_importance(const std::string& text) {
    if (text == "magnitude") return Importance::magnitude;
    if (text == "taylor") return Importance::taylor;
    throw std::invalid_argument(
        fmt::format("unknown importance \"{}\": expected \"magnitude\" or \"taylor\"", text));
}

int64_t Widths::total_heads() const { return std::accumulate(heads.begin(), heads.end(), int64_t{0}); }
int64_t Widths::total_units() const { return std::accumulate(units.begin(), units.end(), int64_t{0}); }

Widths widths_of(const ml::TransformerEncoderOptions& o) {
    Widths w;
    for (int64_t i = 0; i < o.n_layers(); ++i) {
        w.heads.push_back(o.heads_in_layer(i));
        w.units.push_back(o.d_ff_in_layer(i));
    }
    return w;
}

std::vector<LayerScores> magnitude_importance(ml::TaskModelImpl& model) {
    torch::NoGradGuard no_grad;
    std::vector<LayerScores> out;
    for (const auto& layer : model.encoder()->layers()) {
        const auto& a = layer->attention;
        const int64_t hd = a->head_dim();
        const auto out_sq = group_sq(a->output->weight, 1, hd);
        const auto v_sq = group_sq(a->value->weight, 0, hd) + group_sq(a->value->bias, 0, hd);
        const auto& f = layer->feed_forward;
        const auto down_sq = group_sq(f->output->weight, 1, 1);
        const auto up_sq = group_sq(f->intermediate->weight, 0, 1) + group_sq(f->intermediate->bias, 0, 1);
        out.push_back({to_vector((out_sq * v_sq).sqrt()), to_vector((down_sq * up_sq).sqrt())});
    }
    return out;
}

std::vector<LayerScores> taylor_importance(ml::TaskModelImpl& model, const std::vector<ml::Batch>& batches) {
    if (batches.empty()) throw std::invalid_argument("taylor importance needs at least one batch of labelled rows");
    const bool was_training = model.is_training();
    model.eval();
    const auto& layers = model.encoder()->layers();
    std::vector<torch::Tensor> heads(layers.size()), units(layers.size());
    for (const auto& b : batches) {
        model.zero_grad();
        model.loss(model.forward(b.ids, b.attention_mask), b.labels).backward();
        torch::NoGradGuard no_grad;
        for (size_t i = 0; i < layers.size(); ++i) {
            const auto& a = layers[i]->attention;
            const int64_t hd = a->head_dim();
            auto h = group_wg(a->output->weight, 1, hd);
            for (const auto* lin : {&a->query, &a->key, &a->value})
                h = h + group_wg((*lin)->weight, 0, hd) + group_wg((*lin)->bias, 0, hd);
            const auto& f = layers[i]->feed_forward;
            auto u = group_wg(f->output->weight, 1, 1) + group_wg(f->intermediate->weight, 0, 1) +
                     group_wg(f->intermediate->bias, 0, 1);
            heads[i] = heads[i].defined() ? heads[i] + h.pow(2) : h.pow(2);
            units[i] = units[i].defined() ? units[i] + u.pow(2) : u.pow(2);
        }
    }
    model.zero_grad();
    model.train(was_training);
    std::vector<LayerScores> out;
    const auto n = static_cast<double>(batches.size());
    for (size_t i = 0; i < layers.size(); ++i) out.push_back({to_vector(heads[i] / n), to_vector(units[i] / n)});
    return out;
}

namespace {

// Keeps per layer all but the chosen items: `scores[i]` holds the current items of layer i,
// `original[i]` their count before any pruning.
std::vector<std::vector<int64_t>> plan_one(const std::vector<std::vector<double>>& scores,
                                           const std::vector<int64_t>& original, double fraction, Scope scope) {
    const size_t n_layers = scores.size();
    std::vector<std::vector<bool>> removed(n_layers);
    std::vector<int64_t> left(n_layers);
    for (size_t i = 0; i < n_layers; ++i) {
        removed[i].assign(scores[i].size(), false);
        left[i] = static_cast<int64_t>(scores[i].size());
    }
    // (score, layer, index), ascending: the least important first, ties by position.
    const auto order = [&](const std::vector<size_t>& layers) {
        std::vector<std::tuple<double, size_t, int64_t>> items;
        for (const size_t i : layers)
            for (size_t j = 0; j < scores[i].size(); ++j) items.emplace_back(scores[i][j], i, static_cast<int64_t>(j));
        std::stable_sort(items.begin(), items.end());
        return items;
    };
    const auto remove = [&](const std::vector<size_t>& layers, int64_t count) {
        for (const auto& [score, i, j] : order(layers)) {
            if (count <= 0) break;
            if (left[i] <= 1) continue;  // every layer keeps one
            removed[i][static_cast<size_t>(j)] = true;
            --left[i];
            --count;
        }
    };
    const auto target = [&](int64_t n) { return static_cast<int64_t>(std::llround(fraction * static_cast<double>(n))); };
    if (scope == Scope::global) {
        int64_t total = 0, current = 0;
        std::vector<size_t> all;
        for (size_t i = 0; i < n_layers; ++i) {
            total += original[i];
            current += left[i];
            all.push_back(i);
        }
        remove(all, target(total) - (total - current));
    } else {
        for (size_t i = 0; i < n_layers; ++i) remove({i}, target(original[i]) - (original[i] - left[i]));
    }
    std::vector<std::vector<int64_t>> keep(n_layers);
    for (size_t i = 0; i < n_layers; ++i)
        for (size_t j = 0; j < removed[i].size(); ++j)
            if (!removed[i][j]) keep[i].push_back(static_cast<int64_t>(j));
    return keep;
}

}  // namespace

KeepPlan plan_removal(const std::vector<LayerScores>& scores, const Widths& original, double heads_fraction,
                      double ffn_fraction, Scope scope) {
    if (scores.size() != original.heads.size() || scores.size() != original.units.size())
        throw std::invalid_argument("plan_removal: scores and original widths disagree on the number of layers");
    for (const double f : {heads_fraction, ffn_fraction})
        if (!(f >= 0.0 && f < 1.0))
            throw std::invalid_argument(fmt::format("structured pruning: fractions must be in [0, 1), got {}", f));
    std::vector<std::vector<double>> h, u;
    for (const auto& s : scores) {
        h.push_back(s.heads);
        u.push_back(s.units);
    }
    return {plan_one(h, original.heads, heads_fraction, scope), plan_one(u, original.units, ffn_fraction, scope)};
}

ml::TaskModelPtr shrink(ml::TaskModelImpl& model, const KeepPlan& plan) {
    auto arch = model.architecture();
    const auto& layers = model.encoder()->layers();
    const auto n_layers = static_cast<size_t>(arch.encoder.n_layers());
    if (plan.heads.size() != n_layers || plan.units.size() != n_layers)
        throw std::invalid_argument("shrink: the plan must have one entry per layer");
    std::vector<int64_t> layer_heads, layer_d_ff;
    for (size_t i = 0; i < n_layers; ++i) {
        layer_heads.push_back(static_cast<int64_t>(plan.heads[i].size()));
        layer_d_ff.push_back(static_cast<int64_t>(plan.units[i].size()));
    }
    arch.encoder.layer_heads(layer_heads).layer_d_ff(layer_d_ff);
    if (arch.encoder.uniform()) {  // nothing removed: keep the config in its plain form
        arch.encoder.layer_heads({}).layer_d_ff({});
    }

    torch::NoGradGuard no_grad;
    auto state = ml::state_dict(model);
    for (size_t i = 0; i < n_layers; ++i) {
        const auto& a = layers[i]->attention;
        for (const int64_t h : plan.heads[i])
            if (h < 0 || h >= a->n_heads())
                throw std::invalid_argument(fmt::format("shrink: layer {} has no head {}", i, h));
        for (const int64_t j : plan.units[i])
            if (j < 0 || j >= layers[i]->feed_forward->intermediate->weight.size(0))
                throw std::invalid_argument(fmt::format("shrink: layer {} has no feed-forward unit {}", i, j));
        const auto rows = head_rows(plan.heads[i], a->head_dim());
        const auto units = torch::tensor(plan.units[i], torch::kLong);
        const std::string p = fmt::format("encoder.layers.{}.", i);
        for (const char* lin : {"query", "key", "value"}) {
            for (const char* t : {"weight", "bias"}) {
                auto& x = state.at(p + "attention." + lin + "." + t);
                x = x.index_select(0, rows);
            }
        }
        if (auto slopes = state.find(p + "attention.alibi_slopes"); slopes != state.end())
            slopes->second = slopes->second.index_select(0, torch::tensor(plan.heads[i], torch::kLong));
        auto& o = state.at(p + "attention.output.weight");
        o = o.index_select(1, rows);
        for (const char* t : {"weight", "bias"}) {
            auto& x = state.at(p + "feed_forward.intermediate." + t);
            x = x.index_select(0, units);
        }
        auto& d = state.at(p + "feed_forward.output.weight");
        d = d.index_select(1, units);
    }
    auto pruned = ml::build_model(arch);
    ml::load_state(*pruned, state, /*strict=*/true, "", "structured pruning");
    pruned->eval();
    return pruned;
}

}  // namespace graft::prune
