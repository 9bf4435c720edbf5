// The state behind graft::ml::Tokenizer (internal to the tokenizer library): vocabulary, model
// (WordPiece or byte-level BPE), text pipeline, added tokens, template and special roles.
#pragma once

#include "ml/tokenizer/text_pipeline.hpp"
#include "ml/tokenizer/tokenizer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace graft::ml::detail {

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

using TokenMap = std::unordered_map<std::string, std::int32_t, StringHash, std::equal_to<>>;

// The model's own vocabulary (added tokens may extend the id space beyond it).
struct Vocab {
    TokenMap to_id;
    std::vector<std::string> tokens;  // by id; "" where no token has the id
    std::vector<std::uint8_t> present;

    void add(std::string token, std::int32_t id);
    std::optional<std::int32_t> find(std::string_view token) const {
        auto it = to_id.find(token);
        if (it == to_id.end()) return std::nullopt;
        return it->second;
    }
};

struct WordPieceModel {
    std::string unk_token = "[UNK]";
    std::int32_t unk_id = -1;
    std::string prefix = "##";
    std::size_t max_input_chars_per_word = 100;
    std::size_t max_token_bytes = 0;  // longest vocabulary entry, prefix excluded

    void prepare(const Vocab& vocab);
    // Appends the pieces of word [b, e) of `text` (ids and spans into `text`).
    void encode_word(const Vocab& vocab, std::string_view text, std::uint32_t b, std::uint32_t e,
                     std::vector<std::int32_t>& ids, std::vector<Span>& spans) const;
};

struct MergeInfo {
    std::int32_t rank;
    std::int32_t id;  // the merged token
};

inline std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
}

struct PairHash {
    std::size_t operator()(std::uint64_t x) const noexcept {
        // splitmix64 finaliser: ids are small and dense, which identity hashing handles badly.
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ULL;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebULL;
        x ^= x >> 31;
        return static_cast<std::size_t>(x);
    }
};

// Id pair -> merge, open addressing with linear probing: the hot lookup of BPE encoding, where
// std::unordered_map's node chasing cost half the time.
class PairTable {
public:
    void clear() {
        slots_.clear();
        mask_ = 0;
        size_ = 0;
    }
    void reserve(std::size_t n) {
        std::size_t cap = 16;
        while (cap < 2 * n) cap *= 2;
        if (cap > slots_.size()) rehash(cap);
    }
    // Keeps the first value for a key; returns false for a repeat.
    bool insert(std::uint64_t key, MergeInfo value) {
        if (2 * (size_ + 1) > slots_.size()) rehash(std::max<std::size_t>(16, 2 * slots_.size()));
        std::size_t i = PairHash{}(key)&mask_;
        while (slots_[i].key != kEmpty) {
            if (slots_[i].key == key) return false;
            i = (i + 1) & mask_;
        }
        slots_[i] = {key, value};
        ++size_;
        return true;
    }
    const MergeInfo* find(std::uint64_t key) const {
        if (slots_.empty()) return nullptr;
        for (std::size_t i = PairHash{}(key)&mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.key == key) return &s.value;
            if (s.key == kEmpty) return nullptr;
        }
    }
    std::size_t size() const { return size_; }

private:
    static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};  // no pair of ids >= 0 has it
    struct Slot {
        std::uint64_t key = kEmpty;
        MergeInfo value{};
    };
    void rehash(std::size_t cap) {
        std::vector<Slot> old = std::move(slots_);
        slots_.assign(cap, Slot{});
        mask_ = cap - 1;
        size_ = 0;
        for (const auto& s : old)
            if (s.key != kEmpty) insert(s.key, s.value);
    }
    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
};

struct BpeModel {
    std::vector<std::pair<std::int32_t, std::int32_t>> merges;  // rank order
    PairTable ranks;
    std::array<std::int32_t, 256> byte_ids{};  // vocabulary id of each byte's symbol, or -1
    std::optional<std::string> unk_token;
    std::int32_t unk_id = -1;
    bool ignore_merges = false;
    // Kept for the round trip of loaded files.
    std::optional<double> dropout;
    bool fuse_unk = false;
    bool byte_fallback = false;
    // Names this model in the per-thread cache of encoded chunks (unique per prepare()).
    std::uint64_t cache_id = 0;

