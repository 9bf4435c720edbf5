// 128-bit digests of texts, for duplicate and leakage checks: collisions are negligible and
// memory stays at 16 bytes per text however long the texts are.
#pragma once

#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_set>

namespace graft::text {

struct Digest128 {
    std::uint64_t lo, hi;
    bool operator==(const Digest128&) const = default;
};

struct Digest128Hash {
    std::size_t operator()(const Digest128& d) const noexcept {
        return static_cast<std::size_t>(d.lo);
    }
};

using DigestSet = std::unordered_set<Digest128, Digest128Hash>;

inline Digest128 digest(std::string_view text) {
    const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
    return {h.low64, h.high64};
}

}  // namespace graft::text
