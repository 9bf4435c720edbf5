// HTML-to-text for scraped datasets (IMDb reviews carry `<br /><br />` and `&#39;`): removes
// tags and comments, drops <script>/<style> bodies, turns block-level tags into a newline and
// decodes character references. It is a tolerant single pass, not an HTML parser: a `<` that does
// not start a tag ("a < b", "<3") and unknown entities are kept as they are. Header-only so the
// tests can call it directly.
#pragma once

#include "utf8.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace graft::text {

namespace html_detail {

inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Named character references: all of Latin-1 plus the typographic ones common in web text.
inline const std::unordered_map<std::string_view, char32_t>& named_entities() {
    static const std::unordered_map<std::string_view, char32_t> table = [] {
        // Names of U+00A0..U+00FF in code point order (HTML 4 Latin-1 entity set).
        static constexpr std::array<std::string_view, 96> latin1 = {
            "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",
            "uml",    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",
            "deg",    "plusmn", "sup2",   "sup3",   "acute",  "micro",  "para",   "middot",
            "cedil",  "sup1",   "ordm",   "raquo",  "frac14", "frac12", "frac34", "iquest",
            "Agrave", "Aacute", "Acirc",  "Atilde", "Auml",   "Aring",  "AElig",  "Ccedil",
            "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave", "Iacute", "Icirc",  "Iuml",
            "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde", "Ouml",   "times",
            "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",  "szlig",
            "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
            "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",
            "eth",    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide",
            "oslash", "ugrave", "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};
        std::unordered_map<std::string_view, char32_t> t = {
            {"amp", 0x26},      {"lt", 0x3C},       {"gt", 0x3E},      {"quot", 0x22},
            {"apos", 0x27},     {"OElig", 0x152},   {"oelig", 0x153},  {"Scaron", 0x160},
            {"scaron", 0x161},  {"Yuml", 0x178},    {"fnof", 0x192},   {"circ", 0x2C6},
            {"tilde", 0x2DC},   {"ensp", 0x2002},   {"emsp", 0x2003},  {"thinsp", 0x2009},
            {"zwnj", 0x200C},   {"zwj", 0x200D},    {"lrm", 0x200E},   {"rlm", 0x200F},
            {"ndash", 0x2013},  {"mdash", 0x2014},  {"lsquo", 0x2018}, {"rsquo", 0x2019},
            {"sbquo", 0x201A},  {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"bdquo", 0x201E},
            {"dagger", 0x2020}, {"Dagger", 0x2021}, {"bull", 0x2022},  {"hellip", 0x2026},
            {"permil", 0x2030}, {"prime", 0x2032},  {"Prime", 0x2033}, {"lsaquo", 0x2039},
            {"rsaquo", 0x203A}, {"oline", 0x203E},  {"frasl", 0x2044}, {"euro", 0x20AC},
            {"trade", 0x2122},  {"larr", 0x2190},   {"uarr", 0x2191},  {"rarr", 0x2192},
            {"darr", 0x2193},   {"harr", 0x2194},   {"minus", 0x2212}, {"ne", 0x2260},
            {"le", 0x2264},     {"ge", 0x2265},     {"infin", 0x221E}, {"spades", 0x2660},
            {"clubs", 0x2663},  {"hearts", 0x2665}, {"diams", 0x2666}};
        for (std::size_t k = 0; k < latin1.size(); ++k)
            t.emplace(latin1[k], static_cast<char32_t>(0xA0 + k));
        return t;
    }();
    return table;
}

// HTML5 maps numeric references in 0x80..0x9F as Windows-1252 (what old pages meant by them).
inline char32_t windows1252(char32_t cp) {
    static constexpr std::array<char32_t, 32> map = {
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
    return map[cp - 0x80];
}

// Decodes the character reference starting at in[i] == '&'. On success appends it, advances i
// past it and returns true; otherwise leaves both alone.
inline bool decode_entity(std::string_view in, std::size_t& i, std::string& out) {
    std::size_t j = i + 1;
    if (j < in.size() && in[j] == '#') {
        ++j;
        const bool hex = j < in.size() && (in[j] == 'x' || in[j] == 'X');
        if (hex) ++j;
        const std::size_t digits_start = j;
        char32_t cp = 0;
        for (; j < in.size(); ++j) {
            const char c = in[j];
            unsigned digit;
            if (is_digit(c)) {
                digit = static_cast<unsigned>(c - '0');
            } else if (hex && lower(c) >= 'a' && lower(c) <= 'f') {
                digit = static_cast<unsigned>(lower(c) - 'a' + 10);
            } else {
                break;
            }
            // Saturate: anything past U+10FFFF is invalid anyway.
            cp = cp > 0x10FFFF ? cp : cp * (hex ? 16 : 10) + digit;
        }
        if (j == digits_start) return false;
        if (j < in.size() && in[j] == ';') ++j;  // HTML5 tolerates a missing ';' here
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
        if (cp >= 0x80 && cp <= 0x9F) cp = windows1252(cp);
        append_utf8(out, cp);
        i = j;
        return true;
    }
    // Named: letters and digits, then a mandatory ';'.
    while (j < in.size() && j - i <= 32 && is_alnum(in[j])) ++j;
    if (j == i + 1 || j >= in.size() || in[j] != ';') return false;
    const auto& table = named_entities();
    const auto it = table.find(in.substr(i + 1, j - i - 1));
    if (it == table.end()) return false;
    append_utf8(out, it->second);
    i = j + 1;
    return true;
}

// Tags after which text on either side belongs to different lines/paragraphs.
inline bool is_block_tag(std::string_view name) {
    static constexpr std::array<std::string_view, 36> blocks = {
        "address", "article", "aside", "blockquote", "br",     "dd",     "div",    "dl",
        "dt",      "figcaption", "figure", "footer",  "form",   "h1",     "h2",     "h3",
        "h4",      "h5",      "h6",     "header",     "hr",     "li",     "main",   "nav",
        "ol",      "p",       "pre",    "section",    "table",  "tbody",  "td",     "tfoot",
        "th",      "thead",   "tr",     "ul"};
    for (std::string_view b : blocks)
        if (b == name) return true;
    return false;
}

// Position just past the '>' that ends the tag opened at in[i] == '<' (quoted attribute values
// may contain '>'), or npos when the tag never ends.
inline std::size_t tag_end(std::string_view in, std::size_t i) {
    char quote = 0;
    for (std::size_t j = i + 1; j < in.size(); ++j) {
        const char c = in[j];
        if (quote) {
            if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '>') {
            return j + 1;
        }
    }
    return std::string_view::npos;
}

// Case-insensitive search for `needle` (lower-case ASCII) in `in` from `from`.
inline std::size_t find_ci(std::string_view in, std::string_view needle, std::size_t from) {
    for (std::size_t i = from; i + needle.size() <= in.size(); ++i) {
        std::size_t k = 0;
        while (k < needle.size() && lower(in[i + k]) == needle[k]) ++k;
        if (k == needle.size()) return i;
    }
    return std::string_view::npos;
}

// Handles markup starting at in[i] == '<'. Returns true (and advances i) when it was markup.
inline bool skip_markup(std::string_view in, std::size_t& i, std::string& out) {
    const std::size_t n = in.size();
    if (i + 1 >= n) return false;
    const char next = in[i + 1];
    if (in.substr(i, 4) == "<!--") {
        const std::size_t end = in.find("-->", i + 4);
        if (end == std::string_view::npos) return false;
        i = end + 3;
        return true;
    }
    const bool closing = next == '/';
    const std::size_t name_start = i + (closing ? 2 : 1);
    const bool declaration = next == '!' || next == '?';  // <!DOCTYPE ...>, <?xml ...?>
    if (!declaration && !(name_start < n && is_alpha(in[name_start]))) return false;
    const std::size_t end = tag_end(in, i);
    if (end == std::string_view::npos) return false;

    std::string name;
    for (std::size_t j = name_start; j < end && is_alnum(in[j]); ++j) name += lower(in[j]);
    i = end;
    if (declaration) return true;
    if (is_block_tag(name)) out += '\n';
    if (!closing && (name == "script" || name == "style")) {
        // Their content is code, not text: skip to the matching end tag when there is one.
        const std::size_t close = find_ci(in, "</" + name, i);
        if (close != std::string_view::npos) {
            const std::size_t close_end = tag_end(in, close);
            i = close_end == std::string_view::npos ? n : close_end;
        }
    }
    return true;
}

}  // namespace html_detail

// Decodes HTML character references (named, decimal, hex) without touching tags.
inline std::string decode_html_entities(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        if (in[i] == '&' && html_detail::decode_entity(in, i, out)) continue;
        out += in[i++];
    }
    return out;
}

// Removes markup and decodes character references in one pass, so that a decoded "&lt;b&gt;" is
// kept as text rather than taken for a tag. Block-level tags (<br>, <p>, <div>, <li>...) become
// '\n' so that words on either side stay apart.
inline std::string strip_html(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        // Copy the plain text up to the next '<' or '&' in one go.
        const std::size_t special = std::min(in.find_first_of("<&", i), in.size());
        out.append(in, i, special - i);
        i = special;
        if (i >= in.size()) break;
        const char c = in[i];
        if (c == '<' && html_detail::skip_markup(in, i, out)) continue;
        if (c == '&' && html_detail::decode_entity(in, i, out)) continue;
        out += c;
        ++i;
    }
    return out;
}

// Cheap pre-check: text without '<' or '&' has nothing to strip.
inline bool may_contain_html(std::string_view in) {
    return in.find_first_of("<&") != std::string_view::npos;
}

}  // namespace graft::text
