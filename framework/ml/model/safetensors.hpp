// The safetensors format, read and written here (no Python, no pickle, nothing executed on load):
//   8 bytes  little-endian u64 N = header size
//   N bytes  UTF-8 JSON header: {"<name>": {"dtype": "F32", "shape": [2, 3],
//            "data_offsets": [begin, end]}, ..., "__metadata__": {"<key>": "<string>"}},
//            padded with spaces so the data section starts 8-byte aligned
//   rest     the tensors' raw little-endian C-order bytes; offsets are relative to the data
//            section, which the tensors cover exactly (no gaps, no overlap)
// Writing orders tensors by decreasing element size, then by name, so every tensor is aligned to
// its element size. Reading checks every field before touching data.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace graft::ml {

using TensorMap = std::map<std::string, torch::Tensor>;
using SafetensorsMetadata = std::map<std::string, std::string>;

// A malformed, truncated or unsupported safetensors file; the message names the file and field.
class SafetensorsError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Headers larger than this are refused before allocating (the reference implementation's limit).
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100ull << 20;

struct SafetensorsContents {
    TensorMap tensors;
    SafetensorsMetadata metadata;
};

// "F64" "F32" "F16" "BF16" "I64" "I32" "I16" "I8" "U8" "BOOL"; throws SafetensorsError otherwise.
std::string safetensors_dtype_name(torch::ScalarType type);
torch::ScalarType safetensors_dtype_from_name(std::string_view name);

// The file's bytes. Tensors may live on any device and be non-contiguous; they are copied to
// contiguous CPU memory. Names must be non-empty and not "__metadata__".
std::string serialize_safetensors(const TensorMap& tensors,
                                  const SafetensorsMetadata& metadata = {});
// Parses bytes produced by any conforming writer; `source` names them in error messages.
// Returned tensors are CPU, contiguous and own their memory.
SafetensorsContents parse_safetensors(std::string_view bytes,
                                      const std::string& source = "<bytes>");

// Writes atomically: a temporary file in the same directory, flushed, then renamed over `path`.
void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                      const SafetensorsMetadata& metadata = {});
SafetensorsContents read_safetensors(const std::filesystem::path& path);
TensorMap load_safetensors(const std::filesystem::path& path);

// Writes `bytes` to `path` atomically (temporary file in the same directory, fsync, rename);
// throws SafetensorsError naming the path and the failing step. Also used for config.json.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace graft::ml
