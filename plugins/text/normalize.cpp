#include "normalize.hpp"

#include "utf8.hpp"

#include <utf8proc.h>

#include <bitset>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

namespace graft::text {
namespace {

int utf8proc_options(UnicodeForm form) {
    int options = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    if (form == UnicodeForm::nfkc) options |= UTF8PROC_COMPAT;
    return options;
}

std::string map_with_utf8proc(std::string_view s, UnicodeForm form) {
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t n =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                     static_cast<utf8proc_ssize_t>(s.size()), &mapped,
                     static_cast<utf8proc_option_t>(utf8proc_options(form)));
    // utf8proc allocates with malloc; free it whatever happens next.
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
    if (n < 0)
        throw std::runtime_error(std::string("Unicode normalization failed: ") +
                                 utf8proc_errmsg(n));
    return std::string(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(n));
}

// Code points that can be the second half of a canonical composition pair (the last code point
// of some canonical decomposition, Hangul jamo included): text after such a code point may be
// recomposed with it.
std::vector<bool> composition_seconds() {
    std::vector<bool> second(0x110000, false);
    utf8proc_int32_t buf[32];
    for (utf8proc_int32_t cp = 0; cp < 0x110000; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        int boundclass = 0;
        const utf8proc_ssize_t n = utf8proc_decompose_char(
            cp, buf, 32, static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE), &boundclass);
        if (n >= 2 && n <= 32) second[static_cast<std::size_t>(buf[n - 1])] = true;
    }
    return second;
}

// Quick-check table over the Basic Multilingual Plane: a code point is "stable" when
// normalization leaves it unchanged in any context made of stable code points, i.e. it is a
// starter (combining class 0), maps to itself on its own, and cannot compose with what precedes.
// A string made only of stable code points is already normalized, which lets the common case
// skip utf8proc (several times slower than the rest of the cleaning) entirely.
class StableTable {
public:
    explicit StableTable(UnicodeForm form) {
        const std::vector<bool> second = composition_seconds();
        for (char32_t cp = 0x80; cp < 0x10000; ++cp) {
            if (cp >= 0xD800 && cp <= 0xDFFF) continue;
            const auto* prop = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
            if (prop->combining_class != 0 || second[cp]) continue;
            std::string one;
            append_utf8(one, cp);
            if (map_with_utf8proc(one, form) == one) stable_.set(cp);
        }
    }
    bool stable(char32_t cp) const { return cp < 0x80 || (cp < 0x10000 && stable_.test(cp)); }

private:
    std::bitset<0x10000> stable_;
};

const StableTable& stable_table(UnicodeForm form) {
    // Built once per process on first use (tens of milliseconds); thread-safe static init.
    static const StableTable nfc(UnicodeForm::nfc);
    static const StableTable nfkc(UnicodeForm::nfkc);
    return form == UnicodeForm::nfc ? nfc : nfkc;
}

}  // namespace

UnicodeForm parse_unicode_form(std::string_view name) {
    if (name == "NFC") return UnicodeForm::nfc;
    if (name == "NFKC") return UnicodeForm::nfkc;
    if (name == "none") return UnicodeForm::none;
    throw std::invalid_argument("unicode = \"" + std::string(name) +
                                "\" is not a normalization form; use \"NFC\", \"NFKC\" or "
                                "\"none\"");
}

std::string normalize_unicode(std::string s, UnicodeForm form) {
    if (form == UnicodeForm::none || is_ascii(s)) return s;
    // Normalization never crosses the boundary before a stable code point, so only the segments
    // that contain unstable ones, each from the stable code point before it (which may compose
    // with what follows) up to the next, need utf8proc; the rest is copied as is.
    const StableTable& table = stable_table(form);
    std::string out;
    std::size_t copied = 0;    // s[0, copied) is in `out`
    std::size_t boundary = 0;  // start of the last stable code point seen
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t start = i;
        if (table.stable(decode_utf8(s, i))) {
            boundary = start;
            continue;
        }
        // An unstable code point: extend the segment to just before the next stable one.
        std::size_t end = i;
        while (end < s.size()) {
            std::size_t next = end;
            if (table.stable(decode_utf8(s, next))) break;
            end = next;
        }
        if (out.empty()) out.reserve(s.size());
        out.append(s, copied, boundary - copied);
        out += map_with_utf8proc(std::string_view(s).substr(boundary, end - boundary), form);
        copied = boundary = i = end;
    }
    if (copied == 0) return s;  // nothing was unstable
    out.append(s, copied, s.size() - copied);
    return out;
}

std::string to_lower(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (static_cast<unsigned char>(c) < 0x80) {
            out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
            ++i;
            continue;
        }
        const char32_t cp = decode_utf8(s, i);
        append_utf8(out,
                    static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
    }
    return out;
}

}  // namespace graft::text
