// WordPiece: encoding rules on a hand-made vocabulary, the model template, training.
#include "ml/tokenizer/text_pipeline.hpp"
#include "ml/tokenizer/tokenizer.hpp"
#include "test_corpus.hpp"

#include <catch2/catch.hpp>

#include <set>

using Catch::Matchers::Contains;
using graft::ml::Encoding;
using graft::ml::Offset;
using graft::ml::Tokenizer;
using graft::ml::TokenizerError;
using graft::ml::WordPieceTrainerOptions;
using Ids = std::vector<std::int32_t>;

namespace {

// A BERT-like tokenizer.json written by hand (as Hugging Face's library would save it).
const char* const kBertJson = R"({
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false,
     "normalized": false, "special": true},
    {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false,
     "normalized": false, "special": true},
    {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false,
     "normalized": false, "special": true},
    {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false,
     "normalized": false, "special": true},
    {"id": 4, "content": "[MASK]", "single_word": false, "lstrip": false, "rstrip": false,
     "normalized": false, "special": true}
  ],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                 "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 12,
            "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "un": 5,
                      "##aff": 6, "##able": 7, "hello": 8, ",": 9, "world": 10, "!": 11,
                      "##s": 12, "a": 13, "##b": 14, "ab": 15, "cafe": 16, "'": 17, "s": 18}}
})";

const Tokenizer& bert() {
    static const Tokenizer tok = Tokenizer::from_json(kBertJson, "bert-test.json");
    return tok;
}

std::vector<std::string> corpus() {
    return graft::testing::synthetic_corpus(400);
}

}  // namespace

TEST_CASE("WordPiece splits words greedily into the longest vocabulary pieces",
          "[tokenizer][wordpiece]") {
    const auto enc = bert().encode("unaffable");
    CHECK(enc.ids == Ids{5, 6, 7});
    CHECK(enc.offsets == std::vector<Offset>{{0, 2}, {2, 5}, {5, 9}});
    CHECK(bert().encode("Hello, WORLDS!").ids == Ids{8, 9, 10, 12, 11});
    CHECK(bert().encode("").ids.empty());
}

TEST_CASE("WordPiece gives one [UNK] for a word it cannot cover, without backtracking",
          "[tokenizer][wordpiece]") {
    // "abc": the longest prefix "ab" leaves "##c", which is not in the vocabulary, and BERT's
    // rule does not go back to try "a" + "##bc": the whole word is [UNK].
    const auto enc = bert().encode("hello abc world");
    CHECK(enc.ids == Ids{8, 1, 10});
    CHECK(enc.offsets[1] == Offset{6, 9});
    // Longer than max_input_chars_per_word (12).
    CHECK(bert().encode("unaffableunaffable").ids == Ids{1});
}

TEST_CASE("WordPiece offsets point into the original text through normalization",
          "[tokenizer][wordpiece]") {
    const std::string text = "  CAF\xc3\x89, hello";  // "  CAFÉ, hello"
    const auto enc = bert().encode(text);
    REQUIRE(enc.ids == Ids{16, 9, 8});
    CHECK(enc.offsets[0] == Offset{2, 7});
    CHECK(enc.offsets[1] == Offset{7, 8});
    CHECK(enc.offsets[2] == Offset{9, 14});
}

TEST_CASE("special tokens written in the text are recognised", "[tokenizer][wordpiece]") {
    const auto enc = bert().encode("hello [MASK] world");
    CHECK(enc.ids == Ids{8, 4, 10});
    CHECK(enc.special_mask == std::vector<std::uint8_t>{0, 1, 0});
    CHECK(enc.offsets[1] == Offset{6, 12});
    // Lowercase "[mask]" is ordinary text.
    CHECK(bert().encode("[mask]").ids != Ids{4});
}

TEST_CASE("encode_for_model adds [CLS] and [SEP] and truncates to max_len",
          "[tokenizer][wordpiece][truncation]") {
    const auto& tok = bert();
    CHECK(tok.cls_id() == 2);
    CHECK(tok.sep_id() == 3);
    CHECK(tok.pad_id() == 0);
    CHECK(tok.mask_id() == 4);
    CHECK(tok.unk_id() == 1);
    CHECK(tok.num_special_tokens_to_add() == 2);

    const auto full = tok.encode_for_model("hello world hello world", 0);
    CHECK(full.ids == Ids{2, 8, 10, 8, 10, 3});
    CHECK_FALSE(full.truncated());
    CHECK(full.special_mask == std::vector<std::uint8_t>{1, 0, 0, 0, 0, 1});

    const auto cut = tok.encode_for_model("hello world hello world", 4);
    CHECK(cut.ids == Ids{2, 8, 10, 3});
    CHECK(cut.truncated());
    CHECK(cut.truncated_tokens == 2);

    const auto exact = tok.encode_for_model("hello world", 4);
    CHECK(exact.ids == Ids{2, 8, 10, 3});
    CHECK_FALSE(exact.truncated());

    CHECK(tok.encode_for_model("hello world", 3, false).ids == Ids{8, 10});
    REQUIRE_THROWS_WITH(tok.encode_for_model("hello", 1), Contains("max_len 1"));
}

