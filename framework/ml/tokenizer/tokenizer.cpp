// graft::ml::Tokenizer: added-token splitting, normalization, pre-tokenization, the model, the
// template, truncation and decoding.
#include "ml/tokenizer/tokenizer_impl.hpp"
#include "ml/tokenizer/unicode.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <thread>

namespace graft::ml {

using detail::Span;

namespace {

void resize_encoding(Encoding& e, std::size_t n) {
    e.ids.resize(n);
    e.offsets.resize(n);
    e.type_ids.resize(n);
    e.special_mask.resize(n);
}

void append_token(Encoding& e, std::int32_t id, Offset off, std::uint8_t type_id, bool special) {
    e.ids.push_back(id);
    e.offsets.push_back(off);
    e.type_ids.push_back(type_id);
    e.special_mask.push_back(special ? 1 : 0);
}

bool ascii_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool word_char_at(std::string_view text, std::size_t i) {
    const auto u = detail::decode_utf8(text, i);
    return u.cp == '_' || (detail::char_class(u.cp) & (detail::kLetter | detail::kNumber));
}

bool word_char_before(std::string_view text, std::size_t i) {
    if (i == 0) return false;
    std::size_t j = i - 1;
    while (j > 0 && (static_cast<unsigned char>(text[j]) & 0xC0) == 0x80) --j;
    return word_char_at(text, j);
}

}  // namespace

void Tokenizer::Impl::finalize(const std::string& where) {
    auto fail = [&](const std::string& msg) { throw TokenizerError(where + ": " + msg); };
    try {
        if (kind == TokenizerKind::word_piece)
            wordpiece.prepare(vocab);
        else
            bpe.prepare(vocab);
    } catch (const TokenizerError& e) {
        fail(e.what());
    }

    std::size_t total = vocab.tokens.size();
    for (const auto& a : added) {
        if (a.id < 0) fail(fmt::format("added token '{}' has a negative id {}", a.content, a.id));
        if (a.content.empty()) fail(fmt::format("added token with id {} has empty content", a.id));
        total = std::max(total, static_cast<std::size_t>(a.id) + 1);
    }
    all_tokens.assign(total, std::string());
    special_flag.assign(total, 0);
    added_flag.assign(total, 0);
    for (std::size_t i = 0; i < vocab.tokens.size(); ++i) all_tokens[i] = vocab.tokens[i];
    for (const auto& a : added) {
        const auto i = static_cast<std::size_t>(a.id);
        if (i < vocab.present.size() && vocab.present[i] && vocab.tokens[i] != a.content)
            fail(fmt::format("added token '{}' has id {}, which model.vocab gives to '{}'",
                             a.content, a.id, vocab.tokens[i]));
        if (auto other = vocab.find(a.content); other && *other != a.id)
            fail(fmt::format("added token '{}' has id {} but model.vocab gives it id {}", a.content,
                             a.id, *other));
        if (added_flag[i])
            fail(fmt::format("two added tokens share id {} ('{}' and '{}')", a.id, all_tokens[i],
                             a.content));
        all_tokens[i] = a.content;
        added_flag[i] = 1;
        special_flag[i] = a.special ? 1 : 0;
    }

    added_first_byte.fill(0);
    added_longest_first.clear();
    for (std::size_t i = 0; i < added.size(); ++i) {
        added_first_byte[static_cast<unsigned char>(added[i].content[0])] = 1;
        added_longest_first.push_back(i);
    }
    std::stable_sort(added_longest_first.begin(), added_longest_first.end(),
                     [&](std::size_t x, std::size_t y) {
                         return added[x].content.size() > added[y].content.size();
                     });

    auto role_id = [&](const std::string& role,
                       const std::string& token) -> std::optional<std::int32_t> {
        if (token.empty()) return std::nullopt;
        if (auto id = vocab.find(token)) return id;
        for (const auto& a : added)
            if (a.content == token) return a.id;
        fail(fmt::format("the {} token '{}' is not in the vocabulary", role, token));
        return std::nullopt;
    };
    pad_id = role_id("pad", roles.pad);
    unk_id = role_id("unknown", roles.unk);
    cls_id = role_id("cls", roles.cls);
    sep_id = role_id("sep", roles.sep);
    mask_id = role_id("mask", roles.mask);
    eos_id = role_id("eos", roles.eos);

    for (const auto* pieces : {&post_processor.single, &post_processor.pair})
        for (const auto& p : *pieces) {
            if (p.is_sequence) continue;
            auto it = post_processor.special_ids.find(p.special);
            if (it == post_processor.special_ids.end())
                fail(
                    fmt::format("post_processor template uses '{}', which is missing from "
                                "post_processor.special_tokens",
                                p.special));
            for (auto id : it->second)
                if (id < 0 || static_cast<std::size_t>(id) >= total)
                    fail(
                        fmt::format("post_processor.special_tokens '{}' has id {}, outside the "
                                    "vocabulary (0..{})",
                                    p.special, id, total - 1));
        }
}

bool Tokenizer::Impl::find_added(std::string_view text, std::size_t from, std::size_t& which,
                                 std::size_t& begin, std::size_t& end) const {
    for (std::size_t i = from; i < text.size(); ++i) {
        if (!added_first_byte[static_cast<unsigned char>(text[i])]) continue;
        for (std::size_t k : added_longest_first) {
            const auto& a = added[k];
            if (text.compare(i, a.content.size(), a.content) != 0) continue;
            std::size_t b = i;
            std::size_t e = i + a.content.size();
            if (a.single_word &&
                (word_char_before(text, b) || (e < text.size() && word_char_at(text, e))))
                continue;
            // lstrip/rstrip absorb neighbouring ASCII whitespace into the token's span.
            if (a.lstrip)
                while (b > from && ascii_space(text[b - 1])) --b;
            if (a.rstrip)
                while (e < text.size() && ascii_space(text[e])) ++e;
            which = k;
            begin = b;
            end = e;
            return true;
        }
    }
    return false;
}

void Tokenizer::Impl::encode_text(std::string_view text, Encoding& enc,
                                  std::uint8_t type_id) const {
    // Offsets are 32-bit.
    if (text.size() > std::numeric_limits<std::uint32_t>::max())
        throw TokenizerError(fmt::format("encode: the text has {} bytes; the limit is 4 GiB",
                                         text.size()));
    std::size_t pos = 0;
    while (true) {
        std::size_t which = 0, b = 0, e = 0;
        if (added.empty() || !find_added(text, pos, which, b, e)) {
            encode_segment(text.substr(pos), static_cast<std::uint32_t>(pos), enc, type_id);
            return;
        }
        encode_segment(text.substr(pos, b - pos), static_cast<std::uint32_t>(pos), enc, type_id);
        const auto& a = added[which];
        append_token(enc, a.id, {static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e)},
                     type_id, a.special);
        pos = e;
    }
}

