// Damage and hostility: every byte flipped, every prefix, and hand-made
// bundles whose checksums are valid but whose structure lies.
#include <catch2/catch.hpp>

#include "format/bundle_format.h"
#include "format/bundle_reader.h"
#include "tests/format/bundle_test_util.h"
#include "tests/format/string_io.h"

namespace sluice::format {
namespace {

using testing::BlobSpec;
using testing::MakeCatalog;

// A small bundle with every kind of region: a multi-frame zstd blob, a raw
// blob, a zero-length blob and a blob that is not shipped.
std::vector<BlobSpec> SmallBlobs() {
  return {{testing::CompressibleBytes(300, 1), true, Compression::kZstd},
          {testing::RandomBytes(100, 2), true, Compression::kNone},
          {"", true, Compression::kZstd},
          {"far side has it", false, Compression::kNone}};
}

std::string SmallBundle() {
  auto blobs = SmallBlobs();
  return testing::WriteBundle(MakeCatalog(blobs), blobs, {128, 3});
}

std::string RegionOf(const testing::Layout& l, uint64_t at) {
  if (at < l.catalog_offset) return "header";
  if (at < l.signature_offset) return "catalog";
  if (at < l.frames_offset) return "signature";
  if (at >= l.footer_offset) return "footer";
  if (at >= l.trailer_offset) return "trailer";
  for (size_t i = l.frame_offsets.size(); i-- > 0;) {
    if (at >= l.frame_offsets[i]) {
      return "frame " + std::to_string(i) + (at < l.frame_offsets[i] + 40 ? " header" : " payload");
    }
  }
  return "?";
}

bool DamageKind(const Status& s) {
  return s.kind() == ErrorKind::kCorruption || s.kind() == ErrorKind::kUntrusted;
}

TEST_CASE("small test bundle has every region the sweeps claim to cover") {
  std::string bundle = SmallBundle();
  testing::Layout l = testing::ParseLayout(bundle);
  REQUIRE(testing::Verify(bundle).ok());
  // 300 bytes in frames of 128: 3 frames; 100 bytes: 1; empty blob: 1.
  REQUIRE(l.frame_offsets.size() == 5);
  bool zstd = false, raw = false, empty = false;
  for (size_t i = 0; i < l.frame_offsets.size(); ++i) {
    zstd |= bundle[l.frame_offsets[i] + 24] == kCodecZstd;
    raw |= bundle[l.frame_offsets[i] + 24] == kCodecNone && l.frame_stored_sizes[i] > 0;
    empty |= l.frame_stored_sizes[i] == 0;
  }
  CHECK(zstd);
  CHECK(raw);
  CHECK(empty);
}

TEST_CASE("flipping any single byte of a small bundle fails verification") {
  const std::string bundle = SmallBundle();
  const testing::Layout l = testing::ParseLayout(bundle);
  // Two patterns: a single low bit, and all bits.
  for (uint8_t mask : {uint8_t{0x01}, uint8_t{0xff}}) {
    std::map<std::string, int> flips_per_region;
    for (size_t at = 0; at < bundle.size(); ++at) {
      std::string damaged = bundle;
      damaged[at] = static_cast<char>(damaged[at] ^ mask);
      Status s = testing::Verify(damaged);
      flips_per_region[RegionOf(l, at).substr(0, 5)]++;
      if (!DamageKind(s)) {
        FAIL("flip " << int(mask) << " at offset " << at << " (" << RegionOf(l, at)
                     << ") gave: " << (s.ok() ? "OK" : s.ToString()));
      }
    }
    CHECK(flips_per_region.size() == 6);  // heade catal signa frame trail foote
  }
}

TEST_CASE("flipping bytes anywhere in a larger bundle fails verification") {
  std::vector<BlobSpec> blobs = {
      {testing::CompressibleBytes(200000, 1), true, Compression::kZstd},
      {testing::RandomBytes(70000, 2), true, Compression::kZstd},
      {testing::RandomBytes(5000, 3), false, Compression::kNone},
      {testing::CompressibleBytes(9000, 4), true, Compression::kNone}};
  const std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs, {16384, 3});
  const testing::Layout l = testing::ParseLayout(bundle);
  REQUIRE(l.frame_offsets.size() == 19);
  std::vector<uint64_t> targets;
  for (uint64_t at = 0; at < bundle.size(); at += 61) targets.push_back(at);
  // Every byte of every frame header, and the bytes around each boundary.
  for (uint64_t f : l.frame_offsets) {
    for (uint64_t i = 0; i < 41; ++i) targets.push_back(f + i);
    if (f > 0) targets.push_back(f - 1);
  }
  for (uint64_t at = l.trailer_offset; at < bundle.size(); ++at) targets.push_back(at);
  for (uint64_t at = 0; at < l.frames_offset; at += 3) targets.push_back(at);
  for (uint64_t at : targets) {
    std::string damaged = bundle;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
    Status s = testing::Verify(damaged);
    if (!DamageKind(s)) {
      FAIL("flip at offset " << at << " (" << RegionOf(l, at)
                             << ") gave: " << (s.ok() ? "OK" : s.ToString()));
    }
  }
}

TEST_CASE("a bundle cut short at any byte fails verification as corruption") {
  const std::string bundle = SmallBundle();
  const testing::Layout l = testing::ParseLayout(bundle);
  for (size_t n = 0; n < bundle.size(); ++n) {
    Status s = testing::Verify(bundle.substr(0, n));
    if (s.kind() != ErrorKind::kCorruption) {
      FAIL("cut at " << n << " (" << RegionOf(l, n) << ") gave: " << (s.ok() ? "OK" : s.ToString()));
    }
  }
}

TEST_CASE("a bundle cut at a frame boundary fails and says it is truncated") {
  std::vector<BlobSpec> blobs = {{testing::RandomBytes(100000, 5), true, Compression::kNone},
                                 {testing::CompressibleBytes(100000, 6), true, Compression::kZstd}};
  const std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs, {8192, 3});
  const testing::Layout l = testing::ParseLayout(bundle);
  std::vector<uint64_t> cuts = l.frame_offsets;
  cuts.push_back(l.trailer_offset);
  cuts.push_back(l.footer_offset);
  cuts.push_back(l.frames_offset);
  for (uint64_t n : cuts) {
    Status s = testing::Verify(bundle.substr(0, n));
    INFO("cut at " << n << ": " << s.ToString());
    CHECK(s.kind() == ErrorKind::kCorruption);
    CHECK(s.message().find("truncated") != std::string::npos);
    // ReadBlobLocations sees no footer there either.
    CHECK(ReadBlobLocations(testing::StringPositionalReader(bundle.substr(0, n))).status().kind() ==
          ErrorKind::kCorruption);
  }
}

