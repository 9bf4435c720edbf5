// EDA operations on the fixture WordNet: what each operation may and may not change.
#include "eda.hpp"
#include "support/temp_dir.hpp"
#include "wordnet_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

using namespace graft::augment;
using graft::testing::TempDir;
using Strings = std::vector<std::string>;

namespace {

struct Fixture {
    TempDir dir{"eda"};
    WordNet wn;
    EdaOptions opt;
    Fixture() : wn(load(dir)) { opt.stopwords = default_stopwords(); }
    static WordNet load(const TempDir& d) {
        test::write_wordnet(d.path());
        return WordNet::load(d.path());
    }
};

Strings sorted(Strings v) {
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_CASE("Rng is fully specified and below() stays in range", "[augment][eda]") {
    Rng a(42), b(42), c(43);
    const auto first = a.next();
    CHECK(first == b.next());
    CHECK(first != c.next());
    Rng r(7);
    std::map<std::uint64_t, int> seen;
    for (int i = 0; i < 6000; ++i) {
        const auto x = r.below(6);
        REQUIRE(x < 6);
        ++seen[x];
    }
    CHECK(seen.size() == 6);
    for (const auto& [v, n] : seen) CHECK(n > 800);  // about 1000 each
    CHECK(r.below(1) == 0);
    for (int i = 0; i < 100; ++i) {
        const double u = r.unit();
        REQUIRE(u >= 0.0);
        REQUIRE(u < 1.0);
    }
    // Streams for neighbouring rows and copies differ.
    CHECK(row_rng(1, 0, 0).next() != row_rng(1, 1, 0).next());
    CHECK(row_rng(1, 0, 0).next() != row_rng(1, 0, 1).next());
    CHECK(row_rng(1, 0, 0).next() != row_rng(2, 0, 0).next());
    CHECK(row_rng(1, 5, 3).next() == row_rng(1, 5, 3).next());
}

TEST_CASE("match_case keeps Title and UPPER case", "[augment][eda]") {
    CHECK(match_case("film", "movie") == "movie");
    CHECK(match_case("Film", "movie") == "Movie");
    CHECK(match_case("FILM", "moving picture") == "MOVING PICTURE");
    CHECK(match_case("dog", "Canis familiaris") == "Canis familiaris");
    CHECK(match_case("I", "one") == "One");  // one letter: Title, not UPPER
}

TEST_CASE("Thesaurus skips stopwords, numbers and unknown words", "[augment][eda]") {
    Fixture f;
    const Thesaurus th(&f.wn, f.opt);
    CHECK(th.synonyms("film") == Strings{"movie", "picture", "moving picture", "cinema"});
    CHECK(th.synonyms("run") == Strings{"go", "operate"});  // verb: more senses than noun
    CHECK(th.lookable("Film"));
    CHECK_FALSE(th.lookable("the"));
    CHECK_FALSE(th.lookable("1984"));
    CHECK_FALSE(th.lookable("caf\xc3\xa9"));
    CHECK(th.synonyms("zebra").empty());
    f.opt.stopwords.insert("film");
    CHECK(th.synonyms("film").empty());  // the options are read live
    const Thesaurus none(nullptr, f.opt);
    CHECK(none.synonyms("run").empty());
    CHECK(bare_word("(film),") == "film");
    CHECK(bare_word("...") == "");
}

TEST_CASE("synonym replacement changes only words with synonyms, keeping punctuation and case",
          "[augment][eda]") {
    Fixture f;
    f.opt.synonym_rate = 0.5;
    const Thesaurus th(&f.wn, f.opt);
    const std::string text = "The Film, a dog and the actor (run) 1984";
    std::set<std::string> seen_film;
    for (std::uint64_t s = 0; s < 50; ++s) {
        Rng rng(s);
        const EdaResult r = apply_op(Op::synonym, text, th, f.opt, rng);
        const Strings after = split_words(r.text);
        // 8 words, rate 0.5: 4 replacements wanted, 4 candidates (Film, dog, actor, run).
        CHECK(r.edits == 4);
        REQUIRE(r.text != text);
        // Stopwords and the number never change; replaced words keep their punctuation.
        CHECK(after.front() == "The");
        CHECK(after.back() == "1984");
        CHECK(std::count(after.begin(), after.end(), "a") == 1);
        CHECK(r.text.find(" and the ") != std::string::npos);
        // "The" and "a" are stopwords, so what lies between them is Film's replacement.
        REQUIRE(r.text.rfind("The ", 0) == 0);
        const auto end = r.text.find(" a ");
        REQUIRE(end != std::string::npos);
        seen_film.insert(r.text.substr(4, end - 4));
        CHECK(r.text.find("(") != std::string::npos);
        CHECK(r.text.find(")") != std::string::npos);
    }
    // "Film," became each of its synonyms, title-cased, with its comma.
    CHECK(seen_film == std::set<std::string>{"Movie,", "Picture,", "Moving picture,", "Cinema,"});
}

TEST_CASE("random insertion adds synonyms of the text's own words", "[augment][eda]") {
    Fixture f;
    f.opt.insert_rate = 0.3;
    const Thesaurus th(&f.wn, f.opt);
    const std::string text = "a good film about the dog";  // 6 words: 1 insertion
    const std::set<std::string> allowed = {"well", "movie", "picture", "moving", "cinema",
                                           "domestic", "dog", "Canis", "familiaris"};
    for (std::uint64_t s = 0; s < 30; ++s) {
        Rng rng(s);
        const EdaResult r = apply_op(Op::insert, text, th, f.opt, rng);
        CHECK(r.edits == 1);
        Strings after = split_words(r.text);
        Strings original = split_words(text);
        // Removing the original words (as a multiset) leaves only synonym words.
        for (const auto& w : original) {
            auto it = std::find(after.begin(), after.end(), w);
            REQUIRE(it != after.end());
            after.erase(it);
        }
        for (const auto& w : after) CHECK(allowed.count(w) == 1);
    }
    Rng rng(1);
    CHECK(apply_op(Op::insert, "the and of", th, f.opt, rng).edits == 0);  // nothing to insert
}

TEST_CASE("random swap permutes the words, random deletion keeps an ordered subset",
          "[augment][eda]") {
    Fixture f;
    f.opt.swap_rate = 0.2;
    f.opt.delete_prob = 0.3;
    const Thesaurus th(nullptr, f.opt);
    const std::string text = "one two three four five six seven eight nine ten";
    const Strings words = split_words(text);
    std::size_t deleted = 0;
    for (std::uint64_t s = 0; s < 200; ++s) {
        Rng rng(s);
        const EdaResult sw = apply_op(Op::swap, text, th, f.opt, rng);
        CHECK(sw.edits == 2);
        CHECK(sorted(split_words(sw.text)) == sorted(words));
        const EdaResult del = apply_op(Op::del, text, th, f.opt, rng);
        const Strings kept = split_words(del.text);
        CHECK(kept.size() + del.edits == words.size());
        CHECK_FALSE(kept.empty());
        CHECK(std::includes(words.begin(), words.end(), kept.begin(), kept.end(),
                            [&](const std::string& a, const std::string& b) {
                                const auto pa = std::find(words.begin(), words.end(), a);
                                const auto pb = std::find(words.begin(), words.end(), b);
                                return pa < pb;
                            }));
        deleted += del.edits;
    }
    // p = 0.3 over 200 x 10 words: about 600 deletions.
    CHECK(deleted > 500);
    CHECK(deleted < 700);
    // Deleting everything still keeps one word.
    f.opt.delete_prob = 1.0;
    Rng rng(3);
    const EdaResult all = apply_op(Op::del, text, th, f.opt, rng);
    CHECK(split_words(all.text).size() == 1);
    CHECK(all.edits == 9);
    // One word: nothing to swap or delete.
    CHECK(apply_op(Op::swap, "alone", th, f.opt, rng).text == "alone");
    CHECK(apply_op(Op::del, "alone", th, f.opt, rng).text == "alone");
}

TEST_CASE("the same generator state gives the same text", "[augment][eda]") {
    Fixture f;
    const Thesaurus th(&f.wn, f.opt);
    const std::string text = "The film about a dog that could run fast was great";
    for (Op op : {Op::synonym, Op::insert, Op::swap, Op::del}) {
        Rng a = row_rng(9, 4, 1), b = row_rng(9, 4, 1);
        CHECK(apply_op(op, text, th, f.opt, a).text == apply_op(op, text, th, f.opt, b).text);
    }
}