    // Builds `ranks` and `byte_ids` from `merges` and the vocabulary; throws on a merge whose
    // result is not in the vocabulary (message without file context; callers add it).
    void prepare(const Vocab& vocab);
    // Appends the tokens of raw bytes [b, e) of `text`.
    void encode_chunk(const Vocab& vocab, std::string_view text, std::uint32_t b, std::uint32_t e,
                      std::vector<std::int32_t>& ids, std::vector<Span>& spans) const;
};

struct AddedToken {
    std::string content;
    std::int32_t id = -1;
    bool special = true;
    bool single_word = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = false;
};

// One item of a TemplateProcessing template: a special token or sequence A/B.
struct TemplatePiece {
    bool is_sequence = false;
    int sequence = 0;     // 0 = A, 1 = B
    std::string special;  // key into PostProcessor::special_ids
    std::uint8_t type_id = 0;
};

struct PostProcessor {
    enum class Kind { none, template_processing, byte_level };
    Kind kind = Kind::none;
    std::vector<TemplatePiece> single;
    std::vector<TemplatePiece> pair;
    std::map<std::string, std::vector<std::int32_t>> special_ids;
    // ByteLevel processor switches (round trip only).
    bool add_prefix_space = true;
    bool trim_offsets = false;
    bool use_regex = true;
};

struct Decoder {
    enum class Kind { none, word_piece, byte_level };
    Kind kind = Kind::none;
    std::string prefix = "##";
    bool cleanup = true;
};

// Which token plays which part. Empty = none.
struct SpecialRoles {
    std::string pad, unk, cls, sep, mask, eos;
};

}  // namespace graft::ml::detail

namespace graft::ml {

struct Tokenizer::Impl {
    TokenizerKind kind = TokenizerKind::word_piece;
    detail::Vocab vocab;
    detail::WordPieceModel wordpiece;
    detail::BpeModel bpe;
    detail::Normalizer normalizer;
    detail::PreTokenizer pre_tokenizer;
    detail::PostProcessor post_processor;
    detail::Decoder decoder;
    std::vector<detail::AddedToken> added;
    detail::SpecialRoles roles;

    // Derived by finalize().
    std::vector<std::string> all_tokens;  // by id, model vocabulary and added tokens
    std::vector<std::uint8_t> special_flag;
    std::vector<std::uint8_t> added_flag;
    std::array<std::uint8_t, 256> added_first_byte{};
    std::vector<std::size_t> added_longest_first;
    std::optional<std::int32_t> pad_id, unk_id, cls_id, sep_id, mask_id, eos_id;

    // Validates and builds the derived tables; `where` prefixes error messages.
    void finalize(const std::string& where);

    // Appends the tokens of `text` (no template) with offsets relative to `text`.
    void encode_text(std::string_view text, Encoding& enc, std::uint8_t type_id) const;
    Encoding apply_template(const Encoding* a, const Encoding* b, bool pair) const;
    std::size_t template_specials(bool pair) const;

private:
    void encode_segment(std::string_view text, std::uint32_t base, Encoding& enc,
                        std::uint8_t type_id) const;
    // The next added token at or after `from`: {index into added, match begin, match end}.
    bool find_added(std::string_view text, std::size_t from, std::size_t& which, std::size_t& begin,
                    std::size_t& end) const;
};

}  // namespace graft::ml

namespace graft::ml::detail {

// Fills roles that a file does not record from the template and the usual token names.
void guess_roles(Tokenizer::Impl& m);

// Runs the scan (GPT-2) or heap merge loop on symbol ids; for the test that they agree.
void bpe_merge_for_test(const BpeModel& m, std::vector<std::int32_t>& ids, bool heap);

}  // namespace graft::ml::detail
