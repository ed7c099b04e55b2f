#include "byte_size.h"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

namespace sluice {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

TEST_CASE("a byte size takes every unit as a power of 1024, in each of its spellings") {
  struct Case {
    const char* text;
    uint64_t bytes;
  };
  const Case cases[] = {
      {"0", 0},
      {"1", 1},
      {"1048576", 1048576},
      {"007", 7},
      {"100B", 100},
      {"1K", 1024},
      {"1k", 1024},
      {"1KiB", 1024},
      {"500K", 500 * 1024},
      {"1M", 1 << 20},
      {"1m", 1 << 20},
      {"1MiB", 1 << 20},
      {"10M", 10 << 20},
      {"1G", uint64_t{1} << 30},
      {"1g", uint64_t{1} << 30},
      {"1GiB", uint64_t{1} << 30},
      {"1T", uint64_t{1} << 40},
      {"1t", uint64_t{1} << 40},
      {"1TiB", uint64_t{1} << 40},
      {"16777215T", kMax - (uint64_t{1} << 40) + 1},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    Result<uint64_t> bytes = ParseByteSize(c.text);
    INFO(bytes.status().ToString());
    REQUIRE(bytes.ok());
    CHECK(*bytes == c.bytes);
  }
}

TEST_CASE("a fraction with a unit is rounded down to whole bytes") {
  CHECK(*ParseByteSize("1.5K") == 1536);
  CHECK(*ParseByteSize("0.5M") == 524288);
  CHECK(*ParseByteSize("4.7G") == 5046586572);  // 5046586572.8
  CHECK(*ParseByteSize("4.7GiB") == 5046586572);
  CHECK(*ParseByteSize("0.001K") == 1);   // 1.024
  CHECK(*ParseByteSize("0.0009K") == 0);  // 0.9216
  CHECK(*ParseByteSize("1.000000000000000001T") == uint64_t{1} << 40);
}

TEST_CASE("a byte size at the top of 64 bits is taken, one past it is refused") {
  CHECK(*ParseByteSize("18446744073709551615") == kMax);
  CHECK(*ParseByteSize("16777215.99999999999T") == kMax - 10);  // 2^40 * 1e-11 is 10.99...
  for (const char* text : {"18446744073709551616", "99999999999999999999999999", "16777216T",
                           "17179869184G", "16777216.0T"}) {
    CAPTURE(text);
    Result<uint64_t> bytes = ParseByteSize(text);
    REQUIRE_FALSE(bytes.ok());
    CHECK(bytes.status().kind() == ErrorKind::kInvalidArgument);
    CHECK(bytes.status().message() == "'" + std::string(text) +
                                          "' is too large; a size is at most "
                                          "18446744073709551615 bytes (16 EiB - 1)");
  }
}

TEST_CASE("a byte size refuses what is not one, saying why") {
  struct Case {
    const char* text;
    const char* message;  // the start of it
  };
  const Case cases[] = {
      {"", "an empty size"},
      {"-1", "'-1' is negative"},
      {"-1M", "'-1M' is negative"},
      {"+1", "'+1' is not a size"},
      {"M", "'M' is not a size"},
      {"abc", "'abc' is not a size"},
      {" 1", "' 1' is not a size"},
      {".5M", "'.5M' is not a size"},
      {"1.", "'1.' is not a size"},
      {"1.M", "'1.M' is not a size"},
      {"1 M", "'1 M' has an unknown unit ' M'"},
      {"1M ", "'1M ' has an unknown unit 'M '"},
      {"10MB", "'10MB' has an unknown unit 'MB'"},
      {"10KB", "'10KB' has an unknown unit 'KB'"},
      {"10mib", "'10mib' has an unknown unit 'mib'"},
      {"1P", "'1P' has an unknown unit 'P'"},
      {"1e6", "'1e6' has an unknown unit 'e6'"},
      {"0x10", "'0x10' has an unknown unit 'x10'"},
      {"1,5M", "'1,5M' has an unknown unit ',5M'"},
      {"1.2.3M", "'1.2.3M' has an unknown unit '.3M'"},
      {"1.5", "'1.5' is a fraction of a byte"},
      {"1.5B", "'1.5B' is a fraction of a byte"},
      {"1.0000000000000000001G", "'1.0000000000000000001G' has more than 18 decimals"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    Result<uint64_t> bytes = ParseByteSize(c.text);
    REQUIRE_FALSE(bytes.ok());
    CHECK(bytes.status().kind() == ErrorKind::kInvalidArgument);
    CHECK_THAT(bytes.status().message(), Catch::StartsWith(c.message));
  }
  // The grammar comes with it, once.
  CHECK_THAT(ParseByteSize("10MB").status().message(),
             Catch::EndsWith("expected a number of bytes with an optional unit K, M, G or T "
                             "(powers of 1024; also k, m, g, t and KiB, MiB, GiB, TiB), e.g. "
                             "1048576, 500K, 10M or 1.5G"));
}

}  // namespace
}  // namespace sluice
