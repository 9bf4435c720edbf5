#include "ml/model/safetensors.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <system_error>
#include <vector>

namespace graft::ml {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; add byte swapping for big-endian hosts");

namespace {

struct DtypeName {
    torch::ScalarType type;
    const char* name;
};

constexpr std::array<DtypeName, 10> kDtypes{{
    {torch::kDouble, "F64"},
    {torch::kFloat, "F32"},
    {torch::kHalf, "F16"},
    {torch::kBFloat16, "BF16"},
    {torch::kLong, "I64"},
    {torch::kInt, "I32"},
    {torch::kShort, "I16"},
    {torch::kChar, "I8"},
    {torch::kByte, "U8"},
    {torch::kBool, "BOOL"},
}};

constexpr const char* kMetadataKey = "__metadata__";

[[noreturn]] void fail(const std::string& source, const std::string& what) {
    throw SafetensorsError(fmt::format("{}: {}", source, what));
}

// Not a valid file: what is wrong plus the usual remedy.
[[noreturn]] void corrupt(const std::string& source, const std::string& what) {
    fail(source, what + " (the file is corrupt, truncated or not safetensors: re-create it)");
}

void put_u64_le(std::string& out, uint64_t value) {
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
    }
}

uint64_t get_u64_le(std::string_view bytes) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; --i) {
        value = (value << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
    }
    return value;
}

struct Entry {
    std::string name;
    torch::ScalarType type;
    std::vector<int64_t> shape;
    uint64_t begin;
    uint64_t end;
};

uint64_t read_unsigned(const nlohmann::json& value, const std::string& source,
                       const std::string& where) {
    if (!value.is_number_unsigned()) {
        corrupt(source, fmt::format("{} must be a non-negative integer, got {}", where,
                                    value.dump()));
    }
    return value.get<uint64_t>();
}

Entry parse_entry(const std::string& name, const nlohmann::json& info, const std::string& source,
                  uint64_t data_size) {
    const std::string where = fmt::format("tensor \"{}\"", name);
    if (!info.is_object()) {
        corrupt(source, where + " must map to an object {dtype, shape, data_offsets}");
    }
    for (const auto& [key, value] : info.items()) {
        if (key != "dtype" && key != "shape" && key != "data_offsets") {
            corrupt(source, fmt::format("{} has unknown field \"{}\" (expected dtype, shape, "
                                        "data_offsets)", where, key));
        }
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
        if (!info.contains(key)) {
            corrupt(source, fmt::format("{} lacks \"{}\"", where, key));
        }
    }
    Entry entry{name, torch::kFloat, {}, 0, 0};
    if (!info["dtype"].is_string()) {
        corrupt(source, where + ": dtype must be a string such as \"F32\"");
    }
    try {
        entry.type = safetensors_dtype_from_name(info["dtype"].get<std::string>());
    } catch (const SafetensorsError& e) {
        fail(source, fmt::format("{}: {}", where, e.what()));
    }
    const auto& shape = info["shape"];
    if (!shape.is_array()) {
        corrupt(source, where + ": shape must be an array of dimensions");
    }
    uint64_t count = 1;
    for (const auto& dim : shape) {
        const uint64_t d = read_unsigned(dim, source, where + " shape entry");
        if (__builtin_mul_overflow(count, d, &count) || d > static_cast<uint64_t>(INT64_MAX)) {
            corrupt(source, where + ": shape " + shape.dump() + " overflows");
        }
        entry.shape.push_back(static_cast<int64_t>(d));
    }
    const auto& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2) {
        corrupt(source, where + ": data_offsets must be [begin, end]");
    }
    entry.begin = read_unsigned(offsets[0], source, where + " data_offsets[0]");
    entry.end = read_unsigned(offsets[1], source, where + " data_offsets[1]");
    if (entry.begin > entry.end || entry.end > data_size) {
        corrupt(source, fmt::format("{}: data_offsets [{}, {}] out of range of the {}-byte data "
                                    "section", where, entry.begin, entry.end, data_size));
    }
    uint64_t bytes = 0;
    const auto element = static_cast<uint64_t>(c10::elementSize(entry.type));
    if (__builtin_mul_overflow(count, element, &bytes) || bytes != entry.end - entry.begin) {
        corrupt(source, fmt::format("{}: dtype {} and shape {} need {} bytes but data_offsets "
                                    "[{}, {}] span {}", where, info["dtype"].get<std::string>(),
                                    shape.dump(), bytes, entry.begin, entry.end,
                                    entry.end - entry.begin));
    }
    return entry;
}

