// Unit tests of the text plugin's header-only helpers: UTF-8, HTML stripping, CSV reading.
#include "../../../plugins/text/csv.hpp"
#include "../../../plugins/text/html.hpp"
#include "../../../plugins/text/utf8.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace graft::text;

TEST_CASE("repair_utf8 replaces each ill-formed subsequence with one U+FFFD", "[text][utf8]") {
    std::string ok = "caf\xC3\xA9 \xE2\x82\xAC";
    CHECK(repair_utf8(ok) == 0);
    CHECK(ok == "caf\xC3\xA9 \xE2\x82\xAC");

    std::string lone = "a\xFFz";  // a byte that never occurs in UTF-8
    CHECK(repair_utf8(lone) == 1);
    CHECK(lone == "a\xEF\xBF\xBDz");

    std::string truncated = "x\xE2\x82";  // euro sign missing its last byte: one maximal subpart
    CHECK(repair_utf8(truncated) == 1);
    CHECK(truncated == "x\xEF\xBF\xBD");

    std::string overlong = "\xC0\xAF";  // overlong '/': two invalid bytes
    CHECK(repair_utf8(overlong) == 2);

    std::string surrogate = "\xED\xA0\x80";  // encoded U+D800
    CHECK_FALSE(is_valid_utf8(surrogate));
    CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));
    CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
}

TEST_CASE("collapse_whitespace folds Unicode spaces and trims", "[text][utf8]") {
    CHECK(collapse_whitespace("  a \t\n b\xC2\xA0\xC2\xA0" "c\xE3\x80\x80 ") == "a b c");
    CHECK(collapse_whitespace("\xE2\x80\x83") == "");  // em space only
    CHECK(collapse_whitespace("no-space") == "no-space");
    CHECK(count_code_points("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") == 4);
}

TEST_CASE("strip_html removes tags and decodes entities", "[text][html]") {
    CHECK(strip_html("a<br />b &amp; c&#39;s") == "a\nb & c's");
    CHECK(strip_html("<p>One</p><p>Two</p>") == "\nOne\n\nTwo\n");
    CHECK(strip_html("<b>bold</b>er <a href=\"x>y\">link</a>") == "bolder link");
    CHECK(strip_html("x<!-- note -->y") == "xy");
    CHECK(strip_html("<script>var a = '<b>';</script>text") == "text");
    CHECK(strip_html("&lt;b&gt; stays text") == "<b> stays text");
    CHECK(strip_html("&eacute;&mdash;&hellip;&rsquo;&nbsp;&copy;") ==
          "\xC3\xA9\xE2\x80\x94\xE2\x80\xA6\xE2\x80\x99\xC2\xA0\xC2\xA9");
    CHECK(strip_html("&#x27;&#X41;&#233;&#150;") == "'A\xC3\xA9\xE2\x80\x93");
}

TEST_CASE("strip_html keeps what is not markup", "[text][html]") {
    CHECK(strip_html("1 < 2 and 3 > 2") == "1 < 2 and 3 > 2");
    CHECK(strip_html("I <3 it") == "I <3 it");
    CHECK(strip_html("unclosed <b tag") == "unclosed <b tag");
    CHECK(strip_html("AT&T &bogus; & &;") == "AT&T &bogus; & &;");
    CHECK(strip_html("&#0; &#xD800; &#1114112;") == "\xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD");
    CHECK(decode_html_entities("<i>&quot;</i>") == "<i>\"</i>");
}

namespace {
std::vector<std::vector<std::string>> read_all(const std::string& text, char delim) {
    std::istringstream in(text);
    CsvReader reader(in, delim);
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> fields;
    while (reader.next(fields)) records.push_back(fields);
    return records;
}
}  // namespace

TEST_CASE("CsvReader follows RFC 4180 quoting", "[text][csv]") {
    const auto r = read_all("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"multi\nline\",\n", ',');
    REQUIRE(r.size() == 3);
    CHECK(r[0] == std::vector<std::string>{"a", "b"});
    CHECK(r[1] == std::vector<std::string>{"x, y", "say \"hi\""});
    CHECK(r[2] == std::vector<std::string>{"multi\nline", ""});
}

TEST_CASE("CsvReader tracks record lines, skips blank lines and a BOM", "[text][csv]") {
    std::istringstream in("\xEF\xBB\xBFh1\th2\n\n\"a\nb\"\tc\nd\te");
    CsvReader reader(in, '\t');
    std::vector<std::string> f;
    REQUIRE(reader.next(f));
    CHECK(f == std::vector<std::string>{"h1", "h2"});
    REQUIRE(reader.next(f));
    CHECK(reader.record_line() == 3);
    CHECK(f == std::vector<std::string>{"a\nb", "c"});
    REQUIRE(reader.next(f));
    CHECK(reader.record_line() == 5);
    CHECK(f == std::vector<std::string>{"d", "e"});
    CHECK_FALSE(reader.next(f));
}

TEST_CASE("CsvReader reports malformed quoting with its line", "[text][csv]") {
    try {
        read_all("a\n\"never\nclosed\n", ',');
        FAIL("expected a CsvError");
    } catch (const CsvError& e) {
        CHECK(e.line() == 2);
        CHECK(std::string(e.what()).find("never closed") != std::string::npos);
    }
    try {
        read_all("a\nb\n\"x\"y,z\n", ',');
        FAIL("expected a CsvError");
    } catch (const CsvError& e) {
        CHECK(e.line() == 3);
        CHECK(std::string(e.what()).find("after the closing quote") != std::string::npos);
    }
}

TEST_CASE("trim_space and is_all_space know Unicode whitespace", "[text][utf8]") {
    CHECK(trim_space("  a b \t\n") == "a b");
    CHECK(trim_space("\xC2\xA0x\xE3\x80\x80") == "x");  // NBSP, ideographic space
    CHECK(trim_space("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(trim_space(" \t ").empty());
    CHECK(trim_space("").empty());
    CHECK(is_all_space(" \t\r\n\xC2\xA0"));
    CHECK(is_all_space(""));
    CHECK_FALSE(is_all_space(" x "));
    CHECK_FALSE(is_all_space("\xC3\xA9"));
}
