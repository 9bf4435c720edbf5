// Throughput on real text: training and encoding on the first 5 MB of IMDb reviews. Hidden
// ([!benchmark]); run with: tokenizer_tests "[!benchmark]"
#include "ml/tokenizer/tokenizer.hpp"
#include "test_corpus.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>

namespace {

std::vector<std::string> imdb_texts(std::size_t bytes) {
    const auto file = graft::testing::data_dir() / "imdb" / "reviews.json";
    std::ifstream in(file, std::ios::binary);
    if (!in) FAIL(file.string() << " is missing: run scripts/setup.sh");
    const auto all = nlohmann::json::parse(in);
    std::vector<std::string> out;
    std::size_t total = 0;
    for (const auto& row : all) {
        if (total >= bytes) break;
        out.push_back(row.at("t").get<std::string>());
        total += out.back().size();
    }
    return out;
}

template <class F>
double seconds(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void report_encode(const char* name, const graft::ml::Tokenizer& tok,
                   const std::vector<std::string>& texts, double mb) {
    std::size_t tokens = 0;
    const double s = seconds([&] {
        for (const auto& t : texts) tokens += tok.encode(t).size();
    });
    std::vector<std::string_view> views(texts.begin(), texts.end());
    const double s2 = seconds([&] { (void)tok.encode_batch(views, 0, false, 2); });
    std::printf(
        "%-16s encode %6.2f MB/s (1 thread), %6.2f MB/s (encode_batch, 2 threads), "
        "%zu tokens\n",
        name, mb / s, mb / s2, tokens);
    std::size_t chars = 0;
    for (const auto& t : texts) chars += t.size();
    std::printf("%-16s %.2f bytes per token\n", name, static_cast<double>(chars) / tokens);
}

}  // namespace

TEST_CASE("tokenizer throughput on 5 MB of IMDb reviews", "[!benchmark][tokenizer]") {
    const auto texts = imdb_texts(5u << 20);
    double mb = 0;
    for (const auto& t : texts) mb += static_cast<double>(t.size()) / (1 << 20);
    std::printf("corpus: %zu reviews, %.2f MB\n", texts.size(), mb);

    graft::ml::WordPieceTrainerOptions wo;
    wo.vocab_size = 8000;
    std::optional<graft::ml::Tokenizer> wp;
    const double tw = seconds([&] { wp = graft::ml::train_wordpiece(texts, wo); });
    std::printf("train_wordpiece  vocab 8000: %.2f s (%.2f MB/s)\n", tw, mb / tw);

    graft::ml::BpeTrainerOptions bo;
    bo.vocab_size = 8000;
    std::optional<graft::ml::Tokenizer> bpe;
    const double tb = seconds([&] { bpe = graft::ml::train_byte_bpe(texts, bo); });
    std::printf("train_byte_bpe   vocab 8000: %.2f s (%.2f MB/s)\n", tb, mb / tb);

    report_encode("WordPiece 8000", *wp, texts, mb);
    report_encode("byte BPE 8000", *bpe, texts, mb);
    const auto gpt2_dir = graft::testing::data_dir() / "gpt2";
    const auto gpt2 = graft::ml::load_gpt2(gpt2_dir / "encoder.json", gpt2_dir / "vocab.bpe");
    report_encode("GPT-2 (50257)", gpt2, texts, mb);

    for (std::size_t i = 0; i < 200; ++i)
        REQUIRE(bpe->decode(bpe->encode(texts[i]).ids) == texts[i]);
}
