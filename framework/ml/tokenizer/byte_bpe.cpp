// Byte-level BPE encoding. A chunk (one pre-token) starts as one symbol per byte; the adjacent
// pair with the lowest merge rank is merged everywhere in the chunk, left to right, until no
// pair has a rank: GPT-2's algorithm. Long chunks use a heap instead of rescanning, which gives
// the same result for merge lists in creation order (every merge's parts are made earlier).
#include "ml/tokenizer/tokenizer_impl.hpp"
#include "ml/tokenizer/unicode.hpp"

#include <fmt/format.h>

#include <atomic>
#include <climits>
#include <queue>

namespace graft::ml::detail {

void BpeModel::prepare(const Vocab& vocab) {
    static std::atomic<std::uint64_t> next_cache_id{1};
    cache_id = next_cache_id++;
    ranks.clear();
    ranks.reserve(merges.size());
    std::string joined;
    for (std::size_t r = 0; r < merges.size(); ++r) {
        const auto [a, b] = merges[r];
        joined = vocab.tokens[static_cast<std::size_t>(a)];
        joined += vocab.tokens[static_cast<std::size_t>(b)];
        auto id = vocab.find(joined);
        if (!id)
            throw TokenizerError(
                fmt::format("merge {} ('{} {}') makes '{}', which is not in the vocabulary", r + 1,
                            vocab.tokens[static_cast<std::size_t>(a)],
                            vocab.tokens[static_cast<std::size_t>(b)], joined));
        // A repeated pair keeps its first (best) rank.
        ranks.insert(pair_key(a, b), MergeInfo{static_cast<std::int32_t>(r), *id});
    }
    const auto& map = byte_unicode_map();
    for (std::size_t byte = 0; byte < 256; ++byte)
        byte_ids[byte] = vocab.find(map.byte_to_utf8[byte]).value_or(-1);
    unk_id = -1;
    if (unk_token) {
        auto id = vocab.find(*unk_token);
        if (!id)
            throw TokenizerError(fmt::format(
                "the unknown token '{}' (model.unk_token) is not in model.vocab", *unk_token));
        unk_id = *id;
    }
}

namespace {

struct Symbols {
    std::vector<std::int32_t> id;
    std::vector<std::uint32_t> begin;
    std::vector<std::uint32_t> end;
    void clear() {
        id.clear();
        begin.clear();
        end.clear();
    }
    std::size_t size() const { return id.size(); }
};

void merge_by_scan(const BpeModel& m, Symbols& s) {
    std::size_t n = s.size();
    while (n > 1) {
        std::int32_t best_rank = INT_MAX;
        std::int32_t best_id = -1;
        std::size_t best_at = 0;
        for (std::size_t i = 0; i + 1 < n; ++i) {
            const MergeInfo* hit = m.ranks.find(pair_key(s.id[i], s.id[i + 1]));
            if (hit && hit->rank < best_rank) {
                best_rank = hit->rank;
                best_id = hit->id;
                best_at = i;
            }
        }
        if (best_id < 0) break;
        const std::int32_t a = s.id[best_at];
        const std::int32_t b = s.id[best_at + 1];
        std::size_t w = best_at;
        for (std::size_t i = best_at; i < n;) {
            if (i + 1 < n && s.id[i] == a && s.id[i + 1] == b) {
                s.id[w] = best_id;
                s.begin[w] = s.begin[i];
                s.end[w] = s.end[i + 1];
                i += 2;
            } else {
                s.id[w] = s.id[i];
                s.begin[w] = s.begin[i];
                s.end[w] = s.end[i];
                i += 1;
            }
            ++w;
        }
        n = w;
    }
    s.id.resize(n);
    s.begin.resize(n);
    s.end.resize(n);
}

struct Candidate {
    std::int32_t rank;
    std::uint32_t at;  // left symbol
    std::int32_t left;
    std::int32_t right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : at > o.at; }
};

void merge_by_heap(const BpeModel& m, Symbols& s) {
    const std::size_t n = s.size();
    std::vector<std::int64_t> next(n), prev(n);
    std::vector<std::uint8_t> alive(n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        next[i] = i + 1 < n ? static_cast<std::int64_t>(i + 1) : -1;
        prev[i] = static_cast<std::int64_t>(i) - 1;
    }
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    auto consider = [&](std::int64_t at) {
        if (at < 0 || next[static_cast<std::size_t>(at)] < 0) return;
        const auto l = s.id[static_cast<std::size_t>(at)];
        const auto r = s.id[static_cast<std::size_t>(next[static_cast<std::size_t>(at)])];
        if (const MergeInfo* hit = m.ranks.find(pair_key(l, r)))
            heap.push({hit->rank, static_cast<std::uint32_t>(at), l, r});
    };
    for (std::size_t i = 0; i + 1 < n; ++i) consider(static_cast<std::int64_t>(i));
    while (!heap.empty()) {
        const Candidate c = heap.top();
        heap.pop();
        const std::size_t at = c.at;
        if (!alive[at] || next[at] < 0) continue;
        const auto nx = static_cast<std::size_t>(next[at]);
        if (s.id[at] != c.left || s.id[nx] != c.right) continue;  // stale
        s.id[at] = m.ranks.find(pair_key(c.left, c.right))->id;
        s.end[at] = s.end[nx];
        alive[nx] = 0;
        next[at] = next[nx];
        if (next[nx] >= 0) prev[static_cast<std::size_t>(next[nx])] = static_cast<std::int64_t>(at);
        consider(prev[at]);
        consider(static_cast<std::int64_t>(at));
    }
    std::size_t w = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!alive[i]) continue;
        s.id[w] = s.id[i];
        s.begin[w] = s.begin[i];
        s.end[w] = s.end[i];
        ++w;
    }
    s.id.resize(w);
    s.begin.resize(w);
    s.end.resize(w);
}

