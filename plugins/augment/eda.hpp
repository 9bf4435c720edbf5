// Easy Data Augmentation (EDA; Wei & Zou, 2019) on one text: synonym replacement, random
// insertion of a synonym, random swap and random deletion, each seeded, so the same (seed, row,
// copy) always gives the same text. Texts are split at whitespace; a word's leading and trailing
// punctuation stays in place when the word is replaced ("movie," -> "film,"), and a replacement
// takes the original's case (Title, UPPER). Only words made of ASCII letters, '-' and '\'' that
// are not stopwords are looked up; see eda.cpp for the part-of-speech rule.
#pragma once

#include "wordnet.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace graft::augment {

enum class Op : std::uint8_t { synonym = 0, insert = 1, swap = 2, del = 3 };
inline constexpr std::size_t kOpCount = 4;
const char* op_name(Op op);  // "synonym", "insert", "swap", "delete"

// SplitMix64: a small, fully specified generator, so results do not depend on the standard
// library's distributions.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next();
    // Unbiased integer in [0, bound); 0 when bound <= 1.
    std::uint64_t below(std::uint64_t bound);
    // Uniform in [0, 1).
    double unit();

private:
    std::uint64_t state_;
};

// A generator for copy `copy` of row `row`, independent of every other (row, copy) pair.
Rng row_rng(std::uint64_t seed, std::uint64_t row, std::uint64_t copy);

struct EdaOptions {
    // EDA's alpha per operation: the share of the words changed (at least one when > 0);
    // delete_prob is each word's deletion probability. 0 disables the operation.
    double synonym_rate = 0.1;
    double insert_rate = 0.1;
    double swap_rate = 0.1;
    double delete_prob = 0.1;
    std::size_t max_senses = 0;       // senses searched for synonyms; 0 = all
    std::set<std::string> stopwords;  // lower case; never replaced, never a source for insertion
};

// The built-in English stopword list (function words: articles, pronouns, prepositions,
// conjunctions, auxiliaries, negations).
const std::set<std::string>& default_stopwords();

// Synonym lookup with the options' stopwords and sense limit. `wordnet` may be null when neither
// synonym replacement nor insertion is used.
class Thesaurus {
public:
    Thesaurus(const WordNet* wordnet, const EdaOptions& opt) : wn_(wordnet), opt_(opt) {}
    // Synonyms of one word (the bare word, no punctuation), from the part of speech in which
    // WordNet lists the most senses for it; empty for stopwords, non-words and unknown words.
    std::vector<std::string> synonyms(std::string_view word) const;
    // True when `word` is one the thesaurus looks up (letters, '-', '\'', not a stopword).
    bool lookable(std::string_view word) const;
    bool uses_wordnet() const { return wn_ != nullptr; }

private:
    const WordNet* wn_;
    const EdaOptions& opt_;
};

struct EdaResult {
    std::string text;
    std::size_t edits = 0;  // words replaced / inserted / deleted, or swaps made
};

// `word` without its leading and trailing ASCII punctuation ("(movie)," -> "movie").
std::string_view bare_word(std::string_view word);

// Whitespace-separated words of `text`.
std::vector<std::string> split_words(std::string_view text);

// Applies `op` once to `text` (all its edits, e.g. alpha * n replacements).
EdaResult apply_op(Op op, std::string_view text, const Thesaurus& thesaurus,
                   const EdaOptions& opt, Rng& rng);

// The word with the case of `original`: UPPER (two or more letters, all upper case), Title
// (first letter upper case) or as the thesaurus has it.
std::string match_case(std::string_view original, std::string_view replacement);

}  // namespace graft::augment
