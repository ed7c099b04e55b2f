// A bundle cut into volumes (SPEC.md section 6): read as one bundle in
// volume order, each volume checked alone, and every way a set can be
// incomplete, out of order or mixed refused with the volume named.
#include <catch2/catch.hpp>

#include <numeric>

#include "format/blob_frames.h"
#include "format/bundle_format.h"
#include "format/frame_codec.h"
#include "tests/format/bundle_test_util.h"
#include "tests/format/string_io.h"

namespace sluice::format {
namespace {

using testing::BlobSpec;

constexpr uint64_t kVolumeSize = 8 * 1024;

// Three blobs of 10 KiB, 100 bytes and 20 KiB in 1 KiB frames: the first and
// last span volumes of 8 KiB, the small one lies within one.
std::vector<BlobSpec> SpanningBlobs() {
  return {{testing::RandomBytes(10 * 1024, 1), true},
          {"not shipped", false},
          {testing::RandomBytes(100, 2), true},
          {testing::RandomBytes(20 * 1024, 3), true}};
}

BundleWriterOptions SmallFrames() {
  BundleWriterOptions o;
  o.frame_size = 1024;
  return o;
}

std::string Concatenate(const std::vector<std::string>& volumes) {
  return std::accumulate(volumes.begin(), volumes.end(), std::string());
}

// Every blob part a volume holds, read alone: frames checked, digests of
// whole blobs checked. Returns the raw bytes of each part by blob index.
Status VerifyAlone(const std::string& volume, const Catalog& catalog,
                   std::map<uint32_t, std::string>* parts = nullptr) {
  testing::StringPositionalReader file(volume);
  SLUICE_ASSIGN_OR_RETURN(VolumeLocations located, ReadVolumeLocations(file));
  uint64_t frame = located.record.first_frame;
  for (const BlobLocation& part : located.parts) {
    auto reader = OpenBlobAt(&file, &catalog, part, frame, /*check_digest=*/true);
    std::string raw(4096, '\0');
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(io::MutableBytes(
                                            reinterpret_cast<uint8_t*>(raw.data()), raw.size())));
      if (n == 0) break;
      if (parts) (*parts)[part.blob_index].append(raw.data(), n);
    }
    frame += part.frame_count;
  }
  return Status::Ok();
}

TEST_CASE("a bundle cut into volumes reads back, in volume order, as the same bundle") {
  const std::vector<BlobSpec> blobs = SpanningBlobs();
  const Catalog catalog = testing::MakeCatalog(blobs);
  const std::vector<std::string> volumes =
      testing::WriteVolumes(catalog, blobs, kVolumeSize, SmallFrames());
  REQUIRE(volumes.size() >= 4);
  for (const std::string& v : volumes) CHECK(v.size() <= kVolumeSize);

  testing::ReadResult r = testing::ReadAll(Concatenate(volumes), testing::TrustTestKey());
  REQUIRE(r.status.ok());
  CHECK(r.blobs.size() == 3);
  CHECK(r.blobs[0] == blobs[0].data);
  CHECK(r.blobs[2] == blobs[2].data);
  CHECK(r.blobs[3] == blobs[3].data);
  // A spanning blob has one part per volume that holds some of it.
  size_t parts_of_last = 0;
  for (const BlobLocation& l : r.locations) parts_of_last += l.blob_index == 3 ? 1 : 0;
  CHECK(parts_of_last >= 3);
}

TEST_CASE("each volume verifies alone, and its parts rebuild every blob") {
  const std::vector<BlobSpec> blobs = SpanningBlobs();
  const Catalog catalog = testing::MakeCatalog(blobs);
  const std::vector<std::string> volumes =
      testing::WriteVolumes(catalog, blobs, kVolumeSize, SmallFrames());
  std::map<uint32_t, std::string> joined;
  for (size_t i = 0; i < volumes.size(); ++i) {
    INFO("volume " << i + 1);
    std::map<uint32_t, std::string> parts;
    REQUIRE(VerifyAlone(volumes[i], catalog, &parts).ok());
    for (auto& [blob, bytes] : parts) joined[blob] += bytes;
    testing::StringPositionalReader file(volumes[i]);
    auto located = ReadVolumeLocations(file);
    REQUIRE(located.ok());
    CHECK(located->record.number == i + 1);
    CHECK(located->record.count == volumes.size());
  }
  CHECK(joined[0] == blobs[0].data);
  CHECK(joined[2] == blobs[2].data);
  CHECK(joined[3] == blobs[3].data);
}

