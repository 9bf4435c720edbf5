// Normalizers and pre-tokenizers: GPT-2's pattern by hand, BERT's splitting, alignment.
#include "ml/tokenizer/text_pipeline.hpp"
#include "ml/tokenizer/unicode.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace graft::ml::detail;

namespace {

std::vector<std::string> gpt2_words(std::string_view text) {
    std::vector<Span> spans;
    split_gpt2(text, spans);
    std::vector<std::string> out;
    for (const auto& s : spans) out.emplace_back(text.substr(s.begin, s.end - s.begin));
    return out;
}

std::vector<std::string> bert_words(std::string_view text) {
    std::vector<Span> spans;
    split_bert(text, spans);
    std::vector<std::string> out;
    for (const auto& s : spans) out.emplace_back(text.substr(s.begin, s.end - s.begin));
    return out;
}

using V = std::vector<std::string>;

NormalizedText bert_normalize(std::string_view text, bool lowercase = true) {
    Normalizer n;
    NormalizerStep s;
    s.lowercase = lowercase;
    n.steps.push_back(s);
    NormalizedText out;
    normalize(n, text, out);
    return out;
}

}  // namespace

TEST_CASE("GPT-2 pre-tokenization: words keep their leading space", "[tokenizer][pretok]") {
    CHECK(gpt2_words("Hello world") == V{"Hello", " world"});
    CHECK(gpt2_words(" 123abc!!! ok") == V{" 123", "abc", "!!!", " ok"});
    CHECK(gpt2_words("hello 👋 world 🌍") == V{"hello", " 👋", " world", " 🌍"});
    CHECK(gpt2_words("naïve café") == V{"naïve", " café"});
}

TEST_CASE("GPT-2 pre-tokenization: contractions are lowercase and split off",
          "[tokenizer][pretok]") {
    CHECK(gpt2_words("I'm here's they're we've I'll he'd don't") ==
          V{"I", "'m", " here", "'s", " they", "'re", " we", "'ve", " I", "'ll", " he", "'d",
            " don", "'t"});
    // GPT-2's pattern is case-sensitive: "'T" is punctuation then a letter.
    CHECK(gpt2_words("DON'T") == V{"DON", "'", "T"});
    CHECK(gpt2_words("''s") == V{"''", "s"});
}

TEST_CASE("GPT-2 pre-tokenization: whitespace runs leave their last space to the next word",
          "[tokenizer][pretok]") {
    CHECK(gpt2_words("a  b") == V{"a", " ", " b"});
    CHECK(gpt2_words("a   b") == V{"a", "  ", " b"});
    CHECK(gpt2_words("a\n\nb") == V{"a", "\n", "\n", "b"});
    CHECK(gpt2_words("end   ") == V{"end", "   "});
    CHECK(gpt2_words("\t x") == V{"\t", " x"});
    CHECK(gpt2_words("") == V{});
}

TEST_CASE("GPT-2 pre-tokenization: the regex whitespace class is Unicode White_Space, as in OpenAI's Python",
          "[tokenizer][pretok]") {
    // Checked against Python's `regex` module with GPT-2's pattern. (npm gpt-3-encoder's JS
    // regex differs on U+0085, which JS does not count as whitespace.)
    CHECK(gpt2_words("you \xc2\x85.") == V{"you", " ", "\xc2\x85", "."});
    CHECK(gpt2_words("a \xef\xbb\xbf"
                     "b") == V{"a", " \xef\xbb\xbf", "b"});  // U+FEFF: not \s
    CHECK(gpt2_words("x\xe2\x80\xa8\xe2\x80\xa9 y") == V{"x", "\xe2\x80\xa8\xe2\x80\xa9", " y"});
    CHECK(gpt2_words("a \xc2\xa0"
                     "b") == V{"a", " ", "\xc2\xa0", "b"});  // no-break space
}

TEST_CASE("GPT-2 pre-tokenization covers every byte, invalid UTF-8 included",
          "[tokenizer][pretok]") {
    const std::string text = "a\xff\xfe b\xc3";
    CHECK(gpt2_words(text) == V{"a", "\xff\xfe", " b", "\xc3"});
    std::vector<Span> spans;
    split_gpt2(text, spans);
    std::uint32_t at = 0;
    for (const auto& s : spans) {
        CHECK(s.begin == at);
        at = s.end;
    }
    CHECK(at == text.size());
}

TEST_CASE("BERT pre-tokenization splits on whitespace and isolates punctuation",
          "[tokenizer][pretok]") {
    CHECK(bert_words("Hello, world!  It's") == V{"Hello", ",", "world", "!", "It", "'", "s"});
    CHECK(bert_words("a-b...c") == V{"a", "-", "b", ".", ".", ".", "c"});
    CHECK(bert_words(" \t\n") == V{});
}

TEST_CASE("BERT normalizer lowercases, strips accents, cleans controls and keeps alignment",
          "[tokenizer][normalize]") {
    const std::string in = "H\xc3\xa9llo\tW\x01ORLD";  // "Héllo\tW\x01ORLD"
    const auto n = bert_normalize(in);
    CHECK(n.text == "hello world");
    REQUIRE(n.src_begin.size() == n.text.size());
    // 'e' came from the two bytes of "é"; 'w' from byte 7 (after the tab).
    CHECK(n.src_begin[1] == 1);
    CHECK(n.src_end[1] == 3);
    CHECK(n.src_begin[6] == 7);
    CHECK(n.src_end[10] == in.size());
    CHECK(bert_normalize("Caf\xc3\xa9", false).text == "Caf\xc3\xa9");
}

TEST_CASE("BERT normalizer surrounds CJK ideographs with spaces", "[tokenizer][normalize]") {
    const auto n = bert_normalize("ab\xe4\xb8\xad\xe6\x96\x87");  // "ab中文"
    CHECK(n.text == "ab \xe4\xb8\xad  \xe6\x96\x87 ");
    CHECK(bert_words(n.text) == V{"ab", "\xe4\xb8\xad", "\xe6\x96\x87"});
}

TEST_CASE("invalid UTF-8 is read as U+FFFD, which BERT's cleaning drops",
          "[tokenizer][normalize]") {
    CHECK(bert_normalize("a\xff"
                         "b")
              .text == "ab");
    Normalizer lower;
    NormalizerStep s;
    s.kind = NormalizerStep::Kind::lowercase;
    lower.steps.push_back(s);
    NormalizedText out;
    normalize(lower, "A\xff", out);
    CHECK(out.text == "a\xef\xbf\xbd");
}

TEST_CASE("the byte-to-unicode map is GPT-2's", "[tokenizer][unicode]") {
    const auto& m = byte_unicode_map();
    CHECK(m.byte_to_utf8[static_cast<unsigned char>(' ')] == "\xc4\xa0");   // 'Ġ'
    CHECK(m.byte_to_utf8[static_cast<unsigned char>('\n')] == "\xc4\x8a");  // 'Ċ'
    CHECK(m.byte_to_utf8[static_cast<unsigned char>('A')] == "A");
    CHECK(m.order[0] == '!');
    std::string all;
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
    std::string back;
    REQUIRE(from_byte_level(to_byte_level(all), back));
    CHECK(back == all);
}

TEST_CASE("WordPiece decoding clean-up joins punctuation and contractions", "[tokenizer][decode]") {
    CHECK(cleanup_spaces("hello , world ! it ' s isn ' t") == "hello, world! it's isn't");
    CHECK(cleanup_spaces("they 're here .") == "they're here.");
}
