// Import facing hostile or buggy bundles. Every bundle here is built with the
// real writer and signed with a real key, so each test reaches the protection
// it names instead of tripping a checksum first: a trusted exporter can still
// be buggy (or compromised), and the importer must refuse before it writes.
//
// Each test fails if its protection is removed: invalid names, a manifest
// referencing a blob the bundle does not list, a declared size that does not
// match the bytes, deeply nested JSON, an index posing as an image manifest
// (refused at export and at import), an untrusted or missing signature, and
// an abbreviated --insecure-skip-signature.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>

#include "hostile_support.h"
#include "importer.h"
#include "io/fault_injection_file_system.h"
#include "oci/manifest.h"
#include "sink/oci_layout_sink.h"
#include "sink/registry_storage_sink.h"
#include "test_support.h"
#include "tests/support/transfer_fixture.h"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr const char* kConfigType = "application/vnd.oci.image.config.v1+json";
constexpr const char* kLayerType = "application/vnd.oci.image.layer.v1.tar";

// What the tests import through: the OCI layout sink, or the registry's
// on-disk storage, whose paths are built from repository and tag names.
enum class SinkKind { kOciLayout, kRegistryStorage };

std::unique_ptr<ImageSink> MakeSink(SinkKind kind, io::FileSystem* fs, const std::string& dir) {
  if (kind == SinkKind::kOciLayout) return NewOciLayoutSink(fs, dir);
  auto sink = NewRegistryStorageSink(fs, dir, "");
  REQUIRE(sink.ok());
  return std::move(sink).value();
}

Result<ImportReport> ImportFile(const std::string& bundle, const format::TrustPolicy& trust,
                                const std::string& dir, SinkKind kind = SinkKind::kOciLayout,
                                io::FileSystem* fs = io::DefaultFileSystem()) {
  auto in = io::DefaultFileSystem()->NewSequentialReader(bundle);
  REQUIRE(in.ok());
  auto sink = MakeSink(kind, fs, dir);
  return ImportBundle(in->get(), trust, sink.get(), dir);
}

format::TrustPolicy Trusting(const std::vector<const format::PrivateKey*>& keys) {
  format::TrustPolicy trust;
  for (const auto* k : keys) trust.keys.push_back(k->public_key());
  return trust;
}

