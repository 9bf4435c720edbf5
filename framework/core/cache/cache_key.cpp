#include "core/cache/cache_key.hpp"

#include <cmath>
#include <stdexcept>

namespace graft {

namespace {

// nlohmann writes NaN and infinities as `null`, which would make {"lr": nan} and {"lr": null}
// share a cache key; refuse them instead of hashing an ambiguity.
void check_finite(const nlohmann::json& j, const std::string& where) {
    if (j.is_number_float() && !std::isfinite(j.get<double>())) {
        throw std::invalid_argument("param " + (where.empty() ? std::string("value") : where) +
                                    " is " + std::to_string(j.get<double>()) +
                                    ", which JSON (and so the cache key) cannot represent; "
                                    "use a finite number or a string such as \"inf\"");
    }
    if (j.is_object()) {
        for (const auto& [k, v] : j.items()) check_finite(v, where.empty() ? k : where + "." + k);
    } else if (j.is_array()) {
        for (std::size_t i = 0; i < j.size(); ++i) {
            check_finite(j[i], where + "[" + std::to_string(i) + "]");
        }
    }
}

}  // namespace

// nlohmann::json keeps object keys in a std::map (sorted bytewise), dump() without an indent has
// no whitespace, and doubles are printed in shortest round-trip form with a ".0" kept on integral
// values, so 1.0 and 1 stay distinct.
std::string canonical_json(const nlohmann::json& j) {
    check_finite(j, "");
    return j.dump();
}

Digest compute_cache_key(const KeyFields& f) {
    Hasher h;
    h.field("prefix", kCacheKeyPrefix);
    h.field("stage.type", f.stage_type);
    h.field("stage.version", f.stage_version);
    h.field("plugin", f.plugin_digest);
    h.field("params", canonical_json(f.params));
    h.field("seed", f.seed);
    for (const auto& [port, digest] : f.inputs) h.field("input:" + port, digest);  // map: sorted
    return h.finish();
}

}  // namespace graft
