// Hugging Face tokenizer.json: save -> load gives the same tokenizer; foreign files load; bad
// files fail with the key that is wrong.
#include "ml/tokenizer/tokenizer.hpp"
#include "support/temp_dir.hpp"
#include "test_corpus.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using Catch::Matchers::Contains;
using graft::ml::Tokenizer;
using graft::ml::TokenizerError;
using graft::testing::TempDir;
using nlohmann::json;
using Ids = std::vector<std::int32_t>;
namespace fs = std::filesystem;

namespace {

void check_same_encodings(const Tokenizer& a, const Tokenizer& b) {
    auto texts = graft::testing::synthetic_corpus(60, 99);
    texts.push_back("UNSEEN words: zebra quokka 👋 \xff");
    texts.push_back("[MASK] <|mask|> <|endoftext|>");
    for (const auto& t : texts) {
        const auto x = a.encode_for_model(t, 32);
        const auto y = b.encode_for_model(t, 32);
        REQUIRE(x.ids == y.ids);
        REQUIRE(x.offsets == y.offsets);
        REQUIRE(a.decode(x.ids) == b.decode(y.ids));
    }
}

json minimal_wordpiece() {
    return json::parse(R"({
      "version": "1.0",
      "added_tokens": [{"id": 0, "content": "[UNK]", "special": true},
                       {"id": 1, "content": "[CLS]", "special": true},
                       {"id": 2, "content": "[SEP]", "special": true}],
      "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"},
      "post_processor": {"type": "TemplateProcessing", "single": "[CLS] $A [SEP]",
                         "pair": "[CLS] $A [SEP] $B:1 [SEP]:1",
                         "special_tokens": {
                           "[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]},
                           "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}}},
      "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": false},
      "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100,
                "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "Hi": 3, "there": 4, "##!": 5}}
    })");
}

json minimal_bpe() {
    return json::parse(R"({
      "version": "1.0", "added_tokens": [],
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
      "decoder": {"type": "ByteLevel"},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3, "Ġab": 4},
                "merges": ["a b", "Ġ ab"]}
    })");
}

