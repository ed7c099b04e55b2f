#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <vector>

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

// --- ambiguous documents (CVE-2021-41190) ---

namespace {

std::string Descriptor(const std::string& media_type, const std::string& digest) {
  return R"({"mediaType":")" + media_type + R"(","digest":")" + digest + R"(","size":5})";
}
// A document with the given own mediaType (none when empty) and members.
std::string Document(const std::string& own_type, const std::string& members) {
  std::string type = own_type.empty() ? "" : R"("mediaType":")" + own_type + R"(",)";
  return R"({"schemaVersion":2,)" + type + members + "}";
}
const std::string kManifests =
    R"("manifests":[)" + Descriptor(std::string(oci::kOciManifest), kDigestA) + "]";
const std::string kConfig =
    R"("config":)" + Descriptor("application/vnd.oci.image.config.v1+json", kDigestB);
const std::string kLayers =
    R"("layers":[)" + Descriptor("application/vnd.oci.image.layer.v1.tar", kDigestB) + "]";

}  // namespace

TEST_CASE("an index posing as an image manifest is refused, naming both types") {
  // Issue 9: exported as an image, its child never shipped, and the
  // registry that stored it served an index whose child was missing.
  std::string both =
      Document(std::string(oci::kOciIndex), kManifests + "," + kConfig + "," + kLayers);
  auto m = oci::ParseManifest(both, oci::kOciManifest);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().IsCorruption());
  INFO(m.status().ToString());
  CHECK(m.status().message().find(std::string(oci::kOciManifest)) != std::string::npos);
  CHECK(m.status().message().find(std::string(oci::kOciIndex)) != std::string::npos);

  // The same conflict without the image fields, and in the Docker family.
  // (declared, own, members)
  using Conflict = std::tuple<std::string_view, std::string_view, std::string>;
  const std::vector<Conflict> conflicts = {
      {oci::kOciManifest, oci::kOciIndex, kManifests},
      {oci::kDockerManifest, oci::kDockerManifestList, kManifests},
      {oci::kOciManifest, oci::kDockerManifestList, kManifests},
      {oci::kOciIndex, oci::kOciManifest, kConfig + "," + kLayers},
      {oci::kDockerManifestList, oci::kDockerManifest, kConfig + "," + kLayers},
      {oci::kOciManifest, "application/vnd.oci.artifact.manifest.v1+json", kConfig}};
  for (const auto& [declared, own, members] : conflicts) {
    INFO("declared " << declared << ", own " << own);
    auto parsed = oci::ParseManifest(Document(std::string(own), members), declared);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().IsCorruption());
    CHECK(parsed.status().message().find("declared as " + std::string(declared) +
                                         " but its mediaType is " + std::string(own)) !=
          std::string::npos);
  }
}

TEST_CASE("a document with both an index's manifests and an image's config or layers is refused") {
  for (const std::string& image_fields : {kConfig + "," + kLayers, kConfig, kLayers}) {
    std::string doc = Document("", kManifests + "," + image_fields);
    for (std::string_view declared : {std::string_view(), oci::kOciManifest, oci::kOciIndex,
                                      oci::kDockerManifest, oci::kDockerManifestList}) {
      INFO(doc << " declared '" << declared << "'");
      auto m = oci::ParseManifest(doc, declared);
      REQUIRE_FALSE(m.ok());
      CHECK(m.status().IsCorruption());
      CHECK(m.status().message().find("'manifests'") != std::string::npos);
    }
  }
  // Its own mediaType does not make it any less ambiguous.
  auto m = oci::ParseManifest(Document(std::string(oci::kOciIndex), kManifests + "," + kLayers),
                              oci::kOciIndex);
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().IsCorruption());
}

TEST_CASE("an index with config or layers, or an image manifest with manifests, is refused") {
  auto index = oci::ParseManifest(Document("", kConfig + "," + kLayers), oci::kOciIndex);
  REQUIRE_FALSE(index.ok());
  CHECK(index.status().IsCorruption());
  CHECK(index.status().message().find("'config' and 'layers'") != std::string::npos);
  auto list = oci::ParseManifest(Document(std::string(oci::kDockerManifestList), kLayers), "");
  REQUIRE_FALSE(list.ok());
  CHECK(list.status().IsCorruption());
  // Without mediaType anywhere, "manifests" is what makes an index.
  auto image = oci::ParseManifest(Document("", kManifests), oci::kDockerManifest);
  REQUIRE_FALSE(image.ok());
  CHECK(image.status().IsCorruption());
  CHECK(image.status().message().find("'manifests' of an index") != std::string::npos);
}

