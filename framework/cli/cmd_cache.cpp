// graft cache import SRC: copy another workspace's complete run-cache entries and their objects
// into this one (hard links where possible), so runs made side by side restore here.
#include "cli_common.hpp"

#include "core/cache/import.hpp"

#include <fmt/format.h>

namespace graft::cli {

int cmd_cache(const std::vector<std::string>& args) {
    GlobalOptions g;
    std::string action, source, file;
    po::options_description d("graft cache options");
    d.add_options()("help,h", "show this help")
        ("action", po::value(&action), "import")
        ("source", po::value(&source), "workspace to import from (its objects/ and actions/)")
        ("file", po::value(&file), "pipeline file (locates the destination workspace)")
        ("wait", "wait for the destination workspace's lock instead of failing");
    d.add(global_options(g));
    po::positional_options_description pos;
    pos.add("action", 1).add("source", 1).add("file", 1);
    po::variables_map vm;
    const std::string usage = "graft cache import SRC_WORKSPACE [FILE] [-w DEST_WORKSPACE] [--wait]";
    if (!parse_args(args, d, pos, vm, usage)) return kOk;
    if (action != "import")
        throw UsageError(action.empty() ? "missing action: " + usage
                                        : fmt::format("unknown action '{}': {}", action, usage));
    if (source.empty()) throw UsageError("missing the workspace to import from: " + usage);
    RealDisk disk;
    const WorkspacePaths from{fs::absolute(source)};
    if (!disk.stat(from.actions()).is_dir || !disk.stat(from.objects()).is_dir)
        throw UsageError(fmt::format("{} is not a graft workspace (no objects/ and actions/ in it)",
                                     from.root.string()));
    const WorkspacePaths to = workspace_from(g, file);
    if (fs::weakly_canonical(from.root) == fs::weakly_canonical(to.root))
        throw UsageError(fmt::format("{} is the destination workspace itself", from.root.string()));
    disk.make_dirs(to.root);
    WorkspaceLock lock(to.lock(), vm.count("wait") ? WorkspaceLock::Mode::Wait : WorkspaceLock::Mode::Fail,
                       "graft cache import");
    const ImportReport r = import_cache(disk, from, to);
    fmt::print("{} run-cache entries imported ({} objects, {:.1f} MiB) into {}; {} already there, "
               "{} incomplete in the source\n",
               r.actions_imported, r.objects_imported, static_cast<double>(r.bytes_imported) / (1 << 20),
               to.root.string(), r.actions_present, r.actions_incomplete);
    for (const auto& c : r.corrupt) fmt::print(stderr, "graft cache: refused {}\n", c);
    if (!r.corrupt.empty()) {
        fmt::print(stderr, "graft cache: {} corrupt object(s) in {} were not imported; `graft gc` "
                           "there, or re-run the stages that made them\n",
                   r.corrupt.size(), from.root.string());
        return kStageFailed;
    }
    return kOk;
}

}  // namespace graft::cli
