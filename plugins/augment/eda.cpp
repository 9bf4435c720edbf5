// EDA operations. Part of speech: without a tagger the word's part of speech in the sentence is
// unknown, so synonyms come from the one in which WordNet lists the most senses for the word
// (WordNet::main_pos): "run" -> verb (41 senses against 16 as a noun), "good" -> adjective (21
// against 4). Only words that are WordNet lemmas as written (lower-cased) are looked up;
// inflected forms ("dogs", "films") are not reduced to their base form, which would put an
// uninflected synonym in their place.
#include "eda.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

namespace graft::augment {
namespace {

bool is_ascii_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_ascii_punct(char c) { return c > 0x20 && c < 0x7f && !is_ascii_alnum(c); }

// A word as leading punctuation, the bare word, trailing punctuation.
struct Parts {
    std::string_view lead, core, trail;
};

Parts parts_of(std::string_view w) {
    std::size_t b = 0, e = w.size();
    while (b < e && is_ascii_punct(w[b])) ++b;
    while (e > b && is_ascii_punct(w[e - 1])) --e;
    return {w.substr(0, b), w.substr(b, e - b), w.substr(e)};
}

std::string join_words(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) out += ' ';
        out += w;
    }
    return out;
}

// Number of edits for a rate: EDA's max(1, floor(alpha * n)).
std::size_t edits_for(double rate, std::size_t n) {
    const auto k = static_cast<std::size_t>(std::floor(rate * static_cast<double>(n)));
    return std::max<std::size_t>(1, k);
}

template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// Positions of the words that have synonyms, with their synonyms (looked up once per word).
struct Candidates {
    std::vector<std::size_t> positions;
    std::vector<const std::vector<std::string>*> synonyms;  // parallel to positions
    std::map<std::string, std::vector<std::string>> cache;
};

void find_candidates(const std::vector<std::string>& words, const Thesaurus& th, Candidates& c) {
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string core(parts_of(words[i]).core);
        if (!th.lookable(core)) continue;
        std::string key = core;
        for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        auto it = c.cache.find(key);
        if (it == c.cache.end()) it = c.cache.emplace(key, th.synonyms(core)).first;
        if (it->second.empty()) continue;
        c.positions.push_back(i);
        c.synonyms.push_back(&it->second);
    }
}

}  // namespace

const char* op_name(Op op) {
    static constexpr const char* names[] = {"synonym", "insert", "swap", "delete"};
    return names[static_cast<std::size_t>(op)];
}

std::uint64_t Rng::next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

std::uint64_t Rng::below(std::uint64_t bound) {
    if (bound <= 1) return 0;
    // Reject the lowest 2^64 mod bound values so that every residue is equally likely.
    const std::uint64_t reject = (0 - bound) % bound;
    for (;;) {
        const std::uint64_t x = next();
        if (x >= reject) return x % bound;
    }
}

double Rng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

Rng row_rng(std::uint64_t seed, std::uint64_t row, std::uint64_t copy) {
    // Three rounds of the SplitMix64 finaliser over the inputs: unrelated streams per (row, copy).
    Rng mix(seed);
    std::uint64_t s = mix.next();
    Rng a(s ^ (row * 0xD6E8FEB86659FD93ULL));
    s = a.next();
    Rng b(s ^ (copy * 0xA0761D6478BD642FULL + 0x632BE59BD9B4E019ULL));
    return Rng(b.next());
}

const std::set<std::string>& default_stopwords() {
    static const std::set<std::string> words = {
        // articles, determiners, quantifiers
        "a", "an", "the", "this", "that", "these", "those", "some", "any", "each", "every", "all",
        "both", "either", "neither", "no", "such", "own", "same", "other", "another", "few",
        "more", "most", "much", "many", "several",
        // pronouns
        "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves", "you", "your",
        "yours", "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers",
        "herself", "it", "its", "itself", "they", "them", "their", "theirs", "themselves", "who",
        "whom", "whose", "which", "what", "whatever", "one", "ones",
        // prepositions and particles
        "about", "above", "across", "after", "against", "along", "among", "around", "at",
        "before", "behind", "below", "beneath", "beside", "between", "beyond", "by", "down",
        "during", "for", "from", "in", "inside", "into", "near", "of", "off", "on", "onto", "out",
        "outside", "over", "past", "since", "through", "throughout", "to", "toward", "towards",
        "under", "until", "up", "upon", "with", "within", "without", "via",
        // conjunctions and wh-adverbs
        "and", "or", "but", "nor", "so", "yet", "if", "then", "else", "than", "because", "as",
        "while", "although", "though", "unless", "whether", "when", "where", "why", "how",
        "whereas", "once",
        // auxiliaries and modals
        "be", "am", "is", "are", "was", "were", "been", "being", "have", "has", "had", "having",
        "do", "does", "did", "doing", "done", "will", "would", "shall", "should", "can", "could",
        "may", "might", "must", "ought",
        // negation, degree and other function adverbs (replacing them can flip a sentence)
        "not", "never", "nothing", "none", "nobody", "nowhere", "only", "just", "very", "too",
        "also", "even", "still", "again", "ever", "here", "there", "now", "however", "rather",
        "quite", "almost", "enough",
        // contractions
        "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "won't",
        "wouldn't", "can't", "cannot", "couldn't", "shouldn't", "haven't", "hasn't", "hadn't",
        "i'm", "it's", "that's", "there's", "he's", "she's", "i've", "you're", "they're", "we're",
        "i'd", "i'll", "you'll", "let's", "s", "t"};
    return words;
}