TEST_CASE("reader rejects trailing garbage after the footer") {
  const std::string bundle = SmallBundle();
  for (const std::string& extra : {std::string(1, '\0'), std::string("\n"), bundle}) {
    Status s = testing::Verify(bundle + extra);
    CHECK(s.kind() == ErrorKind::kCorruption);
    CHECK(s.message().find("trailing garbage") != std::string::npos);
  }
}

// --- Hostile bundles: valid checksums and signature, lying structure. ---

uint64_t BlobSizeFieldOffset(const std::string& bundle, const Digest& digest) {
  // In a blob record, the u64 size follows the 71-byte digest string.
  testing::Layout l = testing::ParseLayout(bundle);
  size_t at = bundle.find(digest.str(), l.catalog_offset);
  // The last occurrence is the blob record (the manifest JSON mentions it too).
  size_t last = at;
  while ((at = bundle.find(digest.str(), at + 1)) != std::string::npos && at < l.signature_offset) {
    last = at;
  }
  return last + digest.str().size();
}

TEST_CASE("reader rejects a blob whose declared size is huge but whose frames are few") {
  std::vector<BlobSpec> blobs = {{"hello", true}};
  Catalog catalog = MakeCatalog(blobs);
  std::string bundle = testing::WriteBundle(catalog, blobs);
  uint64_t field = BlobSizeFieldOffset(bundle, catalog.blobs[0].digest);
  REQUIRE(testing::GetU64At(bundle, field) == 5);
  testing::PutU64At(&bundle, field, uint64_t{1} << 50);
  testing::FixCatalogAndSign(&bundle);
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kCorruption);
  // The only frame is flagged last but ends far short of the claimed size.
  CHECK(s.message().find("flagged last") != std::string::npos);
  CHECK(s.message().find(catalog.blobs[0].digest.str()) != std::string::npos);
}