TEST_CASE("encode_for_model keeps the head, the tail or both ends of a long text",
          "[tokenizer][wordpiece][truncation]") {
    using graft::ml::Truncation;
    const auto& tok = bert();
    // 10 content tokens: hello(8) world(10) a(13) ab(15) cafe(16) s(18) hello world a ab
    const std::string text = "hello world a ab cafe s hello world a ab";
    const auto full = tok.encode_for_model(text, 0);
    REQUIRE(full.ids == Ids{2, 8, 10, 13, 15, 16, 18, 8, 10, 13, 15, 3});

    // max_len 10: room for 8 of the 10.
    const auto head = tok.encode_for_model(text, 10, true, Truncation::head);
    CHECK(head.ids == Ids{2, 8, 10, 13, 15, 16, 18, 8, 10, 3});
    const auto tail = tok.encode_for_model(text, 10, true, Truncation::tail);
    CHECK(tail.ids == Ids{2, 13, 15, 16, 18, 8, 10, 13, 15, 3});
    // head_tail: a quarter of the room (2) from the front, the rest (6) from the back.
    const auto both = tok.encode_for_model(text, 10, true, Truncation::head_tail);
    CHECK(both.ids == Ids{2, 8, 10, 16, 18, 8, 10, 13, 15, 3});
    for (const auto* e : {&head, &tail, &both}) {
        CHECK(e->truncated_tokens == 2);
        CHECK(e->special_mask == std::vector<std::uint8_t>{1, 0, 0, 0, 0, 0, 0, 0, 0, 1});
        CHECK(e->offsets.size() == e->ids.size());
        CHECK(e->type_ids.size() == e->ids.size());
    }
    // Offsets still point at the kept words: the tail's first content token is the first "a".
    CHECK(tail.offsets[1].begin == text.find(" a ") + 1);
    CHECK(both.offsets[3].begin == text.find("cafe"));
    // A text that fits is the same whatever the truncation.
    for (auto t : {Truncation::head, Truncation::tail, Truncation::head_tail})
        CHECK(tok.encode_for_model(text, 12, true, t).ids == full.ids);
    // Without the template the whole max_len is room: tail keeps the last 3.
    CHECK(tok.encode_for_model(text, 3, false, Truncation::tail).ids == Ids{10, 13, 15});
    // encode_batch passes it through.
    const auto batch = tok.encode_batch({text, "hello"}, 10, true, 2, Truncation::tail);
    CHECK(batch[0].ids == tail.ids);
    CHECK(batch[1].ids == Ids{2, 8, 3});

    for (auto t : {Truncation::head, Truncation::tail, Truncation::head_tail})
        CHECK(graft::ml::truncation_from_string(graft::ml::to_string(t)) == t);
    CHECK_FALSE(graft::ml::truncation_from_string("middle").has_value());
}

TEST_CASE("encode_pair builds [CLS] a [SEP] b [SEP] and truncates the longer text first",
          "[tokenizer][wordpiece][truncation]") {
    const auto& tok = bert();
    const auto enc = tok.encode_pair("hello world", "world", 0);
    CHECK(enc.ids == Ids{2, 8, 10, 3, 10, 3});
    CHECK(enc.type_ids == std::vector<std::uint8_t>{0, 0, 0, 0, 1, 1});
    const auto cut = tok.encode_pair("hello world hello world", "world hello", 7);
    // 4 content tokens fit: a keeps 2, b keeps 2.
    CHECK(cut.ids == Ids{2, 8, 10, 3, 10, 8, 3});
    CHECK(cut.truncated_tokens == 2);
}

TEST_CASE("WordPiece decoding glues ## pieces, drops specials and cleans punctuation",
          "[tokenizer][wordpiece][decode]") {
    const auto& tok = bert();
    CHECK(tok.decode(Ids{2, 5, 6, 7, 9, 8, 12, 11, 3}) == "unaffable, hellos!");
    CHECK(tok.decode(Ids{2, 8, 3}, false) == "[CLS] hello [SEP]");
    REQUIRE_THROWS_WITH(tok.decode(Ids{8, 99}), Contains("id 99"));
    REQUIRE_THROWS_AS(tok.decode(Ids{-1}), TokenizerError);
}

