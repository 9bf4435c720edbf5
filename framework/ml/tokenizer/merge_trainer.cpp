#include "ml/tokenizer/merge_trainer.hpp"

#include <algorithm>
#include <queue>
#include <unordered_map>

namespace graft::ml::detail {

namespace {

struct Candidate {
    std::uint64_t count;
    std::int32_t a;
    std::int32_t b;
};

std::int32_t first_of(std::uint64_t key) {
    return static_cast<std::int32_t>(key >> 32);
}
std::int32_t second_of(std::uint64_t key) {
    return static_cast<std::int32_t>(key & 0xFFFFFFFFu);
}

// Merges every non-overlapping (a, b) left to right into `id`; false when the word has none.
bool merge_word(std::vector<std::int32_t>& sym, std::int32_t a, std::int32_t b, std::int32_t id) {
    std::size_t w = 0;
    bool merged = false;
    for (std::size_t i = 0; i < sym.size();) {
        if (i + 1 < sym.size() && sym[i] == a && sym[i + 1] == b) {
            sym[w++] = id;
            i += 2;
            merged = true;
        } else {
            sym[w++] = sym[i++];
        }
    }
    sym.resize(w);
    return merged;
}

}  // namespace

MergeTrainerResult learn_merges(
    std::vector<std::vector<std::int32_t>>& words, const std::vector<std::uint64_t>& counts,
    std::vector<std::string>& tokens, TokenMap& to_id, std::size_t target_size,
    std::uint64_t min_frequency,
    const std::function<std::string(const std::string&, const std::string&)>& join) {
    MergeTrainerResult result;
    std::unordered_map<std::uint64_t, std::int64_t, PairHash> pair_count;
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>, PairHash> pair_words;
    for (std::size_t w = 0; w < words.size(); ++w) {
        const auto& sym = words[w];
        for (std::size_t i = 0; i + 1 < sym.size(); ++i) {
            const auto key = pair_key(sym[i], sym[i + 1]);
            pair_count[key] += static_cast<std::int64_t>(counts[w]);
            auto& list = pair_words[key];
            if (list.empty() || list.back() != w) list.push_back(static_cast<std::uint32_t>(w));
        }
    }

    // Highest count first; on a tie the pair whose spellings sort first, so that training does
    // not depend on hash-table order.
    auto lower = [&tokens](const Candidate& x, const Candidate& y) {
        if (x.count != y.count) return x.count < y.count;
        const auto& xa = tokens[static_cast<std::size_t>(x.a)];
        const auto& ya = tokens[static_cast<std::size_t>(y.a)];
        if (xa != ya) return xa > ya;
        return tokens[static_cast<std::size_t>(x.b)] > tokens[static_cast<std::size_t>(y.b)];
    };
    std::priority_queue<Candidate, std::vector<Candidate>, decltype(lower)> heap(lower);
    for (const auto& [key, count] : pair_count)
        heap.push({static_cast<std::uint64_t>(count), first_of(key), second_of(key)});

    std::unordered_map<std::uint64_t, std::int64_t, PairHash> delta;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> new_pairs;
    std::vector<std::int32_t> before;
    while (tokens.size() < target_size && !heap.empty()) {
        const Candidate top = heap.top();
        heap.pop();
        const auto key = pair_key(top.a, top.b);
        const auto it = pair_count.find(key);
        const std::int64_t current = it == pair_count.end() ? 0 : it->second;
        if (current <= 0) continue;
        if (static_cast<std::uint64_t>(current) != top.count) {
            heap.push({static_cast<std::uint64_t>(current), top.a, top.b});  // stale: requeue
            continue;
        }
        if (top.count < min_frequency) break;

        std::string spelling =
            join(tokens[static_cast<std::size_t>(top.a)], tokens[static_cast<std::size_t>(top.b)]);
        std::int32_t id;
        if (auto found = to_id.find(spelling); found != to_id.end()) {
            id = found->second;
        } else {
            id = static_cast<std::int32_t>(tokens.size());
            tokens.push_back(spelling);
            to_id.emplace(std::move(spelling), id);
        }
        result.merges.emplace_back(top.a, top.b);

        std::vector<std::uint32_t> affected;
        if (auto wit = pair_words.find(key); wit != pair_words.end()) {
            affected = std::move(wit->second);
            pair_words.erase(wit);
        }
        delta.clear();
        new_pairs.clear();
        for (std::uint32_t w : affected) {
            auto& sym = words[w];
            before = sym;
            if (!merge_word(sym, top.a, top.b, id)) continue;
            const auto c = static_cast<std::int64_t>(counts[w]);
            for (std::size_t i = 0; i + 1 < before.size(); ++i)
                delta[pair_key(before[i], before[i + 1])] -= c;
            for (std::size_t i = 0; i + 1 < sym.size(); ++i) {
                const auto k = pair_key(sym[i], sym[i + 1]);
                delta[k] += c;
                if (sym[i] == id || sym[i + 1] == id) new_pairs.emplace_back(k, w);
            }
        }
        for (const auto& [k, d] : delta) {
            if (d == 0) continue;
            auto& count = pair_count[k];
            count += d;
            if (count <= 0) {
                pair_count.erase(k);
                continue;
            }
            if (d > 0) heap.push({static_cast<std::uint64_t>(count), first_of(k), second_of(k)});
        }
        for (const auto& [k, w] : new_pairs) {
            auto& list = pair_words[k];
            if (list.empty() || list.back() != w) list.push_back(w);
        }
    }
    return result;
}

}  // namespace graft::ml::detail
