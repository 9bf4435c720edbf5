// Unicode normalization and case mapping for the text plugin, on top of utf8proc.
#pragma once

#include <string>
#include <string_view>

namespace graft::text {

enum class UnicodeForm { none, nfc, nfkc };

// "NFC", "NFKC" or "none"; throws std::invalid_argument for anything else.
UnicodeForm parse_unicode_form(std::string_view name);

// NFC or NFKC of `s`, which must be valid UTF-8 (repair it first with repair_utf8).
// Text that is already normalized (all ASCII, or found so by a quick check) is returned as is.
std::string normalize_unicode(std::string s, UnicodeForm form);

// Simple (one-to-one) Unicode lower-casing of valid UTF-8.
std::string to_lower(std::string_view s);

}  // namespace graft::text
