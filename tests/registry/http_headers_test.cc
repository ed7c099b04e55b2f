#include <catch2/catch.hpp>
#include <string>

#include "registry/http.h"

namespace sluice::registry {
namespace {

HttpHeaders With(const std::string& name, const std::string& value) {
  HttpHeaders h;
  h.Add(name, value);
  return h;
}

TEST_CASE("numeric headers read digits and are absent when not sent") {
  CHECK_FALSE(HttpHeaders().GetUint("content-length")->has_value());
  CHECK(**With("Content-Length", "1234").GetUint("content-length") == 1234);
  CHECK(**With("Content-Length", " 7 ").GetUint("content-length") == 7);
  CHECK(**With("Content-Length", "18446744073709551615").GetUint("content-length") == UINT64_MAX);
  CHECK(**With("Retry-After", "120").GetUint("retry-after", 3600) == 120);
}

TEST_CASE("junk in a numeric header is a network error naming the header and the value") {
  const char* junk[] = {"",
                        "abc",
                        "-1",
                        "+5",
                        "12abc",
                        "1.5",
                        "0x10",
                        "1 2",
                        "18446744073709551616",
                        "99999999999999999999999"};
  for (const char* value : junk) {
    CAPTURE(value);
    auto n = With("Content-Length", value).GetUint("content-length");
    REQUIRE_FALSE(n.ok());
    CHECK(n.status().kind() == ErrorKind::kNetwork);
    CHECK(n.status().message().find("content-length header of '" + std::string(value) + "'") !=
          std::string::npos);
  }
  auto big = With("Retry-After", "86400").GetUint("retry-after", 3600);
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().message().find("at most 3600") != std::string::npos);
}

}  // namespace
}  // namespace sluice::registry
