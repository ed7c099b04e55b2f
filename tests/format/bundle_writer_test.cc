#include <catch2/catch.hpp>

#include "format/bundle_format.h"
#include "format/bundle_writer.h"
#include "tests/format/bundle_test_util.h"
#include "tests/format/string_io.h"

namespace sluice::format {
namespace {

using testing::BlobSpec;
using testing::MakeCatalog;
using testing::StringWriter;
using testing::TestKey;

std::unique_ptr<BundleWriter> StartOrDie(StringWriter* out, const Catalog& catalog,
                                         BundleWriterOptions options = {}) {
  auto w = BundleWriter::Start(out, catalog, TestKey(), options);
  REQUIRE(w.ok());
  return std::move(w).value();
}

TEST_CASE("writer rejects a blob whose bytes do not match the catalog digest") {
  std::vector<BlobSpec> blobs = {{"hello", true, Compression::kNone}};
  Catalog catalog = MakeCatalog(blobs);
  StringWriter out;
  auto w = StartOrDie(&out, catalog);
  REQUIRE(w->BeginBlob(0, Compression::kNone).ok());
  REQUIRE(w->Append(io::AsBytes("jello")).ok());
  Status s = w->EndBlob();
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find(catalog.blobs[0].digest.str()) != std::string::npos);
  CHECK(s.message().find(Sha256::Of("jello").str()) != std::string::npos);
  // The writer is unusable afterwards.
  CHECK(w->Finish().kind() == ErrorKind::kCorruption);
}

TEST_CASE("writer rejects a blob shorter than its catalog size") {
  std::vector<BlobSpec> blobs = {{"hello", true, Compression::kNone}};
  Catalog catalog = MakeCatalog(blobs);
  StringWriter out;
  auto w = StartOrDie(&out, catalog);
  REQUIRE(w->BeginBlob(0, Compression::kNone).ok());
  REQUIRE(w->Append(io::AsBytes("hell")).ok());
  Status s = w->EndBlob();
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("expected 5 bytes, found 4") != std::string::npos);
}

TEST_CASE("writer rejects more bytes than the catalog size") {
  std::vector<BlobSpec> blobs = {{"hello", true, Compression::kNone}};
  StringWriter out;
  auto w = StartOrDie(&out, MakeCatalog(blobs));
  REQUIRE(w->BeginBlob(0, Compression::kNone).ok());
  CHECK(w->Append(io::AsBytes("hello!")).kind() == ErrorKind::kCorruption);
}

TEST_CASE("writer rejects BeginBlob out of catalog order") {
  std::vector<BlobSpec> blobs = {{"a", true}, {"b", false}, {"c", true}};
  Catalog catalog = MakeCatalog(blobs);
  StringWriter out;
  auto w = StartOrDie(&out, catalog);
  CHECK(w->BeginBlob(2, Compression::kNone).kind() == ErrorKind::kInvalidArgument);
  CHECK(w->BeginBlob(1, Compression::kNone).kind() == ErrorKind::kInvalidArgument);  // not shipped
  CHECK(w->BeginBlob(7, Compression::kNone).kind() == ErrorKind::kInvalidArgument);  // no such blob
  REQUIRE(w->BeginBlob(0, Compression::kNone).ok());
  CHECK(w->BeginBlob(2, Compression::kNone).kind() == ErrorKind::kInvalidArgument);  // 0 open
  REQUIRE(w->Append(io::AsBytes("a")).ok());
  REQUIRE(w->EndBlob().ok());
  CHECK(w->BeginBlob(0, Compression::kNone).kind() == ErrorKind::kInvalidArgument);  // again
  CHECK(w->Finish().kind() == ErrorKind::kInvalidArgument);  // blob 2 missing
  REQUIRE(w->BeginBlob(2, Compression::kNone).ok());
  REQUIRE(w->Append(io::AsBytes("c")).ok());
  REQUIRE(w->EndBlob().ok());
  REQUIRE(w->Finish().ok());
  CHECK(testing::Verify(out.contents()).ok());
}

