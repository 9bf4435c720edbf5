// graft gc: remove cache objects that no lock file or kept run record references.
#include "cli_common.hpp"

#include "core/cache/gc.hpp"
#include "core/cache/lockfile.hpp"
#include "core/exec/run_record.hpp"
#include "core/exec/runner.hpp"

#include <fmt/format.h>

#include <cctype>

namespace graft::cli {

namespace {

std::uint64_t parse_size(const std::string& s) {
    std::size_t pos = 0;
    double v = 0;
    try {
        v = std::stod(s, &pos);
    } catch (const std::exception&) {
        throw UsageError(fmt::format("--max-size '{}': expected a size like 500M or 2G", s));
    }
    std::string unit = s.substr(pos);
    for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (unit.ends_with("IB")) unit.erase(unit.size() - 2);
    else if (unit.ends_with("B")) unit.pop_back();
    double mult = 1;
    if (unit == "K") mult = 1024.0;
    else if (unit == "M") mult = 1024.0 * 1024;
    else if (unit == "G") mult = 1024.0 * 1024 * 1024;
    else if (unit == "T") mult = 1024.0 * 1024 * 1024 * 1024;
    else if (!unit.empty())
        throw UsageError(fmt::format("--max-size '{}': unknown unit '{}' (use K, M, G or T)", s, unit));
    return static_cast<std::uint64_t>(v * mult);
}

void keep_lock(Disk& disk, const fs::path& p, GcOptions& o) {
    std::optional<LockFile> lock;
    try {
        lock = read_lockfile(disk, p);
    } catch (const std::exception&) {
        return;
    }
    if (!lock) return;
    for (const auto& [_, e] : lock->stages) {
        o.keep_actions.insert(e.key);
        for (const auto& [__, d] : e.outputs) o.keep_objects.insert(d);
    }
}

}  // namespace

int cmd_gc(const std::vector<std::string>& args) {
    GlobalOptions g;
    std::string file, max_size;
    int keep_last = 5;
    po::options_description d("graft gc options");
    d.add_options()("help,h", "show this help")("file", po::value(&file), "pipeline file (locates the workspace)")
        ("keep-last", po::value(&keep_last)->default_value(5), "also keep what the last N runs produced")
        ("max-size", po::value(&max_size)->value_name("SIZE"),
         "keep unreferenced objects, newest first, while the cache fits in SIZE (e.g. 2G)")
        ("dry-run,n", "report what would be removed");
    d.add(global_options(g));
    po::positional_options_description pos;
    pos.add("file", 1);
    po::variables_map vm;
    if (!parse_args(args, d, pos, vm, "graft gc [FILE] [--keep-last N] [--max-size SIZE] [--dry-run]"))
        return kOk;
    const WorkspacePaths ws = workspace_from(g, file);
    RealDisk disk;
    if (!disk.stat(ws.root).is_dir) throw UsageError(fmt::format("no workspace at {}", ws.root.string()));
    WorkspaceLock lock(ws.lock(), WorkspaceLock::Mode::Fail, "graft gc");
    GcOptions opts;
    opts.dry_run = vm.count("dry-run") > 0;
    if (!max_size.empty()) opts.max_bytes = parse_size(max_size);
    // Roots: the lock of every pipeline that ran in this workspace, and the last N runs.
    RunStore runs(disk, ws);
    auto ids = runs.list();
    std::set<std::string> locks;
    if (!file.empty()) locks.insert(lock_path_for(fs::absolute(file)).string());
    for (std::size_t k = 0; k < ids.size(); ++k) {
        auto r = runs.load(ids[k]);
        if (!r) continue;
        if (!r->lock_file.empty()) locks.insert(r->lock_file);
        if (k + static_cast<std::size_t>(std::max(0, keep_last)) < ids.size()) continue;
        for (const auto& s : r->stages) {
            if (s.key) opts.keep_actions.insert(*s.key);
            for (const auto& [_, dg] : s.outputs) opts.keep_objects.insert(dg);
        }
    }
    for (const auto& l : locks) keep_lock(disk, l, opts);
    ObjectStore objects(disk, ws);
    ActionCache actions(disk, ws);
    objects.clean_stale_temps();
    GcReport rep = collect_garbage(disk, objects, actions, opts);
    fmt::print("{}{} objects removed ({:.1f} MiB), {} kept ({:.1f} MiB); {} run-cache entries removed\n",
               opts.dry_run ? "[dry run] " : "", rep.objects_removed,
               static_cast<double>(rep.bytes_freed) / (1 << 20), rep.objects_kept,
               static_cast<double>(rep.bytes_kept) / (1 << 20), rep.actions_removed);
    return kOk;
}

}  // namespace graft::cli
