#include "reference/reference.h"

#include <catch2/catch.hpp>

namespace sluice {
namespace {

const std::string kHex(64, 'a');

Reference MustParse(std::string_view text) {
  auto ref = ParseReference(text);
  INFO(text << ": " << ref.status().ToString());
  REQUIRE(ref.ok());
  return *ref;
}

std::string ParseError(std::string_view text) {
  auto ref = ParseReference(text);
  INFO(text);
  REQUIRE_FALSE(ref.ok());
  CHECK(ref.status().kind() == ErrorKind::kInvalidArgument);
  return ref.status().message();
}

TEST_CASE("a single-component name is a docker.io library image") {
  Reference ref = MustParse("docker://alpine");
  CHECK(ref.host == "docker.io");
  CHECK(ref.repository == "library/alpine");
  CHECK(ref.tag.empty());
  CHECK(ref.digest.empty());
  CHECK(ref.Endpoint() == "registry-1.docker.io");
  CHECK(ref.ToString() == "docker.io/library/alpine");
}

TEST_CASE("a two-component name without a dot is a docker.io namespace") {
  Reference ref = MustParse("docker://coderenvs/x:1");
  CHECK(ref.host == "docker.io");
  CHECK(ref.repository == "coderenvs/x");
  CHECK(ref.tag == "1");
}

TEST_CASE("docker.io and index.docker.io names get library/ and the Hub endpoint") {
  CHECK(MustParse("docker.io/alpine:3.19").repository == "library/alpine");
  Reference ref = MustParse("index.docker.io/nginx");
  CHECK(ref.host == "docker.io");
  CHECK(ref.repository == "library/nginx");
  CHECK(MustParse("docker.io/bitnami/redis").repository == "bitnami/redis");
}

TEST_CASE("a first component with a dot, a port or localhost is the host") {
  Reference a = MustParse("docker://quay.io/coreos/etcd:v3.5");
  CHECK(a.host == "quay.io");
  CHECK(a.repository == "coreos/etcd");
  CHECK(a.tag == "v3.5");
  CHECK(a.Endpoint() == "quay.io");

  Reference b = MustParse("docker://127.0.0.1:5000/repo:tag");
  CHECK(b.host == "127.0.0.1:5000");
  CHECK(b.repository == "repo");  // no library/ outside docker.io
  CHECK(b.tag == "tag");

  Reference c = MustParse("localhost/a/b/c");
  CHECK(c.host == "localhost");
  CHECK(c.repository == "a/b/c");

  Reference d = MustParse("docker://[::1]:5000/x:y");
  CHECK(d.host == "[::1]:5000");
  CHECK(d.repository == "x");
}

TEST_CASE("the bare form without docker:// parses the same") {
  CHECK(MustParse("registry.example.com:8443/team/app:1.2.3").ToString() ==
        MustParse("docker://registry.example.com:8443/team/app:1.2.3").ToString());
}

TEST_CASE("a digest pins the reference, with or without a tag") {
  Reference a = MustParse("docker://127.0.0.1:5000/repo@sha256:" + kHex);
  CHECK(a.tag.empty());
  CHECK(a.digest.str() == "sha256:" + kHex);
  CHECK(a.ManifestReference() == "sha256:" + kHex);

  Reference b = MustParse("docker://127.0.0.1:5000/repo:v1@sha256:" + kHex);
  CHECK(b.tag == "v1");
  CHECK(b.ManifestReference() == "sha256:" + kHex);
  CHECK(b.ToString() == "127.0.0.1:5000/repo:v1@sha256:" + kHex);
}

TEST_CASE("a host alone names every repository of the registry") {
  for (std::string text : {"docker://quay.io", "docker://127.0.0.1:5000", "localhost:5000",
                           "docker://localhost", "docker://my-registry.local:443"}) {
    Reference ref = MustParse(text);
    CHECK(ref.repository.empty());
    CHECK(ref.tag.empty());
  }
  CHECK(MustParse("docker://127.0.0.1:5000").host == "127.0.0.1:5000");
}

TEST_CASE("a registry host named docker with a port is not a mistyped scheme") {
  Reference ref = MustParse("docker://docker:5000/app:1");
  CHECK(ref.host == "docker:5000");
  CHECK(ref.repository == "app");
  Reference again = MustParse(ref.ToString());
  CHECK(again.host == "docker:5000");
  CHECK(again.repository == "app");
  CHECK(again.tag == "1");
  CHECK(ParseError("docker:5000").find("docker://") != std::string::npos);
  CHECK(ParseError("docker:/app").find("docker://") != std::string::npos);
}

TEST_CASE("a tag's dots do not make a single name a host") {
  Reference ref = MustParse("alpine:3.19.1");
  CHECK(ref.host == "docker.io");
  CHECK(ref.repository == "library/alpine");
  CHECK(ref.tag == "3.19.1");
}

TEST_CASE("path components follow the distribution grammar") {
  for (std::string ok : {"a", "a0", "a.b", "a_b", "a__b", "a-b", "a---b", "a.b_c__d-e", "0"}) {
    INFO(ok);
    CHECK(IsValidPathComponent(ok));
  }
  for (std::string bad : {"", "A", "a..b", "a___b", "a._b", "-a", "a-", ".a", "a.", "_a", "a b",
                          "a/b", "a:b", "a@b", "a-.b"}) {
    INFO(bad);
    CHECK_FALSE(IsValidPathComponent(bad));
  }
}

TEST_CASE("tags follow the distribution grammar") {
  CHECK(IsValidTag("latest"));
  CHECK(IsValidTag("_x"));
  CHECK(IsValidTag("V1.2-rc_3"));
  CHECK(IsValidTag(std::string(128, 'a')));
  CHECK_FALSE(IsValidTag(std::string(129, 'a')));
  CHECK_FALSE(IsValidTag(""));
  CHECK_FALSE(IsValidTag(".x"));
  CHECK_FALSE(IsValidTag("-x"));
  CHECK_FALSE(IsValidTag("a+b"));
}

TEST_CASE("hosts are names or addresses with an optional port") {
  for (std::string ok : {"localhost", "a.b.c", "my-host.example.com:443", "127.0.0.1:5000", "[::1]",
                         "[fe80::1]:5000", "A.B"}) {
    INFO(ok);
    CHECK(IsValidHost(ok));
  }
  for (std::string bad : {"", "-a.com", "a-.com", "a..b", "host:", "host:0", "host:65536",
                          "host:abc", "[::1", "[::1]x", "a_b.com"}) {
    INFO(bad);
    CHECK_FALSE(IsValidHost(bad));
  }
}

TEST_CASE("an upper-case repository is refused, naming the component") {
  std::string msg = ParseError("docker://127.0.0.1:5000/team/MyApp:1");
  CHECK(msg.find("'MyApp'") != std::string::npos);
  CHECK(msg.find("lowercase") != std::string::npos);
}

TEST_CASE("an upper-case first component is taken as a host, as docker does") {
  Reference ref = MustParse("Registry/app");
  CHECK(ref.host == "Registry");
  CHECK(ref.repository == "app");
}

TEST_CASE("bad references are refused with the bad part named") {
  struct Case {
    std::string text;
    std::string mentions;
  };
  for (const Case& c : std::vector<Case>{
           {"docker://", "nothing after docker://"},
           {"docker:alpine", "docker://"},
           {"oci://x", "transport 'oci'"},
           {"docker://quay.io/a//b", "is empty"},
           {"docker://quay.io/a/", "is empty"},
           {"docker://quay.io/a:b:c", "'a:b'"},
           {"docker://quay.io/a:-x", "tag '-x'"},
           {"docker://quay.io/a:" + std::string(129, 't'), "tag"},
           {"docker://quay.io/a@sha256:abc", "sha256:abc"},
           {"docker://quay.io/a@md5:" + kHex, "md5"},
           {"docker://quay.io/a..b", "'a..b'"},
           {"docker://bad_host.com:5000/a", "host 'bad_host.com:5000'"},
           {"docker://quay.io:99999/a", "host 'quay.io:99999'"},
           {"docker://quay.io@sha256:" + kHex, "digest needs a repository"},
           {"docker://quay.io/" + std::string(250, 'a'), "more than 255"},
       }) {
    std::string msg = ParseError(c.text);
    INFO(c.text << " -> " << msg);
    CHECK(msg.find(c.mentions) != std::string::npos);
  }
}

TEST_CASE("a name of exactly 255 characters is accepted") {
  std::string name = "quay.io/" + std::string(255 - 8, 'a');
  REQUIRE(name.size() == 255);
  CHECK(ParseReference(name).ok());
  CHECK_FALSE(ParseReference(name + "a").ok());
}

TEST_CASE("destinations are a host and an optional prefix") {
  auto a = ParseDestination("docker://127.0.0.1:5000");
  REQUIRE(a.ok());
  CHECK(a->host == "127.0.0.1:5000");
  CHECK(a->repository.empty());

  auto b = ParseDestination("docker://registry.internal/mirror/dockerhub/");
  REQUIRE(b.ok());
  CHECK(b->host == "registry.internal");
  CHECK(b->repository == "mirror/dockerhub");

  // The first component is always the host, even without a dot.
  auto c = ParseDestination("docker://mirror");
  REQUIRE(c.ok());
  CHECK(c->host == "mirror");

  CHECK(ParseDestination("docker://h:5000/p:tag").status().message().find("no tag") !=
        std::string::npos);
  CHECK(ParseDestination("docker://h/p@sha256:" + kHex).status().message().find("no digest") !=
        std::string::npos);
  CHECK(ParseDestination("docker://h/Bad").status().message().find("'Bad'") != std::string::npos);
  CHECK_FALSE(ParseDestination("docker://").ok());
}

}  // namespace
}  // namespace sluice
