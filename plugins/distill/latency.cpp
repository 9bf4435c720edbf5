#include "latency.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace graft::distill {

double median_latency_ms(ml::TaskModelImpl& model, const std::vector<ml::Example>& examples,
                         int64_t runs, int64_t warmup) {
    if (examples.empty() || runs < 1) throw std::invalid_argument("latency: need examples and runs >= 1");
    model.eval();
    torch::NoGradGuard no_grad;
    std::vector<double> ms;
    for (int64_t r = -warmup; r < runs; ++r) {
        const auto& ex = examples[static_cast<size_t>((r + warmup) % static_cast<int64_t>(examples.size()))];
        const auto ids = torch::tensor(ex.ids, torch::kInt64).unsqueeze(0);
        const auto mask = torch::ones_like(ids);
        const auto start = std::chrono::steady_clock::now();
        const auto logits = model.forward(ids, mask);
        (void)logits.sum().item<float>();  // make sure the work is done
        const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
        if (r >= 0) ms.push_back(took.count());
    }
    std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
    return ms[ms.size() / 2];
}

}  // namespace graft::distill
