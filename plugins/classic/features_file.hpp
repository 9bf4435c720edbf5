// Reading the features files that the `featurize` stage writes (port type "features"), JSONL:
//   line 1   {"format": "graft.features/1", "dim": D, "rows": N, ...}
//   line 2.. {"features": [D numbers], "label": ...}
// The reader checks the format string (magic + version), every row's length against D, the row
// count against N, and that every value is a finite number; errors name the file and line.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace graft::classic {

inline constexpr const char* kFeaturesFormat = "graft.features/1";

struct FeatureSet {
    std::size_t dim = 0;
    std::vector<float> x;             // rows x dim, row-major
    std::vector<std::string> labels;  // one per row
    std::size_t rows() const { return labels.size(); }
};

// Throws sdk::StageError; `port` names the input in messages (e.g. "train_features").
FeatureSet read_features(const std::filesystem::path& file, const std::string& port);

}  // namespace graft::classic
