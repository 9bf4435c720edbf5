// Training: count the corpus's words once (after normalization and pre-tokenization), then learn
// merges on the unique-word table (merge_trainer.cpp). WordPiece learns them BPE-style on
// "##"-prefixed continuation symbols, as Hugging Face's WordPiece trainer does; the vocabulary is
// what greedy longest-match encoding then uses.
#include "ml/tokenizer/merge_trainer.hpp"
#include "ml/tokenizer/tokenizer_impl.hpp"
#include "ml/tokenizer/unicode.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace graft::ml {

namespace {

using WordCounts =
    std::unordered_map<std::string, std::uint64_t, detail::StringHash, std::equal_to<>>;

void count_word(WordCounts& counts, std::string_view word) {
    if (auto it = counts.find(word); it != counts.end())
        ++it->second;
    else
        counts.emplace(std::string(word), 1);
}

// Unique words in byte order, so that ids and tie-breaks never depend on hash-table order.
std::vector<std::pair<std::string, std::uint64_t>> sorted_words(WordCounts&& counts) {
    std::vector<std::pair<std::string, std::uint64_t>> words;
    words.reserve(counts.size());
    for (auto& [w, c] : counts) words.emplace_back(w, c);
    std::sort(words.begin(), words.end());
    return words;
}

TextSource from_vector(const std::vector<std::string>& corpus) {
    return [&corpus](const std::function<void(std::string_view)>& sink) {
        for (const auto& text : corpus) sink(text);
    };
}

std::shared_ptr<Tokenizer::Impl> new_impl(TokenizerKind kind,
                                          const std::vector<std::string>& tokens,
                                          const std::vector<std::string>& specials) {
    auto m = std::make_shared<Tokenizer::Impl>();
    m->kind = kind;
    for (std::size_t i = 0; i < tokens.size(); ++i)
        m->vocab.add(tokens[i], static_cast<std::int32_t>(i));
    for (std::size_t i = 0; i < specials.size(); ++i) {
        detail::AddedToken a;
        a.content = specials[i];
        a.id = static_cast<std::int32_t>(i);
        a.special = true;
        m->added.push_back(a);
    }
    return m;
}

// cls A sep / cls A sep B sep (B's part with type id 1), as BERT.
void set_cls_sep_template(Tokenizer::Impl& m, const std::string& cls, const std::string& sep) {
    using detail::TemplatePiece;
    auto special = [](const std::string& t, std::uint8_t type_id) {
        TemplatePiece p;
        p.special = t;
        p.type_id = type_id;
        return p;
    };
    auto seq = [](int which, std::uint8_t type_id) {
        TemplatePiece p;
        p.is_sequence = true;
        p.sequence = which;
        p.type_id = type_id;
        return p;
    };
    auto& pp = m.post_processor;
    pp.kind = detail::PostProcessor::Kind::template_processing;
    pp.single = {special(cls, 0), seq(0, 0), special(sep, 0)};
    pp.pair = {special(cls, 0), seq(0, 0), special(sep, 0), seq(1, 1), special(sep, 1)};
    pp.special_ids[cls] = {*m.vocab.find(cls)};
    pp.special_ids[sep] = {*m.vocab.find(sep)};
}

void check_specials(const std::vector<std::string>& specials, const char* option) {
    std::set<std::string> seen;
    for (const auto& s : specials) {
        if (s.empty()) throw TokenizerError(fmt::format("{}: empty special token", option));
        if (!seen.insert(s).second)
            throw TokenizerError(fmt::format("{}: '{}' is listed twice", option, s));
    }
}

}  // namespace