void Tokenizer::Impl::encode_segment(std::string_view text, std::uint32_t base, Encoding& enc,
                                     std::uint8_t type_id) const {
    if (text.empty()) return;
    thread_local detail::NormalizedText nt;
    thread_local std::vector<Span> words;
    thread_local std::vector<std::int32_t> ids;
    thread_local std::vector<Span> spans;

    std::string_view view = text;
    bool mapped = false;
    if (!normalizer.empty()) {
        detail::normalize(normalizer, text, nt);
        view = nt.text;
        mapped = true;
    }
    if (pre_tokenizer.kind == detail::PreTokenizerKind::byte_level &&
        pre_tokenizer.add_prefix_space && !view.empty() && view[0] != ' ') {
        // The added space belongs to no input byte: it maps to the start of the text.
        if (!mapped) {
            nt.text.assign(view);
            nt.src_begin.resize(view.size());
            nt.src_end.resize(view.size());
            for (std::uint32_t i = 0; i < view.size(); ++i) {
                nt.src_begin[i] = i;
                nt.src_end[i] = i + 1;
            }
            mapped = true;
        }
        nt.text.insert(nt.text.begin(), ' ');
        nt.src_begin.insert(nt.src_begin.begin(), 0);
        nt.src_end.insert(nt.src_end.begin(), 0);
        view = nt.text;
    }
    if (view.empty()) return;

    words.clear();
    ids.clear();
    spans.clear();
    detail::pre_tokenize(pre_tokenizer, view, words);
    for (const auto& w : words) {
        if (kind == TokenizerKind::word_piece)
            wordpiece.encode_word(vocab, view, w.begin, w.end, ids, spans);
        else
            bpe.encode_chunk(vocab, view, w.begin, w.end, ids, spans);
    }
    const std::size_t n0 = enc.ids.size();
    enc.ids.insert(enc.ids.end(), ids.begin(), ids.end());
    enc.type_ids.resize(n0 + ids.size(), type_id);
    enc.special_mask.resize(n0 + ids.size(), 0);
    enc.offsets.reserve(n0 + ids.size());
    for (const auto& s : spans) {
        Offset off;
        if (mapped) {
            off = {nt.src_begin[s.begin], nt.src_end[s.end - 1]};
            off.begin = std::min(off.begin, off.end);
        } else {
            off = {s.begin, s.end};
        }
        enc.offsets.push_back({off.begin + base, off.end + base});
    }
}