std::string Lower(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

TEST_CASE("import refuses refs with invalid names before writing anything") {
  TempDir tmp;
  HostileBundle b;
  auto image = b.AddImage({RandomBytes(5000, 1)});
  b.Ref("good", "1", image);  // a valid ref first: the bad one must still stop everything
  REQUIRE(b.WriteTo(tmp / "control.sluice").ok());
  for (SinkKind kind : {SinkKind::kOciLayout, SinkKind::kRegistryStorage}) {
    INFO("sink " << static_cast<int>(kind));
    std::string control_dir = tmp / ("control-" + std::to_string(static_cast<int>(kind)));
    REQUIRE(ImportFile(tmp / "control.sluice", b.Trust(), control_dir, kind).ok());
  }

  const std::vector<std::pair<std::string, std::string>> bad_names = {
      {"", ".."},
      {"", "../../escape"},
      {"", "/etc/passwd"},
      {"", "app:1/../../../escape"},
      {"", std::string("app\0evil", 8)},
      {"", std::string(2000, 'a')},
      {"..", "1"},
      {"../escape", "1"},
      {"/abs/app", "1"},
      {"app/../../escape", "1"},
      {"Library/App", "1"},
      {std::string("app\0evil", 8), "1"},
      {std::string(300, 'a'), "1"},
      {"app", "v1/../../escape"},
      {"app", "a/b"},
      {"app", ".."},
      {"app", std::string("1\0x", 3)},
      {"app", std::string(200, 't')},
  };
  int n = 0;
  for (const auto& [repository, tag] : bad_names) {
    HostileBundle bad(b);
    bad.Ref(repository, tag, image);
    std::string bundle = tmp / ("bad-" + std::to_string(n++) + ".sluice");
    REQUIRE(bad.WriteTo(bundle).ok());
    for (SinkKind kind : {SinkKind::kOciLayout, SinkKind::kRegistryStorage}) {
      std::string dir = tmp / ("out-" + std::to_string(n) + "-" + std::to_string(static_cast<int>(kind)));
      INFO("repository '" << repository << "' tag '" << tag << "' sink " << static_cast<int>(kind));
      auto result = ImportFile(bundle, b.Trust(), dir, kind);
      REQUIRE_FALSE(result.ok());
      CHECK(result.status().IsCorruption());
      CHECK(ListTree(dir).empty());
      // Nothing escaped next to the destination either.
      CHECK_FALSE(io::DefaultFileSystem()->Exists(tmp / "escape"));
    }
  }
}

TEST_CASE("verify refuses a signed catalog with an invalid ref name") {
  TempDir tmp;
  HostileBundle b;
  auto image = b.AddImage({RandomBytes(100, 1)});
  b.Ref("", "../../escape", image);
  REQUIRE(b.WriteTo(tmp / "b.sluice").ok());
  auto in = io::DefaultFileSystem()->NewSequentialReader(tmp / "b.sluice");
  REQUIRE(in.ok());
  auto summary = VerifyBundle(in->get(), b.Trust());
  REQUIRE_FALSE(summary.ok());
  CHECK(summary.status().IsCorruption());
  CHECK(summary.status().message().find("../../escape") != std::string::npos);
}

// One rule decides, before any write: what verify accepts every sink imports
// (a ref without a tag is an image pinned by digest), and what it refuses
// (a bad tag) no sink writes a byte of.
TEST_CASE("verify and import agree on ref names: pinned refs pass both, bad tags neither") {
  TempDir tmp;
  HostileBundle pinned;
  auto image = pinned.AddImage({RandomBytes(3000, 2)});
  pinned.Ref("app", "", image);
  HostileBundle bad_tag(pinned);
  bad_tag.catalog.refs.clear();
  bad_tag.Ref("app", "-1", image);
  for (const auto* b : {&pinned, &bad_tag}) {
    bool ok = b == &pinned;
    std::string name = ok ? "pinned" : "bad-tag";
    std::string bundle = tmp / (name + ".sluice");
    REQUIRE(b->WriteTo(bundle).ok());
    auto in = io::DefaultFileSystem()->NewSequentialReader(bundle);
    REQUIRE(in.ok());
    auto verified = VerifyBundle(in->get(), b->Trust());
    INFO(bundle << ": " << verified.status().ToString());
    CHECK(verified.ok() == ok);
    for (SinkKind kind : {SinkKind::kOciLayout, SinkKind::kRegistryStorage}) {
      std::string dir = tmp / (name + "-" + std::to_string(static_cast<int>(kind)));
      auto imported = ImportFile(bundle, b->Trust(), dir, kind);
      INFO("sink " << static_cast<int>(kind) << ": " << imported.status().ToString());
      CHECK(imported.ok() == ok);
      if (ok) continue;
      CHECK(imported.status().IsCorruption());
      CHECK(imported.status().message().find("'-1'") != std::string::npos);
      CHECK(ListTree(dir).empty());
    }
  }
}

TEST_CASE("import refuses a manifest referencing a layer the bundle neither ships nor lists") {
  TempDir tmp;
  HostileBundle b;
  auto image = b.AddImage({RandomBytes(3000, 1), RandomBytes(4000, 2)});
  b.Ref("", "app:1", image);
  std::string dropped = b.catalog.blobs.back().digest.str();
  b.catalog.blobs.pop_back();  // the manifest still names it
  REQUIRE(b.WriteTo(tmp / "b.sluice").ok());
  auto result = ImportFile(tmp / "b.sluice", b.Trust(), tmp / "out");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().IsCorruption());
  CHECK(result.status().message().find(dropped) != std::string::npos);
  CHECK(ListTree(tmp / "out").empty());
}

TEST_CASE("import refuses an index referencing a manifest the bundle does not carry") {
  TempDir tmp;
  HostileBundle b;
  auto image = b.AddImage({RandomBytes(3000, 1)});
  format::Digest index = b.AddIndex({image});
  b.Ref("", "multi:1", index);
  // Drop the child manifest but keep its blobs.
  auto& ms = b.catalog.manifests;
  ms.erase(std::remove_if(ms.begin(), ms.end(), [&](auto& m) { return m.digest == image; }),
           ms.end());
  REQUIRE(b.WriteTo(tmp / "b.sluice").ok());
  auto result = ImportFile(tmp / "b.sluice", b.Trust(), tmp / "out");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().IsCorruption());
  CHECK(result.status().message().find(image.str()) != std::string::npos);
  CHECK(ListTree(tmp / "out").empty());
}

