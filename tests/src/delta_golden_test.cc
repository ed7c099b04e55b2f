// The golden delta bundle of SPEC.md section 16 (tests/format/golden/
// delta.bundle), rebuilt as a reader does with the five steps of SPEC.md
// section 4, "Delta blobs": the base gunzipped, the delta decoded against
// it, the content gzipped again by the record's encoding, and the result is
// the blob its digest names. tests/format checks the bytes of the file; this
// checks that they mean what the SPEC says, with the codecs of src/delta.
#include <catch2/catch.hpp>
#include <string>

#include "delta/gzip_recipe.h"
#include "delta/patch_codec.h"
#include "format/bundle_format.h"
#include "format/bundle_reader.h"
#include "format/bundle_writer.h"
#include "importer.h"
#include "sink/oci_layout_sink.h"
#include "format/crypto.h"
#include "io/file.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace sluice::delta {
namespace {

std::string GoldenPath(const std::string& name) {
  return std::string(SLUICE_SRC_TEST_DIR) + "/../format/golden/" + name;
}

// The contents SPEC.md section 16 shows: before (the base content) and after.
const char kBaseContent[] =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
    "NAME=\"Debian GNU/Linux\"\n"
    "VERSION_ID=\"12\"\n"
    "VERSION=\"12 (bookworm)\"\n"
    "VERSION_CODENAME=bookworm\n"
    "ID=debian\n"
    "DEBIAN_POINT_RELEASE=12.4\n"
    "HOME_URL=\"https://www.debian.org/\"\n"
    "SUPPORT_URL=\"https://www.debian.org/support\"\n"
    "BUG_REPORT_URL=\"https://bugs.debian.org/\"\n";
const char kNewContent[] =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
    "NAME=\"Debian GNU/Linux\"\n"
    "VERSION_ID=\"12\"\n"
    "VERSION=\"12 (bookworm)\"\n"
    "VERSION_CODENAME=bookworm\n"
    "ID=debian\n"
    "DEBIAN_POINT_RELEASE=12.5\n"
    "HOME_URL=\"https://www.debian.org/\"\n"
    "SUPPORT_URL=\"https://www.debian.org/support\"\n"
    "BUG_REPORT_URL=\"https://bugs.debian.org/\"\n"
    "SECURITY_UPDATES=2024-02-10\n";

std::unique_ptr<io::SequentialReader> OpenOrDie(const std::string& path) {
  auto reader = io::PosixFileSystem()->NewSequentialReader(path);
  REQUIRE(reader.ok());
  return std::move(reader).value();
}

// The golden bundle, read and verified with the golden key: its catalog, and
// the bytes its one shipped blob's frames carry (the delta).
struct GoldenDelta {
  format::Catalog catalog;
  std::string delta;
};

GoldenDelta ReadGolden() {
  auto key = format::PrivateKey::FromPem(testing::ReadFile(GoldenPath("tiny.key.pem")));
  REQUIRE(key.ok());
  auto file = OpenOrDie(GoldenPath("delta.bundle"));
  auto reader =
      format::BundleReader::Open(file.get(), format::TrustPolicy{{key->public_key()}, false});
  REQUIRE(reader.ok());
  GoldenDelta golden{(*reader)->catalog(), {}};
  auto next = (*reader)->NextBlob();
  REQUIRE(next.ok());
  REQUIRE(*next == std::optional<size_t>(1));
  std::string buf(4096, '\0');
  while (true) {
    auto n = (*reader)->Read(io::MutableBytes(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    REQUIRE(n.ok());
    if (*n == 0) break;
    golden.delta.append(buf.data(), *n);
  }
  REQUIRE((*reader)->Finish().ok());
  return golden;
}

TEST_CASE("the golden delta bundle's blob is rebuilt from its base, exactly") {
  // The delta blob's frames carry the delta.
  const GoldenDelta golden = ReadGolden();
  const format::Catalog& catalog = golden.catalog;
  const std::string& delta = golden.delta;
  REQUIRE(catalog.blobs.size() == 2);
  const format::BlobEntry& blob = catalog.blobs[1];
  REQUIRE(blob.delta);
  const format::BlobDelta& d = *blob.delta;
  CHECK(delta.size() == d.size);
  CHECK(format::Sha256::Of(delta) == d.digest);

  // 1. The base, as the far side holds it, hashes to base_digest (and is
  // the catalog's blob 0, which the bundle lists but does not ship).
  const std::string base = testing::ReadFile(GoldenPath("delta.base.gz"));
  CHECK(format::Sha256::Of(base) == d.base);
  CHECK(catalog.blobs[0].digest == d.base);
  CHECK(!catalog.blobs[0].shipped);

  // 2. base_decoding 1: the base content is the base gunzipped.
  REQUIRE(d.base_decoding == format::BlobDelta::BaseDecoding::kGunzip);
  std::string base_content;
  auto base_file = OpenOrDie(GoldenPath("delta.base.gz"));
  REQUIRE(Gunzip(*base_file, [&](io::ByteView bytes) {
            base_content.append(io::AsChars(bytes));
            return Status::Ok();
          }).ok());
  CHECK(base_content == kBaseContent);

  // 3. delta_codec 1: the delta decoded with the base content as prefix.
  REQUIRE(d.codec == format::kDeltaCodecZstdPrefix);
  testing::TempDir dir;
  testing::WriteFile(dir / "base", base_content);
  auto mapped = DeltaBase::MapFile(dir / "base");
  REQUIRE(mapped.ok());
  std::string content;
  auto decoder = DeltaDecoder::Make(*mapped, d.content_size, [&](io::ByteView bytes) {
    content.append(io::AsChars(bytes));
    return Status::Ok();
  });
  REQUIRE(decoder.ok());
  REQUIRE((*decoder)->Write(io::AsBytes(delta)).ok());
  REQUIRE((*decoder)->Finish().ok());
  CHECK(content.size() == d.content_size);
  CHECK(content == kNewContent);

  // 4. The encoding (zlib, level 9) made into a recipe, and the content
  // gzipped by it.
  auto recipe = FromContentEncoding(d.encoding);
  REQUIRE(recipe.ok());
  CHECK(recipe->encoder == GzipRecipe::Encoder::kZlib);
  CHECK(recipe->level == 9);
  std::string rebuilt;
  auto encoder = GzipEncoder::Make(*recipe, [&](io::ByteView bytes) {
    rebuilt.append(io::AsChars(bytes));
    return Status::Ok();
  });
  REQUIRE(encoder.ok());
  REQUIRE((*encoder)->Write(io::AsBytes(content)).ok());
  REQUIRE((*encoder)->Finish().ok());

  // 5. The result is the blob: its size and its sha256.
  CHECK(rebuilt.size() == blob.size);
  CHECK(format::Sha256::Of(rebuilt) == blob.digest);
}

// The golden bundle imported as sluice imports it: into an OCI layout that
// holds the base (bundle 7's layer) and the config, the delta blob is rebuilt and the tag
// lands; the same bundle with a recipe of another level, signed again by the
// same key (so only the rebuild can tell), is refused as corruption and
// leaves nothing of the blob or the tag.
std::string ImportGolden(const std::string& bundle_path, const std::string& layout,
                         Status* status) {
  auto key = format::PrivateKey::FromPem(testing::ReadFile(GoldenPath("tiny.key.pem")));
  REQUIRE(key.ok());
  auto in = OpenOrDie(bundle_path);
  auto sink = NewOciLayoutSink(io::PosixFileSystem(), layout);
  auto result =
      ImportBundle(in.get(), format::TrustPolicy{{key->public_key()}, false}, sink.get(),
                   "oci:" + layout);
  *status = result.status();
  return layout;
}

// A layout holding only the base blob, as the far side does after bundle 7.
std::string LayoutWithBase(const testing::TempDir& dir, const std::string& name) {
  const std::string layout = dir / name;
  const std::string base = testing::ReadFile(GoldenPath("delta.base.gz"));
  testing::WriteFile(layout + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
  testing::WriteFile(layout + "/index.json", "{\"schemaVersion\":2,\"manifests\":[]}");
  testing::WriteFile(layout + "/blobs/sha256/" + format::Sha256::Of(base).str().substr(7), base);
  const std::string config = "{}";
  testing::WriteFile(layout + "/blobs/sha256/" + format::Sha256::Of(config).str().substr(7),
                     config);
  return layout;
}

TEST_CASE("import rebuilds the golden delta blob, and refuses it re-signed with a wrong recipe") {
  testing::TempDir dir;
  auto key = format::PrivateKey::FromPem(testing::ReadFile(GoldenPath("tiny.key.pem")));
  REQUIRE(key.ok());
  GoldenDelta golden = ReadGolden();
  format::Catalog& catalog = golden.catalog;
  const std::string& delta = golden.delta;
  // The golden manifest embeds its empty config ("data"), which the catalog
  // leaves out; an import checks that the catalog lists every blob its
  // manifests name, so the config is listed here, as held by the far side.
  catalog.blobs.push_back({format::Sha256::Of(std::string("{}")), 2,
                           "application/vnd.oci.empty.v1+json", false, std::nullopt});
  const format::BlobEntry blob = catalog.blobs[1];
  const std::string blob_file = "/blobs/sha256/" + blob.digest.str().substr(7);
  auto write_bundle = [&](const std::string& path) {
    auto out = io::PosixFileSystem()->NewWriter(path);
    REQUIRE(out.ok());
    auto writer = format::BundleWriter::Start(out->get(), catalog, *key);
    REQUIRE(writer.ok());
    REQUIRE((*writer)->BeginBlob(1, format::Compression::kNone).ok());
    REQUIRE((*writer)->Append(io::AsBytes(delta)).ok());
    REQUIRE((*writer)->EndBlob().ok());
    REQUIRE((*writer)->Finish().ok());
    REQUIRE((*out)->Close().ok());
  };

  Status status;
  write_bundle(dir / "good.bundle");
  std::string good = ImportGolden(dir / "good.bundle", LayoutWithBase(dir, "good"), &status);
  INFO(status.ToString());
  REQUIRE(status.ok());
  CHECK(format::Sha256::Of(testing::ReadFile(good + blob_file)) == blob.digest);

  // The same catalog and delta, the recipe at level 1 (zlib's fast deflate), signed again.
  catalog.blobs[1].delta->encoding.level = 1;
  const std::string wrong_path = dir / "wrong.bundle";
  write_bundle(wrong_path);
  std::string wrong = ImportGolden(wrong_path, LayoutWithBase(dir, "wrong"), &status);
  INFO(status.ToString());
  CHECK(status.kind() == ErrorKind::kCorruption);
  CHECK(status.message().find(blob.digest.str()) != std::string::npos);
  CHECK_FALSE(testing::Exists(wrong + blob_file));
  CHECK(testing::ReadFile(wrong + "/index.json").find("ref.name") == std::string::npos);
}

}  // namespace
}  // namespace sluice::delta