TEST_CASE("writer validates the catalog before writing anything") {
  std::vector<BlobSpec> blobs = {{"a", true}, {"b", true}};
  StringWriter out;

  SECTION("a ref names a digest that is not a manifest") {
    Catalog c = MakeCatalog(blobs);
    c.refs[0].manifest = c.blobs[0].digest;
    CHECK(BundleWriter::Start(&out, c, TestKey()).status().kind() ==
          ErrorKind::kInvalidArgument);
  }
  SECTION("manifest bytes do not hash to the manifest digest") {
    Catalog c = MakeCatalog(blobs);
    c.manifests[0].bytes += " ";
    CHECK(BundleWriter::Start(&out, c, TestKey()).status().kind() ==
          ErrorKind::kInvalidArgument);
  }
  SECTION("a digest is listed twice") {
    Catalog c = MakeCatalog(blobs);
    c.blobs[1] = c.blobs[0];
    CHECK(BundleWriter::Start(&out, c, TestKey()).status().kind() ==
          ErrorKind::kInvalidArgument);
  }
  SECTION("two refs share repository and tag") {
    Catalog c = MakeCatalog(blobs);
    c.refs.push_back(c.refs[0]);
    CHECK(BundleWriter::Start(&out, c, TestKey()).status().kind() ==
          ErrorKind::kInvalidArgument);
  }
  SECTION("a blob has no digest") {
    Catalog c = MakeCatalog(blobs);
    c.blobs[0].digest = Digest();
    CHECK(BundleWriter::Start(&out, c, TestKey()).status().kind() ==
          ErrorKind::kInvalidArgument);
  }
  CHECK(out.contents().empty());
}

TEST_CASE("writer refuses a frame size of 0 or above the limit") {
  Catalog c = MakeCatalog({{"a", true}});
  StringWriter out;
  CHECK(BundleWriter::Start(&out, c, TestKey(), {0, 3}).status().kind() ==
        ErrorKind::kInvalidArgument);
  CHECK(BundleWriter::Start(&out, c, TestKey(), {kMaxFrameRawSize + 1, 3}).status().kind() ==
        ErrorKind::kInvalidArgument);
  CHECK(BundleWriter::Start(&out, c, TestKey(), {kMaxFrameRawSize, 3}).ok());
}

TEST_CASE("writer stores incompressible frames raw and compressible ones with zstd") {
  std::vector<BlobSpec> blobs = {{testing::RandomBytes(10000, 1), true, Compression::kZstd},
                                 {testing::CompressibleBytes(10000, 2), true, Compression::kZstd}};
  BundleWriterOptions options;
  options.frame_size = 4096;
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs, options);
  testing::Layout l = testing::ParseLayout(bundle);
  REQUIRE(l.frame_offsets.size() == 6);
  for (size_t i = 0; i < 6; ++i) {
    uint8_t codec = static_cast<uint8_t>(bundle[l.frame_offsets[i] + 24]);
    CHECK(codec == (i < 3 ? kCodecNone : kCodecZstd));
  }
  CHECK(testing::Verify(bundle).ok());
}

TEST_CASE("writer cuts blobs into frames of the configured size, last frame flagged") {
  std::vector<BlobSpec> blobs = {{std::string(10, 'x'), true},
                                 {std::string(12, 'y'), true},
                                 {"", true}};
  BundleWriterOptions options;
  options.frame_size = 4;
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs, options);
  testing::Layout l = testing::ParseLayout(bundle);
  // 10 = 4+4+2, 12 = 4+4+4, 0 = one empty frame.
  std::vector<uint32_t> raw_sizes, flags, blob_index;
  for (uint64_t at : l.frame_offsets) {
    blob_index.push_back(testing::GetU32At(bundle, at + 4));
    raw_sizes.push_back(testing::GetU32At(bundle, at + 16));
    flags.push_back(static_cast<uint8_t>(bundle[at + 25]));
  }
  CHECK(blob_index == std::vector<uint32_t>{0, 0, 0, 1, 1, 1, 2});
  CHECK(raw_sizes == std::vector<uint32_t>{4, 4, 2, 4, 4, 4, 0});
  CHECK(flags == std::vector<uint32_t>{0, 0, 1, 0, 0, 1, 1});
}

TEST_CASE("writer reports bytes written and stored blob bytes") {
  std::vector<BlobSpec> blobs = {{"hello", true}};
  StringWriter out;
  auto w = StartOrDie(&out, MakeCatalog(blobs));
  uint64_t before = w->bytes_written();
  REQUIRE(before == out.contents().size());
  REQUIRE(w->BeginBlob(0, Compression::kNone).ok());
  REQUIRE(w->Append(io::AsBytes("hello")).ok());
  REQUIRE(w->EndBlob().ok());
  CHECK(w->stored_blob_bytes() == kFrameHeaderSize + 5);
  CHECK(w->bytes_written() == before + kFrameHeaderSize + 5);
  REQUIRE(w->Finish().ok());
  CHECK(w->bytes_written() == out.contents().size());
}

