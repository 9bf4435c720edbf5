#include "ml/train/runtime.hpp"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <dlfcn.h>
#include <malloc.h>
#include <strings.h>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace graft::ml {

namespace {

// When the mapped BLAS cannot be identified, below this a 256x256 fp32 matmul is probably on the
// netlib reference BLAS (measured here: ~3 GFLOP/s against 50+ for OpenBLAS on one thread; a busy
// machine also measures low, hence the mapped file decides when it can).
constexpr double kSlowBlasGflops = 10.0;

// Runs before main() in any process that loads graft_ml, hence before its first torch op.
const bool kIsaCapped = [] {
    cap_onednn_isa();
    return true;
}();

double time_matmul_gflops() {
    torch::NoGradGuard no_grad;
    constexpr int64_t n = 256;
    auto a = torch::ones({n, n}, torch::kFloat32);
    auto b = torch::ones({n, n}, torch::kFloat32);
    auto c = torch::mm(a, b);  // warm-up: first call loads the BLAS and allocates
    const auto start = std::chrono::steady_clock::now();
    int iterations = 0;
    double seconds = 0;
    // At least 5 runs and 20 ms, at most 0.2 s even on the slowest BLAS.
    while (iterations < 5 || (seconds < 0.02 && iterations < 1000)) {
        c = torch::mm(a, b);
        ++iterations;
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (seconds > 0.2) break;
    }
    const double flops = 2.0 * static_cast<double>(n * n * n) * iterations;
    return flops / seconds / 1e9;
}

std::string read_self_maps() {
    std::ifstream in("/proc/self/maps");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

BlasLibrary blas_library_from_maps(const std::string& maps) {
    BlasLibrary found;
    std::istringstream lines(maps);
    std::string line;
    while (std::getline(lines, line)) {
        const auto slash = line.find('/');
        if (slash == std::string::npos) continue;
        const std::string path = line.substr(slash);
        const std::string name = path.substr(path.rfind('/') + 1);
        const bool optimized = name.rfind("libopenblas", 0) == 0 || name.rfind("libmkl", 0) == 0 ||
                               name.rfind("libblis", 0) == 0 || path.find("/openblas") != std::string::npos ||
                               path.find("/blis") != std::string::npos || path.find("/atlas/") != std::string::npos;
        if (optimized) return {BlasLibrary::Kind::optimized, path};
        if (name.rfind("libblas.so", 0) == 0 && found.kind == BlasLibrary::Kind::none)
            found = {BlasLibrary::Kind::reference, path};
    }
    return found;
}

Precision parse_precision(const std::string& text) {
    if (text == "fp32") return Precision::fp32;
    if (text == "bf16") return Precision::bf16;
    throw std::invalid_argument(fmt::format(
        "precision '{}' is not supported: expected \"fp32\" or \"bf16\"", text));
}

const char* to_string(Precision precision) {
    return precision == Precision::bf16 ? "bf16" : "fp32";
}

void cap_onednn_isa() {
    // overwrite = 0: an explicit user setting wins.
    setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16", 0);
    setenv("DNNL_MAX_CPU_ISA", "AVX512_CORE_BF16", 0);
}

int set_blas_threads(const std::string& blas_path, int n) {
    if (blas_path.empty()) return 0;
    // RTLD_NOLOAD: a handle to the copy already mapped, never a second one.
    void* lib = dlopen(blas_path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
    if (!lib) return 0;
    using SetFn = void (*)(int);
    using GetFn = int (*)();
    const auto set = reinterpret_cast<SetFn>(dlsym(lib, "openblas_set_num_threads"));
    const auto get = reinterpret_cast<GetFn>(dlsym(lib, "openblas_get_num_threads"));
    int in_effect = 0;
    if (set && get) {
        set(std::max(1, n));
        in_effect = get();
    }
    dlclose(lib);  // drops only the reference taken above
    return in_effect;
}

bool omp_waits_passively() {
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    return policy != nullptr && strcasecmp(policy, "passive") == 0;
}

bool tune_allocator() {
#if defined(__GLIBC__)
    if (const char* v = std::getenv("GRAFT_MALLOC_TUNING"); v && std::string(v) == "0") return false;
    if (const char* t = std::getenv("GLIBC_TUNABLES"); t && std::string(t).find("malloc") != std::string::npos) {
        return false;  // the user tuned malloc already
    }
    // Large blocks from the heap, never mmap; freed memory stays in the heap rather than being
    // trimmed back to the kernel. Together these make a step's big tensors reuse the previous
    // step's pages.
    static const bool tuned = mallopt(M_MMAP_MAX, 0) == 1 &&
                              mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max()) == 1;
    return tuned;
#else
    return false;
#endif
}

void release_free_memory() {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

RuntimeInfo init_runtime(int threads, Precision precision) {
    (void)kIsaCapped;
    cap_onednn_isa();
    if (threads > 0) {
        at::set_num_threads(threads);
        // LibTorch accepts one inter-op change per process, and only before inter-op work
        // started; later calls keep whatever is in effect.
        static std::once_flag interop_once;
        std::call_once(interop_once, [threads] {
            try {
                at::set_num_interop_threads(threads);
            } catch (const std::exception&) {
            }
        });
    }
    RuntimeInfo info;
    info.malloc_tuned = tune_allocator();
    info.threads = at::get_num_threads();
    info.matmul_gflops = time_matmul_gflops();  // after its warm-up the BLAS is mapped
    const BlasLibrary blas = blas_library_from_maps(read_self_maps());
    info.blas_library = blas.path;
    if (!std::getenv("OPENBLAS_NUM_THREADS")) {
        int n = omp_waits_passively() ? info.threads : 1;
        if (const char* v = std::getenv("GRAFT_BLAS_THREADS")) n = std::max(1, std::atoi(v));
        info.blas_threads = set_blas_threads(blas.path, n);
    }
    const bool slow = blas.kind == BlasLibrary::Kind::reference ||
                      (blas.kind == BlasLibrary::Kind::none && info.matmul_gflops < kSlowBlasGflops);
    if (slow) {
        info.warning = fmt::format(
            "LibTorch is using the reference BLAS ({}; fp32 matmul {:.1f} GFLOP/s), which makes "
            "training ~16x slower; install OpenBLAS (apt-get install libopenblas0-pthread) or "
            "select it with update-alternatives --config libblas.so.3-x86_64-linux-gnu",
            blas.path.empty() ? "no optimized BLAS library is loaded" : blas.path, info.matmul_gflops);
    }
    if (precision == Precision::bf16) {
        // bf16 through oneDNN needs the ISA cap above to be in place before oneDNN initialised;
        // a tiny bf16 matmul here surfaces any problem at start-up rather than mid-training.
        torch::NoGradGuard no_grad;
        auto x = torch::ones({8, 8}, torch::kBFloat16);
        (void)torch::mm(x, x);
    }
    return info;
}

AutocastScope::AutocastScope(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    previous_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = static_cast<int>(at::autocast::get_autocast_cpu_dtype());
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
    if (!enabled_) return;
    // The cache holds bf16 copies of the weights; they are stale after the optimizer step.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(previous_enabled_);
    at::autocast::set_autocast_cpu_dtype(static_cast<at::ScalarType>(previous_dtype_));
}

}  // namespace graft::ml
