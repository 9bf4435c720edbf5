#include "core/cache/hash.hpp"

#include <xxhash.h>

#include <new>

namespace graft {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The canonical XXH128 form is big-endian: high64 then low64, which is also how xxhsum prints it.
Digest to_digest(XXH128_hash_t h) {
    XXH128_canonical_t canon;
    XXH128_canonicalFromHash(&canon, h);
    Digest d;
    for (std::size_t i = 0; i < d.bytes.size(); ++i) d.bytes[i] = canon.digest[i];
    return d;
}

XXH3_state_t* state_of(void* p) { return static_cast<XXH3_state_t*>(p); }

// Lengths are hashed as fixed-width little-endian u64 so the encoding does not depend on the host.
void update_u64_le(XXH3_state_t* s, std::uint64_t v) {
    unsigned char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<unsigned char>(v >> (8 * i));
    XXH3_128bits_update(s, buf, sizeof buf);
}

}  // namespace

std::string Digest::hex() const {
    std::string out(bytes.size() * 2, '0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = kHexDigits[bytes[i] >> 4];
        out[2 * i + 1] = kHexDigits[bytes[i] & 0x0f];
    }
    return out;
}

std::optional<Digest> Digest::from_hex(std::string_view hex) {
    Digest d;
    if (hex.size() != d.bytes.size() * 2) return std::nullopt;
    for (std::size_t i = 0; i < d.bytes.size(); ++i) {
        int hi = hex_value(hex[2 * i]);
        int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        d.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
    }
    return d;
}

bool Digest::is_zero() const {
    for (auto b : bytes) {
        if (b != 0) return false;
    }
    return true;
}

Hasher::Hasher() : state_(XXH3_createState()) {
    if (state_ == nullptr) throw std::bad_alloc();
    XXH3_128bits_reset(state_of(state_));
}

Hasher::~Hasher() { XXH3_freeState(state_of(state_)); }

Hasher& Hasher::update(const void* data, std::size_t size) {
    XXH3_128bits_update(state_of(state_), data, size);
    return *this;
}

Hasher& Hasher::field(std::string_view tag, std::string_view value) {
    auto* s = state_of(state_);
    update_u64_le(s, tag.size());
    XXH3_128bits_update(s, tag.data(), tag.size());
    update_u64_le(s, value.size());
    XXH3_128bits_update(s, value.data(), value.size());
    return *this;
}

// Integers and digests are hashed as their fixed-width byte strings (u64 little-endian, the 16
// digest bytes), framed like any other field value.
Hasher& Hasher::field(std::string_view tag, std::uint64_t value) {
    char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(value >> (8 * i));
    return field(tag, std::string_view(buf, sizeof buf));
}

Hasher& Hasher::field(std::string_view tag, const Digest& value) {
    const void* raw = value.bytes.data();
    return field(tag, std::string_view(static_cast<const char*>(raw), value.bytes.size()));
}

Digest Hasher::finish() { return to_digest(XXH3_128bits_digest(state_of(state_))); }

Digest hash_bytes(std::string_view bytes) {
    return to_digest(XXH3_128bits(bytes.data(), bytes.size()));
}

}  // namespace graft