TEST_CASE("frames compressed on several threads make the very bytes one thread makes") {
  std::vector<BlobSpec> blobs = {{testing::CompressibleBytes(50000, 1), true, Compression::kZstd},
                                 {testing::RandomBytes(9000, 2), true, Compression::kZstd},
                                 {testing::CompressibleBytes(3000, 3), true, Compression::kNone},
                                 {"", true, Compression::kZstd},
                                 {testing::CompressibleBytes(20000, 4), true, Compression::kZstd}};
  Catalog catalog = MakeCatalog(blobs);
  BundleWriterOptions one;
  one.frame_size = 1024;
  one.compression_threads = 1;
  BundleWriterOptions four = one;
  four.compression_threads = 4;
  std::string by_one = testing::WriteBundle(catalog, blobs, one);
  std::string by_four = testing::WriteBundle(catalog, blobs, four);
  CHECK(by_four == by_one);
  CHECK(testing::Verify(by_four).ok());
  // The zstd blobs really went through the pool: most of their frames shrank.
  testing::Layout l = testing::ParseLayout(by_four);
  size_t zstd_frames = 0;
  for (uint64_t at : l.frame_offsets) zstd_frames += by_four[at + 24] == kCodecZstd;
  CHECK(zstd_frames >= 60);
}

TEST_CASE("a writer told the caller checks digests still refuses a wrong size") {
  std::vector<BlobSpec> blobs = {{"hello", true, Compression::kNone}};
  BundleWriterOptions options;
  options.check_digests = false;
  {
    StringWriter out;
    auto w = StartOrDie(&out, MakeCatalog(blobs), options);
    REQUIRE(w->BeginBlob(0, Compression::kNone).ok());
    REQUIRE(w->Append(io::AsBytes("hell")).ok());
    CHECK(w->EndBlob().kind() == ErrorKind::kCorruption);
  }
  {
    // Same size, other bytes: the caller's check is what refuses these, so
    // the writer writes them and the bundle fails verification.
    StringWriter out;
    auto w = StartOrDie(&out, MakeCatalog(blobs), options);
    REQUIRE(w->BeginBlob(0, Compression::kNone).ok());
    REQUIRE(w->Append(io::AsBytes("jello")).ok());
    REQUIRE(w->EndBlob().ok());
    REQUIRE(w->Finish().ok());
    CHECK(testing::Verify(out.contents()).kind() == ErrorKind::kCorruption);
  }
}

TEST_CASE("writer takes a delta blob's delta, checked against delta_size and delta_digest") {
  const std::string delta = testing::CompressibleBytes(3000, 11);
  const std::string rebuilt = testing::RandomBytes(200, 12);
  std::vector<BlobSpec> blobs = {testing::DeltaSpec(delta, rebuilt, Compression::kZstd)};
  Catalog catalog = MakeCatalog(blobs);
  SECTION("the delta") {
    StringWriter out;
    auto w = StartOrDie(&out, catalog);
    REQUIRE(w->BeginBlob(0, Compression::kZstd).ok());
    REQUIRE(w->Append(io::AsBytes(delta)).ok());
    CHECK(w->EndBlob().ok());
    CHECK(w->Finish().ok());
    CHECK(testing::GetU32At(out.contents(), 12) == kRequiredFeatureDelta);
  }
  SECTION("the rebuilt blob instead of its delta: the wrong size") {
    StringWriter out;
    auto w = StartOrDie(&out, catalog);
    REQUIRE(w->BeginBlob(0, Compression::kNone).ok());
    REQUIRE(w->Append(io::AsBytes(rebuilt)).ok());
    Status s = w->EndBlob();
    CHECK(s.kind() == ErrorKind::kCorruption);
    CHECK(s.message().find("expected 3000 bytes, found 200") != std::string::npos);
  }
  SECTION("other bytes of the delta's size") {
    std::string other = delta;
    other[1234] ^= 1;
    StringWriter out;
    auto w = StartOrDie(&out, catalog);
    REQUIRE(w->BeginBlob(0, Compression::kNone).ok());
    REQUIRE(w->Append(io::AsBytes(other)).ok());
    Status s = w->EndBlob();
    CHECK(s.kind() == ErrorKind::kCorruption);
    CHECK(s.message().find(catalog.blobs[0].digest.str() + ": delta hashes to " +
                           Sha256::Of(other).str()) != std::string::npos);
    CHECK(w->Finish().kind() == ErrorKind::kCorruption);
  }
}

}  // namespace
}  // namespace sluice::format
