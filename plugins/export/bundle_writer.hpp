// Writing an export bundle: the directory `graft predict BUNDLE` serves.
//   model.safetensors  the checkpoint's weights, byte for byte
//   config.json        the checkpoint's config with "tokenizer": "tokenizer.json" and no
//                      training state (a bundle is for inference only)
//   tokenizer.json     the tokenizer the model was evaluated with
//   manifest.json      {"format": "graft.bundle/1", "files": {name: xxh3-128 hex}, "max_len": N,
//                       "labels": [...], "graft_version": "..."}, digests as graft-predict checks
//                       them (predict::bundle_file_digest); written last, atomically
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace graft::exporting {

struct BundleInfo {
    std::map<std::string, std::string> files;  // name -> digest, as in the manifest
    std::uint64_t bytes = 0;                   // every file of the bundle, manifest included
    std::int64_t max_len = 0;                  // min(requested, the model's max_len)
    std::vector<std::string> labels;
};

// Writes the bundle for `checkpoint` (a sequence classifier checkpoint dir) with the tokenizer
// file `tokenizer_json` into `out` (created if missing). max_len > 0 is recorded capped at the
// model's; 0 records the model's own. Throws sdk::StageError naming the file and a fix for a
// language model or token classifier (graft predict serves sequence classifiers), a missing or
// malformed checkpoint, or a tokenizer with more ids than the model's vocabulary.
BundleInfo write_bundle(const std::filesystem::path& checkpoint, const std::filesystem::path& tokenizer_json,
                        std::int64_t max_len, const std::filesystem::path& out);

}  // namespace graft::exporting
