// export -> verify -> import into a fresh OCI layout gives back the very same
// images: same manifest digests under the same tags, and layouts that skopeo
// and oci-image-tool accept.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

// oci-image-tool 1.0.0-rc1 validates every tagged image manifest of a layout
// but skips image indexes; an index blob is validated as a file of its own.
void CheckValidLayout(const std::string& layout) {
  RunResult r = Run({"oci-image-tool", "validate", "--type", "image", layout});
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
}

// The tag points at the source's manifest digest, skopeo reads the same
// bytes, and skopeo can copy the image out (which re-checks every blob).
void CheckImported(const std::string& out, const std::string& tag, bool index) {
  const std::string& samples = SampleLayout();
  std::string source_digest = TaggedDigest(samples, tag);
  REQUIRE(!source_digest.empty());
  INFO("tag " << tag << " in " << out);
  CHECK(TaggedDigest(out, tag) == source_digest);
  CHECK(SkopeoManifestDigest(out, tag) == source_digest);
  if (index) {
    RunResult v = Run({"oci-image-tool", "validate", "--type", "imageIndex",
                       BlobPath(out, source_digest)});
    INFO(v.Describe());
    CHECK(v.exit_code == 0);
  }
  TempDir check;
  // By default skopeo would gzip the plain tar layer, and change the digest.
  std::vector<std::string> copy = {"skopeo", "--insecure-policy", "copy", "-q",
                                   "--preserve-digests", "--dest-oci-accept-uncompressed-layers"};
  if (index) copy.push_back("--all");
  copy.insert(copy.end(), {"oci:" + out + ":" + tag, "oci:" + check.path() + "/copy:x"});
  RunResult c = Run(copy);
  INFO(c.Describe());
  CHECK(c.exit_code == 0);
  CHECK(TaggedDigest(check / "copy", "x") == source_digest);
}

void RoundTrip(const std::vector<std::string>& tags) {
  const std::string& samples = SampleLayout();
  Workspace w;
  std::vector<std::string> sources;
  for (const std::string& tag : tags) sources.push_back("oci:" + samples + ":" + tag);
  std::string bundle = w.dir / "bundle";
  std::string out = w.dir / "out";

  RunResult e = w.Export(sources, bundle);
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  REQUIRE(Exists(bundle));
  RunResult v = w.Verify(bundle);
  INFO(v.Describe());
  REQUIRE(v.exit_code == 0);
  RunResult i = w.Import(bundle, out);
  INFO(i.Describe());
  REQUIRE(i.exit_code == 0);

  CheckValidLayout(out);
  for (const std::string& tag : tags) CheckImported(out, tag, tag == "multi:1");
}

TEST_CASE("app:1.0 survives export, verify and import byte for byte", "[e2e][round-trip]") {
  RoundTrip({"app:1.0"});
}

TEST_CASE("a multi-platform index survives export, verify and import byte for byte",
          "[e2e][round-trip]") {
  RoundTrip({"multi:1"});
}

TEST_CASE("one bundle carries an image and an index together", "[e2e][round-trip]") {
  RoundTrip({"app:1.0", "multi:1"});
}

TEST_CASE("exporting oci:DIR carries every tagged image of the layout", "[e2e][round-trip]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  RunResult e = w.Export({"oci:" + samples}, w.dir / "bundle");
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  RunResult i = w.Import(w.dir / "bundle", w.dir / "out");
  INFO(i.Describe());
  REQUIRE(i.exit_code == 0);
  CheckValidLayout(w.dir / "out");
  for (const char* tag : {"base:1", "app:1.0", "app:1.1", "multi:1"}) {
    CheckImported(w.dir / "out", tag, std::string(tag) == "multi:1");
  }
}

TEST_CASE("export --list reads one reference per line and skips comments",
          "[e2e][round-trip]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  WriteFile(w.dir / "images.list", "# monthly sync\n\noci:" + samples + ":base:1\n  oci:" +
                                       samples + ":multi:1   # the multi-arch one\n");
  RunResult e = w.Export({}, w.dir / "bundle", {"--list", w.dir / "images.list"});
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  nlohmann::json info = InspectJson(w.dir / "bundle");
  std::set<std::string> tags;
  for (const auto& ref : info.at("refs")) tags.insert(RefName(ref));
  CHECK(tags == std::set<std::string>{"base:1", "multi:1"});

  RunResult i = w.Import(w.dir / "bundle", w.dir / "out");
  INFO(i.Describe());
  REQUIRE(i.exit_code == 0);
  CheckImported(w.dir / "out", "base:1", false);
  CheckImported(w.dir / "out", "multi:1", true);
  CHECK(TaggedDigest(w.dir / "out", "app:1.0").empty());
}

