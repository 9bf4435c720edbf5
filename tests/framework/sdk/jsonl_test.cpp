// The SDK's JSONL reader: rows, blank lines, CRLF, and errors that name file, line and cause.
#include <graft/jsonl.hpp>

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using graft::sdk::find_invalid_utf8;
using graft::testing::TempDir;
using graft::testing::write_text;

TEST_CASE("find_invalid_utf8 accepts valid text and finds the first bad byte", "[sdk][jsonl]") {
    CHECK(find_invalid_utf8("plain ascii") == std::string_view::npos);
    CHECK(find_invalid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == std::string_view::npos);
    CHECK(find_invalid_utf8("ab\xff") == 2);                  // never valid
    CHECK(find_invalid_utf8("a\xc3") == 1);                   // truncated sequence
    CHECK(find_invalid_utf8("\xc0\xaf") == 0);                // overlong '/'
    CHECK(find_invalid_utf8("x\xed\xa0\x80") == 1);           // UTF-16 surrogate
    CHECK(find_invalid_utf8("\xf4\x90\x80\x80") == 0);        // past U+10FFFF
}

TEST_CASE("read_jsonl skips blank lines and strips CR", "[sdk][jsonl]") {
    TempDir dir;
    write_text(dir / "a.jsonl", "{\"text\":\"a\"}\r\n\n   \n{\"text\":\"b\",\"label\":1}\n");
    auto rows = graft::sdk::read_jsonl(dir / "a.jsonl");
    REQUIRE(rows.size() == 2);
    CHECK(rows[1]["label"] == 1);
}

TEST_CASE("read_jsonl errors name the file, the line and the cause", "[sdk][jsonl]") {
    TempDir dir;
    write_text(dir / "bad.jsonl", "{\"text\":\"ok\"}\n{\"text\":\"caf\xe9\"}\n");
    CHECK_THROWS_WITH(graft::sdk::read_jsonl(dir / "bad.jsonl"),
                      Catch::Contains("bad.jsonl:2: invalid UTF-8 at byte 13") &&
                          Catch::Contains("text.clean"));
    write_text(dir / "json.jsonl", "{\"text\":\"ok\"}\n{\"text\": }\n");
    CHECK_THROWS_WITH(graft::sdk::read_jsonl(dir / "json.jsonl"),
                      Catch::Contains("json.jsonl:2: not valid JSON"));
    write_text(dir / "arr.jsonl", "[1, 2]\n");
    CHECK_THROWS_WITH(graft::sdk::read_jsonl(dir / "arr.jsonl"),
                      Catch::Contains("arr.jsonl:1: expected a JSON object, found array"));
}
