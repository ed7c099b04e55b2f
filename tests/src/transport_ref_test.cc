#include <catch2/catch.hpp>

#include "reference/transport_ref.h"

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

TEST_CASE("oci-archive: ref splits the file at the first colon and keeps the tag") {
  auto ref = ParseTransportRef("oci-archive:/tmp/o.tar:library/alpine:3.19");
  REQUIRE(ref.ok());
  CHECK(ref->transport == Transport::kOciArchive);
  CHECK(ref->path == "/tmp/o.tar");
  CHECK(ref->name == "library/alpine:3.19");
  auto bare = ParseTransportRef("oci-archive:o.tar");
  REQUIRE(bare.ok());
  CHECK(bare->path == "o.tar");
  CHECK(bare->name.empty());
  CHECK_FALSE(ParseTransportRef("oci-archive:o.tar:-bad").ok());
  CHECK_FALSE(ParseTransportRef("oci-archive::t").ok());
}

TEST_CASE("docker-archive: ref takes a NAME:TAG or a source index after the file") {
  auto named = ParseTransportRef("docker-archive:a.tar:example.com:5000/team/app:1.0");
  REQUIRE(named.ok());
  CHECK(named->transport == Transport::kDockerArchive);
  CHECK(named->path == "a.tar");
  CHECK(named->name == "example.com:5000/team/app:1.0");
  auto indexed = ParseTransportRef("docker-archive:/x/a.tar:@2");
  REQUIRE(indexed.ok());
  CHECK(indexed->path == "/x/a.tar");
  CHECK(indexed->name == "@2");
  auto bare = ParseTransportRef("docker-archive:a.tar");
  REQUIRE(bare.ok());
  CHECK(bare->name.empty());
}

TEST_CASE("docker-archive: ref refuses digests, bad indexes and a missing file") {
  for (const char* bad : {"docker-archive:a.tar:app@sha256:0123", "docker-archive:a.tar:@",
                          "docker-archive:a.tar:@x1", "docker-archive:a.tar:", "docker-archive:",
                          "docker-archive::app:1"}) {
    INFO(bad);
    CHECK_FALSE(ParseTransportRef(bad).ok());
  }
}

TEST_CASE("registry-storage: ref splits the directory at the first colon, prefix optional") {
  auto ref = ParseTransportRef("registry-storage:/var/lib/registry:mirror/team");
  REQUIRE(ref.ok());
  CHECK(ref->transport == Transport::kRegistryStorage);
  CHECK(ref->path == "/var/lib/registry");
  CHECK(ref->name == "mirror/team");
  auto bare = ParseTransportRef("registry-storage:store");
  REQUIRE(bare.ok());
  CHECK(bare->path == "store");
  CHECK(bare->name.empty());
  for (const char* bad : {"registry-storage:", "registry-storage::p", "registry-storage:d:"}) {
    INFO(bad);
    auto refused = ParseTransportRef(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().message().find("registry-storage:DIR[:PREFIX]") != std::string::npos);
  }
}

TEST_CASE("helm: takes the whole rest as the chart file") {
  auto ref = ParseTransportRef("helm:/charts/my:chart-1.0.0.tgz");
  REQUIRE(ref.ok());
  CHECK(ref->transport == Transport::kHelmChart);
  CHECK(ref->path == "/charts/my:chart-1.0.0.tgz");
  CHECK(ref->name.empty());
  auto refused = ParseTransportRef("helm:");
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("helm:FILE.tgz"));
}

TEST_CASE("file: splits the file at the first colon and takes an optional tag") {
  auto tagged = ParseTransportRef("file:/etc/values.yaml:prod-1");
  REQUIRE(tagged.ok());
  CHECK(tagged->transport == Transport::kFile);
  CHECK(tagged->path == "/etc/values.yaml");
  CHECK(tagged->name == "prod-1");
  auto bare = ParseTransportRef("file:LICENSE");
  REQUIRE(bare.ok());
  CHECK(bare->path == "LICENSE");
  CHECK(bare->name.empty());
  for (const char* bad : {"file:", "file::t", "file:x:", "file:x:bad/tag", "file:x:.dot"}) {
    INFO(bad);
    auto refused = ParseTransportRef(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().kind() == sluice::ErrorKind::kInvalidArgument);
    CHECK_THAT(refused.status().message(), Catch::Contains("file:FILE[:TAG]"));
  }
}

TEST_CASE("a reference without a transport is refused with the transport it probably meant") {
  const std::pair<const char*, const char*> cases[] = {
      {"docker.io/library/alpine:3.19", "did you mean docker://docker.io/library/alpine:3.19?"},
      {"alpine", "did you mean docker://alpine?"},
      {"./layout", "did you mean oci:./layout (an OCI layout directory)?"},
      {"/srv/images", "did you mean oci:/srv/images (an OCI layout directory)?"},
      {"app.tar", "did you mean docker-archive:app.tar (docker save) or oci-archive:app.tar?"},
      {"coder-2.3.0.tgz", "did you mean helm:coder-2.3.0.tgz (a packaged Helm chart) or "
                          "file:coder-2.3.0.tgz?"},
  };
  for (const auto& [text, hint] : cases) {
    INFO(text);
    auto refused = ParseTransportRef(text);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().kind() == sluice::ErrorKind::kInvalidArgument);
    CHECK_THAT(refused.status().message(), Catch::Contains(hint));
    CHECK_THAT(refused.status().message(), Catch::Contains("expected oci:DIR[:TAG]"));
  }
  // Nothing to suggest: no hint, only what sluice knows.
  auto unclear = ParseTransportRef("http://example.com/x");
  REQUIRE_FALSE(unclear.ok());
  CHECK(unclear.status().message().find("did you mean") == std::string::npos);
}
