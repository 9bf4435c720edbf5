// Bag-of-words features for the classic baseline: a vocabulary learned from training texts and
// term counts, binary presence or TF-IDF per text, as sparse rows (any size) or dense rows (for the
// dense model API). Semantics follow scikit-learn's CountVectorizer / TfidfVectorizer defaults:
//   - tokens: maximal runs of word characters of length >= 2 (token_pattern \b\w\w+\b); word
//     characters are ASCII letters, digits and '_' plus every non-ASCII code point except spaces
//     and punctuation blocks (U+0080-U+00BF, U+00D7, U+00F7, U+2000-U+206F, U+3000-U+303F,
//     U+FEFF); invalid UTF-8 bytes separate tokens;
//   - lowercase: ASCII and Latin-1 letters (U+00C0-U+00DE) only, so no Unicode tables are needed;
//   - min_df / max_df filter terms by document frequency, then max_features keeps the terms with
//     the highest total count (ties: alphabetical); columns are the kept terms in sorted order;
//   - tfidf: tf * idf with idf = ln((1 + n) / (1 + df)) + 1 (smooth_idf), optional sublinear tf
//     (1 + ln tf), then rows scaled to unit L2 norm when l2_normalize.
#pragma once

#include "ml/metrics/features.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace graft::ml {

enum class BowWeighting { counts, binary, tfidf };

struct BowOptions {
    bool lowercase = true;
    std::size_t min_token_length = 2;  // in code points
    std::size_t min_df = 1;            // keep terms found in >= min_df training texts
    double max_df = 1.0;               // ... and in <= max_df * n of them (fraction in (0, 1])
    std::size_t max_features = 0;      // 0: no limit
    BowWeighting weighting = BowWeighting::tfidf;
    bool sublinear_tf = false;  // tfidf only
    bool l2_normalize = true;   // scale each row to unit length (tfidf: sklearn's norm="l2")
};

class BowVectorizer {
public:
    // Throws std::invalid_argument on no texts, bad options, or a vocabulary left empty by the
    // filters (the message gives the counts and suggests lowering min_df).
    static BowVectorizer fit(const std::vector<std::string>& texts, const BowOptions& options = {});

    SparseMatrix transform_sparse(const std::vector<std::string>& texts) const;
    // rows x vocabulary_size(), row-major. Refuses more than 200 million values (800 MB); use
    // transform_sparse, which the models also take, for larger inputs.
    std::vector<float> transform_dense(const std::vector<std::string>& texts) const;

    std::size_t vocabulary_size() const { return terms_.size(); }
    const std::vector<std::string>& vocabulary() const { return terms_; }  // column order
    std::optional<std::size_t> column(std::string_view term) const;
    const std::vector<double>& idf() const { return idf_; }  // per column; empty unless tfidf
    const BowOptions& options() const { return options_; }

    // The tokenizer used for fitting and transforming.
    static std::vector<std::string> tokenize(std::string_view text, const BowOptions& options);

    nlohmann::json to_json() const;  // {"type": "bow", "options", "vocabulary", "idf"}
    static BowVectorizer from_json(const nlohmann::json& j);
    void save(const std::filesystem::path& file) const;
    static BowVectorizer load(const std::filesystem::path& file);

private:
    void build_index();

    BowOptions options_;
    std::vector<std::string> terms_;
    std::vector<double> idf_;
    std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace graft::ml