TEST_CASE("export takes --list more than once, and a bad line is refused naming FILE:LINE",
          "[e2e][round-trip]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  WriteFile(w.dir / "base.list", "oci:" + samples + ":base:1\n");
  WriteFile(w.dir / "apps.list", "# apps\noci:" + samples + ":app:1.0\n");
  RunResult e = w.Export({"oci:" + samples + ":multi:1"}, w.dir / "bundle",
                         {"--list", w.dir / "base.list", "--list", w.dir / "apps.list"});
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  std::set<std::string> tags;
  const nlohmann::json info = InspectJson(w.dir / "bundle");
  for (const auto& ref : info.at("refs")) tags.insert(RefName(ref));
  CHECK(tags == std::set<std::string>{"base:1", "app:1.0", "multi:1"});

  WriteFile(w.dir / "bad.list", "oci:" + samples + ":base:1\n\n  docker.io/library/alpine:3.19\n");
  RunResult bad = w.Export({}, w.dir / "bad-bundle", {"--list", w.dir / "bad.list"});
  INFO(bad.Describe());
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.ErrorLine(), Catch::Contains(w.dir / "bad.list" + ":3: "));
  CHECK_THAT(bad.ErrorLine(), Catch::Contains("did you mean docker://docker.io/library/alpine:3.19?"));
  CHECK_FALSE(Exists(w.dir / "bad-bundle"));
}

TEST_CASE("inspect --json describes the bundle an export wrote", "[e2e][round-trip][inspect]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  std::string bundle = w.dir / "bundle";
  RunResult e = w.Export({"oci:" + samples + ":app:1.0"}, bundle, {"--json"});
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  nlohmann::json report = ParseJson(e.out);  // --json: a JSON report on stdout

  nlohmann::json info = InspectJson(bundle);
  INFO(info.dump(2));
  CHECK(info.at("bundle_id").get<std::string>().size() == 32);
  CHECK(info.at("ledger_id").get<std::string>().size() == 32);
  CHECK(info.at("sequence").get<uint64_t>() == info.at("base_sequence").get<uint64_t>() + 1);
  CHECK(info.at("signer").get<std::string>().rfind("sha256:", 0) == 0);
  CHECK(info.at("file_size").get<uint64_t>() == ReadFile(bundle).size());

  REQUIRE(info.at("refs").size() == 1);
  const auto& ref = info.at("refs")[0];
  std::string digest = TaggedDigest(samples, "app:1.0");
  CHECK(RefName(ref) == "app:1.0");
  CHECK(ref.at("digest") == digest);
  CHECK(ref.at("media_type") == "application/vnd.oci.image.manifest.v1+json");

  // Every config and layer of app:1.0, each shipped, with its real size.
  std::set<std::string> expected = ImageBlobs(samples, digest);
  std::set<std::string> listed;
  uint64_t raw = 0, stored = 0;
  for (const auto& blob : info.at("blobs")) {
    std::string d = blob.at("digest");
    listed.insert(d);
    INFO("blob " << d);
    CHECK(blob.at("shipped") == true);
    CHECK(blob.at("size").get<uint64_t>() == ReadFile(BlobPath(samples, d)).size());
    raw += blob.at("size").get<uint64_t>();
    stored += blob.at("stored_size").get<uint64_t>();
  }
  CHECK(listed == expected);
  CHECK(info.at("raw_bytes").get<uint64_t>() == raw);
  CHECK(info.at("stored_bytes").get<uint64_t>() == stored);
  CHECK(stored <= info.at("file_size").get<uint64_t>());
  // The plain tar text layer compresses; the random one cannot.
  for (const auto& blob : info.at("blobs")) {
    uint64_t size = blob.at("size"), stored_size = blob.at("stored_size");
    INFO("blob " << blob.at("digest").get<std::string>() << " " << size << " -> " << stored_size);
    if (blob.at("media_type") == "application/vnd.oci.image.layer.v1.tar") {
      CHECK(stored_size * 4 < size);
    }
    if (size > (1u << 20) && blob.at("media_type") != "application/vnd.oci.image.layer.v1.tar") {
      CHECK(stored_size <= size + size / 100 + 1024);  // stored raw, not inflated
    }
  }
  CHECK(report.is_object());
}

}  // namespace
}  // namespace sluice::e2e