TEST_CASE("a blob whose declared size is far larger than its bytes is refused and not published") {
  TempDir tmp;
  HostileBundle b;
  std::string layer = RandomBytes(100000, 7);
  auto image = b.AddImage({layer});
  b.Ref("", "app:1", image);
  const format::BlobEntry& entry = b.catalog.blobs.back();
  format::Digest digest = entry.digest;
  std::string bundle = *b.Bytes();
  // The signed catalog claims 64 MiB; the frames hold 100000 bytes.
  PatchBlobSizeAndReseal(&bundle, digest, 64u << 20, b.key());
  WriteFile(tmp / "b.sluice", bundle);

  io::FaultInjectionFileSystem counting(io::DefaultFileSystem());
  auto result = ImportFile(tmp / "b.sluice", b.Trust(), tmp / "out", SinkKind::kOciLayout,
                           &counting);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().IsCorruption());
  CHECK(result.status().message().find(digest.str()) != std::string::npos);
  CHECK_FALSE(io::DefaultFileSystem()->Exists(tmp / "out/blobs/sha256/" + std::string(digest.hex())));
  CHECK_FALSE(io::DefaultFileSystem()->Exists(tmp / "out/index.json"));
  for (const std::string& f : ListTree(tmp / "out")) CHECK(f.find(".tmp") == std::string::npos);
  // Never more than the bytes the bundle really holds.
  CHECK(counting.BytesWritten() <= layer.size() + 4096);
}

TEST_CASE("a blob whose bytes run past its declared size is refused without writing past it") {
  TempDir tmp;
  HostileBundle b;
  std::string layer = RandomBytes(300000, 8);
  auto image = b.AddImage({layer});
  b.Ref("", "app:1", image);
  format::Digest digest = b.catalog.blobs.back().digest;
  std::string bundle = *b.Bytes();
  PatchBlobSizeAndReseal(&bundle, digest, 1000, b.key());
  WriteFile(tmp / "b.sluice", bundle);

  io::FaultInjectionFileSystem counting(io::DefaultFileSystem());
  auto result = ImportFile(tmp / "b.sluice", b.Trust(), tmp / "out", SinkKind::kOciLayout,
                           &counting);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().IsCorruption());
  CHECK_FALSE(io::DefaultFileSystem()->Exists(tmp / "out/blobs/sha256/" + std::string(digest.hex())));
  // The config, the oci-layout file and at most the 1000 declared bytes.
  CHECK(counting.BytesWritten() <= 1000 + 4096);
}

TEST_CASE("a blob declared larger than the destination's free space is refused before writing") {
  TempDir tmp;
  HostileBundle b;
  auto image = b.AddImage({RandomBytes(2000, 9)});
  b.Ref("", "app:1", image);
  format::Digest digest = b.catalog.blobs.back().digest;
  std::string bundle = *b.Bytes();
  PatchBlobSizeAndReseal(&bundle, digest, uint64_t{1} << 60, b.key());
  WriteFile(tmp / "b.sluice", bundle);
  auto result = ImportFile(tmp / "b.sluice", b.Trust(), tmp / "out");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().IsNoSpace());
  CHECK(ListTree(tmp / "out").empty());
}

TEST_CASE("a deeply nested manifest in a signed catalog is refused before anything is written") {
  TempDir tmp;
  HostileBundle b;
  // Valid in every field sluice reads; the nesting hides in an annotation.
  auto image = b.AddImage({RandomBytes(100, 1)}, R"(,"annotations":{"x":"y"},"z":)" +
                                                     std::string(100000, '[') +
                                                     std::string(100000, ']'));
  b.Ref("", "app:1", image);
  REQUIRE(b.WriteTo(tmp / "b.sluice").ok());
  auto result = ImportFile(tmp / "b.sluice", b.Trust(), tmp / "out");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().IsCorruption());
  CHECK(result.status().message().find("deep") != std::string::npos);
  CHECK(ListTree(tmp / "out").empty());
}

TEST_CASE("manifest parser refuses documents over 16 MiB and nesting past its limit") {
  std::string config = R"({"mediaType":"x","digest":"sha256:)" + std::string(64, 'a') +
                       R"(","size":1})";
  std::string small = R"({"schemaVersion":2,"config":)" + config + "}";
  REQUIRE(oci::ParseManifest(small, kManifestType).ok());

  std::string huge = small;
  huge.insert(1, std::string(oci::kMaxManifestSize, ' '));  // valid JSON, 16 MiB + the rest
  auto big = oci::ParseManifest(huge, kManifestType);
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().IsCorruption());

  auto nested = [&](int depth) {
    return R"({"schemaVersion":2,"config":)" + config + R"(,"x":)" +
           std::string(depth, '[') + std::string(depth, ']') + "}";
  };
  CHECK(oci::ParseManifest(nested(60), kManifestType).ok());
  auto deep = oci::ParseManifest(nested(100000), kManifestType);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.status().IsCorruption());
  // Brackets inside strings are text, not nesting.
  std::string quoted = R"({"schemaVersion":2,"config":)" + config + R"(,"x":")" +
                       std::string(1000, '[') + R"("})";
  CHECK(oci::ParseManifest(quoted, kManifestType).ok());
}

