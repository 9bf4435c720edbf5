#include "ml/tokenizer/text_pipeline.hpp"

#include "ml/tokenizer/unicode.hpp"

#include <array>

namespace graft::ml::detail {

namespace {

// Code points produced from one input code point; a handful at most (CJK adds two spaces, a
// decomposition a few marks).
struct CpList {
    std::array<std::int32_t, 32> v{};
    int n = 0;
    void push(std::int32_t cp) {
        if (n < static_cast<int>(v.size())) v[static_cast<std::size_t>(n++)] = cp;
    }
};

bool strips_accents(const NormalizerStep& s) {
    return s.strip_accents.value_or(s.lowercase);
}

void apply_decompose(CpList& cps, bool drop_marks) {
    CpList out;
    std::array<std::int32_t, 16> parts{};
    for (int i = 0; i < cps.n; ++i) {
        const int k = decompose(cps.v[static_cast<std::size_t>(i)], parts.data(),
                                static_cast<int>(parts.size()));
        for (int j = 0; j < k; ++j) {
            const auto cp = parts[static_cast<std::size_t>(j)];
            if (drop_marks && (char_class(cp) & kNonSpacing)) continue;
            out.push(cp);
        }
    }
    cps = out;
}

void apply_lowercase(CpList& cps) {
    for (int i = 0; i < cps.n; ++i)
        cps.v[static_cast<std::size_t>(i)] = to_lower(cps.v[static_cast<std::size_t>(i)]);
}

void apply_bert(const NormalizerStep& s, CpList& cps) {
    CpList out;
    for (int i = 0; i < cps.n; ++i) {
        const auto cp = cps.v[static_cast<std::size_t>(i)];
        const auto cls = char_class(cp);
        if (s.clean_text) {
            if (cp == 0 || cp == 0xFFFD || (cls & kControl)) continue;
            if (cls & kSpace) {
                out.push(' ');
                continue;
            }
        }
        if (s.handle_chinese_chars && (cls & kCjk)) {
            out.push(' ');
            out.push(cp);
            out.push(' ');
            continue;
        }
        out.push(cp);
    }
    cps = out;
    if (strips_accents(s)) apply_decompose(cps, true);
    if (s.lowercase) apply_lowercase(cps);
}

void apply_step(const NormalizerStep& s, CpList& cps) {
    switch (s.kind) {
    case NormalizerStep::Kind::bert:
        apply_bert(s, cps);
        break;
    case NormalizerStep::Kind::lowercase:
        apply_lowercase(cps);
        break;
    case NormalizerStep::Kind::strip_accents:
        // Hugging Face's StripAccents only removes marks (it is meant to follow NFD); decomposing
        // first gives the intended result on composed input too.
        apply_decompose(cps, true);
        break;
    case NormalizerStep::Kind::nfd:
        apply_decompose(cps, false);
        break;
    }
}

// The common BERT case for one ASCII character: decided without the generic machinery.
// Returns the output character, or -1 to drop it.
int bert_ascii(const NormalizerStep& s, int c) {
    if (s.clean_text) {
        // \v, \f and the other C0 controls are control characters in BERT's sense and are
        // dropped; only \t \n \r become spaces.
        if (c == '\t' || c == '\n' || c == '\r') return ' ';
        if (c < 0x20 || c == 0x7F) return -1;
    }
    if (s.lowercase && c >= 'A' && c <= 'Z') return c + 32;
    return c;
}

}  // namespace

void normalize(const Normalizer& normalizer, std::string_view in, NormalizedText& out) {
    out.text.clear();
    out.src_begin.clear();
    out.src_end.clear();
    out.text.reserve(in.size() + in.size() / 8);
    out.src_begin.reserve(in.size() + in.size() / 8);
    out.src_end.reserve(in.size() + in.size() / 8);
    const bool single_bert =
        normalizer.steps.size() == 1 && normalizer.steps[0].kind == NormalizerStep::Kind::bert;
    for (std::size_t i = 0; i < in.size();) {
        const Utf8Unit u = decode_utf8(in, i);
        const auto b = static_cast<std::uint32_t>(i);
        const auto e = static_cast<std::uint32_t>(i + u.len);
        i += u.len;
        if (single_bert && u.cp >= 0 && u.cp < 0x80) {
            const int c = bert_ascii(normalizer.steps[0], u.cp);
            if (c >= 0) {
                out.text.push_back(static_cast<char>(c));
                out.src_begin.push_back(b);
                out.src_end.push_back(e);
            }
            continue;
        }
        CpList cps;
        cps.push(u.cp < 0 ? 0xFFFD : u.cp);
        for (const auto& step : normalizer.steps) apply_step(step, cps);
        for (int k = 0; k < cps.n; ++k) {
            const std::size_t before = out.text.size();
            append_utf8(out.text, cps.v[static_cast<std::size_t>(k)]);
            for (std::size_t j = before; j < out.text.size(); ++j) {
                out.src_begin.push_back(b);
                out.src_end.push_back(e);
            }
        }
    }
}

void pre_tokenize(const PreTokenizer& pre, std::string_view text, std::vector<Span>& out) {
    switch (pre.kind) {
    case PreTokenizerKind::none:
        if (!text.empty()) out.push_back({0, static_cast<std::uint32_t>(text.size())});
        break;
    case PreTokenizerKind::bert:
        split_bert(text, out);
        break;
    case PreTokenizerKind::byte_level:
        if (pre.use_regex)
            split_gpt2(text, out);
        else if (!text.empty())
            out.push_back({0, static_cast<std::uint32_t>(text.size())});
        break;
    case PreTokenizerKind::whitespace:
        split_whitespace_words(text, out);
        break;
    case PreTokenizerKind::whitespace_split:
        split_on_whitespace(text, out);
        break;
    }
}

void split_bert(std::string_view text, std::vector<Span>& out) {
    std::uint32_t word_begin = 0;
    bool in_word = false;
    for (std::size_t i = 0; i < text.size();) {
        const Utf8Unit u = decode_utf8(text, i);
        const auto cls = char_class(u.cp);
        const auto b = static_cast<std::uint32_t>(i);
        i += u.len;
        if (cls & (kSpace | kPunct)) {
            if (in_word) out.push_back({word_begin, b});
            in_word = false;
            if (cls & kPunct) out.push_back({b, static_cast<std::uint32_t>(i)});
        } else if (!in_word) {
            in_word = true;
            word_begin = b;
        }
    }
    if (in_word) out.push_back({word_begin, static_cast<std::uint32_t>(text.size())});
}

namespace {

// GPT-2's three run classes: letters, numbers, and "other" (neither of those nor whitespace;
// invalid bytes land here too).
enum class Run { letter, number, other, space };

Run run_of(std::uint8_t cls) {
    if (cls & kSpace) return Run::space;
    if (cls & kLetter) return Run::letter;
    if (cls & kNumber) return Run::number;
    return Run::other;
}

std::size_t run_end(std::string_view text, std::size_t i, Run kind) {
    while (i < text.size()) {
        const Utf8Unit u = decode_utf8(text, i);
        if (run_of(char_class(u.cp)) != kind) break;
        i += u.len;
    }
    return i;
}

// Length of a contraction ('s 't 're 've 'm 'll 'd, lowercase only as in GPT-2) at i, or 0.
std::size_t contraction_at(std::string_view text, std::size_t i) {
    if (text[i] != '\'' || i + 1 >= text.size()) return 0;
    const char a = text[i + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (i + 2 < text.size()) {
        const char b = text[i + 2];
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    }
    return 0;
}

}  // namespace

void split_gpt2(std::string_view text, std::vector<Span>& out) {
    const std::size_t n = text.size();
    std::size_t i = 0;
    auto emit = [&](std::size_t b, std::size_t e) {
        out.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(e)});
    };
    while (i < n) {
        if (const std::size_t c = contraction_at(text, i)) {
            emit(i, i + c);
            i += c;
            continue;
        }
        const Utf8Unit u = decode_utf8(text, i);
        Run kind = run_of(char_class(u.cp));
        // " ?X+": a single plain space joins the letter/number/other run that follows it.
        if (text[i] == ' ' && i + 1 < n) {
            const Run next = run_of(char_class(decode_utf8(text, i + 1).cp));
            if (next != Run::space) {
                const std::size_t e = run_end(text, i + 1, next);
                emit(i, e);
                i = e;
                continue;
            }
        }
        if (kind != Run::space) {
            const std::size_t e = run_end(text, i, kind);
            emit(i, e);
            i = e;
            continue;
        }
        // Whitespace: "\s+(?!\S)" keeps the last space for the word that follows; a lone space
        // before a word falls to "\s+".
        std::size_t last = i;
        std::size_t e = i;
        while (e < n) {
            const Utf8Unit w = decode_utf8(text, e);
            if (!(char_class(w.cp) & kSpace)) break;
            last = e;
            e += w.len;
        }
        if (e < n && last > i) e = last;
        emit(i, e);
        i = e;
    }
}