TEST_CASE("reader rejects a blob whose frames outgrow its declared size") {
  std::vector<BlobSpec> blobs = {{"hello, world", true}};
  Catalog catalog = MakeCatalog(blobs);
  std::string bundle = testing::WriteBundle(catalog, blobs, {5, 3});
  testing::PutU64At(&bundle, BlobSizeFieldOffset(bundle, catalog.blobs[0].digest), 7);
  testing::FixCatalogAndSign(&bundle);
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("past the blob's declared size 7") != std::string::npos);
}

TEST_CASE("reader rejects a frame claiming more than the raw size limit") {
  std::vector<BlobSpec> blobs = {{"hello", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  testing::Layout l = testing::ParseLayout(bundle);
  uint64_t f = l.frame_offsets[0];
  testing::PutU32At(&bundle, f + 16, kMaxFrameRawSize + 1);
  testing::PutU32At(&bundle, f + 20, kMaxFrameRawSize + 1);
  testing::FixFrameChecksum(&bundle, f);
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("exceeds the limit") != std::string::npos);
  CHECK(s.message().find("offset " + std::to_string(f)) != std::string::npos);
}

TEST_CASE("reader rejects a zstd frame whose stored size exceeds the zstd bound") {
  std::vector<BlobSpec> blobs = {{testing::CompressibleBytes(1000, 1), true, Compression::kZstd}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  testing::Layout l = testing::ParseLayout(bundle);
  uint64_t f = l.frame_offsets[0];
  REQUIRE(bundle[f + 24] == kCodecZstd);
  testing::PutU32At(&bundle, f + 20, 1u << 30);
  testing::FixFrameChecksum(&bundle, f);  // over a payload that is not all there
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("larger than any compression") != std::string::npos);
}

TEST_CASE("reader rejects a zstd payload that inflates to another size") {
  // Two blobs: the compressed frame of one is given the raw size of the other.
  std::vector<BlobSpec> blobs = {{testing::CompressibleBytes(1000, 1), true, Compression::kZstd}};
  Catalog catalog = MakeCatalog(blobs);
  std::string bundle = testing::WriteBundle(catalog, blobs);
  testing::Layout l = testing::ParseLayout(bundle);
  uint64_t f = l.frame_offsets[0];
  testing::PutU32At(&bundle, f + 16, 900);
  testing::FixFrameChecksum(&bundle, f);
  testing::PutU64At(&bundle, BlobSizeFieldOffset(bundle, catalog.blobs[0].digest), 900);
  testing::FixCatalogAndSign(&bundle);
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("zstd payload") != std::string::npos);
}