// Issue 9 (the CVE-2021-41190 class): a document whose own mediaType says
// index, with the index's manifests beside an image's config and layers, tagged
// under an image descriptor. Read as an image, its child would never ship; a
// registry storing it believes its mediaType and serves an index whose child
// is missing.
std::string IndexPosingAsImage(const std::string& child, uint64_t child_size,
                               const std::string& config, uint64_t config_size,
                               const std::string& layer, uint64_t layer_size) {
  auto descriptor = [](const std::string& type, const std::string& digest, uint64_t size) {
    return R"({"mediaType":")" + type + R"(","digest":")" + digest + R"(","size":)" +
           std::to_string(size) + "}";
  };
  std::string doc = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json")";
  doc += R"(,"manifests":[)" + descriptor(kManifestType, child, child_size) + "]";
  doc += R"(,"config":)" + descriptor(kConfigType, config, config_size);
  doc += R"(,"layers":[)" + descriptor(kLayerType, layer, layer_size) + "]}";
  return doc;
}

TEST_CASE("export refuses an index posing as an image manifest, writing no bundle") {
  LibraryTransfer t;
  std::string layout = t.tmp / "src";
  LayoutBuilder builder(layout);
  BuiltBlob layer = builder.AddBlob(RandomBytes(3000, 1), kLayerType);
  BuiltImage image = builder.AddImage({layer});
  BuiltImage child = builder.AddImage({builder.AddBlob(RandomBytes(2000, 2), kLayerType)}, "arm64");
  BuiltBlob ambiguous = builder.AddBlob(
      IndexPosingAsImage(child.manifest.str(), child.manifest_size, image.config.digest.str(),
                         image.config.size, layer.digest.str(), layer.size),
      kManifestType);
  builder.Tag("app:1", ambiguous.digest, ambiguous.size, kManifestType);

  std::string bundle = t.tmp / "app.sluice";
  auto report = t.ExportTags(layout, {"app:1"}, t.tmp / "ledger", bundle);
  REQUIRE_FALSE(report.ok());
  INFO(report.status().ToString());
  CHECK(report.status().IsCorruption());
  CHECK(report.status().message().find(ambiguous.digest.str()) != std::string::npos);
  CHECK(report.status().message().find(
            "declared as application/vnd.oci.image.manifest.v1+json but its mediaType is "
            "application/vnd.oci.image.index.v1+json") != std::string::npos);
  CHECK_FALSE(io::DefaultFileSystem()->Exists(bundle));
}

TEST_CASE("verify and import refuse a signed catalog holding an index recorded as an image") {
  TempDir tmp;
  HostileBundle b;
  format::Digest child = b.AddImage({RandomBytes(2000, 3)});
  const format::BlobEntry config = b.catalog.blobs[0];
  const format::BlobEntry layer = b.catalog.blobs[1];
  std::string bytes =
      IndexPosingAsImage(child.str(), b.catalog.manifests[0].bytes.size(), config.digest.str(),
                         config.size, layer.digest.str(), layer.size);
  format::Digest digest = format::Sha256::Of(bytes);
  b.catalog.manifests.push_back({digest, kManifestType, bytes});
  b.Ref("app", "1", digest);
  REQUIRE(b.WriteTo(tmp / "b.sluice").ok());

  auto in = io::DefaultFileSystem()->NewSequentialReader(tmp / "b.sluice");
  REQUIRE(in.ok());
  auto verified = VerifyBundle(in->get(), b.Trust());
  REQUIRE_FALSE(verified.ok());
  CHECK(verified.status().IsCorruption());
  CHECK(verified.status().message().find(digest.str()) != std::string::npos);
  for (SinkKind kind : {SinkKind::kOciLayout, SinkKind::kRegistryStorage}) {
    std::string dir = tmp / ("out-" + std::to_string(static_cast<int>(kind)));
    auto imported = ImportFile(tmp / "b.sluice", b.Trust(), dir, kind);
    INFO("sink " << static_cast<int>(kind) << ": " << imported.status().ToString());
    REQUIRE_FALSE(imported.ok());
    CHECK(imported.status().IsCorruption());
    CHECK(imported.status().message().find(digest.str()) != std::string::npos);
    CHECK(imported.status().message().find("ambiguous manifest") != std::string::npos);
    CHECK(ListTree(dir).empty());
  }
}