std::size_t Tokenizer::Impl::template_specials(bool pair) const {
    if (post_processor.kind != detail::PostProcessor::Kind::template_processing) return 0;
    std::size_t n = 0;
    for (const auto& p : pair ? post_processor.pair : post_processor.single)
        if (!p.is_sequence) n += post_processor.special_ids.at(p.special).size();
    return n;
}

Encoding Tokenizer::Impl::apply_template(const Encoding* a, const Encoding* b, bool pair) const {
    Encoding out;
    auto append_all = [&](const Encoding& src, std::uint8_t type_id) {
        for (std::size_t i = 0; i < src.size(); ++i)
            append_token(out, src.ids[i], src.offsets[i], type_id, src.special_mask[i] != 0);
    };
    const auto& pieces = pair ? post_processor.pair : post_processor.single;
    if (post_processor.kind != detail::PostProcessor::Kind::template_processing || pieces.empty()) {
        append_all(*a, 0);
        if (pair) append_all(*b, 1);
        return out;
    }
    for (const auto& p : pieces) {
        if (p.is_sequence) {
            append_all(p.sequence == 0 ? *a : *b, p.type_id);
            continue;
        }
        for (auto id : post_processor.special_ids.at(p.special))
            append_token(out, id, {}, p.type_id, true);
    }
    return out;
}

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Encoding Tokenizer::encode(std::string_view text) const {
    Encoding enc;
    impl_->encode_text(text, enc, 0);
    return enc;
}

namespace {

// Keeps `keep_front` tokens from the front and `keep_back` from the back of `e`.
void keep_ends(Encoding& e, std::size_t keep_front, std::size_t keep_back) {
    const std::size_t n = e.size();
    if (keep_front + keep_back >= n) return;
    auto cut = [&](auto& v) {
        v.erase(v.begin() + static_cast<std::ptrdiff_t>(keep_front),
                v.end() - static_cast<std::ptrdiff_t>(keep_back));
    };
    cut(e.ids);
    cut(e.offsets);
    cut(e.type_ids);
    cut(e.special_mask);
}

}  // namespace

Encoding Tokenizer::encode_for_model(std::string_view text, std::size_t max_len,
                                     bool add_special, Truncation truncation) const {
    Encoding a;
    impl_->encode_text(text, a, 0);
    const std::size_t specials = add_special ? impl_->template_specials(false) : 0;
    std::size_t dropped = 0;
    if (max_len > 0) {
        if (max_len < specials)
            throw TokenizerError(
                fmt::format("max_len {} leaves no room: the template adds {} special tokens",
                            max_len, specials));
        const std::size_t budget = max_len - specials;
        if (a.size() > budget) {
            dropped = a.size() - budget;
            switch (truncation) {
                case Truncation::head: keep_ends(a, budget, 0); break;
                case Truncation::tail: keep_ends(a, 0, budget); break;
                case Truncation::head_tail: keep_ends(a, budget / 4, budget - budget / 4); break;
            }
        }
    }
    Encoding out = add_special ? impl_->apply_template(&a, nullptr, false) : std::move(a);
    out.truncated_tokens = dropped;
    return out;
}

Encoding Tokenizer::encode_pair(std::string_view a_text, std::string_view b_text,
                                std::size_t max_len, bool add_special) const {
    Encoding a, b;
    impl_->encode_text(a_text, a, 0);
    impl_->encode_text(b_text, b, 1);
    const std::size_t specials = add_special ? impl_->template_specials(true) : 0;
    std::size_t dropped = 0;
    if (max_len > 0) {
        if (max_len < specials)
            throw TokenizerError(
                fmt::format("max_len {} leaves no room: the pair template adds {} special tokens",
                            max_len, specials));
        const std::size_t budget = max_len - specials;
        std::size_t na = a.size(), nb = b.size();
        // Longest first: take from whichever text is longer (the first on a tie).
        while (na + nb > budget) {
            if (na >= nb)
                --na;
            else
                --nb;
        }
        dropped = a.size() + b.size() - na - nb;
        resize_encoding(a, na);
        resize_encoding(b, nb);
    }
    Encoding out;
    if (add_special) {
        out = impl_->apply_template(&a, &b, true);
    } else {
        out = std::move(a);
        for (std::size_t i = 0; i < b.size(); ++i) {
            out.ids.push_back(b.ids[i]);
            out.offsets.push_back(b.offsets[i]);
            out.type_ids.push_back(1);
            out.special_mask.push_back(b.special_mask[i]);
        }
    }
    out.truncated_tokens = dropped;
    return out;
}

