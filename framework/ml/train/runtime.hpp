// Process-wide LibTorch set-up shared by every ML stage: thread counts, the oneDNN ISA cap that
// keeps bf16 matmuls off the AMX path (which dies with SIGILL on this kind of CPU), a quick matmul
// benchmark that tells when torch fell back to the slow reference BLAS, and a scoped CPU autocast
// for the bf16 precision mode.
#pragma once

#include <string>

namespace graft::ml {

// What a stage may ask for; parse_precision() turns the pipeline string into it.
enum class Precision { fp32, bf16 };

// "fp32" | "bf16"; anything else throws std::invalid_argument naming the value and the choices.
Precision parse_precision(const std::string& text);
const char* to_string(Precision precision);

struct RuntimeInfo {
    int threads = 1;            // intra-op threads now in effect
    int blas_threads = 0;       // OpenBLAS's own pool size now in effect (0: not an OpenBLAS)
    bool malloc_tuned = false;  // tune_allocator() is in effect
    double matmul_gflops = 0;   // fp32 256x256 matmul throughput measured at start-up
    std::string blas_library;   // the BLAS file mapped into this process ("" if none found)
    std::string warning;        // empty, or a message for the host to print (slow BLAS, ...)
};

// Which BLAS a process uses, from the text of /proc/self/maps: the mapped file whose name starts
// with libblas, libopenblas, libmkl or libblis. Reference BLAS is netlib's (Debian puts it under
// .../blas/); a timing cannot tell it apart from a busy machine, the mapped file can.
struct BlasLibrary {
    enum class Kind { none, reference, optimized };
    Kind kind = Kind::none;
    std::string path;
};
BlasLibrary blas_library_from_maps(const std::string& maps);

// OpenBLAS keeps a thread pool of its own, sized to the machine, that at::set_num_threads does
// not touch: next to LibTorch's intra-op threads it oversubscribes the cores (and its idle
// threads spin). Sets that pool to `n` threads through the mapped library's
// openblas_set_num_threads (found by path, since plugins load LibTorch privately) and returns the
// size in effect, or 0 when the BLAS is not OpenBLAS.
int set_blas_threads(const std::string& blas_path, int n);

// True when $OMP_WAIT_POLICY is "passive" (any case): LibTorch's OpenMP workers then sleep between
// parallel regions, and OpenBLAS's pool can have the cores while they do. libgomp reads it only
// when it loads, so it must be exported before graft starts. graft leaves libgomp's default (spin
// ~300k iterations, then sleep): measured on 2 vCPUs, passive waiting made fp32 fine-tuning 1.2x
// faster (with OpenBLAS at 2 threads) but bf16 pretraining 1.2x slower (README, "Runtime").
bool omp_waits_passively();

// glibc only: large blocks come from the heap, never from a fresh mmap, and freed memory is not
// trimmed back to the kernel, so each training step reuses the pages of the last one instead of
// faulting in zeroed pages for every big activation (a [32, 4, 256, 256] fp32 attention tensor is
// 32 MiB, above glibc's largest mmap threshold; perf put 13 % of a fine-tuning step in those
// page faults). Skipped when $GRAFT_MALLOC_TUNING=0 or $GLIBC_TUNABLES
// already names a malloc tunable. Process-wide and permanent; returns whether it is in effect.
bool tune_allocator();

// Hands the heap's free memory back to the kernel (malloc_trim): for the end of a training run,
// since tune_allocator() keeps freed memory otherwise.
void release_free_memory();

// Sets the oneDNN ISA cap (unless the user set ONEDNN_MAX_CPU_ISA already), the intra-op thread
// count (threads <= 0: keep LibTorch's default) and, the first time only, the inter-op thread
// count (LibTorch refuses a second change), then times a 256x256 fp32 matmul. When the BLAS mapped
// into the process is the reference one (or cannot be identified and the matmul runs under ~10
// GFLOP/s), RuntimeInfo::warning says how to install OpenBLAS. OpenBLAS's own pool, which
// LibTorch never sizes, gets the intra-op thread count when OpenMP waits passively and one thread
// otherwise (spinning OpenMP workers and OpenBLAS threads oversubscribe the cores), or
// $GRAFT_BLAS_THREADS when set; an explicit $OPENBLAS_NUM_THREADS is left alone. Also calls
// tune_allocator().
// Safe to call more than once; call it before building models so the ISA cap is in place.
RuntimeInfo init_runtime(int threads, Precision precision = Precision::fp32);

// Caps oneDNN's ISA through the environment (ONEDNN_MAX_CPU_ISA and DNNL_MAX_CPU_ISA set to
// AVX512_CORE_BF16 unless already set). graft_ml also does this from a static initializer when it
// is loaded, so that it precedes the first torch call of the process.
void cap_onednn_isa();

// RAII CPU autocast to bf16 for the forward pass (fp32 master weights stay untouched; matmuls and
// linear layers run in bf16, reductions and losses in fp32 as LibTorch's autocast lists decide).
// Disabled (a no-op) when `enabled` is false. Nests; the weight-cast cache is cleared when the
// outermost scope ends, as torch.autocast does.
class AutocastScope {
public:
    explicit AutocastScope(bool enabled);
    ~AutocastScope();
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    bool enabled_;
    bool previous_enabled_ = false;
    int previous_dtype_ = 0;  // at::ScalarType, stored as int to keep ATen out of this header
};

}  // namespace graft::ml
