// The exporter's record of what the far side already holds: every blob ever
// shipped, keyed by digest, with the bundle sequence that shipped it and,
// once a receipt of the far side confirmed it (receipt.h, `ledger
// confirm`), the bundle whose receipt did: a blob is *sent* as soon as a
// bundle carrying it is published, and *delivered* only once confirmed.
// Which of the two an export dedupes against is its choice (plan.h).
//
// The ledger decides what the far side will ever receive, so it changes only
// after a bundle is complete and durable (Exporter), and is always replaced
// atomically: a crash leaves the old ledger or the new one, never a mix.
//
// An export to a file is published in three atomic steps: the ledger is saved
// with the bundle recorded as *pending*, the bundle is renamed into place
// (the commit point), and the ledger is saved with the bundle recorded. A
// crash between them leaves a pending record, which the next LoadLedger()
// (exporter.h) settles by looking at the output path: the bundle there means
// it was published and is recorded; anything else means it was not, and the
// record is dropped. So the ledger never counts a bundle that does not exist,
// nor misses one that does.
//
// Every run that changes a ledger holds its lock ("LEDGER.lock" beside the
// ledger's real file) from reading it to its last save: an export for all of
// its run, so that two exports cannot both build sequence N+1 on N and one
// of them vanish from the ledger. A second taker fails at once, told who
// holds it. A symlinked ledger is read, locked and written where the link
// points, so every link to a shared ledger sees one ledger.
//
// On disk (version 2) it is one binary file, little-endian throughout, so
// that a ledger of a million blobs loads, takes a bundle and saves in well
// under a second: the blobs are fixed-size records, sorted, read into a
// vector with no parsing and searched by bisection.
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
//   header_size   metadata_size bytes of JSON: {"ledger_id": "<32 hex>",
//                 "sequence": N, "bundles": [{"sequence", "bundle_id",
//                 "created_unix", "blobs", "confirmed_unix",
//                 "receipt_unix"}...], "pending": {the bundle's record,
//                 "output", "shipped": ["sha256:..."...]}}; "pending" is
//                 optional, and a reader that ignores it errs on the safe
//                 side: it ships those blobs again. A bundle's
//                 "confirmed_unix" (when `ledger confirm` took its receipt)
//                 and "receipt_unix" (when the far side made the receipt)
//                 are written once it is confirmed, and absent before. A
//                 reader that does not know them (before receipts) drops
//                 them when it saves: only that note of the history is
//                 lost, as every record keeps its delivered_sequence.
//                 Other members are ignored (and not kept)
//   then          record_count records of record_size bytes, in strictly
//                 increasing order of digest (so no digest twice):
//                   0   32  the blob's sha256, raw
//                   32  8   sent_sequence: the bundle that shipped it
//                   40  8   delivered_sequence: the bundle whose receipt
//                           confirmed it (the earliest, when several
//                           did), 0 for none yet
//   last 8 bytes  XXH3-64 (seed 0) of every byte before it
//
// Every version from 2 on ends with that checksum, so a reader tells a
// damaged file (kCorruption) from one of a newer version (kUnsupported)
// before believing the version field. A writer writes the fields it knows
// only: fields a newer sluice added to records are lost when an older one
// saves the ledger, and must be designed so that losing them is safe.
//
// Version 1, still read (a file whose first byte other than white space is
// '{'), was a JSON document ("format": "sluice-ledger", "version": 1) with
// the blobs as an object of digest -> sent sequence. Save always writes
// version 2.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/catalog.h"
#include "io/file.h"

namespace sluice::io {
class JsonField;
}  // namespace sluice::io

namespace sluice {

// The numbers of the version 2 file above, shared by its reader, its writer
// and the tests that forge files. Each is part of the on-disk format.
namespace ledger_file {
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
}  // namespace ledger_file

class Ledger {
 public:
  // A fresh ledger: random id, sequence 0, no blobs.
  static Ledger Create();
  // Loads `path` (either version); if nothing is there, returns Create().
  // kCorruption for a file that is not a valid ledger, naming the path and
  // the problem (the field, byte offset or record); kUnsupported for an
  // intact ledger of a later version. Reads the file once, front to back,
  // through a 1 MiB buffer: memory is the blobs' records and little more.
  static Result<Ledger> Load(io::FileSystem* fs, const std::string& path);
  // Takes the ledger's lock, then loads it as Load does. The lock is held
  // while the returned ledger, or a copy of it, lives. kBusy at once when
  // another run holds it, naming the lock file and the holder; `who` ("sluice
  // export") is what the next taker is told about this one. Everything that
  // reads a ledger to change it goes through here (LoadLedger, exporter.h).
  static Result<Ledger> LoadLocked(io::FileSystem* fs, const std::string& path,
                                   std::string_view who);
  // The lock file of the ledger at `path`: "LEDGER.lock" beside the file the
  // ledger really is (io::FollowSymlinks), so all links to one ledger share it.
  static Result<std::string> LockPath(io::FileSystem* fs, const std::string& path);
  // Atomically replaces `path` (temp file, fsync, rename, fsync directory);
  // a symlink is written through to its target. Under the ledger's lock: the
  // one this ledger was loaded under, else taken for the write (kBusy when
  // another run holds it).
  Status Save(io::FileSystem* fs, const std::string& path) const;

