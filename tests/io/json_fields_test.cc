#include "io/json_fields.h"

#include <catch2/catch.hpp>
#include <string>

namespace sluice::io {
namespace {

JsonDocument Parse(std::string_view text) {
  auto doc = ParseJson(text, "ledger /srv/a.ledger");
  REQUIRE(doc.ok());
  return std::move(doc).value();
}

// The message of a failed result, which must be corruption.
template <typename T>
std::string Error(const Result<T>& r) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().kind() == ErrorKind::kCorruption);
  return r.status().message();
}

TEST_CASE("json getters read required fields of every type") {
  JsonDocument doc = Parse(R"({"s":"x","u":7,"b":true,"o":{"k":1},"a":[1,2]})");
  JsonField root = doc.root();
  CHECK(*root.String("s") == "x");
  CHECK(*root.Uint("u") == 7);
  CHECK(*root.Bool("b") == true);
  CHECK(root.Object("o")->path() == "o");
  CHECK(root.Array("a")->Elements()->size() == 2);
  CHECK(*root.Object("o")->Uint("k") == 1);
}

TEST_CASE("json getter errors name the document, the field and expected versus found") {
  JsonDocument doc = Parse(R"({"format":1,"blobs":[{"digest":"a"},{"digest":5}]})");
  JsonField root = doc.root();
  CHECK(Error(root.String("format")) ==
        "ledger /srv/a.ledger: format is a number, expected a string");
  auto blobs = root.Array("blobs")->Elements();
  REQUIRE(blobs.ok());
  CHECK(Error((*blobs)[1].String("digest")) ==
        "ledger /srv/a.ledger: blobs[1].digest is a number, expected a string");
  CHECK(Error((*blobs)[0].Uint("size")) ==
        "ledger /srv/a.ledger: blobs[0].size is missing, expected an unsigned integer");
  CHECK(Error(root.Object("blobs")) ==
        "ledger /srv/a.ledger: blobs is an array, expected an object");
}

TEST_CASE("json unsigned getters refuse negative numbers, fractions, strings and booleans") {
  JsonDocument doc =
      Parse(R"({"neg":-1,"frac":1.5,"str":"1","bool":true,"big":18446744073709551615})");
  JsonField root = doc.root();
  CHECK(
      Error(root.Uint("neg")).ends_with("neg is a negative number, expected an unsigned integer"));
  CHECK(Error(root.Uint("frac"))
            .ends_with("frac is a number with a fraction, expected an unsigned "
                       "integer"));
  CHECK(Error(root.Uint("str")).ends_with("str is a string, expected an unsigned integer"));
  CHECK(Error(root.Uint("bool")).ends_with("bool is a boolean, expected an unsigned integer"));
  CHECK(*root.Uint("big") == UINT64_MAX);
}

TEST_CASE(
    "json optional getters give the fallback for absent or null fields, never for wrong types") {
  JsonDocument doc = Parse(R"({"n":null,"s":7,"o":[],"a":{}})");
  JsonField root = doc.root();
  CHECK(*root.StringOr("absent", "d") == "d");
  CHECK(*root.StringOr("n", "d") == "d");
  CHECK(*root.UintOr("absent", 3) == 3);
  CHECK(*root.BoolOr("n", true) == true);
  CHECK_FALSE(root.OptionalString("absent")->has_value());
  CHECK_FALSE(root.OptionalObject("n")->has_value());
  CHECK(Error(root.StringOr("s", "d")).ends_with("s is a number, expected a string"));
  CHECK(Error(root.OptionalObject("o")).ends_with("o is an array, expected an object"));
  CHECK(Error(root.OptionalArray("a")).ends_with("a is an object, expected an array"));
  CHECK(Error(root.BoolOr("s", false)).ends_with("s is a number, expected a boolean"));
}

TEST_CASE("json getters on a value that is not an object say what it is") {
  JsonDocument doc = Parse(R"([1,"x"])");
  CHECK(Error(doc.root().String("format")) ==
        "ledger /srv/a.ledger is an array, expected an object");
  auto elements = doc.root().Elements();
  REQUIRE(elements.ok());
  CHECK(Error((*elements)[0].String("k")) ==
        "ledger /srv/a.ledger: [0] is a number, expected an object");
  CHECK(Error((*elements)[1].Members()).ends_with("[1] is a string, expected an object"));
  CHECK(Error(doc.root().Members()).ends_with("is an array, expected an object"));
}

TEST_CASE("json paths quote keys that are not plain words") {
  JsonDocument doc = Parse(R"({"blobs":{"sha256:ab":"x"},"a":{"org.example.name":5}})");
  auto members = doc.root().Object("blobs")->Members();
  REQUIRE(members.ok());
  REQUIRE(members->size() == 1);
  CHECK((*members)[0].first == "sha256:ab");
  CHECK(Error((*members)[0].second.AsUint()) ==
        "ledger /srv/a.ledger: blobs[\"sha256:ab\"] is a string, expected an unsigned integer");
  CHECK(Error(doc.root().Object("a")->String("org.example.name"))
            .ends_with("a[\"org.example.name\"] is a number, expected a string"));
}

TEST_CASE("json parsing refuses text that is not JSON and documents nested too deep") {
  CHECK(Error(ParseJson("{\"a\":", "index.json of x")) == "index.json of x is not valid JSON");
  CHECK(Error(ParseJson("", "index.json of x")) == "index.json of x is not valid JSON");
  std::string deep = std::string(65, '[') + std::string(65, ']');
  CHECK(Error(ParseJson(deep, "d")) == "d nests 65 levels deep (limit 64)");
  std::string ok = std::string(64, '[') + std::string(64, ']');
  CHECK(ParseJson(ok, "d").ok());
  // Brackets inside strings do not count.
  CHECK(JsonNestingDepth(R"({"a":"[[[[\"[[["})") == 1);
}

TEST_CASE("json fields stay valid when their document is moved") {
  auto parsed = ParseJson(R"({"a":{"b":"c"}})", "doc");
  REQUIRE(parsed.ok());
  JsonField a = *parsed->root().Object("a");
  JsonDocument moved = std::move(parsed).value();
  CHECK(*a.String("b") == "c");
  CHECK(a.document() == "doc");
  CHECK(moved.name() == "doc");
}

TEST_CASE("json Invalid names the field for checks of a value's meaning") {
  JsonDocument doc = Parse(R"({"ledger_id":"zz"})");
  auto id = doc.root().Member("ledger_id");
  REQUIRE(id.ok());
  REQUIRE(id->has_value());
  CHECK((*id)->Invalid("is not hex").message() == "ledger /srv/a.ledger: ledger_id is not hex");
  CHECK(doc.root().Invalid("is odd").message() == "ledger /srv/a.ledger is odd");
}

}  // namespace
}  // namespace sluice::io
