#include "ml/metrics/bow.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <utility>

namespace graft::ml {
namespace {

constexpr const char* kWhat = "bag-of-words";

// Decodes one UTF-8 sequence at s[i]; returns its length and sets cp, or returns 1 with cp = -1 for
// an invalid byte (bad lead, truncated, overlong, surrogate or beyond U+10FFFF).
std::size_t decode(std::string_view s, std::size_t i, long& cp) {
    auto b = static_cast<unsigned char>(s[i]);
    cp = -1;
    std::size_t len = b < 0x80           ? 1
                      : (b >> 5) == 0x6  ? 2
                      : (b >> 4) == 0xE  ? 3
                      : (b >> 3) == 0x1E ? 4
                                         : 0;
    if (len == 0 || i + len > s.size()) return 1;
    if (len == 1) {
        cp = b;
        return 1;
    }
    long v = b & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) {
        auto c = static_cast<unsigned char>(s[i + k]);
        if ((c >> 6) != 0x2) return 1;
        v = (v << 6) | (c & 0x3F);
    }
    static constexpr long min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min_for_len[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 1;
    cp = v;
    return len;
}

bool is_word(long cp) {
    if (cp < 0) return false;
    if (cp < 0x80) {
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
               cp == '_';
    }
    if (cp <= 0xBF || cp == 0xD7 || cp == 0xF7) return false;  // C1 controls, Latin-1 symbols
    if (cp >= 0x2000 && cp <= 0x206F) return false;            // general punctuation, spaces
    if (cp >= 0x3000 && cp <= 0x303F) return false;            // CJK punctuation, ideographic space
    return cp != 0xFEFF;                                       // byte-order mark
}

void check_options(const BowOptions& o) {
    if (o.min_token_length < 1) {
        throw std::invalid_argument(fmt::format("{}: min_token_length must be >= 1", kWhat));
    }
    if (!(o.max_df > 0 && o.max_df <= 1)) {
        throw std::invalid_argument(
            fmt::format("{}: max_df must be a fraction in (0, 1], got {}", kWhat, o.max_df));
    }
}

const char* weighting_name(BowWeighting w) {
    switch (w) {
        case BowWeighting::counts: return "counts";
        case BowWeighting::binary: return "binary";
        case BowWeighting::tfidf: return "tfidf";
    }
    return "?";
}

}  // namespace

std::vector<std::string> BowVectorizer::tokenize(std::string_view text, const BowOptions& o) {
    std::vector<std::string> tokens;
    std::string cur;
    std::size_t cur_len = 0;  // code points
    auto flush = [&] {
        if (cur_len >= o.min_token_length) tokens.push_back(cur);
        cur.clear();
        cur_len = 0;
    };
    for (std::size_t i = 0; i < text.size();) {
        long cp = 0;
        std::size_t len = decode(text, i, cp);
        if (!is_word(cp)) {
            flush();
            i += len;
            continue;
        }
        std::size_t start = cur.size();
        cur.append(text.substr(i, len));
        if (o.lowercase) {
            if (cp >= 'A' && cp <= 'Z') cur[start] = static_cast<char>(cp + 32);
            // U+00C0-U+00DE (except U+00D7) are C3 80..C3 9E; their lowercase is 0x20 higher.
            if (cp >= 0xC0 && cp <= 0xDE) cur[start + 1] = static_cast<char>(cur[start + 1] + 0x20);
        }
        ++cur_len;
        i += len;
    }
    flush();
    return tokens;
}

BowVectorizer BowVectorizer::fit(const std::vector<std::string>& texts, const BowOptions& options) {
    check_options(options);
    if (texts.empty()) {
        throw std::invalid_argument(
            fmt::format("{}: no training texts to build a vocabulary from", kWhat));
    }
    struct Stat {
        std::size_t df = 0, count = 0, last_doc = SIZE_MAX;
    };
    std::unordered_map<std::string, Stat> stats;
    for (std::size_t d = 0; d < texts.size(); ++d) {
        for (auto& t : tokenize(texts[d], options)) {
            Stat& s = stats[std::move(t)];
            ++s.count;
            if (s.last_doc != d) {
                ++s.df;
                s.last_doc = d;
            }
        }
    }
    double max_doc = options.max_df * static_cast<double>(texts.size());
    std::vector<std::pair<std::string, Stat>> kept;
    for (auto& [term, s] : stats) {
        if (s.df >= options.min_df && static_cast<double>(s.df) <= max_doc)
            kept.emplace_back(term, s);
    }
    if (kept.empty()) {
        throw std::invalid_argument(fmt::format(
            "{}: the vocabulary is empty: {} distinct terms in {} texts, none in >= min_df={} and "
            "<= max_df={} of them; lower min_df or raise max_df",
            kWhat, stats.size(), texts.size(), options.min_df, options.max_df));
    }
    if (options.max_features > 0 && kept.size() > options.max_features) {
        std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
            return a.second.count != b.second.count ? a.second.count > b.second.count
                                                    : a.first < b.first;
        });
        kept.resize(options.max_features);
    }
    std::sort(kept.begin(), kept.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });

    BowVectorizer v;
    v.options_ = options;
    double n = static_cast<double>(texts.size());
    for (auto& [term, s] : kept) {
        v.terms_.push_back(term);
        if (options.weighting == BowWeighting::tfidf) {
            v.idf_.push_back(std::log((1.0 + n) / (1.0 + static_cast<double>(s.df))) + 1.0);
        }
    }
    v.build_index();
    return v;
}

