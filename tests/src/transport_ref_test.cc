#include <catch2/catch.hpp>

#include "transport_ref.h"

using sluice::ParseTransportRef;
using sluice::Transport;

TEST_CASE("oci: ref splits the directory at the first colon, as containers/image does") {
  auto ref = ParseTransportRef("oci:/tmp/layout:library/alpine:3.19");
  REQUIRE(ref.ok());
  CHECK(ref->transport == Transport::kOciLayout);
  CHECK(ref->path == "/tmp/layout");
  CHECK(ref->name == "library/alpine:3.19");
}

TEST_CASE("oci: ref without a tag names the whole layout") {
  auto ref = ParseTransportRef("oci:relative/dir");
  REQUIRE(ref.ok());
  CHECK(ref->path == "relative/dir");
  CHECK(ref->name.empty());
}

TEST_CASE("oci: ref without a directory is refused") {
  auto ref = ParseTransportRef("oci::tag");
  REQUIRE_FALSE(ref.ok());
  CHECK(ref.status().message().find("needs a directory") != std::string::npos);
}

TEST_CASE("oci: ref with an invalid tag is refused naming the tag") {
  for (const char* bad : {"oci:d:", "oci:d:-x", "oci:d:a//b", "oci:d:a b", "oci:d:x/"}) {
    INFO(bad);
    auto ref = ParseTransportRef(bad);
    CHECK_FALSE(ref.ok());
  }
}

TEST_CASE("docker:// refs are recognised and carry the rest") {
  auto ref = ParseTransportRef("docker://127.0.0.1:5000/app:1.0");
  REQUIRE(ref.ok());
  CHECK(ref->transport == Transport::kDocker);
  CHECK(ref->name == "127.0.0.1:5000/app:1.0");
}

TEST_CASE("unknown transports are refused with the accepted forms") {
  auto ref = ParseTransportRef("dir:/x");
  REQUIRE_FALSE(ref.ok());
  CHECK(ref.status().message().find("oci:DIR") != std::string::npos);
}

TEST_CASE("OCI ref names follow the image-spec grammar") {
  using sluice::IsValidOciRefName;
  CHECK(IsValidOciRefName("1.0"));
  CHECK(IsValidOciRefName("app:1.0"));
  CHECK(IsValidOciRefName("library/alpine:3.19"));
  CHECK(IsValidOciRefName("a--b"));
  CHECK_FALSE(IsValidOciRefName(""));
  CHECK_FALSE(IsValidOciRefName(".hidden"));
  CHECK_FALSE(IsValidOciRefName("a..b/../c"));
  CHECK_FALSE(IsValidOciRefName(std::string("a\0b", 3)));
}