TEST_CASE("a bundle signed by a key that is not trusted is refused, naming the signer") {
  TempDir tmp;
  HostileBundle b;
  auto image = b.AddImage({RandomBytes(1000, 1)});
  b.Ref("", "app:1", image);
  REQUIRE(b.WriteTo(tmp / "b.sluice").ok());
  auto other = format::PrivateKey::Generate();
  REQUIRE(other.ok());
  auto result = ImportFile(tmp / "b.sluice", Trusting({&*other}), tmp / "out");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().kind() == ErrorKind::kUntrusted);
  CHECK(result.status().message().find(b.key().public_key().FingerprintText()) != std::string::npos);
  CHECK(ListTree(tmp / "out").empty());

  // With no key at all, also refused.
  auto none = ImportFile(tmp / "b.sluice", format::TrustPolicy{}, tmp / "out");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().kind() == ErrorKind::kUntrusted);
  CHECK(ListTree(tmp / "out").empty());

  // Any one of several trusted keys will do.
  CHECK(ImportFile(tmp / "b.sluice", Trusting({&*other, &b.key()}), tmp / "out").ok());
}

TEST_CASE("a bundle whose signature block is zeroed (unsigned) is refused") {
  TempDir tmp;
  HostileBundle b;
  auto image = b.AddImage({RandomBytes(1000, 1)});
  b.Ref("", "app:1", image);
  std::string bundle = *b.Bytes();
  ZeroSignature(&bundle);
  WriteFile(tmp / "b.sluice", bundle);
  auto result = ImportFile(tmp / "b.sluice", b.Trust(), tmp / "out");
  REQUIRE_FALSE(result.ok());
  CHECK_FALSE(result.status().ok());
  CHECK((result.status().kind() == ErrorKind::kUntrusted || result.status().IsCorruption()));
  CHECK(ListTree(tmp / "out").empty());
}

// --- the command line ---

TEST_CASE("cli: an untrusted bundle is refused; --insecure-skip-signature imports it and warns") {
  TempDir tmp;
  HostileBundle b;
  auto image = b.AddImage({RandomBytes(1000, 1)});
  b.Ref("", "app:1", image);
  REQUIRE(b.WriteTo(tmp / "b.sluice").ok());
  auto other = format::PrivateKey::Generate();
  REQUIRE(other.ok());
  WriteFile(tmp / "other.pub", other->public_key().ToPem());
  std::string out = tmp / "out";

  CliResult untrusted = RunSluice({"import", tmp / "b.sluice", "--trust", tmp / "other.pub",
                                   "--to", "oci:" + out, "--mapping", ""});
  INFO(untrusted.Describe());
  CHECK(untrusted.exit_code == 3);
  CHECK(untrusted.err.find(b.key().public_key().FingerprintText()) != std::string::npos);
  CHECK(ListTree(out).empty());

  CliResult no_trust =
      RunSluice({"import", tmp / "b.sluice", "--to", "oci:" + out, "--mapping", ""});
  INFO(no_trust.Describe());
  CHECK(no_trust.exit_code != 0);
  CHECK(ListTree(out).empty());

  // Only the option spelled out in full: boost would otherwise accept any
  // unambiguous prefix.
  for (const char* abbreviation : {"--insecure", "--insecure-skip", "--insecure-skip-sig"}) {
    CliResult r = RunSluice(
        {"import", tmp / "b.sluice", abbreviation, "--to", "oci:" + out, "--mapping", ""});
    INFO(r.Describe());
    CHECK(r.exit_code == 2);
    CHECK(ListTree(out).empty());
  }

  CliResult skipped = RunSluice({"import", tmp / "b.sluice", "--insecure-skip-signature", "--to",
                                 "oci:" + out, "--mapping", ""});
  INFO(skipped.Describe());
  CHECK(skipped.exit_code == 0);
  CHECK(skipped.err.find("WARNING") != std::string::npos);
  CHECK(Lower(skipped.err).find("not checked") != std::string::npos);
  CHECK(io::DefaultFileSystem()->Exists(out + "/index.json"));
}