Tokenizer train_wordpiece(const TextSource& corpus, const WordPieceTrainerOptions& o) {
    const auto& specials = o.special_tokens;
    check_specials(specials, "WordPieceTrainerOptions.special_tokens");
    if (std::find(specials.begin(), specials.end(), "[UNK]") == specials.end())
        throw TokenizerError(
            "WordPieceTrainerOptions.special_tokens must contain \"[UNK]\" "
            "(the token for words that cannot be segmented)");
    if (o.max_input_chars_per_word == 0)
        throw TokenizerError("WordPieceTrainerOptions.max_input_chars_per_word must be positive");

    detail::Normalizer normalizer;
    detail::NormalizerStep bert;
    bert.lowercase = o.lowercase;
    bert.strip_accents = o.strip_accents;
    normalizer.steps.push_back(bert);

    WordCounts counts;
    detail::NormalizedText nt;
    std::vector<detail::Span> spans;
    corpus([&](std::string_view text) {
        detail::normalize(normalizer, text, nt);
        spans.clear();
        detail::split_bert(nt.text, spans);
        for (const auto& s : spans)
            count_word(counts, std::string_view(nt.text).substr(s.begin, s.end - s.begin));
    });
    const auto words = sorted_words(std::move(counts));

    // The alphabet: characters by weighted frequency, the most frequent limit_alphabet kept.
    std::map<std::int32_t, std::uint64_t> char_count;
    std::set<std::int32_t> continuation_chars;
    for (const auto& [w, c] : words) {
        bool first = true;
        for (std::size_t i = 0; i < w.size();) {
            const auto u = detail::decode_utf8(w, i);
            char_count[u.cp] += c;
            if (!first) continuation_chars.insert(u.cp);
            first = false;
            i += u.len;
        }
    }
    std::vector<std::pair<std::int32_t, std::uint64_t>> by_freq(char_count.begin(),
                                                                char_count.end());
    std::stable_sort(by_freq.begin(), by_freq.end(),
                     [](const auto& x, const auto& y) { return x.second > y.second; });
    if (o.limit_alphabet > 0 && by_freq.size() > o.limit_alphabet) by_freq.resize(o.limit_alphabet);
    std::set<std::int32_t> alphabet;
    for (const auto& [cp, c] : by_freq) alphabet.insert(cp);

    std::vector<std::string> tokens(specials.begin(), specials.end());
    detail::TokenMap to_id;
    for (std::size_t i = 0; i < tokens.size(); ++i)
        to_id.emplace(tokens[i], static_cast<std::int32_t>(i));
    auto add_token = [&](std::string t) {
        if (to_id.count(t)) return;
        to_id.emplace(t, static_cast<std::int32_t>(tokens.size()));
        tokens.push_back(std::move(t));
    };
    for (std::int32_t cp : alphabet) {
        std::string s;
        detail::append_utf8(s, cp);
        add_token(s);
    }
    for (std::int32_t cp : alphabet)
        if (continuation_chars.count(cp)) {
            std::string s = "##";
            detail::append_utf8(s, cp);
            add_token(s);
        }
    if (tokens.size() > o.vocab_size)
        throw TokenizerError(fmt::format(
            "vocab_size {} is too small: the {} special tokens and the {} single-character "
            "tokens of the alphabet need {}; raise vocab_size or lower limit_alphabet",
            o.vocab_size, specials.size(), tokens.size() - specials.size(), tokens.size()));

    // Words as symbols: first character plain, the rest "##"-prefixed. Words with a character
    // outside the alphabet encode to [UNK] anyway and take no part in merges.
    std::vector<std::vector<std::int32_t>> symbols;
    std::vector<std::uint64_t> word_counts;
    std::string key;
    for (const auto& [w, c] : words) {
        std::vector<std::int32_t> sym;
        bool ok = true;
        for (std::size_t i = 0; i < w.size() && ok;) {
            const auto u = detail::decode_utf8(w, i);
            key = i == 0 ? std::string() : std::string("##");
            key.append(w, i, u.len);
            auto it = to_id.find(key);
            if (it == to_id.end() || !alphabet.count(u.cp))
                ok = false;
            else
                sym.push_back(it->second);
            i += u.len;
        }
        if (!ok || sym.size() < 2) continue;
        symbols.push_back(std::move(sym));
        word_counts.push_back(c);
    }
    detail::learn_merges(symbols, word_counts, tokens, to_id, o.vocab_size, o.min_frequency,
                         [](const std::string& a, const std::string& b) {
                             return a + (b.starts_with("##") ? b.substr(2) : b);
                         });

    auto m = new_impl(TokenizerKind::word_piece, tokens, specials);
    m->normalizer = normalizer;
    m->pre_tokenizer.kind = detail::PreTokenizerKind::bert;
    m->decoder.kind = detail::Decoder::Kind::word_piece;
    m->wordpiece.unk_token = "[UNK]";
    m->wordpiece.max_input_chars_per_word = o.max_input_chars_per_word;
    auto named = [&](const char* t) {
        return std::find(specials.begin(), specials.end(), t) != specials.end() ? std::string(t)
                                                                                : std::string();
    };
    m->roles = {named("[PAD]"), "[UNK]", named("[CLS]"), named("[SEP]"), named("[MASK]"), ""};
    if (!m->roles.cls.empty() && !m->roles.sep.empty())
        set_cls_sep_template(*m, m->roles.cls, m->roles.sep);
    m->finalize("train_wordpiece");
    return Tokenizer(std::move(m));
}