void split_whitespace_words(std::string_view text, std::vector<Span>& out) {
    // \w approximated as letters, numbers, non-spacing marks and '_'.
    auto word_char = [](std::int32_t cp) {
        return cp == '_' || (char_class(cp) & (kLetter | kNumber | kNonSpacing));
    };
    std::size_t i = 0;
    while (i < text.size()) {
        Utf8Unit u = decode_utf8(text, i);
        if (char_class(u.cp) & kSpace) {
            i += u.len;
            continue;
        }
        const bool word = word_char(u.cp);
        const std::size_t b = i;
        while (i < text.size()) {
            u = decode_utf8(text, i);
            if ((char_class(u.cp) & kSpace) || word_char(u.cp) != word) break;
            i += u.len;
        }
        out.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(i)});
    }
}

void split_on_whitespace(std::string_view text, std::vector<Span>& out) {
    std::size_t i = 0;
    while (i < text.size()) {
        Utf8Unit u = decode_utf8(text, i);
        if (char_class(u.cp) & kSpace) {
            i += u.len;
            continue;
        }
        const std::size_t b = i;
        while (i < text.size()) {
            u = decode_utf8(text, i);
            if (char_class(u.cp) & kSpace) break;
            i += u.len;
        }
        out.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(i)});
    }
}

std::string cleanup_spaces(std::string text) {
    static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
        {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };
    for (const auto& [from, to] : kRules) {
        std::string out;
        out.reserve(text.size());
        std::size_t pos = 0;
        for (std::size_t hit; (hit = text.find(from, pos)) != std::string::npos;
             pos = hit + from.size()) {
            out.append(text, pos, hit - pos);
            out.append(to);
        }
        out.append(text, pos, std::string::npos);
        text = std::move(out);
    }
    return text;
}

}  // namespace graft::ml::detail