TEST_CASE("reader rejects a duplicated frame") {
  std::vector<BlobSpec> blobs = {{"hello, world", true}, {"second", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs, {5, 3});
  testing::Layout l = testing::ParseLayout(bundle);
  SECTION("within its blob") {
    std::string frame = bundle.substr(l.frame_offsets[0], l.frame_offsets[1] - l.frame_offsets[0]);
    bundle.insert(l.frame_offsets[1], frame);
    Status s = testing::Verify(bundle);
    CHECK(s.kind() == ErrorKind::kCorruption);
    CHECK(s.message().find("raw_offset 0, expected 5") != std::string::npos);
    CHECK(s.message().find("offset " + std::to_string(l.frame_offsets[1])) != std::string::npos);
    CHECK(s.message().find("frame 1 ") != std::string::npos);
  }
  SECTION("after its blob ended") {
    // The last frame of blob 0 repeated where blob 1 should start.
    std::string frame = bundle.substr(l.frame_offsets[2], l.frame_offsets[3] - l.frame_offsets[2]);
    bundle.insert(l.frame_offsets[3], frame);
    Status s = testing::Verify(bundle);
    CHECK(s.kind() == ErrorKind::kCorruption);
    CHECK(s.message().find("came earlier") != std::string::npos);
  }
  SECTION("after the last blob") {
    std::string frame = bundle.substr(l.frame_offsets.back(), l.trailer_offset - l.frame_offsets.back());
    bundle.insert(l.trailer_offset, frame);
    Status s = testing::Verify(bundle);
    CHECK(s.kind() == ErrorKind::kCorruption);
    CHECK(s.message().find("follows the last shipped blob") != std::string::npos);
  }
}

TEST_CASE("reader rejects frames out of order") {
  std::vector<BlobSpec> blobs = {{"hello, world", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs, {5, 3});
  testing::Layout l = testing::ParseLayout(bundle);
  std::string f0 = bundle.substr(l.frame_offsets[0], l.frame_offsets[1] - l.frame_offsets[0]);
  std::string f1 = bundle.substr(l.frame_offsets[1], l.frame_offsets[2] - l.frame_offsets[1]);
  bundle.replace(l.frame_offsets[0], f0.size() + f1.size(), f1 + f0);
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("raw_offset 5, expected 0") != std::string::npos);
}

TEST_CASE("reader rejects a frame for a blob that is not shipped") {
  std::vector<BlobSpec> blobs = {{"hello", true}, {"absent", false}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  testing::Layout l = testing::ParseLayout(bundle);
  testing::PutU32At(&bundle, l.frame_offsets[0] + 4, 1);
  testing::FixFrameChecksum(&bundle, l.frame_offsets[0]);
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("not shipped") != std::string::npos);
}

TEST_CASE("reader rejects a frame for a blob outside the catalog") {
  std::vector<BlobSpec> blobs = {{"hello", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  testing::Layout l = testing::ParseLayout(bundle);
  testing::PutU32At(&bundle, l.frame_offsets[0] + 4, 0xffffffff);
  testing::FixFrameChecksum(&bundle, l.frame_offsets[0]);
  CHECK(testing::Verify(bundle).message().find("not in the catalog") != std::string::npos);
}

TEST_CASE("reader rejects a missing last flag and a missing frame") {
  std::vector<BlobSpec> blobs = {{"hello, world", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs, {5, 3});
  testing::Layout l = testing::ParseLayout(bundle);
  SECTION("last flag cleared") {
    bundle[l.frame_offsets[2] + 25] = 0;
    testing::FixFrameChecksum(&bundle, l.frame_offsets[2]);
    CHECK(testing::Verify(bundle).message().find("not flagged last") != std::string::npos);
  }
  SECTION("last frame removed") {
    bundle.erase(l.frame_offsets[2], l.trailer_offset - l.frame_offsets[2]);
    Status s = testing::Verify(bundle);
    CHECK(s.kind() == ErrorKind::kCorruption);
    CHECK(s.message().find("frames are missing") != std::string::npos);
  }
}

TEST_CASE("reader rejects blob bytes that do not hash to the catalog digest") {
  std::vector<BlobSpec> blobs = {{"hello", true}};
  Catalog catalog = MakeCatalog(blobs);
  std::string bundle = testing::WriteBundle(catalog, blobs);
  testing::Layout l = testing::ParseLayout(bundle);
  bundle[l.frame_offsets[0] + 40] = 'j';
  testing::FixFrameChecksum(&bundle, l.frame_offsets[0]);
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find(catalog.blobs[0].digest.str()) != std::string::npos);
  CHECK(s.message().find(Sha256::Of("jello").str()) != std::string::npos);
}

TEST_CASE("reader rejects a trailer that disagrees with the frames") {
  std::string bundle = SmallBundle();
  testing::Layout l = testing::ParseLayout(bundle);
  const uint64_t entry0 = l.trailer_offset + kTrailerHeaderSize;
  SECTION("entry offset") {
    testing::PutU64At(&bundle, entry0 + 8, 12345);
  }
  SECTION("entry raw range") {
    testing::PutU64At(&bundle, entry0 + 32, 1);
  }
  SECTION("entry count") {
    testing::PutU32At(&bundle, l.trailer_offset + 8, 2);
  }
  SECTION("trailer_size") {
    testing::PutU64At(&bundle, l.trailer_offset + 16, 1000);
  }
  SECTION("footer trailer_offset") {
    testing::PutU64At(&bundle, l.footer_offset, l.trailer_offset - 1);
  }
  testing::FixFooterChecksum(&bundle);
  CHECK(testing::Verify(bundle).kind() == ErrorKind::kCorruption);
}

}  // namespace
}  // namespace sluice::format
