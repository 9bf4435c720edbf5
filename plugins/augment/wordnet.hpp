// A read-only WordNet database (Princeton WordNet 3.0 as Debian's wordnet-base installs it under
// /usr/share/wordnet), read from its index.<pos> and data.<pos> files as wndb(5WN) describes them.
// Only what synonym lookup needs is kept: for every lemma, its synsets per part of speech (in
// sense order, most frequent first) and, for every synset, its words. Loading checks the files'
// structure and names the file and line of anything malformed. After loading the object is
// immutable, so any number of threads may query it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace graft::augment {

enum class Pos : std::uint8_t { noun = 0, verb = 1, adj = 2, adv = 3 };
inline constexpr std::size_t kPosCount = 4;

// "noun", "verb", "adj", "adv" (the file suffixes).
const char* pos_name(Pos pos);

class WordNet {
public:
    // Reads every part of speech whose index.<pos> and data.<pos> are both in `dir`; at least
    // one pair must be. Throws std::runtime_error naming the file (and line) of a problem.
    static WordNet load(const std::filesystem::path& dir);

    // Senses of `lemma` (lower case, '_' or ' ' between the words of a collocation) in `pos`.
    std::size_t sense_count(std::string_view lemma, Pos pos) const;
    // The part of speech in which `lemma` has the most senses (ties: more sense-tagged senses,
    // then noun, verb, adjective, adverb), or nullopt when WordNet does not know the lemma.
    std::optional<Pos> main_pos(std::string_view lemma) const;
    // The other words of the synsets `lemma` belongs to in `pos`, taken sense by sense (the
    // first `max_senses` senses; 0 = all), in the database's order, without repeats and
    // without the lemma itself (compared case-insensitively). Collocations come back with
    // spaces ("domestic dog"), adjective markers such as "(a)" are dropped, the database's case
    // is kept ("Canis familiaris").
    std::vector<std::string> synonyms(std::string_view lemma, Pos pos,
                                      std::size_t max_senses = 0) const;

    std::size_t lemma_count() const { return index_.size(); }
    std::size_t synset_count() const;
    // The parts of speech that were loaded.
    const std::vector<Pos>& parts_of_speech() const { return loaded_; }

private:
    struct Senses {
        std::vector<std::uint32_t> offsets;  // synset offsets in data.<pos>, sense order
        std::uint32_t tagged = 0;            // tagsense_cnt
    };
    using Entry = std::array<Senses, kPosCount>;
    const Entry* find(std::string_view lemma) const;

    std::unordered_map<std::string, Entry> index_;  // lemma with '_' between words
    std::array<std::unordered_map<std::uint32_t, std::vector<std::string>>, kPosCount> synsets_;
    std::vector<Pos> loaded_;
};

}  // namespace graft::augment