// The tensors must tile the data section exactly: no overlap (two names sharing bytes), no holes.
void check_coverage(std::vector<Entry>& entries, const std::string& source, uint64_t data_size) {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
    });
    uint64_t position = 0;
    const Entry* previous = nullptr;
    for (const auto& entry : entries) {
        if (entry.begin < position) {
            corrupt(source, fmt::format("tensors \"{}\" and \"{}\" overlap (bytes {} and {})",
                                        previous->name, entry.name, previous->end, entry.begin));
        }
        if (entry.begin > position) {
            corrupt(source, fmt::format("bytes [{}, {}) of the data section belong to no tensor",
                                        position, entry.begin));
        }
        position = entry.end;
        previous = &entry;
    }
    if (position != data_size) {
        corrupt(source, fmt::format("the data section has {} bytes but the tensors cover {}",
                                    data_size, position));
    }
}

nlohmann::json parse_header_json(std::string_view header, const std::string& source) {
    if (header.empty() || header.front() != '{') {
        corrupt(source, "the header must be a JSON object starting with '{'");
    }
    // nlohmann keeps the last of duplicate keys silently; a duplicate tensor name is an error.
    std::set<std::string> seen;
    std::string duplicate;
    const auto callback = [&](int depth, nlohmann::json::parse_event_t event,
                              nlohmann::json& parsed) {
        if (event == nlohmann::json::parse_event_t::key && depth == 1) {
            auto key = parsed.get<std::string>();
            if (!seen.insert(key).second && duplicate.empty()) {
                duplicate = key;
            }
        }
        return true;
    };
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(header.begin(), header.end(), callback);
    } catch (const nlohmann::json::parse_error& e) {
        corrupt(source, fmt::format("the header is not valid JSON: {}", e.what()));
    }
    if (!duplicate.empty()) {
        corrupt(source, fmt::format("the header names \"{}\" twice", duplicate));
    }
    if (!json.is_object()) {
        corrupt(source, "the header must be a JSON object");
    }
    return json;
}

SafetensorsMetadata parse_metadata(const nlohmann::json& json, const std::string& source) {
    if (!json.is_object()) {
        corrupt(source, "__metadata__ must be an object of strings");
    }
    SafetensorsMetadata metadata;
    for (const auto& [key, value] : json.items()) {
        if (!value.is_string()) {
            corrupt(source, fmt::format("__metadata__ value of \"{}\" must be a string, got {}",
                                        key, value.dump()));
        }
        metadata.emplace(key, value.get<std::string>());
    }
    return metadata;
}

torch::Tensor cpu_contiguous(const std::string& name, const torch::Tensor& tensor) {
    if (!tensor.defined()) {
        throw SafetensorsError(fmt::format("cannot save tensor \"{}\": it is undefined", name));
    }
    return tensor.detach().to(torch::kCPU).contiguous();
}

}  // namespace

std::string safetensors_dtype_name(torch::ScalarType type) {
    for (const auto& d : kDtypes) {
        if (d.type == type) {
            return d.name;
        }
    }
    throw SafetensorsError(fmt::format("dtype {} has no safetensors equivalent: convert the tensor "
                                       "(e.g. to float32) before saving",
                                       c10::toString(type)));
}

torch::ScalarType safetensors_dtype_from_name(std::string_view name) {
    for (const auto& d : kDtypes) {
        if (name == d.name) {
            return d.type;
        }
    }
    throw SafetensorsError(fmt::format("unsupported safetensors dtype \"{}\" (supported: F64, F32, "
                                       "F16, BF16, I64, I32, I16, I8, U8, BOOL)",
                                       name));
}

