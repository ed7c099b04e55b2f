// The ledger's file (ledger.h holds the ledger in memory): its format, and
// the one reader and writer of it.
//
// Version 2 is one binary file, little-endian throughout, so that a ledger
// of a million blobs loads, takes a bundle and saves in well under a second:
// the blobs are fixed-size records, sorted, read into a vector with no
// parsing and searched by bisection.
//
//   offset  size  field
//   0       8     magic "SLUICELG"
//   8       4     version, 2
//   12      4     header_size: 40; a reader skips bytes it does not know
//                 (up to 4096) and refuses fewer than 40
//   16      4     record_size: 48; a reader ignores the tail of a larger
//                 record (fields added later) and refuses a smaller one
//   20      4     reserved, 0 (refused otherwise, so it can take a meaning)
//   24      8     record_count
//   32      8     metadata_size
//   header_size   metadata_size bytes of JSON (below)
//   then          record_count records of record_size bytes, in strictly
//                 increasing order of digest (so no digest twice):
//                   0   32  the blob's sha256, raw
//                   32  8   sent_sequence: the bundle that shipped it
//                   40  8   delivered_sequence: the bundle whose receipt
//                           confirmed it (the earliest, when several
//                           did), 0 for none yet
//   last 8 bytes  XXH3-64 (seed 0) of every byte before it
//
// The metadata is a JSON object:
//
//   {"ledger_id": "<32 hex>", "sequence": N,
//    "bundles": [BUNDLE...],
//    "pending": BUNDLE + {"output": "<path>", "shipped": ["sha256:..."...]}}
//
//   BUNDLE: {"sequence", "bundle_id", "created_unix", "blobs",
//            "confirmed_unix", "receipt_unix",
//            "images": [{"ref", "repository", "tag", "digest"}...]}
//
// - "pending" is optional; a reader that ignores it errs on the safe side:
//   it ships those blobs again.
// - A bundle's "confirmed_unix" (when `ledger confirm` took its receipt) and
//   "receipt_unix" (when the far side made the receipt) are written once it
//   is confirmed, and absent before.
// - A bundle's "images" are the refs its catalog carried, in catalog order:
//   "ref" the image as the export was given it (the source's name for it,
//   "oci:/srv/images:app:1.0", "registry.example/team/app:1.0"),
//   "repository" and "tag" the name it is imported as ("tag" empty for an
//   image pinned by digest), "digest" its root manifest or index. Written
//   by sluice from the release that added `sluice plan` on, and only for
//   the last Ledger::kBundlesWithImages bundles (older records lose them,
//   so that the metadata does not grow with every bundle ever shipped);
//   absent means "not recorded", not "none".
// - A reader that does not know a member drops it when it saves (a sluice
//   before receipts drops the confirmation times, one before `plan` the
//   images): only that note of the history is lost, as every record keeps
//   its delivered_sequence, and a plan then finds no images to compare
//   with. Other members are ignored, and not kept.
//
// Every version from 2 on ends with that checksum, so a reader tells a
// damaged file (kCorruption) from one of a newer version (kUnsupported)
// before believing the version field. A writer writes the fields it knows
// only: fields a newer sluice added to records are lost when an older one
// saves the ledger, and must be designed so that losing them is safe.
//
// Version 1, still read (a file whose first byte other than white space is
// '{'), was a JSON document ("format": "sluice-ledger", "version": 1) with
// the metadata's members and the blobs as an object of digest -> sent
// sequence. The writer always writes version 2.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/catalog.h"
#include "io/file.h"
#include "ledger.h"

namespace sluice::ledger_file {

// The numbers of the version 2 file above, shared by its reader, its writer
// and the tests that forge files. Each is part of the on-disk format.
inline constexpr std::string_view kMagic = "SLUICELG";
inline constexpr uint32_t kVersion = 2;
inline constexpr uint32_t kHeaderSize = 40;  // what version 2 writes
inline constexpr uint32_t kMaxHeaderSize = 4096;
inline constexpr uint32_t kRecordSize = 48;  // what version 2 writes
inline constexpr uint32_t kMaxRecordSize = 4096;
inline constexpr size_t kChecksumSize = 8;
// Offsets in the header and in a record.
inline constexpr size_t kVersionOffset = 8;
inline constexpr size_t kHeaderSizeOffset = 12;
inline constexpr size_t kRecordSizeOffset = 16;
inline constexpr size_t kReservedOffset = 20;
inline constexpr size_t kRecordCountOffset = 24;
inline constexpr size_t kMetadataSizeOffset = 32;
inline constexpr size_t kSentSequenceOffset = 32;
inline constexpr size_t kDeliveredSequenceOffset = 40;
// A million blobs take 48 MB; a file larger than this is not a ledger, and
// nothing is allocated for it.
inline constexpr uint64_t kMaxFileSize = 4ull << 30;
// The metadata is small but for a pending record, whose list of shipped
// digests is as long as the bundle's (70 bytes a blob).
inline constexpr uint64_t kMaxMetadataSize = 1ull << 30;
// Version 1 (JSON): ~80 bytes a blob.
inline constexpr uint64_t kMaxJsonFileSize = 1ull << 30;

// Everything a ledger file holds.
struct Contents {
  format::LedgerId id{};
  uint64_t sequence = 0;
  // Sorted by digest, no digest twice (checked), with room reserved for the
  // next bundles' (Ledger::CapacityFor).
  std::vector<Ledger::BlobRecord> blobs;
  std::vector<Ledger::BundleRecord> bundles;
  std::optional<Ledger::PendingBundle> pending;
};

// Reads a ledger file of either version, once, front to back, through a
// 1 MiB buffer. `path` is for messages. kCorruption for a file that is not
// a valid ledger, naming the path and the problem (the field, byte offset
// or record); kUnsupported for an intact ledger of a later version.
Result<Contents> Read(const io::PositionalReader& file, const std::string& path);

// Writes `ledger` as version 2 into `out`, streamed through one 1 MiB
// buffer (saving a million blobs costs that besides the ledger itself).
// Makes nothing durable: the caller publishes (io::AtomicFile).
Status Write(const Ledger& ledger, io::SequentialWriter* out);

// The raw bytes of a digest, as records hold them; nullopt for an empty
// (default) digest, the only kind that is not "sha256:" and 64 hex digits.
std::optional<std::array<uint8_t, 32>> RawDigest(const format::Digest& digest);

}  // namespace sluice::ledger_file
