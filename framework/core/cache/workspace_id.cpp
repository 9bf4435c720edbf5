#include "core/cache/disk.hpp"
#include "core/cache/workspace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <random>

namespace graft {

namespace {

bool is_id(std::string_view s) {
    return s.size() == 16 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) && !std::isupper(c); });
}

}  // namespace

std::string workspace_id(Disk& disk, const WorkspacePaths& ws, bool create) {
    if (auto text = disk.read_file(ws.id_file())) {
        std::string_view id(*text);
        while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.remove_suffix(1);
        if (is_id(id)) return std::string(id);
    }
    if (!create) return {};
    std::random_device rd;
    const std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd();
    std::string id = fmt::format("{:016x}", v);
    disk.write_file_atomic(ws.id_file(), id + "\n");
    return id;
}

}  // namespace graft