bool Thesaurus::lookable(std::string_view word) const {
    if (word.empty()) return false;
    bool letter = false;
    for (char c : word) {
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alpha && c != '-' && c != '\'') return false;
        letter = letter || alpha;
    }
    if (!letter) return false;
    std::string key(word);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return !opt_.stopwords.count(key);
}

std::vector<std::string> Thesaurus::synonyms(std::string_view word) const {
    if (!wn_ || !lookable(word)) return {};
    const auto pos = wn_->main_pos(word);
    if (!pos) return {};
    return wn_->synonyms(word, *pos, opt_.max_senses);
}

std::string_view bare_word(std::string_view word) { return parts_of(word).core; }

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    std::size_t i = 0;
    const auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    };
    while (i < text.size()) {
        while (i < text.size() && space(text[i])) ++i;
        const std::size_t start = i;
        while (i < text.size() && !space(text[i])) ++i;
        if (i > start) words.emplace_back(text.substr(start, i - start));
    }
    return words;
}

std::string match_case(std::string_view original, std::string_view replacement) {
    std::string out(replacement);
    std::size_t letters = 0, upper = 0;
    for (char c : original) {
        if (std::isalpha(static_cast<unsigned char>(c))) ++letters;
        if (c >= 'A' && c <= 'Z') ++upper;
    }
    if (letters >= 2 && upper == letters) {
        for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else if (!original.empty() && original[0] >= 'A' && original[0] <= 'Z' && !out.empty()) {
        out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    }
    return out;
}

EdaResult apply_op(Op op, std::string_view text, const Thesaurus& thesaurus,
                   const EdaOptions& opt, Rng& rng) {
    std::vector<std::string> words = split_words(text);
    EdaResult r;
    const std::size_t n = words.size();
    switch (op) {
        case Op::synonym: {
            if (opt.synonym_rate <= 0) break;
            Candidates c;
            find_candidates(words, thesaurus, c);
            std::vector<std::size_t> order(c.positions.size());
            for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
            shuffle(order, rng);
            const std::size_t k = std::min(edits_for(opt.synonym_rate, n), order.size());
            for (std::size_t i = 0; i < k; ++i) {
                const std::size_t pos = c.positions[order[i]];
                const auto& syns = *c.synonyms[order[i]];
                const Parts parts = parts_of(words[pos]);
                const std::string& syn = syns[rng.below(syns.size())];
                words[pos] = std::string(parts.lead) + match_case(parts.core, syn) +
                             std::string(parts.trail);
                ++r.edits;
            }
            break;
        }
        case Op::insert: {
            if (opt.insert_rate <= 0) break;
            Candidates c;
            find_candidates(words, thesaurus, c);
            if (c.positions.empty()) break;
            const std::size_t k = edits_for(opt.insert_rate, n);
            for (std::size_t i = 0; i < k; ++i) {
                const auto& syns = *c.synonyms[rng.below(c.synonyms.size())];
                std::string syn = syns[rng.below(syns.size())];
                const std::size_t at = rng.below(words.size() + 1);
                words.insert(words.begin() + static_cast<std::ptrdiff_t>(at), std::move(syn));
                ++r.edits;
            }
            break;
        }
        case Op::swap: {
            if (opt.swap_rate <= 0 || n < 2) break;
            const std::size_t k = edits_for(opt.swap_rate, n);
            for (std::size_t i = 0; i < k; ++i) {
                const std::size_t a = rng.below(n);
                std::size_t b = rng.below(n - 1);
                if (b >= a) ++b;
                std::swap(words[a], words[b]);
                ++r.edits;
            }
            break;
        }
        case Op::del: {
            if (opt.delete_prob <= 0 || n < 2) break;
            std::vector<std::string> kept;
            for (auto& w : words)
                if (rng.unit() >= opt.delete_prob) kept.push_back(std::move(w));
            if (kept.empty()) {
                // EDA keeps one random word rather than returning an empty text.
                kept.push_back(split_words(text)[rng.below(n)]);
            }
            r.edits = n - kept.size();
            words = std::move(kept);
            break;
        }
    }
    r.text = join_words(words);
    return r;
}

}  // namespace graft::augment
