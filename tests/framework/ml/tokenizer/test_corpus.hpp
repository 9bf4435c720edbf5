// Small deterministic corpora and data paths for the tokenizer tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace graft::testing {

// Sentences over a fixed word list with shared stems and suffixes, so that merges have something
// to learn; mt19937 with modulo keeps the corpus identical everywhere.
inline std::vector<std::string> synthetic_corpus(std::size_t sentences, std::uint32_t seed = 7) {
    static const char* const kWords[] = {"the",        "a",         "film",        "films",
                                         "movie",      "movies",    "play",        "played",
                                         "playing",    "player",    "players",     "replay",
                                         "act",        "acted",     "acting",      "actor",
                                         "actors",     "good",      "great",       "greatest",
                                         "bad",        "worse",     "worst",       "story",
                                         "stories",    "watch",     "watched",     "watching",
                                         "love",       "loved",     "loving",      "hate",
                                         "hated",      "I",         "it",          "was",
                                         "is",         "and",       "but",         "not",
                                         "very",       "really",    "Café",        "naïve",
                                         "don't",      "it's",      "they're",     "42",
                                         "2024",       "wonderful", "wonderfully", "unbelievable",
                                         "believable", "direction", "directed"};
    static const char* const kPunct[] = {".", "!", "?", ",", "...", ";"};
    std::mt19937 rng(seed);
    std::vector<std::string> out;
    out.reserve(sentences);
    const std::size_t nw = sizeof(kWords) / sizeof(kWords[0]);
    for (std::size_t s = 0; s < sentences; ++s) {
        std::string text;
        const std::size_t len = 4 + rng() % 12;
        for (std::size_t i = 0; i < len; ++i) {
            if (i) text += ' ';
            text += kWords[rng() % nw];
            if (rng() % 9 == 0) text += kPunct[rng() % 6];
        }
        text += kPunct[rng() % 3];
        out.push_back(std::move(text));
    }
    return out;
}

inline std::filesystem::path data_dir() {
    return std::filesystem::path(GRAFT_SOURCE_DIR) / "data";
}

}  // namespace graft::testing