constexpr std::size_t kHeapFrom = 48;

// Words repeat (Zipf), so each thread remembers the tokens of the chunks it has encoded: most
// chunks of running text then cost one hash lookup instead of the merge loop. Keyed by the
// model's cache_id, so a thread that switches tokenizers starts afresh.
struct ChunkCache {
    struct Entry {
        std::vector<std::int32_t> ids;
        std::vector<std::uint32_t> ends;  // token end offsets relative to the chunk start
    };
    static constexpr std::size_t kMaxChunkBytes = 64;
    static constexpr std::size_t kMaxEntries = 1 << 16;
    std::uint64_t owner = 0;
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> entries;

    void claim(std::uint64_t id) {
        if (owner == id) return;
        entries.clear();
        owner = id;
    }
};

}  // namespace

void BpeModel::encode_chunk(const Vocab& vocab, std::string_view text, std::uint32_t b,
                            std::uint32_t e, std::vector<std::int32_t>& ids,
                            std::vector<Span>& spans) const {
    if (ignore_merges) {
        if (auto id = vocab.find(to_byte_level(text.substr(b, e - b)))) {
            ids.push_back(*id);
            spans.push_back({b, e});
            return;
        }
    }
    thread_local ChunkCache cache;
    const std::string_view chunk = text.substr(b, e - b);
    const bool cacheable = chunk.size() <= ChunkCache::kMaxChunkBytes;
    if (cacheable) {
        cache.claim(cache_id);
        if (auto it = cache.entries.find(chunk); it != cache.entries.end()) {
            std::uint32_t at = b;
            for (std::size_t i = 0; i < it->second.ids.size(); ++i) {
                ids.push_back(it->second.ids[i]);
                spans.push_back({at, b + it->second.ends[i]});
                at = b + it->second.ends[i];
            }
            return;
        }
    }
    thread_local Symbols s;
    s.clear();
    for (std::uint32_t i = b; i < e; ++i) {
        std::int32_t id = byte_ids[static_cast<unsigned char>(text[i])];
        if (id < 0) {
            // A vocabulary without this byte's symbol (never GPT-2's): [UNK] if the model has
            // one, merged with a preceding [UNK] when fuse_unk; otherwise the byte is dropped,
            // as Hugging Face does.
            if (unk_id < 0) continue;
            if (fuse_unk && !s.id.empty() && s.id.back() == unk_id) {
                s.end.back() = i + 1;
                continue;
            }
            id = unk_id;
        }
        s.id.push_back(id);
        s.begin.push_back(i);
        s.end.push_back(i + 1);
    }
    if (s.size() >= kHeapFrom)
        merge_by_heap(*this, s);
    else
        merge_by_scan(*this, s);
    for (std::size_t i = 0; i < s.size(); ++i) {
        ids.push_back(s.id[i]);
        spans.push_back({s.begin[i], s.end[i]});
    }
    // Skipped bytes (a vocabulary without their symbol and no [UNK]) break the tiling that the
    // cached form relies on; such chunks are not cached.
    if (!cacheable || (s.size() > 0 && (s.begin[0] != b || s.end.back() != e))) return;
    for (std::size_t i = 1; i < s.size(); ++i)
        if (s.begin[i] != s.end[i - 1]) return;
    if (cache.entries.size() >= ChunkCache::kMaxEntries) cache.entries.clear();
    ChunkCache::Entry entry;
    entry.ids = s.id;
    for (auto end : s.end) entry.ends.push_back(end - b);
    cache.entries.emplace(std::string(chunk), std::move(entry));
}

// Exposed for the test that checks the two merge strategies agree.
void bpe_merge_for_test(const BpeModel& m, std::vector<std::int32_t>& ids, bool heap) {
    Symbols s;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        s.id.push_back(ids[i]);
        s.begin.push_back(static_cast<std::uint32_t>(i));
        s.end.push_back(static_cast<std::uint32_t>(i + 1));
    }
    if (heap)
        merge_by_heap(m, s);
    else
        merge_by_scan(m, s);
    ids = s.id;
}

}  // namespace graft::ml::detail
