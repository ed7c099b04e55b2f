// The golden bundle of SPEC.md section 16: the writer must reproduce it byte
// for byte (so any change to the bytes is a deliberate format change) and the
// reader must accept it.
#include <catch2/catch.hpp>

#include <fstream>

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

}  // namespace
}  // namespace sluice::format
