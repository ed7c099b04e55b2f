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

}  // namespace
}  // namespace sluice::format
