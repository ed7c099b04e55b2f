#include <catch2/catch.hpp>

#include "format/bundle_format.h"
#include "format/bundle_reader.h"
#include "tests/format/bundle_test_util.h"
#include "tests/format/string_io.h"

namespace sluice::format {
namespace {

using testing::BlobSpec;
using testing::MakeCatalog;

Status Locate(const std::string& bundle) {
  return ReadBlobLocations(testing::StringPositionalReader(bundle)).status();
}

std::string SomeBundle() {
  std::vector<BlobSpec> blobs = {{testing::RandomBytes(3000, 1), true},
                                 {"skipped", false},
                                 {testing::CompressibleBytes(5000, 2), true, Compression::kZstd}};
  return testing::WriteBundle(MakeCatalog(blobs), blobs, {1024, 3});
}

TEST_CASE("ReadBlobLocations points at each shipped blob's first frame") {
  std::string bundle = SomeBundle();
  auto locations = ReadBlobLocations(testing::StringPositionalReader(bundle));
  REQUIRE(locations.ok());
  REQUIRE(locations->size() == 2);
  CHECK((*locations)[0].blob_index == 0);
  CHECK((*locations)[1].blob_index == 2);
  CHECK((*locations)[0].frame_count == 3);
  for (const BlobLocation& l : *locations) {
    CHECK(bundle.compare(l.offset, 4, "SFRM") == 0);
    CHECK(testing::GetU32At(bundle, l.offset + 4) == l.blob_index);
    CHECK(testing::GetU64At(bundle, l.offset + 8) == 0);  // raw_offset of the first frame
  }
  CHECK((*locations)[1].offset == (*locations)[0].offset + (*locations)[0].stored_size);
}

TEST_CASE("ReadBlobLocations rejects a file that is not a bundle") {
  CHECK(Locate("").kind() == ErrorKind::kCorruption);
  CHECK(Locate(std::string(200, 'x')).kind() == ErrorKind::kCorruption);
}

TEST_CASE("ReadBlobLocations rejects a damaged trailer or footer") {
  const std::string bundle = SomeBundle();
  const testing::Layout l = testing::ParseLayout(bundle);
  for (uint64_t at = l.trailer_offset; at < bundle.size(); ++at) {
    std::string damaged = bundle;
    damaged[at] ^= 0x04;
    INFO("flip at " << at);
    CHECK(Locate(damaged).kind() == ErrorKind::kCorruption);
  }
}

TEST_CASE("ReadBlobLocations rejects entries that do not tile the frames") {
  std::string bundle = SomeBundle();
  const testing::Layout l = testing::ParseLayout(bundle);
  const uint64_t entry0 = l.trailer_offset + kTrailerHeaderSize;
  const uint64_t entry1 = entry0 + kTrailerEntrySize;
  SECTION("first entry not at the first frame") {
    testing::PutU64At(&bundle, entry0 + 8, l.frames_offset + 1);
  }
  SECTION("an entry's stored size overlapping the next") {
    testing::PutU64At(&bundle, entry0 + 16, testing::GetU64At(bundle, entry0 + 16) + 1);
  }
  SECTION("blob indexes not increasing") {
    testing::PutU32At(&bundle, entry1, 0);
  }
  SECTION("zero frames") {
    testing::PutU32At(&bundle, entry1 + 4, 0);
  }
  SECTION("entry count larger than the catalog allows") {
    testing::PutU32At(&bundle, l.trailer_offset + 8, 0x10000000);
  }
  testing::FixFooterChecksum(&bundle);
  CHECK(Locate(bundle).kind() == ErrorKind::kCorruption);
}

TEST_CASE("ReadBlobLocations of a bundle with nothing shipped is empty") {
  std::vector<BlobSpec> blobs = {{"absent", false}};
  auto locations = ReadBlobLocations(
      testing::StringPositionalReader(testing::WriteBundle(MakeCatalog(blobs), blobs)));
  REQUIRE(locations.ok());
  CHECK(locations->empty());
}

// A whole blob and a delta blob whose delta (4000 bytes) is much longer than
// the blob it rebuilds (50 bytes): the locator must measure its frames
// against delta_size.
std::vector<BlobSpec> DeltaBlobs() {
  return {{testing::RandomBytes(1500, 31), true},
          testing::DeltaSpec(testing::RandomBytes(4000, 32), testing::RandomBytes(50, 33))};
}

TEST_CASE("LocateShippedBlobs measures a delta blob's trailer range against delta_size") {
  const std::vector<BlobSpec> blobs = DeltaBlobs();
  const Catalog catalog = MakeCatalog(blobs);
  std::string bundle = testing::WriteBundle(catalog, blobs, {1024, 3});
  {
    testing::StringPositionalReader file(bundle);
    auto located = LocateShippedBlobs(file, catalog);
    REQUIRE(located.ok());
    REQUIRE(located->size() == 2);
    CHECK((*located)[1].blob_index == 1);
    CHECK((*located)[1].raw_offset == 0);
    CHECK((*located)[1].raw_size == 4000);
    CHECK((*located)[1].frame_count == 4);
    CHECK(testing::VerifyAt(bundle).ok());
  }
  // The trailer entry claiming the rebuilt blob's size, its checksum fixed:
  // a locator that measured against the blob's own size would accept it.
  const testing::Layout l = testing::ParseLayout(bundle);
  const uint64_t entry1 = l.trailer_offset + kTrailerHeaderSize + kTrailerEntrySize;
  testing::PutU64At(&bundle, entry1 + 32, 50);
  testing::FixFooterChecksum(&bundle);
  testing::StringPositionalReader file(bundle);
  Status s = LocateShippedBlobs(file, catalog).status();
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message() == "trailer: entry 1 holds raw bytes [0, 50) of blob 1 " +
                           catalog.blobs[1].digest.str() + ", which carries 4000 bytes");
}

}  // namespace
}  // namespace sluice::format
