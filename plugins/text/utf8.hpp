// UTF-8 helpers for the text plugin: validation, repair of ill-formed bytes, code point counting
// and Unicode whitespace collapsing. Header-only and dependency-free so that the tests can call
// them directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace graft::text {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// Appends `cp` encoded as UTF-8 (code points above U+10FFFF or surrogates become U+FFFD).
inline void append_utf8(std::string& out, char32_t cp) {
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        out += kReplacementChar;
    } else if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode table 3-7), or 0 when it is
// ill-formed; then `bad` is the length of the maximal ill-formed subpart, which Unicode's
// recommended practice replaces by one U+FFFD.
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i, std::size_t& bad) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80) return 1;
    std::size_t trail = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the first continuation byte
    if (c >= 0xC2 && c <= 0xDF) {
        trail = 1;
    } else if (c == 0xE0) {
        trail = 2;
        lo = 0xA0;  // no overlong forms
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        trail = 2;
    } else if (c == 0xED) {
        trail = 2;
        hi = 0x9F;  // no surrogates
    } else if (c == 0xF0) {
        trail = 3;
        lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        trail = 3;
    } else if (c == 0xF4) {
        trail = 3;
        hi = 0x8F;  // nothing above U+10FFFF
    } else {
        bad = 1;
        return 0;
    }
    for (std::size_t k = 1; k <= trail; ++k) {
        if (i + k >= s.size()) {
            bad = k;
            return 0;
        }
        const unsigned char d = byte(i + k);
        if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) {
            bad = k;
            return 0;
        }
    }
    return trail + 1;
}

// True when every byte is below 0x80. Checks 8 bytes at a time: most datasets are mostly ASCII.
inline bool is_ascii(std::string_view s) {
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t word;
        std::memcpy(&word, s.data() + i, 8);
        if (word & 0x8080808080808080ULL) return false;
    }
    for (; i < s.size(); ++i)
        if (static_cast<unsigned char>(s[i]) >= 0x80) return false;
    return true;
}

inline bool is_valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        std::size_t bad = 0;
        const std::size_t n = utf8_sequence_length(s, i, bad);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

// Replaces each maximal ill-formed subsequence with U+FFFD; returns how many were replaced.
inline std::size_t repair_utf8(std::string& s) {
    if (is_ascii(s)) return 0;
    std::string out;
    out.reserve(s.size() + 8);
    std::size_t replaced = 0, i = 0;
    while (i < s.size()) {
        std::size_t bad = 0;
        const std::size_t n = utf8_sequence_length(s, i, bad);
        if (n > 0) {
            out.append(s, i, n);
            i += n;
        } else {
            out += kReplacementChar;
            ++replaced;
            i += bad;
        }
    }
    if (replaced > 0) s = std::move(out);
    return replaced;
}

// Decodes the code point at s[i] and advances i. `s` must be valid UTF-8.
inline char32_t decode_utf8(std::string_view s, std::size_t& i) {
    const auto byte = [&](std::size_t k) { return static_cast<char32_t>(
                                                static_cast<unsigned char>(s[k])); };
    const char32_t c = byte(i);
    if (c < 0x80) {
        i += 1;
        return c;
    }
    if (c < 0xE0) {
        const char32_t cp = ((c & 0x1F) << 6) | (byte(i + 1) & 0x3F);
        i += 2;
        return cp;
    }
    if (c < 0xF0) {
        const char32_t cp = ((c & 0x0F) << 12) | ((byte(i + 1) & 0x3F) << 6) | (byte(i + 2) & 0x3F);
        i += 3;
        return cp;
    }
    const char32_t cp = ((c & 0x07) << 18) | ((byte(i + 1) & 0x3F) << 12) |
                        ((byte(i + 2) & 0x3F) << 6) | (byte(i + 3) & 0x3F);
    i += 4;
    return cp;
}

// Number of code points (what min_chars / max_chars measure) of valid UTF-8.
inline std::size_t count_code_points(std::string_view s) {
    std::size_t n = 0;
    for (char c : s)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    return n;
}

// The Unicode White_Space property (PropList.txt), which includes NBSP and the ideographic space.
inline bool is_unicode_space(char32_t cp) {
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Length of the whitespace code point at s[i], or 0 when s[i] starts something else.
// `s` must be valid UTF-8. Only lead bytes 0xC2, 0xE1, 0xE2 and 0xE3 can start non-ASCII spaces.
inline std::size_t space_length(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return (c == ' ' || (c >= 0x09 && c <= 0x0D)) ? 1 : 0;
    if (c != 0xC2 && c != 0xE1 && c != 0xE2 && c != 0xE3) return 0;
    std::size_t j = i;
    return is_unicode_space(decode_utf8(s, j)) ? j - i : 0;
}

// True when `s` (valid UTF-8) is empty or all Unicode whitespace.
inline bool is_all_space(std::string_view s) {
    std::size_t i = 0, n = 0;
    while (i < s.size()) {
        if ((n = space_length(s, i)) == 0) return false;
        i += n;
    }
    return true;
}

// `s` (valid UTF-8) without leading and trailing Unicode whitespace.
inline std::string_view trim_space(std::string_view s) {
    std::size_t i = 0, n = 0;
    while (i < s.size() && (n = space_length(s, i)) > 0) i += n;
    const std::size_t start = i;
    std::size_t end = i;  // one past the last non-space code point seen so far
    while (i < s.size()) {
        if ((n = space_length(s, i)) > 0) {
            i += n;
            continue;
        }
        const auto c = static_cast<unsigned char>(s[i]);
        i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        end = i;
    }
    return s.substr(start, end - start);
}

// Collapses every run of Unicode whitespace to one ASCII space and trims both ends.
// `s` must be valid UTF-8.
inline std::string collapse_whitespace(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        // A run of whitespace...
        std::size_t n;
        bool had_space = false;
        while (i < s.size() && (n = space_length(s, i)) > 0) {
            i += n;
            had_space = true;
        }
        if (i >= s.size()) break;  // trailing: trimmed
        if (had_space && !out.empty()) out += ' ';
        // ...then a run of other characters, copied in one go.
        const std::size_t start = i;
        while (i < s.size() && space_length(s, i) == 0) {
            const auto c = static_cast<unsigned char>(s[i]);
            i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        }
        out.append(s, start, i - start);
    }
    return out;
}

}  // namespace graft::text
