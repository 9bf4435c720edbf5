// text.brown on a tiny corpus in NLTK layout: rows, base tags, genre filter, sentence cap, errors.
#include "support/stage_runner.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace graft::testing;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

void write_corpus(const TempDir& dir) {
    dir.write("brown/cats.txt", "ca01 news\ncb01 editorial\n");
    dir.write("brown/ca01",
              "\n\n\tThe/at Fulton/np-tl County/nn-tl said/vbd 1/2/cd ./.\n\n"
              "\tHEADLINE/NN-HL-TL isn't/bez* ./.\n");
    dir.write("brown/cb01", "\n\tOpinion/nn-nc is/bez free/jj ./.\n");
}

std::vector<json> rows_of(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::vector<json> out;
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
}

}  // namespace

TEST_CASE("text.brown writes tokens, base tags, text, genre and document per sentence", "[text][brown]") {
    TempDir dir, out;
    write_corpus(dir);
    const auto r = run_stage("text.brown", {}, {{"corpus", dir / "brown"}}, out.path());
    INFO(r.error);
    REQUIRE(r.status == 0);
    const auto rows = rows_of(r.outputs.at("data"));
    REQUIRE(rows.size() == 3);
    CHECK(rows[0]["tokens"] == json::array({"The", "Fulton", "County", "said", "1/2", "."}));
    CHECK(rows[0]["tags"] == json::array({"at", "np", "nn", "vbd", "cd", "."}));
    CHECK(rows[0]["text"] == "The Fulton County said 1/2 .");
    CHECK(rows[0]["genre"] == "news");
    CHECK(rows[0]["doc"] == "ca01");
    CHECK(rows[1]["tags"] == json::array({"nn", "bez*", "."}));  // -hl-tl stripped, lowercased
    CHECK(rows[2]["tags"] == json::array({"nn", "bez", "jj", "."}));
    CHECK(rows[2]["genre"] == "editorial");
    CHECK(r.metrics.at("sentences") == 3);
    CHECK(r.metrics.at("tokens") == 13);
    CHECK(r.metrics.at("documents") == 2);
}

TEST_CASE("text.brown filters genres and caps sentences", "[text][brown]") {
    TempDir dir, out1, out2;
    write_corpus(dir);
    const auto ed = run_stage("text.brown", {{"genres", {"editorial"}}}, {{"corpus", dir / "brown"}}, out1.path());
    REQUIRE(ed.status == 0);
    CHECK(rows_of(ed.outputs.at("data")).size() == 1);
    const auto cap = run_stage("text.brown", {{"max_sentences", 2}}, {{"corpus", dir / "brown"}}, out2.path());
    REQUIRE(cap.status == 0);
    CHECK(rows_of(cap.outputs.at("data")).size() == 2);
}

TEST_CASE("text.brown names the file and fix for bad corpora", "[text][brown]") {
    TempDir dir, out1, out2, out3;
    write_corpus(dir);
    const auto genre = run_stage("text.brown", {{"genres", {"poetry"}}}, {{"corpus", dir / "brown"}}, out1.path());
    CHECK(genre.status != 0);
    CHECK_THAT(genre.error, Contains("'poetry'") && Contains("editorial, news"));
    dir.write("bad/cats.txt", "ca01 news\n");
    dir.write("bad/ca01", "\tThe/at jury\n");
    const auto pair = run_stage("text.brown", {}, {{"corpus", dir / "bad"}}, out2.path());
    CHECK(pair.status != 0);
    CHECK_THAT(pair.error, Contains("ca01:1: 'jury' is not a word/tag pair"));
    dir.write("nocats/ca01", "The/at\n");
    const auto nocats = run_stage("text.brown", {}, {{"corpus", dir / "nocats"}}, out3.path());
    CHECK(nocats.status != 0);
    CHECK_THAT(nocats.error, Contains("no cats.txt"));
}