TEST_CASE("unambiguous documents still parse: mediaType omitted, null fields, either family") {
  const std::string image = kConfig + "," + kLayers;
  // OCI lets both the document and the descriptor omit the type.
  for (std::string_view declared : {std::string_view(), oci::kOciManifest}) {
    auto m = oci::ParseManifest(Document("", image), declared);
    REQUIRE(m.ok());
    CHECK(m->kind == oci::ManifestKind::kImage);
    CHECK(m->media_type == oci::kOciManifest);
  }
  auto index = oci::ParseManifest(Document("", kManifests), oci::kOciIndex);
  REQUIRE(index.ok());
  CHECK(index->kind == oci::ManifestKind::kIndex);
  // A null member is an absent one, as in containers/image.
  auto nulls = oci::ParseManifest(Document("", image + R"(,"manifests":null)"), oci::kOciManifest);
  REQUIRE(nulls.ok());
  CHECK(nulls->kind == oci::ManifestKind::kImage);
  // Declared and own types agreeing, as a registry's Content-Type does.
  auto docker =
      oci::ParseManifest(Document(std::string(oci::kDockerManifest), image), oci::kDockerManifest);
  REQUIRE(docker.ok());
  CHECK(docker->kind == oci::ManifestKind::kImage);
  // Docker schema 2 and OCI name the same kinds with the same fields: a list
  // declared where its own type says OCI index (or the reverse) has the same
  // children either way. The document's own type is the one a registry
  // storing it serves, so it is the effective one.
  auto oci_index = oci::ParseManifest(Document(std::string(oci::kOciIndex), kManifests),
                                      oci::kDockerManifestList);
  REQUIRE(oci_index.ok());
  CHECK(oci_index->kind == oci::ManifestKind::kIndex);
  CHECK(oci_index->media_type == oci::kOciIndex);
  auto docker_image =
      oci::ParseManifest(Document(std::string(oci::kDockerManifest), image), oci::kOciManifest);
  REQUIRE(docker_image.ok());
  CHECK(docker_image->kind == oci::ManifestKind::kImage);
  CHECK(docker_image->media_type == oci::kDockerManifest);
}

TEST_CASE("platforms parse as os/architecture with an optional variant") {
  auto p = oci::ParsePlatform("linux/arm64/v8");
  REQUIRE(p.ok());
  CHECK(p->os == "linux");
  CHECK(p->architecture == "arm64");
  CHECK(p->variant == "v8");
  CHECK(p->ToString() == "linux/arm64/v8");
  auto q = oci::ParsePlatform("unknown/unknown");
  REQUIRE(q.ok());
  CHECK(q->variant.empty());
  for (std::string bad : {"", "linux", "linux/", "/amd64", "linux//v8", "linux/arm64/v8/x",
                          "linux/amd 64", "linux/amd64/", "linux/\tamd64"}) {
    INFO(bad);
    auto r = oci::ParsePlatform(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().kind() == ErrorKind::kInvalidArgument);
  }
}

TEST_CASE("a platform without a variant matches any variant; with one, only that one") {
  oci::Platform arm64{"linux", "arm64", ""};
  oci::Platform arm64_v8{"linux", "arm64", "v8"};
  CHECK(oci::PlatformMatches(arm64, arm64_v8));
  CHECK(oci::PlatformMatches(arm64, arm64));
  CHECK(oci::PlatformMatches(arm64_v8, arm64_v8));
  CHECK_FALSE(oci::PlatformMatches(arm64_v8, arm64));
  CHECK_FALSE(oci::PlatformMatches(arm64_v8, {"linux", "arm64", "v7"}));
  CHECK_FALSE(oci::PlatformMatches(arm64, {"linux", "amd64", ""}));
  CHECK_FALSE(oci::PlatformMatches(arm64, {"windows", "arm64", ""}));
  // Attestation manifests: only when asked for.
  CHECK_FALSE(oci::PlatformMatches({"linux", "amd64", ""}, {"unknown", "unknown", ""}));
  CHECK(oci::PlatformMatches({"unknown", "unknown", ""}, {"unknown", "unknown", ""}));
}
