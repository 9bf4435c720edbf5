// The WordNet reader on a generated fixture (wordnet_fixture.hpp) and, when installed, on the
// Debian wordnet-base database in /usr/share/wordnet.
#include "support/temp_dir.hpp"
#include "wordnet.hpp"
#include "wordnet_fixture.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using graft::augment::Pos;
using graft::augment::WordNet;
using graft::testing::TempDir;
using Catch::Matchers::Contains;
using Strings = std::vector<std::string>;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const fs::path& p, const std::string& s) {
    std::ofstream(p, std::ios::binary) << s;
}

std::string load_error(const fs::path& dir) {
    try {
        WordNet::load(dir);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    FAIL("expected WordNet::load to throw");
    return {};
}

}  // namespace

TEST_CASE("WordNet reads lemmas, senses and synsets per part of speech", "[augment][wordnet]") {
    TempDir dir("wordnet");
    graft::augment::test::write_wordnet(dir.path());
    const WordNet wn = WordNet::load(dir.path());
    CHECK(wn.parts_of_speech().size() == 4);
    CHECK(wn.synset_count() == 5 + 3 + 3 + 1);
    CHECK(wn.sense_count("film", Pos::noun) == 2);
    CHECK(wn.sense_count("film", Pos::verb) == 1);
    CHECK(wn.sense_count("film", Pos::adj) == 0);
    CHECK(wn.sense_count("FILM", Pos::noun) == 2);  // the index is case-insensitive
    CHECK(wn.sense_count("moving picture", Pos::noun) == 1);
    CHECK(wn.sense_count("moving_picture", Pos::noun) == 1);
    CHECK(wn.sense_count("nonexistent", Pos::noun) == 0);
}

TEST_CASE("WordNet picks the part of speech with the most senses", "[augment][wordnet]") {
    TempDir dir("wordnet");
    graft::augment::test::write_wordnet(dir.path());
    const WordNet wn = WordNet::load(dir.path());
    CHECK(wn.main_pos("film") == Pos::noun);  // 2 noun senses, 1 verb sense
    CHECK(wn.main_pos("run") == Pos::verb);   // 2 verb senses, 1 noun sense
    CHECK(wn.main_pos("fast") == Pos::adv);   // 1 each; the adverb sense is tagged
    CHECK(wn.main_pos("good") == Pos::adj);
    CHECK_FALSE(wn.main_pos("the").has_value());
}

TEST_CASE("WordNet synonyms: sense order, no repeats, no lemma, spaces, no markers",
          "[augment][wordnet]") {
    TempDir dir("wordnet");
    graft::augment::test::write_wordnet(dir.path());
    const WordNet wn = WordNet::load(dir.path());
    CHECK(wn.synonyms("film", Pos::noun) == Strings{"movie", "picture", "moving picture", "cinema"});
    CHECK(wn.synonyms("film", Pos::noun, 1) == Strings{"movie", "picture", "moving picture"});
    CHECK(wn.synonyms("film", Pos::verb) == Strings{"shoot"});
    CHECK(wn.synonyms("Dog", Pos::noun) == Strings{"domestic dog", "Canis familiaris"});
    CHECK(wn.synonyms("good", Pos::adj) == Strings{"well"});  // "(a)"/"(p)" markers dropped
    CHECK(wn.synonyms("run", Pos::verb) == Strings{"go", "operate"});
    CHECK(wn.synonyms("run", Pos::adj).empty());
    CHECK(wn.synonyms("unknown", Pos::noun).empty());
}

TEST_CASE("WordNet loads a database with only some parts of speech", "[augment][wordnet]") {
    TempDir dir("wordnet");
    graft::augment::test::write_wordnet(dir.path());
    fs::remove(dir / "index.verb");
    fs::remove(dir / "data.verb");
    const WordNet wn = WordNet::load(dir.path());
    CHECK(wn.parts_of_speech().size() == 3);
    CHECK(wn.main_pos("run") == Pos::noun);
}

TEST_CASE("WordNet names the file and line of a malformed database", "[augment][wordnet]") {
    TempDir dir("wordnet");
    graft::augment::test::write_wordnet(dir.path());

    SECTION("missing directory: says how to install it") {
        const auto msg = load_error(dir / "nowhere");
        CHECK_THAT(msg, Contains("does not exist") && Contains("apt-get install wordnet-base"));
    }
    SECTION("no database files") {
        TempDir empty("wordnet-empty");
        CHECK_THAT(load_error(empty.path()), Contains("no index.<pos>/data.<pos> files"));
    }
    SECTION("an index without its data file") {
        fs::remove(dir / "data.adv");
        CHECK_THAT(load_error(dir.path()), Contains("has index.adv but not data.adv"));
    }
    SECTION("a synset offset that is not the line's byte offset") {
        std::string data = read_all(dir / "data.noun");
        data.insert(data.find('\n', data.find('\n') + 1), "x");  // header 1 byte longer
        write_all(dir / "data.noun", data);
        const auto msg = load_error(dir.path());
        CHECK_THAT(msg, Contains("data.noun:3:") && Contains("is not the line's byte offset"));
    }
    SECTION("an index line with the wrong part of speech") {
        std::string index = read_all(dir / "index.verb");
        index.replace(index.find("film v"), 6, "film n");
        write_all(dir / "index.verb", index);
        const auto msg = load_error(dir.path());
        CHECK_THAT(msg, Contains("index.verb:3:") && Contains("part of speech 'n'"));
    }
    SECTION("an index line pointing at a synset that does not exist") {
        write_all(dir / "index.adv", "  1 header\nfast r 1 0 1 0 99999999\n");
        CHECK_THAT(load_error(dir.path()),
                   Contains("index.adv:2:") && Contains("synset 99999999 is not in data.adv"));
    }
    SECTION("an index line with too few synset offsets") {
        write_all(dir / "index.adv", "fast r 2 0 2 0 00000000\n");
        CHECK_THAT(load_error(dir.path()), Contains("index.adv:1:") && Contains("expected 8 fields"));
    }
}

TEST_CASE("WordNet 3.0 from Debian's wordnet-base", "[augment][wordnet][system]") {
    const fs::path dir = "/usr/share/wordnet";
    if (!fs::exists(dir / "index.noun")) {
        // Catch2 v2 has no SKIP: say so and pass.
        WARN("skipped: wordnet-base is not installed (/usr/share/wordnet)");
        return;
    }
    const WordNet wn = WordNet::load(dir);
    CHECK(wn.parts_of_speech().size() == 4);
    CHECK(wn.lemma_count() == 147306);  // distinct lemmas over the four categories
    CHECK(wn.synset_count() == 117659);
    CHECK(wn.main_pos("run") == Pos::verb);
    CHECK(wn.main_pos("good") == Pos::adj);
    CHECK(wn.main_pos("movie") == Pos::noun);
    const auto dog = wn.synonyms("dog", Pos::noun, 1);
    CHECK(dog == Strings{"domestic dog", "Canis familiaris"});
    const auto movie = wn.synonyms("movie", Pos::noun);
    CHECK(std::find(movie.begin(), movie.end(), "film") != movie.end());
}