TEST_CASE("a damaged frame is found in the volume that holds it, read alone") {
  const std::vector<BlobSpec> blobs = SpanningBlobs();
  const Catalog catalog = testing::MakeCatalog(blobs);
  std::vector<std::string> volumes =
      testing::WriteVolumes(catalog, blobs, kVolumeSize, SmallFrames());
  std::string& second = volumes[1];
  second[second.size() / 2] ^= 0x40;
  CHECK(VerifyAlone(volumes[0], catalog).ok());
  Status s = VerifyAlone(second, catalog);
  CHECK(s.kind() == ErrorKind::kCorruption);
  Status whole = testing::ReadAll(Concatenate(volumes), testing::TrustTestKey()).status;
  CHECK(whole.kind() == ErrorKind::kCorruption);
}

TEST_CASE("an incomplete, reordered or mixed set of volumes is refused, naming the volume") {
  const std::vector<BlobSpec> blobs = SpanningBlobs();
  const Catalog catalog = testing::MakeCatalog(blobs);
  const std::vector<std::string> volumes =
      testing::WriteVolumes(catalog, blobs, kVolumeSize, SmallFrames());
  REQUIRE(volumes.size() >= 4);
  std::vector<std::string> set = volumes;
  std::string expect;
  SECTION("a volume missing") {
    set.erase(set.begin() + 2);
    expect = "expected volume 3 of " + std::to_string(volumes.size()) + ", found volume 4";
  }
  SECTION("two volumes swapped") {
    std::swap(set[1], set[2]);
    expect = "expected volume 2 of";
  }
  SECTION("a volume twice") {
    set.insert(set.begin() + 2, set[1]);
    expect = "found volume 2";
  }
  SECTION("the last volume missing") {
    set.pop_back();
    expect = "truncated bundle";
  }
  SECTION("a volume of another bundle") {
    Catalog other = catalog;
    other.header.bundle_id[0] ^= 1;
    set[1] = testing::WriteVolumes(other, blobs, kVolumeSize, SmallFrames())[1];
    expect = "volume 2 of " + std::to_string(volumes.size()) + " belongs to bundle";
  }
  SECTION("a later volume first") {
    std::rotate(set.begin(), set.begin() + 1, set.end());
    expect = "this is volume 2 of";
  }
  Status s = testing::ReadAll(Concatenate(set), testing::TrustTestKey()).status;
  INFO(s.ToString());
  CHECK(!s.ok());
  CHECK(s.message().find(expect) != std::string::npos);
}

TEST_CASE("every volume size from the smallest that fits reads back the same blobs") {
  const std::vector<BlobSpec> blobs = {{testing::RandomBytes(5000, 4), true},
                                       {testing::CompressibleBytes(7000, 5), true,
                                        Compression::kZstd}};
  const Catalog catalog = testing::MakeCatalog(blobs);
  const uint64_t one = testing::WriteBundle(catalog, blobs, SmallFrames()).size();
  for (uint64_t size = 2600; size <= one + 100; size += 97) {
    INFO("volume size " << size);
    std::vector<std::string> volumes;
    try {
      volumes = testing::WriteVolumes(catalog, blobs, size, SmallFrames());
    } catch (const std::exception& e) {
      // Only a size below header, catalog, signature, one frame and a
      // trailer may be refused.
      CHECK(std::string(e.what()).find("is too small") != std::string::npos);
      continue;
    }
    for (const std::string& v : volumes) CHECK(v.size() <= size);
    testing::ReadResult r = testing::ReadAll(Concatenate(volumes), testing::TrustTestKey());
    REQUIRE(r.status.ok());
    CHECK(r.blobs[0] == blobs[0].data);
    CHECK(r.blobs[1] == blobs[1].data);
    for (const std::string& v : volumes) CHECK(VerifyAlone(v, catalog).ok());
  }
}