  const format::LedgerId& id() const { return id_; }
  // Sequence of the last bundle recorded; 0 for a fresh ledger.
  uint64_t sequence() const { return sequence_; }
  bool Contains(const format::Digest& digest) const { return Find(digest) != nullptr; }
  size_t blob_count() const { return blobs_.size(); }

  // One blob recorded as held by the far side (a record of the file above).
  struct BlobRecord {
    std::array<uint8_t, 32> digest{};  // the sha256, raw
    uint64_t sent_sequence = 0;        // the bundle that shipped it
    uint64_t delivered_sequence = 0;   // the receipt that confirmed it; 0: none yet
    bool operator==(const BlobRecord&) const = default;
  };
  // Every blob recorded, in strictly increasing order of digest.
  const std::vector<BlobRecord>& blobs() const { return blobs_; }
  // The sequence of the bundle that shipped `digest`; nullopt when the
  // ledger does not have it.
  std::optional<uint64_t> SentSequence(const format::Digest& digest) const;
  // The record of `digest`; nullopt when the ledger does not have it.
  std::optional<BlobRecord> Record(const format::Digest& digest) const;
  // Blobs a receipt confirmed (delivered_sequence not 0).
  size_t delivered_count() const;

  // Records a complete bundle: its sequence becomes the ledger's, and its
  // shipped blobs are remembered (a blob already recorded keeps the sequence
  // that first shipped it). `sequence` must be sequence() + 1. Costs the
  // bundle's blobs, not the ledger's: the new ones are merged in place.
  void RecordBundle(const format::BundleHeader& header, const std::vector<format::Digest>& shipped);

  // Replaces what the ledger believes the far side holds with `held` (from
  // an inventory of the far side). The id, sequence and bundle history stay;
  // a blob already recorded keeps the sequence that shipped it, a new one
  // gets the current sequence.
  void ReplaceBlobs(const std::vector<format::Digest>& held);

  struct BundleRecord {
    uint64_t sequence = 0;
    std::string bundle_id;  // hex
    uint64_t created_unix = 0;
    uint64_t blobs = 0;
    // When `ledger confirm` took a receipt of it, and when the far side made
    // that receipt (the first receipt taken); 0 while it is not confirmed.
    uint64_t confirmed_unix = 0;
    uint64_t receipt_unix = 0;
    bool confirmed() const { return confirmed_unix != 0; }
  };
  const std::vector<BundleRecord>& bundles() const { return bundles_; }
  // The record of bundle `sequence` in the history; null when there is none.
  const BundleRecord* FindBundle(uint64_t sequence) const;

  // What MarkDelivered did with the digests it was given.
  struct Delivery {
    size_t marked = 0;    // records that now name `sequence` as delivering them
    size_t already = 0;   // records a receipt of this or an earlier bundle had confirmed
    size_t not_held = 0;  // digests the ledger has no record of (left out)
  };
  // Records what a receipt of bundle `sequence` (not 0) says the far side
  // holds: every record of `digests` gets delivered_sequence `sequence`,
  // unless a receipt of an earlier bundle (or this one) confirmed it
  // already, whose sequence it keeps. Digests the ledger has no record of
  // are left out: the ledger counts what was shipped. A digest given twice
  // counts once. Costs the digests given, not the ledger's.
  Delivery MarkDelivered(const std::vector<format::Digest>& digests, uint64_t sequence);
  // Notes in the history that bundle `sequence` was confirmed at
  // `confirmed_unix` by a receipt made at `receipt_unix`. False, changing
  // nothing, when it is not in the history or was confirmed before (the
  // first confirmation is kept).
  bool ConfirmBundle(uint64_t sequence, uint64_t confirmed_unix, uint64_t receipt_unix);

  // A bundle written but not yet known to be published (see above).
  struct PendingBundle {
    BundleRecord record;
    std::string output;  // where the bundle goes (BundleOutput::Location())
    std::vector<format::Digest> shipped;
  };
  const std::optional<PendingBundle>& pending() const { return pending_; }
  // Remembers a bundle about to be published. `record.sequence` must be
  // sequence() + 1.
  void SetPending(PendingBundle pending) { pending_ = std::move(pending); }
  // The pending bundle was published: record it (as RecordBundle does).
  void CommitPending();
  // It was not: forget it.
  void DropPending() { pending_.reset(); }

 private:
  // The two versions of the file (see above); `path` is for messages.
  static Result<Ledger> LoadJson(const io::PositionalReader& file, const std::string& path);
  static Result<Ledger> LoadBinary(const io::PositionalReader& file, const std::string& path);
  // Takes the id, sequence, bundles and pending record from the JSON both
  // versions share.
  Status ReadMetadata(const io::JsonField& root, const std::string& path);
  std::string MetadataJson() const;
  Status WriteBinary(io::FileSystem* fs, const std::string& path) const;
  const BlobRecord* Find(const format::Digest& digest) const;
  BlobRecord* FindMutable(const format::Digest& digest);
  // Records `digests` as shipped by bundle `sequence`, as RecordBundle says.
  void AddBlobs(const std::vector<format::Digest>& digests, uint64_t sequence);

  format::LedgerId id_{};
  uint64_t sequence_ = 0;
  std::vector<BlobRecord> blobs_;  // sorted by digest, no digest twice
  std::vector<BundleRecord> bundles_;
  std::optional<PendingBundle> pending_;
  // The lock LoadLocked took (shared by copies; let go with the last one),
  // and the lock file it is on.
  std::shared_ptr<io::FileLock> lock_;
  std::string lock_path_;
};

}  // namespace sluice