std::string serialize_safetensors(const TensorMap& tensors, const SafetensorsMetadata& metadata) {
    std::vector<std::pair<std::string, torch::Tensor>> ordered;
    ordered.reserve(tensors.size());
    for (const auto& [name, tensor] : tensors) {
        if (name.empty() || name == kMetadataKey) {
            throw SafetensorsError(fmt::format("cannot save a tensor named \"{}\": the name is "
                                               "empty or reserved", name));
        }
        ordered.emplace_back(name, cpu_contiguous(name, tensor));
    }
    // Largest elements first: with an 8-byte aligned data section every tensor then starts at a
    // multiple of its own element size, so readers can map it in place.
    std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
        return a.second.element_size() > b.second.element_size();
    });

    nlohmann::json header = nlohmann::json::object();
    uint64_t offset = 0;
    for (const auto& [name, tensor] : ordered) {
        const auto bytes = static_cast<uint64_t>(tensor.numel()) *
                           static_cast<uint64_t>(tensor.element_size());
        header[name] = {{"dtype", safetensors_dtype_name(tensor.scalar_type())},
                        {"shape", tensor.sizes().vec()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    if (!metadata.empty()) {
        header[kMetadataKey] = metadata;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');

    std::string out;
    out.reserve(8 + text.size() + offset);
    put_u64_le(out, text.size());
    out += text;
    for (const auto& [name, tensor] : ordered) {
        const auto bytes = static_cast<size_t>(tensor.numel()) * tensor.element_size();
        out.append(static_cast<const char*>(tensor.data_ptr()), bytes);
    }
    return out;
}

SafetensorsContents parse_safetensors(std::string_view bytes, const std::string& source) {
    if (bytes.size() < 8) {
        corrupt(source, fmt::format("{} bytes is too short for the 8-byte header size",
                                    bytes.size()));
    }
    const uint64_t header_size = get_u64_le(bytes);
    if (header_size > kSafetensorsMaxHeaderBytes) {
        corrupt(source, fmt::format("header size {} exceeds the {}-byte limit", header_size,
                                    kSafetensorsMaxHeaderBytes));
    }
    if (header_size > bytes.size() - 8) {
        corrupt(source, fmt::format("header size {} runs past the end of the {}-byte file",
                                    header_size, bytes.size()));
    }
    const auto json = parse_header_json(bytes.substr(8, header_size), source);
    const std::string_view data = bytes.substr(8 + header_size);

    SafetensorsContents contents;
    std::vector<Entry> entries;
    for (const auto& [name, info] : json.items()) {
        if (name == kMetadataKey) {
            contents.metadata = parse_metadata(info, source);
        } else {
            entries.push_back(parse_entry(name, info, source, data.size()));
        }
    }
    check_coverage(entries, source, data.size());
    for (const auto& entry : entries) {
        auto tensor = torch::empty(entry.shape, torch::dtype(entry.type));
        if (entry.end > entry.begin) {
            std::memcpy(tensor.data_ptr(), data.data() + entry.begin, entry.end - entry.begin);
        }
        contents.tensors.emplace(entry.name, std::move(tensor));
    }
    return contents;
}

void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                      const SafetensorsMetadata& metadata) {
    write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
    auto directory = path.parent_path();
    if (directory.empty()) {
        directory = ".";
    }
    std::random_device random;
    const auto temp = directory / fmt::format(".{}.tmp-{}-{:x}", path.filename().string(),
                                              ::getpid(), random());
    const auto io_error = [&](const char* what) {
        const std::string reason = std::strerror(errno);
        std::error_code ignored;
        std::filesystem::remove(temp, ignored);
        throw SafetensorsError(fmt::format("cannot write {}: {} failed: {} (check that the "
                                           "directory exists and is writable, and free space)",
                                           path.string(), what, reason));
    };
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        io_error("open");
    }
    size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ::close(fd);
            io_error("write");
        }
        written += static_cast<size_t>(n);
    }
    // fsync before rename: after a crash the path holds the old or the new file, never a torn one.
    if (::fsync(fd) != 0) {
        ::close(fd);
        io_error("fsync");
    }
    if (::close(fd) != 0) {
        io_error("close");
    }
    std::error_code ec;
    std::filesystem::rename(temp, path, ec);
    if (ec) {
        errno = ec.value();
        io_error("rename");
    }
}

SafetensorsContents read_safetensors(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw SafetensorsError(fmt::format("cannot open {}: {}", path.string(),
                                           std::strerror(errno)));
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        throw SafetensorsError(fmt::format("cannot read {}", path.string()));
    }
    return parse_safetensors(bytes, path.string());
}

TensorMap load_safetensors(const std::filesystem::path& path) {
    return read_safetensors(path).tensors;
}

}  // namespace graft::ml
