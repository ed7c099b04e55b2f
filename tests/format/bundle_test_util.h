// Helpers shared by the format tests: a fixed signing key, catalogs and
// bundles built from blob contents, a full verify pass, an independent walk
// of a bundle's layout, and patch helpers that re-seal checksums and the
// signature after a test has edited bytes (so a test can reach the check it
// means to exercise instead of tripping an earlier checksum).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "format/bundle_reader.h"
#include "format/bundle_writer.h"
#include "format/catalog.h"
#include "format/crypto.h"
#include "tests/support/files.h"

namespace sluice::format::testing {

// The golden key: Ed25519 seed 00 01 02 .. 1f (tests/format/golden/tiny.key.pem).
const PrivateKey& TestKey();
std::string GoldenPath(const std::string& name);
std::string ReadFileOrDie(const std::string& path);
TrustPolicy TrustTestKey();

// tests/support/files.h
using ::sluice::testing::RandomBytes;
std::string CompressibleBytes(size_t n, uint64_t seed);

struct BlobSpec {
  BlobSpec(std::string data_in = {}, bool shipped_in = true,
           Compression compression_in = Compression::kNone)
      : data(std::move(data_in)), shipped(shipped_in), compression(compression_in) {}

  std::string data;  // what the blob's frames carry: the blob, or its delta
  bool shipped = true;
  Compression compression = Compression::kNone;
  // A delta blob (SPEC.md section 4, "Delta blobs"): the catalog lists
  // `rebuilt` as the blob (its digest and size) with these delta fields,
  // whose size and digest MakeCatalog sets to those of `data`.
  std::optional<BlobDelta> delta;
  std::string rebuilt;
};

// A shipped delta blob carrying `delta` in its frames and rebuilding to
// `rebuilt`: a zstd delta (codec 1) against a gzip base the far side holds
// (base_decoding 1), encoded again with zlib level 9 (encoding 1) and the
// 10-byte gzip header zlib writes at that level. content_size is arbitrary
// (the format cannot check it without the base).
BlobSpec DeltaSpec(std::string delta, std::string rebuilt,
                   Compression compression = Compression::kNone);
// The gzip member header zlib's deflate writes at level 9: no flags, no
// mtime, XFL 2, OS 3 (Unix).
std::string ZlibGzipHeader();

// One ref "test/repo:latest" to one manifest that lists every blob.
Catalog MakeCatalog(const std::vector<BlobSpec>& blobs);
// Writes the shipped blobs of `blobs` (whose order matches catalog.blobs).
std::string WriteBundle(const Catalog& catalog, const std::vector<BlobSpec>& blobs,
                        const BundleWriterOptions& options = {});

// The same, cut into volumes of at most `volume_size` bytes, each volume
// record's count filled in as a file writer does once the set is complete.
std::vector<std::string> WriteVolumes(const Catalog& catalog, const std::vector<BlobSpec>& blobs,
                                      uint64_t volume_size, BundleWriterOptions options = {});

// The catalog bytes as SPEC.md section 4 lays them out, checksum included,
// without the writer's validation: for catalogs the writer would refuse.
std::string EncodeCatalogUnchecked(const Catalog& catalog);
// Header, `catalog_bytes` and a signature block (algorithm Ed25519) by `key`
// over both: everything of a bundle that BundleReader::Open reads.
std::string SignedBundlePrefix(const BundleHeader& header, const std::string& catalog_bytes,
                               const PrivateKey& key);

struct ReadResult {
  Status status;  // of the first failing step of Open, NextBlob, Read, Finish
  Catalog catalog;
  SignatureInfo signature;
  std::map<size_t, std::string> blobs;
  std::vector<BlobLocation> locations;
};
// Open, read every shipped blob to its end, Finish. read_size is the buffer
// handed to Read; max_chunk limits the bytes per SequentialReader::Read.
ReadResult ReadAll(const std::string& bundle, const TrustPolicy& trust, size_t read_size = 65536,
                   size_t max_chunk = 0);
// Reads a bundle both ways: in one forward pass (BundleReader) and by
// random access (LocateShippedBlobs, OpenBlobAt), and fails with a
// non-damage error if the two disagree on whether it is valid; else the
// forward pass's status.
Status Verify(const std::string& bundle, const TrustPolicy& trust = TrustTestKey());
// The random-access way alone.
Status VerifyAt(const std::string& bundle, const TrustPolicy& trust = TrustTestKey());

// Where each structure of a well-formed bundle lies, found by walking it.
struct Layout {
  uint64_t header_size = 0;
  uint64_t catalog_offset = 0;
  uint64_t catalog_size = 0;
  uint64_t signature_offset = 0;
  uint64_t volume_offset = 0;  // the volume record
  uint64_t frames_offset = 0;
  std::vector<uint64_t> frame_offsets;
  std::vector<uint32_t> frame_stored_sizes;
  uint64_t trailer_offset = 0;
  uint64_t footer_offset = 0;
};
Layout ParseLayout(const std::string& bundle);

uint32_t GetU32At(const std::string& b, uint64_t offset);
uint64_t GetU64At(const std::string& b, uint64_t offset);
void PutU32At(std::string* b, uint64_t offset, uint32_t v);
void PutU64At(std::string* b, uint64_t offset, uint64_t v);

void FixHeaderChecksum(std::string* b);
// Recomputes the catalog checksum and re-signs header and catalog.
void FixCatalogAndSign(std::string* b, const PrivateKey& key = TestKey());
void FixFrameChecksum(std::string* b, uint64_t frame_offset);
// Recomputes the footer checksum over [trailer_offset, footer) as the footer says.
void FixFooterChecksum(std::string* b);

}  // namespace sluice::format::testing
