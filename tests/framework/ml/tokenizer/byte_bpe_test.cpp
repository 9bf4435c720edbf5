// Byte-level BPE: training, lossless round trips on any bytes, merge order, the template.
#include "ml/tokenizer/tokenizer.hpp"
#include "ml/tokenizer/tokenizer_impl.hpp"
#include "test_corpus.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>

using Catch::Matchers::Contains;
using graft::ml::BpeTrainerOptions;
using graft::ml::Tokenizer;
using graft::ml::TokenizerError;
using Ids = std::vector<std::int32_t>;

namespace {

std::vector<std::string> corpus() {
    auto texts = graft::testing::synthetic_corpus(400);
    texts.push_back("hello 👋 world 🌍 — naïve café, 中文 text\n\n  indented\ttabs");
    texts.push_back("Ünïcödé   spaces    and\r\nnewlines");
    return texts;
}

const Tokenizer& trained() {
    static const Tokenizer tok = [] {
        BpeTrainerOptions o;
        o.vocab_size = 400;
        o.min_frequency = 1;
        return graft::ml::train_byte_bpe(corpus(), o);
    }();
    return tok;
}

std::vector<std::string> merges_of(const Tokenizer& tok) {
    const auto j = nlohmann::json::parse(tok.to_json());
    return j["model"]["merges"].get<std::vector<std::string>>();
}

}  // namespace

TEST_CASE("trained byte BPE: specials first, then the 256 byte symbols, vocab_size in total",
          "[tokenizer][bpe][train]") {
    const auto& tok = trained();
    CHECK(tok.kind() == graft::ml::TokenizerKind::byte_bpe);
    CHECK(tok.vocab_size() == 400);
    CHECK(tok.special_tokens() == std::vector<std::string>{"<|endoftext|>", "<|pad|>", "<|mask|>"});
    CHECK(tok.eos_id() == 0);
    CHECK(tok.pad_id() == 1);
    CHECK(tok.mask_id() == 2);
    CHECK_FALSE(tok.cls_id());
    CHECK_FALSE(tok.unk_id());
    CHECK(tok.id_to_token(3) == "!");               // GPT-2's byte order starts at '!'
    CHECK(tok.token_to_id("\xc4\xa0") == 3 + 220);  // space (Ġ), as in GPT-2 (220)
    CHECK(merges_of(tok).size() == 400 - 3 - 256);
}

TEST_CASE("byte BPE round-trips arbitrary bytes, invalid UTF-8 included",
          "[tokenizer][bpe][roundtrip]") {
    const auto& tok = trained();
    std::mt19937 rng(11);
    for (int t = 0; t < 300; ++t) {
        std::string s(rng() % 200, '\0');
        // Mostly text-like bytes, some arbitrary ones.
        for (auto& c : s)
            c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : "ab cd\n\xc3\xa9!'s"[rng() % 12]);
        const auto enc = tok.encode(s);
        REQUIRE(tok.decode(enc.ids) == s);
        // Offsets tile the input.
        std::uint32_t at = 0;
        for (const auto& o : enc.offsets) {
            REQUIRE(o.begin == at);
            REQUIRE(o.end > o.begin);
            at = o.end;
        }
        REQUIRE(at == s.size());
    }
    for (const std::string s : {"", " ", "\t\t\n", "hello 👋 world 🌍", "\xff\xfe\x01\x7f",
                                "mixed   whitespace \n\n runs  ", "中文 and ÜNÏCÖDÉ"})
        CHECK(tok.decode(tok.encode(s).ids) == s);
}

TEST_CASE("byte BPE merges the most frequent pair first, ties by spelling",
          "[tokenizer][bpe][train]") {
    std::vector<std::string> texts;
    for (int i = 0; i < 5; ++i) texts.push_back("ab");
    for (int i = 0; i < 3; ++i) texts.push_back("cd");
    for (int i = 0; i < 2; ++i) texts.push_back("xy");
    for (int i = 0; i < 2; ++i) texts.push_back("uv");
    BpeTrainerOptions o;
    o.vocab_size = 1000;
    o.min_frequency = 1;
    const auto tok = graft::ml::train_byte_bpe(texts, o);
    CHECK(merges_of(tok) == std::vector<std::string>{"a b", "c d", "u v", "x y"});
    CHECK(tok.vocab_size() == 3 + 256 + 4);  // training stops when no pair is left
    CHECK(tok.encode("abcd").ids == Ids{*tok.token_to_id("ab"), *tok.token_to_id("cd")});
    o.min_frequency = 3;
    CHECK(merges_of(graft::ml::train_byte_bpe(texts, o)) == std::vector<std::string>{"a b", "c d"});
}