TEST_CASE("trained WordPiece: specials get ids 0..k-1 and the vocabulary has vocab_size tokens",
          "[tokenizer][wordpiece][train]") {
    WordPieceTrainerOptions o;
    o.vocab_size = 150;
    o.min_frequency = 1;
    const auto tok = graft::ml::train_wordpiece(corpus(), o);
    CHECK(tok.vocab_size() == 150);
    const std::vector<std::string> specials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (std::size_t i = 0; i < specials.size(); ++i) {
        CHECK(tok.id_to_token(static_cast<std::int32_t>(i)) == specials[i]);
        CHECK(tok.is_special(static_cast<std::int32_t>(i)));
    }
    CHECK(tok.special_tokens() == specials);
    CHECK(tok.pad_id() == 0);
    CHECK(tok.unk_id() == 1);
    CHECK(tok.cls_id() == 2);
    CHECK(tok.sep_id() == 3);
    CHECK(tok.mask_id() == 4);
    CHECK_FALSE(tok.eos_id());
    // Frequent whole words became single tokens; continuation pieces exist.
    CHECK(tok.encode("movie").ids.size() == 1);
    CHECK(tok.token_to_id("##s"));
    CHECK(tok.describe() == "WordPiece, 150 tokens, lowercase");
}

TEST_CASE("trained WordPiece round-trips text up to normalization",
          "[tokenizer][wordpiece][train]") {
    WordPieceTrainerOptions o;
    o.vocab_size = 200;
    o.min_frequency = 1;
    const auto texts = corpus();
    const auto tok = graft::ml::train_wordpiece(texts, o);
    graft::ml::detail::Normalizer n;
    n.steps.emplace_back();
    for (std::size_t i = 0; i < 50; ++i) {
        const auto enc = tok.encode(texts[i]);
        for (auto id : enc.ids) REQUIRE(id != *tok.unk_id());
        // Expected: the normalized words joined by single spaces, punctuation cleaned up.
        graft::ml::detail::NormalizedText nt;
        graft::ml::detail::normalize(n, texts[i], nt);
        std::vector<graft::ml::detail::Span> words;
        graft::ml::detail::split_bert(nt.text, words);
        std::string joined;
        for (const auto& w : words) {
            if (!joined.empty()) joined += ' ';
            joined.append(nt.text, w.begin, w.end - w.begin);
        }
        CHECK(tok.decode(enc.ids) == graft::ml::detail::cleanup_spaces(joined));
    }
    CHECK(tok.decode(tok.encode("The CAFÉ was Naïve!").ids) == "the cafe was naive!");
}

TEST_CASE("WordPiece training is deterministic and follows its options",
          "[tokenizer][wordpiece][train]") {
    WordPieceTrainerOptions o;
    o.vocab_size = 250;
    o.min_frequency = 1;
    const auto texts = corpus();
    const auto a = graft::ml::train_wordpiece(texts, o);
    const auto b = graft::ml::train_wordpiece(texts, o);
    CHECK(a.to_json() == b.to_json());

    // A high min_frequency stops merging early.
    o.min_frequency = 1000000;
    const auto few = graft::ml::train_wordpiece(texts, o);
    CHECK(few.vocab_size() < 250);
    CHECK(few.encode("movie").ids.size() == 5);

    // Without lowercasing, case survives; the accent is stripped only when asked.
    o.min_frequency = 1;
    o.lowercase = false;
    const auto cased = graft::ml::train_wordpiece(texts, o);
    CHECK(cased.decode(cased.encode("Café I").ids) == "Café I");
    o.strip_accents = true;
    const auto stripped = graft::ml::train_wordpiece(texts, o);
    CHECK(stripped.decode(stripped.encode("Café").ids) == "Cafe");
}

TEST_CASE("WordPiece limit_alphabet keeps the most frequent characters, others are [UNK]",
          "[tokenizer][wordpiece][train]") {
    std::vector<std::string> texts(50, "aaa bbb aab");
    texts.push_back("zq");
    WordPieceTrainerOptions o;
    o.vocab_size = 40;
    o.min_frequency = 1;
    o.limit_alphabet = 2;
    const auto tok = graft::ml::train_wordpiece(texts, o);
    CHECK_FALSE(tok.token_to_id("z"));
    const auto ids = tok.encode("zq aab").ids;
    REQUIRE(ids.size() == 2);
    CHECK(ids[0] == *tok.unk_id());
    CHECK(tok.id_to_token(ids[1]) == "aab");
}

TEST_CASE("WordPiece training rejects impossible options with a clear message",
          "[tokenizer][wordpiece][train]") {
    WordPieceTrainerOptions o;
    o.vocab_size = 10;
    REQUIRE_THROWS_WITH(graft::ml::train_wordpiece(corpus(), o),
                        Contains("vocab_size 10 is too small"));
    o.vocab_size = 100;
    o.special_tokens = {"[PAD]", "[CLS]"};
    REQUIRE_THROWS_WITH(graft::ml::train_wordpiece(corpus(), o), Contains("[UNK]"));
    o.special_tokens = {"[UNK]", "[UNK]"};
    REQUIRE_THROWS_WITH(graft::ml::train_wordpiece(corpus(), o), Contains("listed twice"));
}
