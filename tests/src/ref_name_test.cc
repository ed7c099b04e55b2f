#include "reference/ref_name.h"

#include <catch2/catch.hpp>

using namespace sluice;

TEST_CASE("ref names: a repository takes the registry grammar, none the OCI ref name grammar") {
  CHECK(CheckRefName("library/alpine", "3.19").ok());
  CHECK(CheckRefName("", "app:1.0").ok());
  CHECK(CheckRefName("", "a+b@c").ok());          // an OCI ref name, not a registry tag
  CHECK_FALSE(CheckRefName("app", "a+b").ok());   // a registry tag, not an OCI ref name
  CHECK_FALSE(CheckRefName("app", "-1").ok());
  CHECK_FALSE(CheckRefName("App", "1").ok());
  CHECK_FALSE(CheckRefName("", "../x").ok());
  CHECK_FALSE(CheckRefName("app", std::string(129, 'a')).ok());
  CHECK(CheckRefName("app", "-1").kind() == ErrorKind::kInvalidArgument);
}

TEST_CASE("ref names: an empty tag is an image pinned by digest, valid with any repository") {
  CHECK(CheckRefName("library/alpine", "").ok());
  CHECK(CheckRefName("", "").ok());
  CHECK_FALSE(CheckRefName("../x", "").ok());
  CHECK(JoinRefName("library/alpine", "") == "library/alpine");
  CHECK(JoinRefName("library/alpine", "3") == "library/alpine:3");
  CHECK(JoinRefName("", "app:1") == "app:1");
}

TEST_CASE("ref names: messages quote hostile names printably and cut long ones") {
  CHECK(QuoteName(std::string("a\0\x1b", 3)) == "'a\\x00\\x1b'");
  std::string message = CheckRefName("app", std::string(300, 't')).message();
  CHECK(message.find("(300 bytes)") != std::string::npos);
  CHECK(message.size() < 400);
}
