// The golden bundles of SPEC.md section 16: the writer must reproduce them
// byte for byte (so any change to the bytes is a deliberate format change)
// and the reader must accept them. tests/src/delta_golden_test.cc rebuilds
// the delta bundle's blob from its base.
#include <catch2/catch.hpp>

#include <fstream>
#include <stdexcept>

#include "format/bundle_format.h"
#include "format/bundle_reader.h"
#include "tests/format/bundle_test_util.h"
#include "tests/format/string_io.h"

namespace sluice::format {
namespace {

const char kTinyManifest[] =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
    R"("config":{"mediaType":"application/vnd.oci.empty.v1+json",)"
    R"("digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",)"
    R"("size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar",)"
    R"("digest":"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",)"
    R"("size":5}]})";

// One ref (exported from docker.io/library/hello:1.0), one manifest, a 2-byte
// config the far side already has (not shipped) and the 5-byte layer "hello"
// (shipped, uncompressed so the bytes do not depend on the zstd version).
Catalog TinyCatalog() {
  Catalog c;
  for (int i = 0; i < 16; ++i) {
    c.header.bundle_id[i] = static_cast<uint8_t>(0x10 + i);
    c.header.ledger_id[i] = static_cast<uint8_t>(0xa0 + i);
  }
  c.header.base_sequence = 6;
  c.header.sequence = 7;
  c.header.created_unix = 1700000000;
  ManifestEntry m;
  m.bytes = kTinyManifest;
  m.digest = Sha256::Of(m.bytes);
  m.media_type = "application/vnd.oci.image.manifest.v1+json";
  c.manifests.push_back(m);
  c.refs.push_back({"library/hello", "1.0", m.digest, "docker.io/library/hello:1.0"});
  c.blobs.push_back({Sha256::Of("{}"), 2, "application/vnd.oci.empty.v1+json", false, {}});
  c.blobs.push_back({Sha256::Of("hello"), 5, "application/vnd.oci.image.layer.v1.tar", true, {}});
  return c;
}

std::string WriteTiny() {
  std::vector<testing::BlobSpec> blobs = {{"{}", false}, {"hello", true, Compression::kNone}};
  return testing::WriteBundle(TinyCatalog(), blobs);
}

TEST_CASE("golden manifest is the OCI manifest it claims to be") {
  // Guards the example in SPEC.md: the layer digest is that of "hello".
  CHECK(Sha256::Of("hello").str() ==
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  CHECK(Sha256::Of("{}").str() ==
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
}

TEST_CASE("writer reproduces the golden tiny bundle byte for byte") {
  std::string golden = testing::ReadFileOrDie(testing::GoldenPath("tiny.bundle"));
  std::string written = WriteTiny();
  REQUIRE(written.size() == golden.size());
  for (size_t i = 0; i < golden.size(); ++i) {
    if (written[i] != golden[i]) FAIL("first difference at offset " << i);
  }
}

TEST_CASE("reader accepts the golden tiny bundle") {
  std::string golden = testing::ReadFileOrDie(testing::GoldenPath("tiny.bundle"));
  testing::ReadResult r = testing::ReadAll(golden, testing::TrustTestKey());
  REQUIRE(r.status.ok());
  CHECK(r.catalog == TinyCatalog());
  CHECK(r.blobs.size() == 1);
  CHECK(r.blobs[1] == "hello");
  CHECK(r.signature.verified);
}

// Run explicitly ("format_test '[.regenerate]'") after a deliberate format
// change, then update SPEC.md section 16.
TEST_CASE("regenerate the golden tiny bundle", "[.regenerate]") {
  std::ofstream out(testing::GoldenPath("tiny.bundle"), std::ios::binary | std::ios::trunc);
  std::string bytes = WriteTiny();
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// --- delta.bundle: the next bundle of the same ledger, one blob a delta ---

// os-release of Debian 12.4 (the base content, 293 bytes) became 12.5 with
// a line added (the content, 321 bytes): a stand-in for a layer's tar, kept
// short. Each was gzipped by zlib 1.2.13 at level 9 (deflateInit2 with
// windowBits 31: the 10-byte header 1f 8b 08 00 00 00 00 00 02 03). The
// base gzip, which the far side holds, is golden/delta.base.gz (190 bytes);
// the new one is 215 bytes. The delta is `zstd --patch-from=BASE` (zstd
// 1.5.4, level 3) of the content against the base content, stored here so
// the golden file does not depend on the zstd version.
const char kDeltaBytes[] =
    "\x28\xb5\x2f\xfd\x64\x41\x00\x3d\x01\x00\xe8\x35\x53\x45\x43\x55\x52\x49\x54\x59\x5f\x55"
    "\x50\x44\x41\x54\x45\x53\x3d\x32\x30\x32\x34\x2d\x30\x32\x2d\x31\x30\x0a\x02\x00\x18\x52"
    "\x31\xa1\x50\x0b\x08\x75\xc2\xfa\x75";
const std::string kDelta(kDeltaBytes, sizeof(kDeltaBytes) - 1);  // 53 bytes

// The new layer gzip: its digest and size (tests/src/delta_golden_test.cc
// makes it again from the base and the delta).
const char kNewLayerDigest[] =
    "sha256:2f8e2ec33636620c319f8d6eb0b5150fe8469bd8c28a07a7653dd46fab39339c";
constexpr uint64_t kNewLayerSize = 215;
constexpr uint64_t kNewContentSize = 321;

const char kDeltaManifest[] =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
    R"("config":{"mediaType":"application/vnd.oci.empty.v1+json",)"
    R"("digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",)"
    R"("size":2,"data":"e30="},"layers":[)"
    R"({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",)"
    R"("digest":"sha256:e014a3f4c06cf9e63b2a08d14556dddbd661c9efbfa94a344715922dd4903d89",)"
    R"("size":190},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",)"
    R"("digest":"sha256:2f8e2ec33636620c319f8d6eb0b5150fe8469bd8c28a07a7653dd46fab39339c",)"
    R"("size":215}]})";

// One ref (docker.io/library/debian:12.5), one manifest with the two
// layers: the 12.4 layer the far side holds (not shipped), and the 12.5
// layer shipped as a delta against it, rebuilt with zlib level 9.
Catalog DeltaCatalog() {
  Catalog c;
  for (int i = 0; i < 16; ++i) {
    c.header.bundle_id[i] = static_cast<uint8_t>(0x20 + i);
    c.header.ledger_id[i] = static_cast<uint8_t>(0xa0 + i);  // tiny.bundle's ledger
  }
  c.header.base_sequence = 7;
  c.header.sequence = 8;
  c.header.created_unix = 1702592000;  // 30 days after tiny.bundle
  ManifestEntry m;
  m.bytes = kDeltaManifest;
  m.digest = Sha256::Of(m.bytes);
  m.media_type = "application/vnd.oci.image.manifest.v1+json";
  c.manifests.push_back(m);
  c.refs.push_back({"library/debian", "12.5", m.digest, "docker.io/library/debian:12.5"});
  const std::string base = testing::ReadFileOrDie(testing::GoldenPath("delta.base.gz"));
  const char* layer = "application/vnd.oci.image.layer.v1.tar+gzip";
  c.blobs.push_back({Sha256::Of(base), base.size(), layer, false, {}});
  BlobDelta d;
  d.base = Sha256::Of(base);
  d.base_decoding = BlobDelta::BaseDecoding::kGunzip;
  d.codec = kDeltaCodecZstdPrefix;
  d.content_size = kNewContentSize;
  d.size = kDelta.size();
  d.digest = Sha256::Of(kDelta);
  d.encoding.kind = ContentEncoding::Kind::kGzipZlib;
  d.encoding.level = 9;
  d.encoding.mem_level = 8;
  d.encoding.strategy = 0;
  d.encoding.block_size = 0;
  d.encoding.gzip_header = testing::ZlibGzipHeader();
  auto digest = Digest::Parse(kNewLayerDigest);
  if (!digest.ok()) throw std::runtime_error(digest.status().ToString());
  c.blobs.push_back({*digest, kNewLayerSize, layer, true, d});
  return c;
}

std::string WriteDelta() {
  std::vector<testing::BlobSpec> blobs = {{"", false}, {kDelta, true, Compression::kNone}};
  return testing::WriteBundle(DeltaCatalog(), blobs);
}

TEST_CASE("golden delta manifest names the two layers of the delta catalog") {
  const Catalog c = DeltaCatalog();
  const std::string manifest = kDeltaManifest;
  for (const BlobEntry& b : c.blobs) {
    CHECK(manifest.find(R"("digest":")" + b.digest.str() + R"(","size":)" +
                        std::to_string(b.size) + "}") != std::string::npos);
  }
  const std::string base = testing::ReadFileOrDie(testing::GoldenPath("delta.base.gz"));
  CHECK(base.size() == 190);
  CHECK(base.substr(0, 10) == testing::ZlibGzipHeader());
  CHECK(Sha256::Of(base).str() ==
        "sha256:e014a3f4c06cf9e63b2a08d14556dddbd661c9efbfa94a344715922dd4903d89");
  CHECK(kDelta.size() == 53);
}

TEST_CASE("writer reproduces the golden delta bundle byte for byte") {
  std::string golden = testing::ReadFileOrDie(testing::GoldenPath("delta.bundle"));
  std::string written = WriteDelta();
  REQUIRE(written.size() == golden.size());
  for (size_t i = 0; i < golden.size(); ++i) {
    if (written[i] != golden[i]) FAIL("first difference at offset " << i);
  }
}

TEST_CASE("reader accepts the golden delta bundle and returns the delta") {
  std::string golden = testing::ReadFileOrDie(testing::GoldenPath("delta.bundle"));
  CHECK(testing::GetU32At(golden, 12) == kRequiredFeatureDelta);
  testing::ReadResult r = testing::ReadAll(golden, testing::TrustTestKey());
  REQUIRE(r.status.ok());
  CHECK(r.catalog == DeltaCatalog());
  CHECK(r.blobs.size() == 1);
  CHECK(r.blobs[1] == kDelta);
  CHECK(r.signature.verified);
  CHECK(testing::Verify(golden).ok());
}

TEST_CASE("flipping any byte of the golden delta bundle, or cutting it short, fails verification") {
  const std::string golden = testing::ReadFileOrDie(testing::GoldenPath("delta.bundle"));
  for (uint8_t mask : {uint8_t{0x01}, uint8_t{0xff}}) {
    for (size_t at = 0; at < golden.size(); ++at) {
      std::string damaged = golden;
      damaged[at] = static_cast<char>(damaged[at] ^ mask);
      Status s = testing::Verify(damaged);
      // Damage everywhere; a signature that no longer verifies is untrusted.
      if (s.kind() != ErrorKind::kCorruption && s.kind() != ErrorKind::kUntrusted) {
        FAIL("flip " << int(mask) << " at offset " << at
                     << " gave: " << (s.ok() ? "OK" : s.ToString()));
      }
    }
  }
  for (size_t n = 0; n < golden.size(); ++n) {
    Status s = testing::Verify(golden.substr(0, n));
    if (s.kind() != ErrorKind::kCorruption) {
      FAIL("cut at " << n << " gave: " << (s.ok() ? "OK" : s.ToString()));
    }
  }
}

// Run explicitly ("format_test '[.regenerate]'") after a deliberate format
// change, then update SPEC.md section 16.
TEST_CASE("regenerate the golden delta bundle", "[.regenerate]") {
  std::ofstream out(testing::GoldenPath("delta.bundle"), std::ios::binary | std::ios::trunc);
  std::string bytes = WriteDelta();
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

}  // namespace
}  // namespace sluice::format
