// 128-bit content digests (XXH3-128). Not cryptographic: graft guards against accidents, not
// adversaries, and XXH3 hashes at memory speed.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace graft {

struct Digest {
    std::array<std::uint8_t, 16> bytes{};

    std::string hex() const;  // 32 lowercase hex chars
    std::string short_hex() const { return hex().substr(0, 12); }
    static std::optional<Digest> from_hex(std::string_view hex);
    bool is_zero() const;
    auto operator<=>(const Digest&) const = default;
};

// Streaming hasher. Tagged helpers length-prefix their data so that field boundaries are part of
// the digest ("ab"+"c" != "a"+"bc").
class Hasher {
public:
    Hasher();
    ~Hasher();
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;

    Hasher& update(const void* data, std::size_t size);
    Hasher& update(std::string_view bytes) { return update(bytes.data(), bytes.size()); }
    Hasher& field(std::string_view tag, std::string_view value);  // tag, len, value
    Hasher& field(std::string_view tag, std::uint64_t value);
    Hasher& field(std::string_view tag, const Digest& value);
    Digest finish();

private:
    void* state_;
};

Digest hash_bytes(std::string_view bytes);

}  // namespace graft
