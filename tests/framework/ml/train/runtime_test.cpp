// Which BLAS is in use is read from the mapped files, not guessed from a timing that a busy
// machine drags down.
#include "ml/train/runtime.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <thread>

using graft::ml::BlasLibrary;
using graft::ml::blas_library_from_maps;

namespace {
const char* kHead = "7f00-7f01 r-xp 00000000 fe:01 123 /usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13\n";
}

TEST_CASE("Debian's OpenBLAS through the alternatives counts as optimized", "[train][runtime]") {
    const std::string maps = std::string(kHead) +
        "7f10-7f11 r-xp 00000000 fe:01 77 /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3\n";
    const auto blas = blas_library_from_maps(maps);
    CHECK(blas.kind == BlasLibrary::Kind::optimized);
    CHECK(blas.path == "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3");
}

TEST_CASE("netlib's reference libblas is recognised", "[train][runtime]") {
    const std::string maps = std::string(kHead) +
        "7f10-7f11 r-xp 00000000 fe:01 78 /usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0\n";
    const auto blas = blas_library_from_maps(maps);
    CHECK(blas.kind == BlasLibrary::Kind::reference);
    CHECK(blas.path == "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0");
}

TEST_CASE("an optimized BLAS wins over a reference one mapped beside it", "[train][runtime]") {
    const std::string maps = std::string(kHead) +
        "7f10-7f11 r-xp 00000000 fe:01 78 /usr/lib/x86_64-linux-gnu/blas/libblas.so.3\n"
        "7f20-7f21 r-xp 00000000 fe:01 79 /opt/lib/libopenblas.so.0\n";
    CHECK(blas_library_from_maps(maps).kind == BlasLibrary::Kind::optimized);
}

TEST_CASE("no BLAS mapped, or anonymous mappings only", "[train][runtime]") {
    CHECK(blas_library_from_maps(kHead).kind == BlasLibrary::Kind::none);
    CHECK(blas_library_from_maps("7f00-7f01 rw-p 00000000 00:00 0 \n[heap]\n").kind == BlasLibrary::Kind::none);
}

TEST_CASE("this process runs on an identified BLAS and reports it", "[train][runtime]") {
    const auto info = graft::ml::init_runtime(1);
    CHECK_FALSE(info.blas_library.empty());  // set-up installs OpenBLAS
    CHECK(info.warning.empty());
}

TEST_CASE("OpenBLAS's own thread pool follows graft, not the machine", "[train][runtime]") {
    const auto info = graft::ml::init_runtime(1);
    if (info.blas_library.find("openblas") == std::string::npos) {
        WARN("the BLAS is not OpenBLAS: " << info.blas_library);
        return;
    }
    if (std::getenv("OPENBLAS_NUM_THREADS") || std::getenv("GRAFT_BLAS_THREADS")) {
        WARN("an explicit BLAS thread count is set");
        return;
    }
    CHECK(info.blas_threads == 1);
    if (std::thread::hardware_concurrency() >= 2) CHECK(graft::ml::set_blas_threads(info.blas_library, 2) == 2);
    CHECK(graft::ml::set_blas_threads(info.blas_library, 1) == 1);
    CHECK(graft::ml::set_blas_threads("", 2) == 0);
    CHECK(graft::ml::set_blas_threads("/nonexistent/libopenblas.so.0", 2) == 0);
}

TEST_CASE("with passive OpenMP workers OpenBLAS gets the intra-op threads", "[train][runtime]") {
    if (std::getenv("OPENBLAS_NUM_THREADS") || std::getenv("GRAFT_BLAS_THREADS") ||
        std::thread::hardware_concurrency() < 2) {
        WARN("an explicit BLAS thread count is set, or one core only");
        return;
    }
    const char* before = std::getenv("OMP_WAIT_POLICY");
    const std::string saved = before ? before : "";
    setenv("OMP_WAIT_POLICY", "passive", 1);
    CHECK(graft::ml::omp_waits_passively());
    const auto passive = graft::ml::init_runtime(2);
    setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
    CHECK_FALSE(graft::ml::omp_waits_passively());
    const auto active = graft::ml::init_runtime(2);
    if (before) {
        setenv("OMP_WAIT_POLICY", saved.c_str(), 1);
    } else {
        unsetenv("OMP_WAIT_POLICY");
    }
    graft::ml::init_runtime(1);
    if (passive.blas_library.find("openblas") == std::string::npos) {
        WARN("the BLAS is not OpenBLAS: " << passive.blas_library);
        return;
    }
    CHECK(passive.blas_threads == 2);
    CHECK(active.blas_threads == 1);
}

#if defined(__GLIBC__)
#include <malloc.h>

TEST_CASE("big blocks come from the heap once the allocator is tuned", "[train][runtime]") {
    if (const char* v = std::getenv("GRAFT_MALLOC_TUNING"); v && std::string(v) == "0") return;
    if (const char* t = std::getenv("GLIBC_TUNABLES"); t && std::string(t).find("malloc") != std::string::npos) {
        return;  // the user's own malloc tuning is left alone
    }
    REQUIRE(graft::ml::tune_allocator());
    REQUIRE(graft::ml::init_runtime(1).malloc_tuned);
    const auto mapped_before = mallinfo2().hblkhd;
    // 64 MiB: above glibc's largest mmap threshold, so untuned it would be a fresh mapping.
    constexpr size_t size = size_t{64} << 20;
    void* block = std::malloc(size);
    REQUIRE(block != nullptr);
    static_cast<char*>(block)[size - 1] = 1;
    CHECK(mallinfo2().hblkhd == mapped_before);  // not an mmap'd block
    std::free(block);
    graft::ml::release_free_memory();
}
#endif
