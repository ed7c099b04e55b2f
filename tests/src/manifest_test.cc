#include <catch2/catch.hpp>

#include "oci/manifest.h"
#include "oci/media_types.h"

using namespace sluice;

namespace {
const std::string kDigestA = "sha256:" + std::string(64, 'a');
const std::string kDigestB = "sha256:" + std::string(64, 'b');
}  // namespace

TEST_CASE("image manifest yields its config and layers") {
  std::string bytes = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" + kDigestA +
                      R"(","size":7},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" + kDigestB +
                      R"(","size":42}]})";
  auto m = oci::ParseManifest(bytes, "");
  REQUIRE(m.ok());
  CHECK(m->kind == oci::ManifestKind::kImage);
  REQUIRE(m->config);
  CHECK(m->config->digest.str() == kDigestA);
  CHECK(m->config->size == 7);
  REQUIRE(m->layers.size() == 1);
  CHECK(m->layers[0].size == 42);
}

TEST_CASE("index yields children with platforms; Docker list is an index too") {
  std::string bytes = R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "digest":")" + kDigestA + R"(","size":5,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]})";
  auto m = oci::ParseManifest(bytes, oci::kDockerManifestList);
  REQUIRE(m.ok());
  CHECK(m->kind == oci::ManifestKind::kIndex);
  REQUIRE(m->manifests.size() == 1);
  REQUIRE(m->manifests[0].platform);
  CHECK(m->manifests[0].platform->ToString() == "linux/arm64/v8");
}

TEST_CASE("a manifest without mediaType anywhere is told apart by its shape") {
  std::string bytes = R"({"schemaVersion":2,"manifests":[]})";
  auto m = oci::ParseManifest(bytes, "");
  REQUIRE(m.ok());
  CHECK(m->kind == oci::ManifestKind::kIndex);
}

TEST_CASE("malformed manifests are corruption, schema 1 is unsupported") {
  CHECK(oci::ParseManifest("{not json", "").status().IsCorruption());
  CHECK(oci::ParseManifest("[]", "").status().IsCorruption());
  CHECK(oci::ParseManifest(R"({"schemaVersion":2,"config":{"digest":"sha256:zz","size":1}})", "")
            .status()
            .IsCorruption());
  CHECK(oci::ParseManifest(R"({"schemaVersion":2,"config":{"digest":")" + kDigestA + R"(","size":-1}})", "")
            .status()
            .IsCorruption());
  CHECK(oci::ParseManifest(R"({"schemaVersion":1,"fsLayers":[]})", "").status().kind() ==
        ErrorKind::kUnsupported);
  CHECK(oci::ParseManifest("{}", "application/x-unknown").status().kind() ==
        ErrorKind::kUnsupported);
}

TEST_CASE("deeply nested JSON is refused before parsing") {
  std::string deep = "{\"a\":" + std::string(10000, '[') + std::string(10000, ']') + "}";
  auto m = oci::ParseManifest(deep, "");
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().message().find("nests") != std::string::npos);
}
