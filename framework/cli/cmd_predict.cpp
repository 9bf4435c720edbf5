// graft predict: execs graft-predict from the graft binary's directory (like git subcommands),
// so that the host never links LibTorch; arguments pass through unchanged.
#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace graft::cli {

int cmd_predict(const std::vector<std::string>& args);

int cmd_predict(const std::vector<std::string>& args) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const auto exe = (ec ? std::filesystem::path(".") : self.parent_path()) / "graft-predict";
    if (!std::filesystem::exists(exe)) {
        fmt::print(stderr,
                   "graft predict: {} not found; it is built with LibTorch (cmake --build build "
                   "--target graft-predict) and must sit next to the graft binary\n",
                   exe.string());
        return 2;
    }
    std::vector<std::string> owned{exe.string()};
    owned.insert(owned.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : owned) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    fmt::print(stderr, "graft predict: cannot run {}: {}\n", exe.string(), std::strerror(errno));
    return 2;
}

}  // namespace graft::cli