void BowVectorizer::build_index() {
    index_.clear();
    for (std::size_t j = 0; j < terms_.size(); ++j) index_.emplace(terms_[j], j);
}

std::optional<std::size_t> BowVectorizer::column(std::string_view term) const {
    auto it = index_.find(std::string(term));
    if (it == index_.end()) return std::nullopt;
    return it->second;
}

SparseMatrix BowVectorizer::transform_sparse(const std::vector<std::string>& texts) const {
    SparseMatrix m;
    m.rows = texts.size();
    m.cols = terms_.size();
    std::map<std::size_t, std::size_t> counts;  // column -> count, sorted by column
    std::vector<double> row;
    for (const auto& text : texts) {
        counts.clear();
        for (const auto& t : tokenize(text, options_)) {
            auto it = index_.find(t);
            if (it != index_.end()) ++counts[it->second];
        }
        row.clear();
        double norm = 0;
        for (auto [col, count] : counts) {
            double tf = static_cast<double>(count);
            double v = tf;
            if (options_.weighting == BowWeighting::binary) {
                v = 1.0;
            } else if (options_.weighting == BowWeighting::tfidf) {
                v = (options_.sublinear_tf ? 1.0 + std::log(tf) : tf) * idf_[col];
            }
            norm += v * v;
            row.push_back(v);
            m.indices.push_back(static_cast<std::uint32_t>(col));
        }
        // Scale in double; only the final value is rounded to float.
        double scale = options_.l2_normalize && norm > 0 ? 1.0 / std::sqrt(norm) : 1.0;
        for (double v : row) m.values.push_back(static_cast<float>(v * scale));
        m.indptr.push_back(m.values.size());
    }
    return m;
}

std::vector<float> BowVectorizer::transform_dense(const std::vector<std::string>& texts) const {
    constexpr std::size_t kMaxValues = 200'000'000;
    if (texts.size() * terms_.size() > kMaxValues) {
        throw std::invalid_argument(fmt::format(
            "{}: a dense matrix of {} texts x {} terms needs {} MB; use transform_sparse (the "
            "models accept sparse rows) or lower max_features",
            kWhat, texts.size(), terms_.size(), texts.size() * terms_.size() * 4 / 1000000));
    }
    SparseMatrix s = transform_sparse(texts);
    std::vector<float> dense(s.rows * s.cols, 0.0f);
    for (std::size_t i = 0; i < s.rows; ++i) {
        for (std::size_t k = s.indptr[i]; k < s.indptr[i + 1]; ++k) {
            dense[i * s.cols + s.indices[k]] = s.values[k];
        }
    }
    return dense;
}

nlohmann::json BowVectorizer::to_json() const {
    return {{"type", "bow"},
            {"options",
             {{"lowercase", options_.lowercase},
              {"min_token_length", options_.min_token_length},
              {"min_df", options_.min_df},
              {"max_df", options_.max_df},
              {"max_features", options_.max_features},
              {"weighting", weighting_name(options_.weighting)},
              {"sublinear_tf", options_.sublinear_tf},
              {"l2_normalize", options_.l2_normalize}}},
            {"vocabulary", terms_},
            {"idf", idf_}};
}

BowVectorizer BowVectorizer::from_json(const nlohmann::json& j) {
    if (!j.is_object() || j.value("type", "") != "bow") {
        throw std::invalid_argument(fmt::format(
            "{}: JSON is not a saved vectorizer (its \"type\" must be \"bow\")", kWhat));
    }
    BowVectorizer v;
    try {
        const auto& o = j.at("options");
        v.options_.lowercase = o.at("lowercase").get<bool>();
        v.options_.min_token_length = o.at("min_token_length").get<std::size_t>();
        v.options_.min_df = o.at("min_df").get<std::size_t>();
        v.options_.max_df = o.at("max_df").get<double>();
        v.options_.max_features = o.at("max_features").get<std::size_t>();
        std::string w = o.at("weighting").get<std::string>();
        if (w == "counts")
            v.options_.weighting = BowWeighting::counts;
        else if (w == "binary")
            v.options_.weighting = BowWeighting::binary;
        else if (w == "tfidf")
            v.options_.weighting = BowWeighting::tfidf;
        else {
            throw std::invalid_argument(fmt::format(
                "{}: unknown weighting '{}'; expected counts, binary or tfidf", kWhat, w));
        }
        v.options_.sublinear_tf = o.at("sublinear_tf").get<bool>();
        v.options_.l2_normalize = o.at("l2_normalize").get<bool>();
        v.terms_ = j.at("vocabulary").get<std::vector<std::string>>();
        v.idf_ = j.at("idf").get<std::vector<double>>();
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(
            fmt::format("{}: saved vectorizer lacks a field: {}", kWhat, e.what()));
    }
    check_options(v.options_);
    if (v.idf_.size() != (v.options_.weighting == BowWeighting::tfidf ? v.terms_.size() : 0)) {
        throw std::invalid_argument(
            fmt::format("{}: saved vectorizer has {} idf values for {} terms", kWhat, v.idf_.size(),
                        v.terms_.size()));
    }
    v.build_index();
    if (v.index_.size() != v.terms_.size()) {
        throw std::invalid_argument(fmt::format("{}: saved vocabulary has duplicate terms", kWhat));
    }
    return v;
}

void BowVectorizer::save(const std::filesystem::path& file) const {
    detail::save_json(file, to_json());
}

BowVectorizer BowVectorizer::load(const std::filesystem::path& file) {
    try {
        return from_json(detail::load_json(file, kWhat));
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(fmt::format("{} (file {})", e.what(), file.string()));
    }
}

}  // namespace graft::ml
