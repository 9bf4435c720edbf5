// Unicode helpers of the tokenizer (internal): UTF-8 decoding that tolerates invalid bytes,
// character classes from utf8proc's tables, and GPT-2's byte <-> printable-character mapping.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace graft::ml::detail {

// One decoded code point. An invalid or truncated UTF-8 sequence decodes as cp = -1 covering one
// byte, so every byte of any input belongs to exactly one unit.
struct Utf8Unit {
    std::int32_t cp;
    std::uint32_t len;
};

Utf8Unit decode_utf8_slow(std::string_view s, std::size_t i);

inline Utf8Unit decode_utf8(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return {c, 1};
    return decode_utf8_slow(s, i);
}

void append_utf8(std::string& out, std::int32_t cp);

// Number of code points (invalid bytes count one each).
std::size_t utf8_length(std::string_view s);

// Character classes, as bit flags.
enum CharClass : std::uint8_t {
    kLetter = 1,       // \p{L}
    kNumber = 2,       // \p{N}
    kSpace = 4,        // Unicode White_Space (Rust's char::is_whitespace)
    kPunct = 8,        // BERT punctuation: ASCII punctuation or \p{P}
    kControl = 16,     // BERT control: \p{C} except \t \n \r
    kNonSpacing = 32,  // \p{Mn}, removed by accent stripping
    kCjk = 64,         // CJK ideographs that BERT isolates
};

std::uint8_t char_class_slow(std::int32_t cp);
const std::array<std::uint8_t, 65536>& bmp_class_table();

inline std::uint8_t char_class(std::int32_t cp) {
    if (cp < 0) return 0;
    if (cp < 65536) return bmp_class_table()[static_cast<std::size_t>(cp)];
    return char_class_slow(cp);
}

// Simple (one-to-one) lowercase mapping.
std::int32_t to_lower(std::int32_t cp);

// Canonical decomposition (NFD) of one code point into `out`; returns the count (<= 8 here).
int decompose(std::int32_t cp, std::int32_t* out, int capacity);

// GPT-2 maps every byte to a printable character so that BPE vocabularies are valid text: bytes
// that are printable Latin-1 keep their code point, the others take U+0100 onwards in order.
struct ByteUnicodeMap {
    std::array<std::int32_t, 256> byte_to_cp{};
    std::array<std::string, 256> byte_to_utf8{};
    std::array<std::int16_t, 512> cp_to_byte{};  // -1 where the code point is not a byte symbol
    std::array<std::uint8_t, 256> order{};       // bytes in GPT-2's vocabulary order
};
const ByteUnicodeMap& byte_unicode_map();

// Byte value of a byte-level symbol, or -1.
inline int byte_of_cp(std::int32_t cp) {
    if (cp < 0 || cp >= 512) return -1;
    return byte_unicode_map().cp_to_byte[static_cast<std::size_t>(cp)];
}

// The byte-level (printable) spelling of raw bytes, and back. from_byte_level returns false when
// the text contains a character that is not a byte symbol.
std::string to_byte_level(std::string_view raw);
bool from_byte_level(std::string_view symbols, std::string& raw_out);

}  // namespace graft::ml::detail