std::vector<Encoding> Tokenizer::encode_batch(const std::vector<std::string_view>& texts,
                                              std::size_t max_len, bool add_special,
                                              unsigned threads, Truncation truncation) const {
    std::vector<Encoding> out(texts.size());
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(
        std::min<std::size_t>(threads, std::max<std::size_t>(1, texts.size())));
    auto work = [&](std::size_t from, std::size_t to) {
        for (std::size_t i = from; i < to; ++i)
            out[i] = encode_for_model(texts[i], max_len, add_special, truncation);
    };
    if (threads <= 1) {
        work(0, texts.size());
        return out;
    }
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(threads);
    const std::size_t per = (texts.size() + threads - 1) / threads;
    for (unsigned t = 0; t < threads; ++t) {
        const std::size_t from = std::min(texts.size(), t * per);
        const std::size_t to = std::min(texts.size(), from + per);
        pool.emplace_back([&, t, from, to] {
            try {
                work(from, to);
            } catch (...) {
                errors[t] = std::current_exception();
            }
        });
    }
    for (auto& th : pool) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
    return out;
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special) const {
    const Impl& m = *impl_;
    std::string out;
    bool first = true;
    for (std::int32_t id : ids) {
        if (id < 0 || static_cast<std::size_t>(id) >= m.all_tokens.size() ||
            m.all_tokens[static_cast<std::size_t>(id)].empty())
            throw TokenizerError(fmt::format("decode: id {} is not in the vocabulary (size {})", id,
                                             m.all_tokens.size()));
        const auto i = static_cast<std::size_t>(id);
        if (skip_special && m.special_flag[i]) continue;
        const std::string& token = m.all_tokens[i];
        switch (m.decoder.kind) {
        case detail::Decoder::Kind::byte_level:
            if (m.added_flag[i] || !detail::from_byte_level(token, out)) out += token;
            break;
        case detail::Decoder::Kind::word_piece: {
            const auto& prefix = m.decoder.prefix;
            if (!first && !m.added_flag[i] && !prefix.empty() && token.size() > prefix.size() &&
                token.starts_with(prefix)) {
                out.append(token, prefix.size(), std::string::npos);
            } else {
                if (!first) out += ' ';
                out += token;
            }
            break;
        }
        case detail::Decoder::Kind::none:
            if (!first) out += ' ';
            out += token;
            break;
        }
        first = false;
    }
    if (m.decoder.kind == detail::Decoder::Kind::word_piece && m.decoder.cleanup)
        out = detail::cleanup_spaces(std::move(out));
    return out;
}

TokenizerKind Tokenizer::kind() const {
    return impl_->kind;
}
std::size_t Tokenizer::vocab_size() const {
    return impl_->all_tokens.size();
}

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
    if (auto id = impl_->vocab.find(token)) return id;
    for (const auto& a : impl_->added)
        if (a.content == token) return a.id;
    return std::nullopt;
}

std::optional<std::string> Tokenizer::id_to_token(std::int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= impl_->all_tokens.size()) return std::nullopt;
    const auto& t = impl_->all_tokens[static_cast<std::size_t>(id)];
    if (t.empty()) return std::nullopt;
    return t;
}

bool Tokenizer::is_special(std::int32_t id) const {
    return id >= 0 && static_cast<std::size_t>(id) < impl_->special_flag.size() &&
           impl_->special_flag[static_cast<std::size_t>(id)] != 0;
}

std::vector<std::string> Tokenizer::special_tokens() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < impl_->special_flag.size(); ++i)
        if (impl_->special_flag[i]) out.push_back(impl_->all_tokens[i]);
    return out;
}

std::optional<std::int32_t> Tokenizer::pad_id() const {
    return impl_->pad_id;
}
std::optional<std::int32_t> Tokenizer::unk_id() const {
    return impl_->unk_id;
}
std::optional<std::int32_t> Tokenizer::cls_id() const {
    return impl_->cls_id;
}
std::optional<std::int32_t> Tokenizer::sep_id() const {
    return impl_->sep_id;
}
std::optional<std::int32_t> Tokenizer::mask_id() const {
    return impl_->mask_id;
}
std::optional<std::int32_t> Tokenizer::eos_id() const {
    return impl_->eos_id;
}

std::size_t Tokenizer::num_special_tokens_to_add(bool pair) const {
    return impl_->template_specials(pair);
}

std::string Tokenizer::describe() const {
    const Impl& m = *impl_;
    if (m.kind == TokenizerKind::byte_bpe)
        return fmt::format("byte-level BPE, {} tokens, {} merges", vocab_size(),
                           m.bpe.merges.size());
    bool lower = false;
    for (const auto& s : m.normalizer.steps)
        if ((s.kind == detail::NormalizerStep::Kind::bert && s.lowercase) ||
            s.kind == detail::NormalizerStep::Kind::lowercase)
            lower = true;
    return fmt::format("WordPiece, {} tokens{}", vocab_size(), lower ? ", lowercase" : "");
}

}  // namespace graft::ml