TEST_CASE("a volume size too small for one frame is refused before anything is written") {
  const std::vector<BlobSpec> blobs = {{testing::RandomBytes(3000, 6), true}};
  const Catalog catalog = testing::MakeCatalog(blobs);
  CHECK_THROWS_WITH(testing::WriteVolumes(catalog, blobs, 1500, SmallFrames()),
                    Catch::Contains("is too small"));
}

TEST_CASE("a whole-bundle locator refuses a volume of a set") {
  const std::vector<BlobSpec> blobs = SpanningBlobs();
  const Catalog catalog = testing::MakeCatalog(blobs);
  const std::vector<std::string> volumes =
      testing::WriteVolumes(catalog, blobs, kVolumeSize, SmallFrames());
  testing::StringPositionalReader file(volumes[0]);
  auto located = LocateShippedBlobs(file, catalog);
  CHECK(located.status().kind() == ErrorKind::kUnsupported);
}

TEST_CASE("a delta blob spans volumes by its delta, checked whole once the set is read") {
  // The delta (12 KiB in 1 KiB frames) spans two volumes of 8 KiB; the blob
  // it rebuilds is 100 bytes, so every range is measured against delta_size.
  const std::vector<BlobSpec> blobs = {
      {testing::RandomBytes(2 * 1024, 41), true},
      testing::DeltaSpec(testing::RandomBytes(12 * 1024, 42), testing::RandomBytes(100, 43))};
  const Catalog catalog = testing::MakeCatalog(blobs);
  const std::vector<std::string> volumes =
      testing::WriteVolumes(catalog, blobs, kVolumeSize, SmallFrames());
  REQUIRE(volumes.size() >= 2);

  testing::ReadResult r = testing::ReadAll(Concatenate(volumes), testing::TrustTestKey());
  REQUIRE(r.status.ok());
  CHECK(r.blobs[1] == blobs[1].data);

  std::string joined;
  size_t volumes_with_delta = 0;
  for (size_t i = 0; i < volumes.size(); ++i) {
    INFO("volume " << i + 1);
    testing::StringPositionalReader file(volumes[i]);
    auto check = VerifyVolume(file, testing::TrustTestKey());
    REQUIRE(check.ok());
    std::map<uint32_t, std::string> parts;
    REQUIRE(VerifyAlone(volumes[i], catalog, &parts).ok());
    for (const BlobLocation& part : check->parts) {
      if (part.blob_index != 1) continue;
      ++volumes_with_delta;
      CHECK(part.raw_offset == joined.size());
      CHECK(part.raw_offset + part.raw_size <= 12 * 1024);
      joined += parts[1];
    }
  }
  CHECK(volumes_with_delta >= 2);
  CHECK(joined == blobs[1].data);
}

TEST_CASE("a volume's trailer entry is measured against its delta blob's delta_size") {
  const std::vector<BlobSpec> blobs = {
      testing::DeltaSpec(testing::RandomBytes(12 * 1024, 44), testing::RandomBytes(100, 45))};
  const Catalog catalog = testing::MakeCatalog(blobs);
  std::vector<std::string> volumes =
      testing::WriteVolumes(catalog, blobs, kVolumeSize, SmallFrames());
  REQUIRE(volumes.size() >= 2);
  // Volume 1's one part stops short inside the delta, as a last part may.
  std::string& first = volumes[0];
  const uint64_t footer = first.size() - 32;
  const uint64_t entry0 = testing::GetU64At(first, footer) + kTrailerHeaderSize;
  const uint64_t raw_size = testing::GetU64At(first, entry0 + 32);
  REQUIRE(raw_size < 12 * 1024);
  REQUIRE(raw_size > 100);
  {
    testing::StringPositionalReader file(first);
    CHECK(VerifyVolume(file, testing::TrustTestKey()).ok());
  }
  // Claiming more than delta_size holds is refused before any frame is read.
  testing::PutU64At(&first, entry0 + 32, 12 * 1024 + 1);
  testing::FixFooterChecksum(&first);
  testing::StringPositionalReader file(first);
  Status s = VerifyVolume(file, testing::TrustTestKey()).status();
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("holds raw bytes [0, 12289) of blob 0 of 12288 bytes") !=
        std::string::npos);
}

}  // namespace
}  // namespace sluice::format