std::string load_error(const json& j) {
    try {
        Tokenizer::from_json(j.dump(), "bad.json");
    } catch (const TokenizerError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("trained WordPiece: save -> load gives identical encodings and file",
          "[tokenizer][json]") {
    graft::ml::WordPieceTrainerOptions o;
    o.vocab_size = 180;
    o.min_frequency = 1;
    const auto tok = graft::ml::train_wordpiece(graft::testing::synthetic_corpus(300), o);
    TempDir dir;
    const auto file = dir / "sub/dir/tokenizer.json";
    tok.save(file);
    CHECK(fs::directory_iterator(file.parent_path()) != fs::directory_iterator());
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(file.parent_path())) ++files;
    CHECK(files == 1);  // no temp file left behind
    const auto back = Tokenizer::load(file);
    check_same_encodings(tok, back);
    CHECK(back.to_json() == tok.to_json());
    CHECK(back.vocab_size() == tok.vocab_size());
    CHECK(back.pad_id() == tok.pad_id());
    CHECK(back.mask_id() == tok.mask_id());
    CHECK(back.cls_id() == tok.cls_id());
    CHECK(back.num_special_tokens_to_add(true) == 3);
    CHECK(Tokenizer::load(file.parent_path()).to_json() == tok.to_json());  // the directory

    // The Hugging Face shape of the file.
    const auto j = json::parse(graft::testing::read_text(file));
    CHECK(j["model"]["type"] == "WordPiece");
    CHECK(j["model"]["continuing_subword_prefix"] == "##");
    CHECK(j["normalizer"]["type"] == "BertNormalizer");
    CHECK(j["normalizer"]["lowercase"] == true);
    CHECK(j["pre_tokenizer"]["type"] == "BertPreTokenizer");
    CHECK(j["post_processor"]["type"] == "TemplateProcessing");
    CHECK(j["post_processor"]["single"][0]["SpecialToken"]["id"] == "[CLS]");
    CHECK(j["added_tokens"][4]["content"] == "[MASK]");
    CHECK(j["added_tokens"][4]["special"] == true);
    CHECK(j["model"]["vocab"]["[MASK]"] == 4);
}

TEST_CASE("trained byte BPE with custom role tokens: save -> load keeps them",
          "[tokenizer][json]") {
    graft::ml::BpeTrainerOptions o;
    o.vocab_size = 320;
    o.min_frequency = 1;
    o.pad_token = "<PAD_X>";
    o.mask_token = "<M>";
    o.cls_token = "<C>";
    o.sep_token = "<S>";
    const auto tok = graft::ml::train_byte_bpe(graft::testing::synthetic_corpus(300), o);
    TempDir dir;
    tok.save(dir / "tokenizer.json");
    const auto back = Tokenizer::load(dir / "tokenizer.json");
    check_same_encodings(tok, back);
    CHECK(back.to_json() == tok.to_json());
    CHECK(back.pad_id() == tok.token_to_id("<PAD_X>"));
    CHECK(back.mask_id() == tok.token_to_id("<M>"));
    CHECK(back.cls_id() == tok.token_to_id("<C>"));
    CHECK(back.eos_id() == 0);
    const auto j = json::parse(tok.to_json());
    CHECK(j["model"]["type"] == "BPE");
    CHECK(j["pre_tokenizer"]["type"] == "ByteLevel");
    CHECK(j["decoder"]["type"] == "ByteLevel");
    CHECK(j["model"]["merges"][0].is_string());
}

TEST_CASE("foreign tokenizer.json files load: string templates, array merges, guessed roles",
          "[tokenizer][json]") {
    const auto wp = Tokenizer::from_json(minimal_wordpiece().dump());
    CHECK(wp.encode_for_model("Hi there!", 0).ids == Ids{1, 3, 4, 5, 2});  // there ##!
    CHECK(wp.encode("Hi you").ids == Ids{3, 0});
    CHECK(wp.encode_pair("Hi", "there", 0).ids == Ids{1, 3, 2, 4, 2});
    CHECK(wp.encode_pair("Hi", "there", 0).type_ids == std::vector<std::uint8_t>{0, 0, 0, 1, 1});
    CHECK(wp.cls_id() == 1);
    CHECK(wp.sep_id() == 2);
    CHECK(wp.unk_id() == 0);
    CHECK_FALSE(wp.pad_id());

    auto bpe_json = minimal_bpe();
    const auto bpe = Tokenizer::from_json(bpe_json.dump());
    CHECK(bpe.encode("ab ab").ids == Ids{2, 4});
    bpe_json["model"]["merges"] = json::parse(R"([["a", "b"], ["Ġ", "ab"]])");
    CHECK(Tokenizer::from_json(bpe_json.dump()).encode("ab ab").ids == Ids{2, 4});
    // add_prefix_space adds the space GPT-2-style models expect before the first word.
    bpe_json["pre_tokenizer"]["add_prefix_space"] = true;
    const auto prefixed = Tokenizer::from_json(bpe_json.dump());
    const auto enc = prefixed.encode("ab");
    CHECK(enc.ids == Ids{4});
    CHECK(enc.offsets[0] == graft::ml::Offset{0, 2});
}

TEST_CASE("malformed tokenizer.json files fail naming the key", "[tokenizer][json][errors]") {
    CHECK_THAT(load_error(json("not an object")),
               Contains("bad.json") && Contains("expected an object"));
    REQUIRE_THROWS_WITH(Tokenizer::from_json("{oops", "bad.json"),
                        Contains("bad.json: not valid JSON"));
    CHECK_THAT(load_error(json::object()), Contains("bad.json: model: missing"));

    auto j = minimal_wordpiece();
    j["model"]["type"] = "Unigram";
    CHECK_THAT(load_error(j), Contains("model.type: 'Unigram' is not supported"));
    j = minimal_wordpiece();
    j["version"] = "2.0";
    CHECK_THAT(load_error(j), Contains("version"));
    j = minimal_wordpiece();
    j["model"]["vocab"] = json::array({"a"});
    CHECK_THAT(load_error(j), Contains("model.vocab: expected an object"));
    j = minimal_wordpiece();
    j["model"]["vocab"]["dup"] = 3;
    CHECK_THAT(load_error(j), Contains("share id 3"));
    j = minimal_wordpiece();
    j["model"]["unk_token"] = "<unk>";
    CHECK_THAT(load_error(j), Contains("'<unk>' (model.unk_token) is not in model.vocab"));
    j = minimal_wordpiece();
    j["model"]["max_input_chars_per_word"] = "many";
    CHECK_THAT(load_error(j), Contains("model.max_input_chars_per_word: expected an integer"));
    j = minimal_wordpiece();
    j["normalizer"] = {{"type", "NFKC"}};
    CHECK_THAT(load_error(j), Contains("normalizer.type: normalizer 'NFKC' is not supported"));
    j = minimal_wordpiece();
    j["pre_tokenizer"] = {{"type", "Metaspace"}};
    CHECK_THAT(load_error(j), Contains("pre_tokenizer.type"));
    j = minimal_wordpiece();
    j["added_tokens"][1]["id"] = 4;
    CHECK_THAT(load_error(j),
               Contains("added token '[CLS]' has id 4, which model.vocab gives to 'there'"));
    j = minimal_wordpiece();
    j["post_processor"]["single"] = "[BOS] $A";
    CHECK_THAT(load_error(j),
               Contains("'[BOS]', which is missing from post_processor.special_tokens"));

    auto b = minimal_bpe();
    b["pre_tokenizer"] = nullptr;
    CHECK_THAT(load_error(b),
               Contains("pre_tokenizer: model.type \"BPE\" is supported only with a ByteLevel"));
    b = minimal_bpe();
    b["model"]["merges"] = json::array({"a c"});
    CHECK_THAT(load_error(b), Contains("model.merges[0]: 'c' is not in model.vocab"));
    b = minimal_bpe();
    b["model"]["merges"] = json::array({"ab"});
    CHECK_THAT(load_error(b), Contains("model.merges[0]: 'ab' is not two tokens"));
    b = minimal_bpe();
    b["model"]["vocab"].erase("ab");
    b["model"]["vocab"]["Ġab"] = 2;
    b["model"]["merges"] = json::array({"a b"});
    CHECK_THAT(load_error(b), Contains("makes 'ab', which is not in the vocabulary"));
    b = minimal_bpe();
    b["model"]["end_of_word_suffix"] = "</w>";
    CHECK_THAT(load_error(b), Contains("model.end_of_word_suffix"));

    TempDir dir;
    REQUIRE_THROWS_WITH(Tokenizer::load(dir / "missing.json"),
                        Contains("missing.json") && Contains("no such file"));
}

TEST_CASE("added tokens honour lstrip, rstrip and single_word", "[tokenizer][json]") {
    auto j = minimal_bpe();
    j["added_tokens"] = json::parse(R"([
        {"id": 5, "content": "<mask>", "lstrip": true, "special": true},
        {"id": 6, "content": "<x>", "rstrip": true, "single_word": true, "special": false}])");
    const auto tok = Tokenizer::from_json(j.dump());
    const auto enc = tok.encode("ab <mask>");
    CHECK(enc.ids == Ids{2, 5});  // the space went into <mask>
    CHECK(enc.offsets[1] == graft::ml::Offset{2, 9});
    CHECK(tok.encode("<x> ab").ids == Ids{6, 2});  // rstrip took the space: "ab", not " ab"
    CHECK(tok.encode("ab<x>").ids != Ids{2, 6});   // not a word of its own
    CHECK(tok.decode(Ids{2, 6, 4}) == "ab<x> ab");  // non-special: kept when decoding
    CHECK(tok.decode(Ids{2, 5}) == "ab");
}
