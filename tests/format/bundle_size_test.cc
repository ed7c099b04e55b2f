// BundleSizer against BundleWriter: the size and volumes it counts for
// frames of known stored sizes are those of the bundle the writer writes.
#include "format/bundle_size.h"

#include <catch2/catch.hpp>
#include <stdexcept>

#include "format/frame_encoder.h"
#include "tests/format/bundle_test_util.h"

namespace sluice::format {
namespace {

using testing::BlobSpec;

constexpr uint32_t kFrameSize = 1024;
constexpr int kLevel = 2;

// Blobs stored as they are and compressed, spanning frames, one frame
// exactly, an empty one, and one not shipped.
std::vector<BlobSpec> Blobs() {
  return {{testing::RandomBytes(10 * 1024 + 17, 1), true, Compression::kNone},
          {"not shipped", false, Compression::kNone},
          {testing::CompressibleBytes(7 * 1024 + 5, 2), true, Compression::kZstd},
          {"", true, Compression::kZstd},
          {testing::RandomBytes(kFrameSize, 3), true, Compression::kZstd},
          {testing::CompressibleBytes(300, 4), true, Compression::kZstd},
          {testing::RandomBytes(20 * 1024, 5), true, Compression::kNone}};
}

// What the writer would store for each frame of each shipped blob, counted.
Result<BundleSizer> Count(const Catalog& catalog, const std::vector<BlobSpec>& blobs,
                          uint64_t volume_size) {
  SLUICE_ASSIGN_OR_RETURN(uint64_t prefix, VolumePrefixSize(catalog));
  BundleSizer sizer(prefix, volume_size);
  FrameEncoder encoder(kLevel);
  for (const BlobSpec& blob : blobs) {
    if (!blob.shipped) continue;
    sizer.BeginBlob();
    size_t at = 0;
    do {
      const size_t n = std::min<size_t>(kFrameSize, blob.data.size() - at);
      EncodedFrame frame;
      frame.raw.assign(blob.data.begin() + static_cast<ptrdiff_t>(at),
                       blob.data.begin() + static_cast<ptrdiff_t>(at + n));
      if (blob.compression == Compression::kZstd) {
        encoder.Encode(&frame);
      } else {
        EncodeFrame(nullptr, /*compress=*/false, &frame);
      }
      SLUICE_RETURN_IF_ERROR(frame.status);
      SLUICE_RETURN_IF_ERROR(sizer.AddFrame(frame.payload.size()));
      at += n;
    } while (at < blob.data.size());
  }
  return sizer;
}

BundleWriterOptions Options() {
  BundleWriterOptions o;
  o.frame_size = kFrameSize;
  o.zstd_level = kLevel;
  return o;
}

TEST_CASE("the sizer counts the bytes of a bundle of one volume as the writer writes them") {
  const std::vector<BlobSpec> blobs = Blobs();
  const Catalog catalog = testing::MakeCatalog(blobs);
  const std::string bundle = testing::WriteBundle(catalog, blobs, Options());
  auto counted = Count(catalog, blobs, 0);
  REQUIRE(counted.ok());
  CHECK(counted->bytes() == bundle.size());
  CHECK(counted->volumes() == 1);
}

TEST_CASE("the sizer cuts volumes where the writer does, for every volume size") {
  const std::vector<BlobSpec> blobs = Blobs();
  const Catalog catalog = testing::MakeCatalog(blobs);
  auto prefix = VolumePrefixSize(catalog);
  REQUIRE(prefix.ok());
  // From the smallest that holds a prefix, a frame and a trailer, up, in
  // steps that are not multiples of the frame size.
  const uint64_t smallest = *prefix + kFrameHeaderSize + kFrameSize + VolumeTailSize(2);
  for (uint64_t volume_size = smallest; volume_size < smallest + 40 * 1024; volume_size += 997) {
    INFO("volume size " << volume_size);
    const std::vector<std::string> volumes =
        testing::WriteVolumes(catalog, blobs, volume_size, Options());
    uint64_t written = 0;
    for (const std::string& v : volumes) written += v.size();
    auto counted = Count(catalog, blobs, volume_size);
    REQUIRE(counted.ok());
    CHECK(counted->volumes() == volumes.size());
    CHECK(counted->bytes() == written);
  }
}

TEST_CASE("a volume size the writer refuses, the sizer refuses with the same message") {
  const std::vector<BlobSpec> blobs = Blobs();
  const Catalog catalog = testing::MakeCatalog(blobs);
  auto prefix = VolumePrefixSize(catalog);
  REQUIRE(prefix.ok());
  for (uint64_t volume_size : {uint64_t{1}, *prefix, *prefix + kFrameHeaderSize + 100}) {
    INFO("volume size " << volume_size);
    std::string refused;
    try {
      testing::WriteVolumes(catalog, blobs, volume_size, Options());
    } catch (const std::runtime_error& e) {
      refused = e.what();
    }
    auto counted = Count(catalog, blobs, volume_size);
    REQUIRE_FALSE(counted.ok());
    CHECK(counted.status().kind() == ErrorKind::kInvalidArgument);
    CHECK(counted.status().message().find("is too small") != std::string::npos);
    CHECK(refused.find(counted.status().message()) != std::string::npos);
  }
}

TEST_CASE("the prefix of every volume is header, catalog, signature and volume record") {
  const std::vector<BlobSpec> blobs = Blobs();
  const Catalog catalog = testing::MakeCatalog(blobs);
  const std::string bundle = testing::WriteBundle(catalog, blobs, Options());
  const testing::Layout layout = testing::ParseLayout(bundle);
  auto prefix = VolumePrefixSize(catalog);
  REQUIRE(prefix.ok());
  CHECK(*prefix == layout.frames_offset);
}

}  // namespace
}  // namespace sluice::format
