// The inference path of graft-predict, shared with the export stage (which times it for its
// latency metrics): bundle verification and a Predictor that classifies texts with a checkpoint
// or bundle directory.
//
// A bundle is a checkpoint directory plus manifest.json:
//   {"format": "graft.bundle/1", "files": {"<name>": "<xxh3-128 hex>", ...}, "max_len": N,
//    "labels": [...], "graft_version": "..."}
// Every listed file is re-hashed before loading, so an edited bundle is refused instead of
// silently giving other predictions.
#pragma once

// No LibTorch in this header (the Predictor's model sits behind a pointer to an incomplete type),
// so graft-predict's main.cpp compiles without <torch/torch.h>.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace graft::predict {

inline constexpr const char* kBundleFormat = "graft.bundle/1";
inline constexpr const char* kBundleManifestFile = "manifest.json";

// The digest a bundle manifest records for a file: XXH3-128 of its bytes as 32 lowercase hex
// chars (graft::hash_bytes, read in chunks). Throws std::runtime_error naming an unreadable file.
std::string bundle_file_digest(const std::filesystem::path& file);

// Checks dir/manifest.json when there is one (format, every listed file present with its digest);
// returns the manifest's max_len, or 0 when there is no manifest or it names none. Throws
// std::runtime_error naming the file and the fix (re-export) on any mismatch.
std::int64_t verify_bundle(const std::filesystem::path& dir);

// LibTorch's intra-op thread count for this process (graft-predict's --threads).
void set_threads(int threads);

struct Scored {
    std::vector<double> logits;
    std::vector<double> probabilities;
};

class Predictor {
public:
    // Loads a sequence classifier from a checkpoint or bundle dir (verified first when it has a
    // manifest). Inputs are cut to min(model max_len, manifest max_len, max_len when > 0).
    // Throws std::runtime_error (or ml::CheckpointError) naming the file for anything unusable.
    Predictor(const std::filesystem::path& dir, std::int64_t max_len);
    ~Predictor();
    Predictor(Predictor&&) noexcept;
    Predictor& operator=(Predictor&&) noexcept;

    const std::vector<std::string>& labels() const;
    std::int64_t max_len() const;
    // Elements of every parameter tensor of the model (buffers not counted).
    std::int64_t parameter_count() const;

    // One forward pass over `texts` ([CLS] text [SEP], truncated to max_len(), padded to the
    // longest with an attention mask); logits as float64 copies of the model's float32 output.
    std::vector<Scored> score(const std::vector<std::string>& texts) const;
    std::string label_of(const Scored& s) const;

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace graft::predict
