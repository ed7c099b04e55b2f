// Reads a bundle (SPEC.md) in one forward pass from any io::SequentialReader
// (a file or a pipe), checking as it goes: header, catalog checksum, the
// signature against the trusted keys *before* the catalog is parsed and
// before any blob byte is handed out, the catalog's consistency, every
// frame's checksum, every blob's size and sha256, the trailer and the end of
// input. Errors name the region, frame, blob digest and byte offset.
//
// Memory is bounded by the catalog plus one frame: an untrusted catalog costs
// its bytes (read as they arrive) and is never parsed; a trusted one a small
// multiple of its size while it is parsed and validated, in time linear in
// its size.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "format/catalog.h"
#include "io/file.h"

namespace sluice::format {

struct TrustPolicy {
  std::vector<PublicKey> keys;
  // Accept a bundle whatever key signed it (still checks it is well formed).
  // Only for `--insecure-skip-signature`.
  bool skip_signature = false;
};

struct SignatureInfo {
  std::array<uint8_t, 32> key_fingerprint{};
  bool verified = false;  // false only with skip_signature
};

// Where a shipped blob's frames lie in one volume (a trailer entry): all of
// them, or the part of a blob that spans volumes that this volume holds.
struct BlobLocation {
  uint32_t blob_index = 0;
  uint64_t offset = 0;       // offset of the part's first frame in its volume
  uint64_t stored_size = 0;  // bytes of the part's frames, headers included
  uint32_t frame_count = 0;
  uint64_t raw_offset = 0;   // the blob's bytes the part holds: [raw_offset,
  uint64_t raw_size = 0;     //  raw_offset + raw_size)

  bool operator==(const BlobLocation&) const = default;
};

// The volume record of one volume (SPEC.md section 6).
struct VolumeRecord {
  uint32_t number = 1;          // 1-based
  uint32_t count = 1;           // volumes in the set
  uint64_t first_frame = 0;     // frames of the bundle in earlier volumes
  uint64_t stored_offset = 0;   // bytes of frames in earlier volumes

  bool operator==(const VolumeRecord&) const = default;
};

struct BundleReaderOptions {
  // false: Read reports a blob's end once its size is checked, and the
  // caller checks its sha256 (an import's sink hashes what it writes, so
  // each blob is hashed once). Frame checksums and sizes are always checked.
  bool check_blob_digests = true;
  // Open a volume other than the first (to check its header, catalog and
  // signature alone: VerifyVolume); its frames are then not read by this
  // reader.
  bool any_volume = false;
};

class BundleReader {
 public:
  // Reads header, catalog and signature, in that order, and checks them in
  // the order of SPEC.md section 10: the catalog's checksum, then the
  // signature over the raw header and catalog bytes, then (whether or not
  // the signature was checked) the catalog's structure and consistency.
  // kUntrusted if no trusted key signed the bundle, even when the catalog is
  // also malformed; kCorruption for damage; kUnsupported for an unknown
  // version or required feature (the message names it).
  static Result<std::unique_ptr<BundleReader>> Open(io::SequentialReader* in,
                                                    const TrustPolicy& trust,
                                                    const BundleReaderOptions& options = {});
  ~BundleReader();
  BundleReader(const BundleReader&) = delete;
  BundleReader& operator=(const BundleReader&) = delete;

  const Catalog& catalog() const;
  const SignatureInfo& signature() const;
  // The volume record of the volume Open read.
  const VolumeRecord& volume() const;

  // Advances to the next shipped blob (catalog order) and returns its catalog
  // index, or nullopt when all shipped blobs have been read. An unread rest
  // of the previous blob is read and verified first.
  Result<std::optional<size_t>> NextBlob();
  // Reads raw bytes of the current blob. Returns 0 at its end, and only after
  // its size and sha256 (see BundleReaderOptions) have been checked against
  // the catalog (and 0 for an empty buf). Bytes handed out are unverified
  // until then.
  Result<size_t> Read(io::MutableBytes buf);
  // Reads the trailer and footer, checks them against the frames seen, and
  // checks that the input ends there. Shipped blobs not yet read are read and
  // verified first, so Open() then Finish() verifies a whole bundle.
  // After any error the reader is failed: every later call returns the error.
  Status Finish();

  // Stored sizes seen so far, one per shipped blob read.
  const std::vector<BlobLocation>& locations() const;

 private:
  struct Impl;
  explicit BundleReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Random access for files: reads the footer and trailer at the end of the
// file and returns where each shipped blob (or part of one, in a volume of
// several) lies. Checks the trailer checksum.
Result<std::vector<BlobLocation>> ReadBlobLocations(const io::PositionalReader& file);

// The same for one volume, with its volume record.
struct VolumeLocations {
  VolumeRecord record;
  uint64_t frames_start = 0;  // offset of the volume's first frame
  std::vector<BlobLocation> parts;
};
Result<VolumeLocations> ReadVolumeLocations(const io::PositionalReader& file);

// Random access to the shipped blobs of a bundle file of one volume whose
// header, catalog and signature were checked by a BundleReader (`catalog`
// is its catalog); kUnsupported for a volume of several:
// where the trailer says each lies, after checking that the trailer lists
// every shipped blob in catalog order, back to back from the first frame to
// the trailer. Each blob's frames are then checked by OpenBlobAt, so that
// together they check every byte the streaming reader checks, while several
// blobs are read at once.
Result<std::vector<BlobLocation>> LocateShippedBlobs(const io::PositionalReader& file,
                                                     const Catalog& catalog);

// Reads the blob (or the part of one) at `location` (from
// LocateShippedBlobs or ReadVolumeLocations) frame by frame,
// checking each as the streaming reader does; its last Read returns 0 only
// once the frames filled exactly the location and the size and, with
// `check_digest`, the sha256 matched the catalog. `first_frame` counts the
// bundle's frames before the blob's (for messages). `file` and `catalog`
// must outlive the reader.
std::unique_ptr<io::SequentialReader> OpenBlobAt(const io::PositionalReader* file,
                                                 const Catalog* catalog,
                                                 const BlobLocation& location,
                                                 uint64_t first_frame, bool check_digest);

// What VerifyVolume found in one volume.
struct VolumeCheck {
  Catalog catalog;
  SignatureInfo signature;
  VolumeRecord record;
  std::vector<BlobLocation> parts;  // in frame order
  uint64_t frames = 0;
  uint64_t whole_blobs = 0;  // parts that are a whole blob: sha256 checked too
};

// Checks one volume of a bundle file alone, whichever it is: its header,
// catalog and signature (as BundleReader::Open does), its volume record,
// and every frame it holds, each blob part against the catalog's size and,
// for a blob wholly in the volume, its sha256. For media that arrive one at
// a time: a spanning blob's sha256 is checked when the set is read whole.
Result<VolumeCheck> VerifyVolume(const io::PositionalReader& file, const TrustPolicy& trust);

}  // namespace sluice::format