TEST_CASE("byte BPE training is deterministic and independent of corpus order",
          "[tokenizer][bpe][train]") {
    BpeTrainerOptions o;
    o.vocab_size = 350;
    o.min_frequency = 1;
    auto texts = corpus();
    const auto a = graft::ml::train_byte_bpe(texts, o);
    const auto b = graft::ml::train_byte_bpe(texts, o);
    std::reverse(texts.begin(), texts.end());
    const auto c = graft::ml::train_byte_bpe(texts, o);
    CHECK(a.to_json() == b.to_json());
    CHECK(a.to_json() == c.to_json());
}

TEST_CASE("the heap merge for long chunks agrees with GPT-2's rescanning merge",
          "[tokenizer][bpe]") {
    const auto& m = trained().impl().bpe;
    const auto& ids = m.byte_ids;
    const std::string alphabet = "aeiouyrstlnm ";
    std::mt19937 rng(5);
    for (int t = 0; t < 200; ++t) {
        std::vector<std::int32_t> seq(1 + rng() % 120);
        for (auto& s : seq) s = ids[static_cast<unsigned char>(alphabet[rng() % alphabet.size()])];
        auto scan = seq;
        auto heap = seq;
        graft::ml::detail::bpe_merge_for_test(m, scan, false);
        graft::ml::detail::bpe_merge_for_test(m, heap, true);
        REQUIRE(scan == heap);
    }
    // A chunk long enough to take the heap path through encode.
    const std::string long_word = std::string(300, 'a') + std::string(200, 'e');
    CHECK(trained().decode(trained().encode(long_word).ids) == long_word);
}

TEST_CASE("byte BPE: special tokens in the text, template tokens and truncation",
          "[tokenizer][bpe][truncation]") {
    const auto& tok = trained();
    const auto enc = tok.encode("the end<|endoftext|>the");
    REQUIRE(enc.ids.size() >= 3);
    CHECK(std::count(enc.ids.begin(), enc.ids.end(), 0) == 1);
    CHECK(tok.decode(enc.ids) == "the endthe");
    CHECK(tok.decode(enc.ids, false) == "the end<|endoftext|>the");

    CHECK(tok.num_special_tokens_to_add() == 0);
    const auto cut = tok.encode_for_model("the movie was really good and the film", 3);
    CHECK(cut.size() == 3);
    CHECK(cut.truncated());

    BpeTrainerOptions o;
    o.vocab_size = 300;
    o.cls_token = "<|cls|>";
    o.sep_token = "<|sep|>";
    const auto with_cls = graft::ml::train_byte_bpe(corpus(), o);
    CHECK(with_cls.num_special_tokens_to_add() == 2);
    const auto e = with_cls.encode_for_model("the movie", 16);
    CHECK(e.ids.front() == *with_cls.cls_id());
    CHECK(e.ids.back() == *with_cls.sep_id());
    CHECK(with_cls.decode(e.ids) == "the movie");
    const auto pair = with_cls.encode_pair("the", "movie", 0);
    CHECK(pair.type_ids.back() == 1);
    CHECK(with_cls.decode(pair.ids) == "themovie");
}

TEST_CASE("byte BPE training rejects impossible options", "[tokenizer][bpe][train]") {
    BpeTrainerOptions o;
    o.vocab_size = 100;
    REQUIRE_THROWS_WITH(graft::ml::train_byte_bpe(corpus(), o), Contains("256 byte symbols"));
    o.vocab_size = 1000;
    o.cls_token = "<|cls|>";
    REQUIRE_THROWS_WITH(graft::ml::train_byte_bpe(corpus(), o),
                        Contains("cls_token and sep_token"));
    o.cls_token.clear();
    o.special_tokens = {"a"};  // collides with the byte symbol for 'a'
    REQUIRE_THROWS_WITH(graft::ml::train_byte_bpe(corpus(), o), Contains("collides"));
}

TEST_CASE("encode_batch equals encode_for_model one by one, on several threads",
          "[tokenizer][bpe]") {
    const auto& tok = trained();
    const auto texts = corpus();
    std::vector<std::string_view> views(texts.begin(), texts.begin() + 100);
    const auto batch = tok.encode_batch(views, 12, true, 3);
    REQUIRE(batch.size() == views.size());
    for (std::size_t i = 0; i < views.size(); ++i)
        REQUIRE(batch[i].ids == tok.encode_for_model(views[i], 12).ids);
}

TEST_CASE("the per-thread chunk cache never mixes up two tokenizers", "[tokenizer][bpe]") {
    BpeTrainerOptions o;
    o.vocab_size = 400;
    o.min_frequency = 1;
    o.special_tokens = {"<|endoftext|>", "<|extra|>"};  // shifts every id by one
    const auto other = graft::ml::train_byte_bpe(corpus(), o);
    const std::string text = "the movie was really good";
    for (int round = 0; round < 3; ++round) {
        const auto a = trained().encode(text).ids;
        const auto b = other.encode(text).ids;
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(b[i] == a[i] + 1);
    }
}
