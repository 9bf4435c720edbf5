// Metric values in the JSON files graft writes (run-cache entries, graft.lock). A metric may be
// NaN or infinite (a diverged loss), which JSON cannot express as a number: those are written as
// the strings "nan", "inf" and "-inf" and read back as such.
#pragma once

#include <cmath>
#include <limits>
#include <optional>
#include <string>

namespace graft {

template <class Json>
Json metric_to_json(double v) {
    if (std::isnan(v)) return Json("nan");
    if (std::isinf(v)) return Json(v > 0 ? "inf" : "-inf");
    return Json(v);
}

// nullopt when `j` is neither a number nor one of the strings above.
template <class Json>
std::optional<double> metric_from_json(const Json& j) {
    if (j.is_number()) return j.template get<double>();
    if (!j.is_string()) return std::nullopt;
    const auto& s = j.template get_ref<const std::string&>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    return std::nullopt;
}

}  // namespace graft
