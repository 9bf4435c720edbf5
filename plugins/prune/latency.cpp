#include "latency.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace graft::prune {

namespace {

double forward_ms(ml::TaskModelImpl& model, const torch::Tensor& ids, const torch::Tensor& mask) {
    const auto start = std::chrono::steady_clock::now();
    (void)model.forward(ids, mask).sum().item<float>();  // wait for the result
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
    const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
}

}  // namespace

LatencyPair paired_latency_ms(ml::TaskModelImpl& before, ml::TaskModelImpl& after,
                              const std::vector<ml::Example>& examples, int64_t runs, int64_t warmup) {
    if (examples.empty() || runs < 1) throw std::invalid_argument("latency: need examples and runs >= 1");
    before.eval();
    after.eval();
    torch::NoGradGuard no_grad;
    std::vector<double> b, a;
    for (int64_t r = -warmup; r < runs; ++r) {
        const auto& ex = examples[static_cast<size_t>((r + warmup) % static_cast<int64_t>(examples.size()))];
        const auto ids = torch::tensor(ex.ids, torch::kInt64).unsqueeze(0);
        const auto mask = torch::ones_like(ids);
        const double tb = forward_ms(before, ids, mask);
        const double ta = forward_ms(after, ids, mask);
        if (r >= 0) {
            b.push_back(tb);
            a.push_back(ta);
        }
    }
    return {median(b), median(a)};
}

}  // namespace graft::prune
