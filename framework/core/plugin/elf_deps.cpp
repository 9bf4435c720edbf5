#include "core/plugin/elf_deps.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace graft {

namespace {

template <class T>
T read_at(const std::string& data, std::uint64_t offset) {
    if (offset > data.size() || data.size() - offset < sizeof(T))
        throw std::runtime_error("truncated ELF file");
    T v;
    std::memcpy(&v, data.data() + offset, sizeof v);
    return v;
}

std::string read_string(const std::string& data, std::uint64_t offset) {
    if (offset >= data.size()) throw std::runtime_error("ELF string out of range");
    const auto end = data.find('\0', offset);
    if (end == std::string::npos) throw std::runtime_error("unterminated ELF string");
    return data.substr(offset, end - offset);
}

}  // namespace

std::vector<ElfDependency> elf_dependencies(const std::filesystem::path& file,
                                            const std::string& name_prefix) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + file.string());
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    const auto eh = read_at<Elf64_Ehdr>(data, 0);
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB)
        throw std::runtime_error(file.string() + " is not a 64-bit little-endian ELF object");

    std::vector<Elf64_Phdr> loads;
    std::optional<Elf64_Phdr> dynamic;
    for (std::uint16_t i = 0; i < eh.e_phnum; ++i) {
        const auto ph = read_at<Elf64_Phdr>(data, eh.e_phoff + std::uint64_t{i} * eh.e_phentsize);
        if (ph.p_type == PT_LOAD) loads.push_back(ph);
        if (ph.p_type == PT_DYNAMIC) dynamic = ph;
    }
    if (!dynamic) return {};
    // Dynamic entries hold virtual addresses; map them back to file offsets via the segments.
    auto to_offset = [&](std::uint64_t vaddr) -> std::uint64_t {
        for (const auto& l : loads)
            if (vaddr >= l.p_vaddr && vaddr < l.p_vaddr + l.p_filesz) return vaddr - l.p_vaddr + l.p_offset;
        throw std::runtime_error("ELF address outside every loaded segment");
    };
    std::uint64_t strtab = 0;
    std::vector<std::uint64_t> needed, paths;
    for (std::uint64_t off = dynamic->p_offset; off + sizeof(Elf64_Dyn) <= dynamic->p_offset + dynamic->p_filesz;
         off += sizeof(Elf64_Dyn)) {
        const auto d = read_at<Elf64_Dyn>(data, off);
        if (d.d_tag == DT_NULL) break;
        if (d.d_tag == DT_STRTAB) strtab = to_offset(d.d_un.d_ptr);
        if (d.d_tag == DT_NEEDED) needed.push_back(d.d_un.d_val);
        if (d.d_tag == DT_RUNPATH || d.d_tag == DT_RPATH) paths.push_back(d.d_un.d_val);
    }
    if (!strtab) return {};
    std::vector<std::filesystem::path> dirs;
    const std::string origin = std::filesystem::absolute(file).parent_path().string();
    for (auto p : paths) {
        std::stringstream list(read_string(data, strtab + p));
        std::string dir;
        while (std::getline(list, dir, ':')) {
            for (const char* token : {"$ORIGIN", "${ORIGIN}"})
                for (auto pos = dir.find(token); pos != std::string::npos; pos = dir.find(token))
                    dir.replace(pos, std::strlen(token), origin);
            if (!dir.empty()) dirs.emplace_back(dir);
        }
    }
    dirs.emplace_back(origin);
    std::vector<ElfDependency> out;
    for (auto n : needed) {
        ElfDependency dep{read_string(data, strtab + n), {}};
        if (!dep.name.starts_with(name_prefix)) continue;
        for (const auto& dir : dirs) {
            std::error_code ec;
            if (std::filesystem::is_regular_file(dir / dep.name, ec)) {
                dep.resolved = dir / dep.name;
                break;
            }
        }
        out.push_back(std::move(dep));
    }
    return out;
}

}  // namespace graft