Tokenizer train_wordpiece(const std::vector<std::string>& corpus,
                          const WordPieceTrainerOptions& options) {
    return train_wordpiece(from_vector(corpus), options);
}

Tokenizer train_byte_bpe(const TextSource& corpus, const BpeTrainerOptions& o) {
    std::vector<std::string> specials = o.special_tokens;
    for (const auto* role : {&o.eos_token, &o.pad_token, &o.mask_token, &o.cls_token, &o.sep_token})
        if (!role->empty() && std::find(specials.begin(), specials.end(), *role) == specials.end())
            specials.push_back(*role);
    check_specials(specials, "BpeTrainerOptions.special_tokens");
    if (o.cls_token.empty() != o.sep_token.empty())
        throw TokenizerError("BpeTrainerOptions: set both cls_token and sep_token, or neither");
    if (o.vocab_size < specials.size() + 256)
        throw TokenizerError(
            fmt::format("vocab_size {} is too small: {} special tokens + 256 byte symbols need {}",
                        o.vocab_size, specials.size(), specials.size() + 256));

    WordCounts counts;
    std::vector<detail::Span> spans;
    corpus([&](std::string_view text) {
        spans.clear();
        detail::split_gpt2(text, spans);
        for (const auto& s : spans) count_word(counts, text.substr(s.begin, s.end - s.begin));
    });
    const auto words = sorted_words(std::move(counts));

    std::vector<std::string> tokens(specials.begin(), specials.end());
    detail::TokenMap to_id;
    for (std::size_t i = 0; i < tokens.size(); ++i)
        to_id.emplace(tokens[i], static_cast<std::int32_t>(i));
    const auto& bytes = detail::byte_unicode_map();
    std::array<std::int32_t, 256> byte_id{};
    for (std::uint8_t b : bytes.order) {
        const auto& spelling = bytes.byte_to_utf8[b];
        if (to_id.count(spelling))
            throw TokenizerError(
                fmt::format("special token '{}' collides with a byte symbol", spelling));
        byte_id[b] = static_cast<std::int32_t>(tokens.size());
        to_id.emplace(spelling, byte_id[b]);
        tokens.push_back(spelling);
    }

    std::vector<std::vector<std::int32_t>> symbols;
    std::vector<std::uint64_t> word_counts;
    for (const auto& [w, c] : words) {
        if (w.size() < 2) continue;
        std::vector<std::int32_t> sym;
        sym.reserve(w.size());
        for (char ch : w) sym.push_back(byte_id[static_cast<unsigned char>(ch)]);
        symbols.push_back(std::move(sym));
        word_counts.push_back(c);
    }
    const auto learned =
        detail::learn_merges(symbols, word_counts, tokens, to_id, o.vocab_size, o.min_frequency,
                             [](const std::string& a, const std::string& b) { return a + b; });

    auto m = new_impl(TokenizerKind::byte_bpe, tokens, specials);
    m->bpe.merges = learned.merges;
    m->pre_tokenizer.kind = detail::PreTokenizerKind::byte_level;
    m->pre_tokenizer.add_prefix_space = false;
    m->decoder.kind = detail::Decoder::Kind::byte_level;
    m->roles = {o.pad_token, "", o.cls_token, o.sep_token, o.mask_token, o.eos_token};
    if (!o.cls_token.empty()) {
        set_cls_sep_template(*m, o.cls_token, o.sep_token);
    } else {
        m->post_processor.kind = detail::PostProcessor::Kind::byte_level;
        m->post_processor.trim_offsets = false;
    }
    m->finalize("train_byte_bpe");
    return Tokenizer(std::move(m));
}

Tokenizer train_byte_bpe(const std::vector<std::string>& corpus, const BpeTrainerOptions& options) {
    return train_byte_bpe(from_vector(corpus), options);
}

}  // namespace graft::ml
