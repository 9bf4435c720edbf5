// Cache keys: a versioned prefix, then tagged fields. Bump kCacheKeyPrefix to invalidate every
// cached result (e.g. when the meaning of a field changes).
#pragma once

#include "core/cache/hash.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace graft {

inline constexpr const char* kCacheKeyPrefix = "graft.key.v1";

struct KeyFields {
    std::string stage_type;
    std::string stage_version;
    Digest plugin_digest;                  // content digest of the plugin library
    nlohmann::json params;                 // resolved params (canonicalised when hashed)
    std::map<std::string, Digest> inputs;  // input port -> artifact digest
    std::uint64_t seed = 0;
};

// Canonical JSON text: object keys sorted, no whitespace, numbers in shortest round-trip form.
std::string canonical_json(const nlohmann::json& j);
Digest compute_cache_key(const KeyFields& f);

}  // namespace graft
