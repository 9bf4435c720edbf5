#include "latency.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace graft::transfer {

namespace {

double forward_ms(ml::TaskModelImpl& model, const ml::Example& ex) {
    const auto ids = torch::tensor(ex.ids, torch::kInt64).unsqueeze(0);
    const auto mask = torch::ones_like(ids);
    const auto start = std::chrono::steady_clock::now();
    const auto logits = model.forward(ids, mask);
    (void)logits.sum().item<float>();  // make sure the work is done
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    return took.count();
}

double median(std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
}

void check(const std::vector<ml::Example>& examples, int64_t runs) {
    if (examples.empty() || runs < 1) throw std::invalid_argument("latency: need examples and runs >= 1");
}

}  // namespace

PairedLatency paired_median_latency_ms(ml::TaskModelImpl& first, ml::TaskModelImpl& second,
                                       const std::vector<ml::Example>& examples, int64_t runs,
                                       int64_t warmup) {
    check(examples, runs);
    first.eval();
    second.eval();
    torch::NoGradGuard no_grad;
    std::vector<double> t_ms, s_ms;
    for (int64_t r = -warmup; r < runs; ++r) {
        const auto& ex = examples[static_cast<size_t>((r + warmup) % static_cast<int64_t>(examples.size()))];
        const double t = forward_ms(first, ex);
        const double s = forward_ms(second, ex);
        if (r >= 0) {
            t_ms.push_back(t);
            s_ms.push_back(s);
        }
    }
    return {median(t_ms), median(s_ms)};
}

}  // namespace graft::transfer
