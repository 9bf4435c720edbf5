// The text side of a tokenizer (internal): normalizers with byte alignment back to the input, and
// the pre-tokenizers that cut normalized text into words (BERT's, GPT-2's, whitespace).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace graft::ml::detail {

struct NormalizerStep {
    enum class Kind { bert, lowercase, strip_accents, nfd };
    Kind kind = Kind::bert;
    // BertNormalizer's switches.
    bool clean_text = true;
    bool handle_chinese_chars = true;
    bool lowercase = true;
    std::optional<bool> strip_accents;  // unset: follows lowercase
};

struct Normalizer {
    std::vector<NormalizerStep> steps;
    bool as_sequence = false;  // came from (and is written back as) a "Sequence"
    bool empty() const { return steps.empty(); }
};

// Normalized text plus, for each of its bytes, the input bytes it came from.
struct NormalizedText {
    std::string text;
    std::vector<std::uint32_t> src_begin;
    std::vector<std::uint32_t> src_end;
};

// Every step maps code points one at a time, so alignment is exact. Invalid UTF-8 bytes are read
// as U+FFFD. (Canonical reordering of runs of combining marks is not applied.)
void normalize(const Normalizer& normalizer, std::string_view in, NormalizedText& out);

struct Span {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
};

enum class PreTokenizerKind { none, bert, byte_level, whitespace, whitespace_split };

struct PreTokenizer {
    PreTokenizerKind kind = PreTokenizerKind::none;
    // ByteLevel's switches (kept for the round trip; trim_offsets does not change ids).
    bool add_prefix_space = false;
    bool use_regex = true;
    bool trim_offsets = true;
};

// Appends the words of `text` to `out` as byte spans.
void pre_tokenize(const PreTokenizer& pre, std::string_view text, std::vector<Span>& out);

// BERT: whitespace separates words and is dropped; every punctuation character is a word.
void split_bert(std::string_view text, std::vector<Span>& out);
// GPT-2's pattern, by hand (\s is Unicode White_Space, as in Python's `regex`):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void split_gpt2(std::string_view text, std::vector<Span>& out);
// \w+|[^\w\s]+ and plain whitespace splitting.
void split_whitespace_words(std::string_view text, std::vector<Span>& out);
void split_on_whitespace(std::string_view text, std::vector<Span>& out);

// Hugging Face's WordPiece decoder clean-up: " ." -> ".", " n't" -> "n't", ...
std::string cleanup_spaces(std::string text);

}  // namespace graft::ml::detail
