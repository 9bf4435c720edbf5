// WordPiece encoding: greedy longest match from the left, continuation pieces spelled with the
// prefix ("##"), and one [UNK] for a word that cannot be covered.
#include "ml/tokenizer/tokenizer_impl.hpp"
#include "ml/tokenizer/unicode.hpp"

#include <fmt/format.h>

namespace graft::ml::detail {

void Vocab::add(std::string token, std::int32_t id) {
    const auto i = static_cast<std::size_t>(id);
    if (tokens.size() <= i) {
        tokens.resize(i + 1);
        present.resize(i + 1, 0);
    }
    tokens[i] = token;
    present[i] = 1;
    to_id.emplace(std::move(token), id);
}

void WordPieceModel::prepare(const Vocab& vocab) {
    auto unk = vocab.find(unk_token);
    if (!unk)
        throw TokenizerError(fmt::format(
            "the unknown token '{}' (model.unk_token) is not in model.vocab; add it to the "
            "vocabulary or name a token that is",
            unk_token));
    unk_id = *unk;
    max_token_bytes = 0;
    for (const auto& [token, id] : vocab.to_id) {
        std::size_t len = token.size();
        if (!prefix.empty() && token.size() > prefix.size() && token.starts_with(prefix))
            len -= prefix.size();
        max_token_bytes = std::max(max_token_bytes, len);
    }
}

namespace {

bool is_continuation_byte(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::size_t chars_up_to(std::string_view s, std::size_t limit) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size() && n <= limit; i += decode_utf8(s, i).len) ++n;
    return n;
}

}  // namespace

void WordPieceModel::encode_word(const Vocab& vocab, std::string_view text, std::uint32_t b,
                                 std::uint32_t e, std::vector<std::int32_t>& ids,
                                 std::vector<Span>& spans) const {
    const std::string_view word = text.substr(b, e - b);
    if (chars_up_to(word, max_input_chars_per_word) > max_input_chars_per_word) {
        ids.push_back(unk_id);
        spans.push_back({b, e});
        return;
    }
    const std::size_t first_piece = ids.size();
    std::string key = prefix;
    std::size_t start = 0;
    while (start < word.size()) {
        std::size_t end = std::min(word.size(), start + max_token_bytes);
        while (end > start && end < word.size() && is_continuation_byte(word[end])) --end;
        std::int32_t found = -1;
        while (end > start) {
            const std::string_view piece = word.substr(start, end - start);
            std::optional<std::int32_t> id;
            if (start == 0) {
                id = vocab.find(piece);
            } else {
                key.resize(prefix.size());
                key.append(piece);
                id = vocab.find(key);
            }
            if (id) {
                found = *id;
                break;
            }
            --end;
            while (end > start && is_continuation_byte(word[end])) --end;
        }
        if (found < 0) {
            // No piece fits here: the whole word is unknown (BERT's rule).
            ids.resize(first_piece);
            spans.resize(first_piece);
            ids.push_back(unk_id);
            spans.push_back({b, e});
            return;
        }
        ids.push_back(found);
        spans.push_back(
            {static_cast<std::uint32_t>(b + start), static_cast<std::uint32_t>(b + end)});
        start = end;
    }
}

}  // namespace graft::ml::detail
