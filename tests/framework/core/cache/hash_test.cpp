#include "core/cache/hash.hpp"

#include <catch2/catch.hpp>
#include <xxhash.h>

#include <cstdio>
#include <set>
#include <string>

using graft::Digest;
using graft::Hasher;
using graft::hash_bytes;

TEST_CASE("hex of XXH3-128 is the big-endian 128-bit value", "[cache][hash]") {
    // Reference vector of the xxHash sanity checks: XXH3_128bits("") =
    // { low64 = 0x6001C324468D497F, high64 = 0x99AA06D3014798D8 }.
    CHECK(hash_bytes("").hex() == "99aa06d3014798d86001c324468d497f");

    // Cross-check on another input against the raw halves, formatted independently.
    XXH128_hash_t raw = XXH3_128bits("graft", 5);
    char expected[33];
    std::snprintf(expected, sizeof expected, "%016llx%016llx",
                  static_cast<unsigned long long>(raw.high64),
                  static_cast<unsigned long long>(raw.low64));
    CHECK(hash_bytes("graft").hex() == expected);
}

TEST_CASE("streaming hasher equals one-shot hash_bytes", "[cache][hash]") {
    std::string data(10000, 'x');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 % 251);
    Hasher h;
    h.update(std::string_view(data).substr(0, 17));
    h.update(std::string_view(data).substr(17, 5000));
    h.update(std::string_view(data).substr(5017));
    CHECK(h.finish() == hash_bytes(data));
}

TEST_CASE("from_hex round-trips and rejects malformed text", "[cache][hash]") {
    Digest d = hash_bytes("abc");
    std::string hex = d.hex();
    CHECK(hex.size() == 32);
    CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
    REQUIRE(Digest::from_hex(hex).has_value());
    CHECK(*Digest::from_hex(hex) == d);
    CHECK(d.short_hex() == hex.substr(0, 12));

    CHECK_FALSE(Digest::from_hex("").has_value());
    CHECK_FALSE(Digest::from_hex(hex.substr(0, 31)).has_value());
    CHECK_FALSE(Digest::from_hex(hex + "0").has_value());
    std::string bad = hex;
    bad[7] = 'g';
    CHECK_FALSE(Digest::from_hex(bad).has_value());
}

TEST_CASE("is_zero only for the all-zero digest", "[cache][hash]") {
    CHECK(Digest{}.is_zero());
    CHECK(Digest{}.hex() == std::string(32, '0'));
    CHECK_FALSE(hash_bytes("").is_zero());
    Digest one;
    one.bytes[15] = 1;
    CHECK_FALSE(one.is_zero());
}

TEST_CASE("digests order and compare by value", "[cache][hash]") {
    std::set<Digest> s{hash_bytes("a"), hash_bytes("b"), hash_bytes("a")};
    CHECK(s.size() == 2);
    Digest lo;
    Digest hi;
    hi.bytes[0] = 1;
    CHECK(lo < hi);
}

TEST_CASE("field boundaries are part of the digest", "[cache][hash]") {
    auto two = [](std::string_view a, std::string_view b) {
        Hasher h;
        h.field("x", a).field("y", b);
        return h.finish();
    };
    CHECK(two("ab", "c") != two("a", "bc"));

    Hasher tag_value_1;
    tag_value_1.field("ab", "c");
    Hasher tag_value_2;
    tag_value_2.field("a", "bc");
    CHECK(tag_value_1.finish() != tag_value_2.finish());

    // A field is not the plain concatenation of its parts.
    Hasher framed;
    framed.field("a", "b");
    CHECK(framed.finish() != hash_bytes("ab"));
}

TEST_CASE("integer and digest fields change with their value", "[cache][hash]") {
    auto num = [](std::uint64_t v) {
        Hasher h;
        h.field("seed", v);
        return h.finish();
    };
    CHECK(num(0) != num(1));
    CHECK(num(1) != num(1ull << 32));
    CHECK(num(7) == num(7));

    auto dig = [](const Digest& d) {
        Hasher h;
        h.field("in", d);
        return h.finish();
    };
    CHECK(dig(hash_bytes("a")) != dig(hash_bytes("b")));
}
