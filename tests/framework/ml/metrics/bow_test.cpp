// Bag-of-words vectorizer: tokenization, vocabulary filters, weights, and the baseline it feeds.
#include "ml/metrics/bow.hpp"
#include "ml/metrics/logistic_regression.hpp"
#include "test_util.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace graft::ml;
using Catch::Matchers::Contains;

TEST_CASE("tokens are lowercased runs of >= 2 word characters", "[bow][tokenize]") {
    BowOptions o;
    auto t = BowVectorizer::tokenize(
        "Don't STOP-me now, a_b 42 x \xC3\x9Cnicode\xE2\x80\x99s caf\xC3\xA9!", o);
    CHECK(t == std::vector<std::string>{"don", "stop", "me", "now", "a_b", "42", "\xC3\xBCnicode",
                                        "caf\xC3\xA9"});
    o.lowercase = false;
    o.min_token_length = 1;
    t = BowVectorizer::tokenize("Hi x", o);
    CHECK(t == std::vector<std::string>{"Hi", "x"});
    // Invalid UTF-8 separates tokens and never crashes.
    t = BowVectorizer::tokenize(
        "ab\xFF\xFE"
        "cd\xC3",
        BowOptions{});
    CHECK(t == std::vector<std::string>{"ab", "cd"});
}

TEST_CASE("vocabulary filters min_df, max_df, max_features and sorts the columns", "[bow][vocab]") {
    std::vector<std::string> texts = {"the cat sat", "the cat ran", "the dog ran far", "the bird"};
    BowOptions o;
    o.weighting = BowWeighting::counts;
    o.l2_normalize = false;
    auto all = BowVectorizer::fit(texts, o);
    CHECK(all.vocabulary() ==
          std::vector<std::string>{"bird", "cat", "dog", "far", "ran", "sat", "the"});
    o.min_df = 2;
    CHECK(BowVectorizer::fit(texts, o).vocabulary() ==
          std::vector<std::string>{"cat", "ran", "the"});
    o.max_df = 0.9;  // "the" is in every text
    CHECK(BowVectorizer::fit(texts, o).vocabulary() == std::vector<std::string>{"cat", "ran"});
    o = BowOptions{};
    o.max_features = 2;  // the (4), then cat/ran tie at 2: alphabetical
    CHECK(BowVectorizer::fit(texts, o).vocabulary() == std::vector<std::string>{"cat", "the"});
    o.min_df = 5;
    CHECK_THROWS_WITH(BowVectorizer::fit(texts, o),
                      Contains("vocabulary is empty") && Contains("lower min_df"));
    CHECK_THROWS_WITH(BowVectorizer::fit({}, BowOptions{}), Contains("no training texts"));
}

TEST_CASE("counts, binary and tf-idf weights, dense equal to sparse", "[bow][weights]") {
    std::vector<std::string> texts = {"good good movie", "bad movie", "good plot"};
    BowOptions o;
    o.weighting = BowWeighting::counts;
    o.l2_normalize = false;
    auto counts = BowVectorizer::fit(texts, o);
    REQUIRE(counts.vocabulary() == std::vector<std::string>{"bad", "good", "movie", "plot"});
    auto d = counts.transform_dense({"good GOOD unknown movie"});
    CHECK(d == std::vector<float>{0, 2, 1, 0});

    o.weighting = BowWeighting::binary;
    CHECK(BowVectorizer::fit(texts, o).transform_dense({"good good"}) ==
          std::vector<float>{0, 1, 0, 0});

    auto tfidf = BowVectorizer::fit(texts, BowOptions{});
    // idf = ln((1 + n) / (1 + df)) + 1 with n = 3: good/movie df 2, bad/plot df 1.
    double idf2 = std::log(4.0 / 3.0) + 1, idf1 = std::log(2.0) + 1;
    REQUIRE(tfidf.idf().size() == 4);
    CHECK(tfidf.idf()[1] == Approx(idf2));
    CHECK(tfidf.idf()[0] == Approx(idf1));
    auto row = tfidf.transform_dense({"good good movie"});
    double a = 2 * idf2, b = idf2, norm = std::sqrt(a * a + b * b);
    CHECK(row[1] == Approx(a / norm));
    CHECK(row[2] == Approx(b / norm));
    CHECK(row[0] == 0);

    auto sp = tfidf.transform_sparse(texts);
    auto dense = tfidf.transform_dense(texts);
    REQUIRE(sp.rows == 3);
    for (std::size_t i = 0; i < sp.rows; ++i) {
        double sq = 0;
        for (std::size_t k = sp.indptr[i]; k < sp.indptr[i + 1]; ++k) {
            CHECK(dense[i * 4 + sp.indices[k]] == sp.values[k]);
            sq += static_cast<double>(sp.values[k]) * sp.values[k];
        }
        CHECK(sq == Approx(1.0).epsilon(1e-6));
    }
    // A text with no known term is an all-zero row, not a division by zero.
    auto empty = tfidf.transform_dense({"zzz"});
    CHECK(empty == std::vector<float>(4, 0.0f));
}

TEST_CASE("vectorizer round-trips through JSON", "[bow][io]") {
    graft::testing::TempDir dir("metrics-bow");
    BowOptions o;
    o.sublinear_tf = true;
    o.min_df = 1;
    auto v = BowVectorizer::fit({"alpha beta beta", "beta gamma"}, o);
    v.save(dir / "bow.json");
    auto w = BowVectorizer::load(dir / "bow.json");
    CHECK(w.vocabulary() == v.vocabulary());
    CHECK(w.options().sublinear_tf);
    CHECK(w.transform_dense({"beta beta beta alpha"}) ==
          v.transform_dense({"beta beta beta alpha"}));
}

TEST_CASE("bag-of-words logistic regression baseline learns word sentiment", "[bow][baseline]") {
    std::vector<std::string> pos_words = {"great", "wonderful", "superb", "loved", "brilliant"};
    std::vector<std::string> neg_words = {"awful", "boring", "terrible", "hated", "dull"};
    std::vector<std::string> filler = {"the", "movie", "plot", "actors", "was", "film", "scene"};
    graft::testing::Rng rng(5);
    std::vector<std::string> texts;
    std::vector<int> y;
    for (int i = 0; i < 200; ++i) {
        int label = i % 2;
        const auto& words = label ? pos_words : neg_words;
        std::string t;
        for (int k = 0; k < 6; ++k) t += filler[rng.below(filler.size())] + " ";
        t += words[rng.below(words.size())];
        texts.push_back(t);
        y.push_back(label);
    }
    auto vec = BowVectorizer::fit(texts, BowOptions{});
    auto x = vec.transform_dense(texts);
    auto lr = LogisticRegression::fit(x, vec.vocabulary_size(), y);
    auto xs = vec.transform_sparse(texts);
    CHECK(graft::testing::accuracy(lr.predict(xs), y) == 1.0);
    auto test = vec.transform_dense({"the film was superb", "the plot was dull and boring"});
    CHECK(lr.predict(test) == std::vector<int>{1, 0});
}
