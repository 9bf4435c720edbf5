#include "ml/tokenizer/unicode.hpp"

#include <utf8proc.h>

namespace graft::ml::detail {

Utf8Unit decode_utf8_slow(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::uint32_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return {-1, 1};
    std::uint32_t cp = len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (std::uint32_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc >> 6) != 0x2) return {-1, 1};
        cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not characters.
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return {-1, 1};
    return {static_cast<std::int32_t>(cp), len};
}

void append_utf8(std::string& out, std::int32_t cp) {
    const auto u = static_cast<std::uint32_t>(cp);
    if (u < 0x80) {
        out.push_back(static_cast<char>(u));
    } else if (u < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (u >> 6)));
        out.push_back(static_cast<char>(0x80 | (u & 0x3F)));
    } else if (u < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (u >> 12)));
        out.push_back(static_cast<char>(0x80 | ((u >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (u & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (u >> 18)));
        out.push_back(static_cast<char>(0x80 | ((u >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((u >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (u & 0x3F)));
    }
}

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < s.size(); i += decode_utf8(s, i).len) ++n;
    return n;
}

namespace {

bool is_white_space(std::int32_t cp) {
    // The Unicode White_Space property (PropList.txt); small and stable, so listed here.
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

bool is_cjk(std::int32_t cp) {
    // The CJK Unified Ideographs blocks that BERT's basic tokenizer surrounds with spaces.
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_ascii_punct(std::int32_t cp) {
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
           (cp >= 123 && cp <= 126);
}

}  // namespace

std::uint8_t char_class_slow(std::int32_t cp) {
    if (cp < 0 || cp > 0x10FFFF) return 0;
    std::uint8_t cls = 0;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        cls |= kLetter;
        break;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        cls |= kNumber;
        break;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        cls |= kPunct;
        break;
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
        if (cp != '\t' && cp != '\n' && cp != '\r') cls |= kControl;
        break;
    case UTF8PROC_CATEGORY_MN:
        cls |= kNonSpacing;
        break;
    default:
        break;
    }
    if (is_ascii_punct(cp)) cls |= kPunct;
    if (is_white_space(cp)) cls |= kSpace;
    if (is_cjk(cp)) cls |= kCjk;
    return cls;
}

const std::array<std::uint8_t, 65536>& bmp_class_table() {
    // utf8proc lookups are out-of-line calls; one table for the BMP makes the hot loops cheap.
    static const std::array<std::uint8_t, 65536> table = [] {
        std::array<std::uint8_t, 65536> t{};
        for (std::int32_t cp = 0; cp < 65536; ++cp)
            t[static_cast<std::size_t>(cp)] = char_class_slow(cp);
        return t;
    }();
    return table;
}

std::int32_t to_lower(std::int32_t cp) {
    if (cp < 0) return cp;
    if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
    return utf8proc_tolower(cp);
}

int decompose(std::int32_t cp, std::int32_t* out, int capacity) {
    if (cp < 0xC0) {
        out[0] = cp;
        return 1;
    }
    int last_boundclass = 0;
    const utf8proc_ssize_t n =
        utf8proc_decompose_char(cp, out, capacity, UTF8PROC_DECOMPOSE, &last_boundclass);
    if (n <= 0 || n > capacity) {
        out[0] = cp;
        return 1;
    }
    return static_cast<int>(n);
}

const ByteUnicodeMap& byte_unicode_map() {
    static const ByteUnicodeMap map = [] {
        ByteUnicodeMap m;
        m.cp_to_byte.fill(-1);
        std::size_t k = 0;
        auto printable = [](int b) {
            return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        };
        for (int b = 0; b < 256; ++b)
            if (printable(b)) {
                m.byte_to_cp[static_cast<std::size_t>(b)] = b;
                m.order[k++] = static_cast<std::uint8_t>(b);
            }
        int next = 256;
        for (int b = 0; b < 256; ++b)
            if (!printable(b)) {
                m.byte_to_cp[static_cast<std::size_t>(b)] = next++;
                m.order[k++] = static_cast<std::uint8_t>(b);
            }
        for (int b = 0; b < 256; ++b) {
            const auto cp = m.byte_to_cp[static_cast<std::size_t>(b)];
            m.cp_to_byte[static_cast<std::size_t>(cp)] = static_cast<std::int16_t>(b);
            append_utf8(m.byte_to_utf8[static_cast<std::size_t>(b)], cp);
        }
        return m;
    }();
    return map;
}

std::string to_byte_level(std::string_view raw) {
    const auto& m = byte_unicode_map();
    std::string out;
    out.reserve(raw.size() * 2);
    for (char c : raw) out += m.byte_to_utf8[static_cast<unsigned char>(c)];
    return out;
}

bool from_byte_level(std::string_view symbols, std::string& raw_out) {
    for (std::size_t i = 0; i < symbols.size();) {
        const Utf8Unit u = decode_utf8(symbols, i);
        const int b = byte_of_cp(u.cp);
        if (b < 0) return false;
        raw_out.push_back(static_cast<char>(b));
        i += u.len;
    }
    return true;
}

}  // namespace graft::ml::detail
