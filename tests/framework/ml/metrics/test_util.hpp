// Helpers for the metrics / classic-model tests: a self-removing temp dir and deterministic
// synthetic data (raw mt19937_64 bits only, so the data is the same with every standard library).
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace graft::testing {

class TempDir {
public:
    explicit TempDir(const std::string& tag) {
        static std::atomic<int> counter{0};
        auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
        path_ = std::filesystem::temp_directory_path() /
                ("graft-test-" + tag + "-" + std::to_string(::getpid()) + "-" +
                 std::to_string(++counter) + "-" + std::to_string(ticks));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;  // never throw from a destructor; a leftover temp dir is harmless
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

private:
    std::filesystem::path path_;
};

class Rng {
public:
    explicit Rng(std::uint64_t seed) : g_(seed) {}
    double uniform() { return static_cast<double>(g_() >> 11) * 0x1.0p-53; }  // [0, 1)
    double normal() {                                                         // Box-Muller
        double u = 1.0 - uniform(), v = uniform();
        return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(g_() % n); }

private:
    std::mt19937_64 g_;
};

struct Dataset {
    std::vector<float> x;  // rows x d, row-major
    std::vector<int> y;
    std::size_t d = 0;
    std::size_t rows() const { return y.size(); }
};

// counts[k] examples of class k around centre k * spread along a class-specific direction, with
// Gaussian noise of standard deviation `noise`; rows are interleaved deterministically.
inline Dataset gaussian_blobs(const std::vector<std::size_t>& counts, std::size_t d, double spread,
                              double noise, std::uint64_t seed) {
    Rng rng(seed);
    Dataset ds;
    ds.d = d;
    std::vector<std::vector<double>> centres(counts.size(), std::vector<double>(d));
    for (auto& c : centres) {
        for (auto& v : c) v = spread * rng.normal();
    }
    std::vector<int> order;
    for (std::size_t k = 0; k < counts.size(); ++k)
        order.insert(order.end(), counts[k], static_cast<int>(k));
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (int k : order) {
        for (std::size_t j = 0; j < d; ++j) {
            ds.x.push_back(
                static_cast<float>(centres[static_cast<std::size_t>(k)][j] + noise * rng.normal()));
        }
        ds.y.push_back(k);
    }
    return ds;
}

// Linearly separable with a wide margin: class k has feature k >= 4.5 and every other of the first
// k_classes features <= 0.5 (uniform noise of +-0.5 around 5 e_k); extra features are noise.
inline Dataset separable(std::size_t per_class, std::size_t k_classes, std::size_t d,
                         std::uint64_t seed) {
    Rng rng(seed);
    Dataset ds;
    ds.d = d;
    for (std::size_t i = 0; i < per_class * k_classes; ++i) {
        std::size_t k = i % k_classes;
        for (std::size_t j = 0; j < d; ++j) {
            double centre = j == k ? 5.0 : 0.0;
            ds.x.push_back(static_cast<float>(centre + rng.uniform() - 0.5));
        }
        ds.y.push_back(static_cast<int>(k));
    }
    return ds;
}

inline double accuracy(const std::vector<int>& pred, const std::vector<int>& truth) {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) hits += pred[i] == truth[i] ? 1 : 0;
    return static_cast<double>(hits) / static_cast<double>(truth.size());
}

}  // namespace graft::testing
