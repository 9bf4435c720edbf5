#include "features_file.hpp"

#include <graft/jsonl.hpp>
#include <graft/stage.hpp>

#include <cmath>

namespace graft::classic {

FeatureSet read_features(const std::filesystem::path& file, const std::string& port) {
    FeatureSet set;
    std::size_t declared_rows = 0;
    bool header = false;
    sdk::for_each_jsonl(file, [&](sdk::json&& row, std::size_t line) {
        const std::string where = fmt::format("input '{}' {}:{}", port, file.string(), line);
        if (!header) {
            auto f = row.find("format");
            if (f == row.end() || !f->is_string() || f->get<std::string>() != kFeaturesFormat)
                throw sdk::StageError(fmt::format(
                    "{}: not a features file: the first line must be a header with \"format\": "
                    "\"{}\" (connect a featurize stage's 'features' output; text rows go to "
                    "'train'/'test')",
                    where, kFeaturesFormat));
            auto d = row.find("dim");
            auto n = row.find("rows");
            if (d == row.end() || !d->is_number_unsigned() || d->get<std::size_t>() == 0 ||
                n == row.end() || !n->is_number_unsigned())
                throw sdk::StageError(fmt::format(
                    "{}: the header needs a positive integer \"dim\" and an integer \"rows\"", where));
            set.dim = d->get<std::size_t>();
            declared_rows = n->get<std::size_t>();
            header = true;
            return;
        }
        auto f = row.find("features");
        if (f == row.end() || !f->is_array())
            throw sdk::StageError(fmt::format("{}: no \"features\" array", where));
        if (f->size() != set.dim)
            throw sdk::StageError(fmt::format("{}: {} features, but the header says dim = {}",
                                              where, f->size(), set.dim));
        for (const auto& v : *f) {
            if (!v.is_number() || !std::isfinite(v.get<double>()))
                throw sdk::StageError(fmt::format("{}: a feature is not a finite number: {}", where, v.dump()));
            set.x.push_back(v.get<float>());
        }
        auto l = row.find("label");
        if (l == row.end() || l->is_null())
            throw sdk::StageError(fmt::format(
                "{}: no \"label\" (featurize carries the data's label_field through; featurize "
                "labelled rows, or drop unlabelled ones with text.clean require_label = true)",
                where));
        set.labels.push_back(l->is_string() ? l->get<std::string>() : l->dump());
    });
    if (!header) throw sdk::StageError(fmt::format("input '{}' {} is empty: no features header", port, file.string()));
    if (set.rows() != declared_rows)
        throw sdk::StageError(fmt::format("input '{}' {}: the header says {} rows but the file has {} (truncated?)",
                                          port, file.string(), declared_rows, set.rows()));
    if (set.rows() == 0) throw sdk::StageError(fmt::format("input '{}' {} has no rows", port, file.string()));
    return set;
}

}  // namespace graft::classic
