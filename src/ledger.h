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
// On disk it is one file, of the format described, read and written in
// ledger_file.h.
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

namespace sluice {

namespace ledger_file {
struct Contents;
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

  // One blob recorded as held by the far side (a record of the file).
  struct BlobRecord {
    std::array<uint8_t, 32> digest{};  // the sha256, raw
    uint64_t sent_sequence = 0;        // the bundle that shipped it
    uint64_t delivered_sequence = 0;   // the receipt that confirmed it; 0: none yet
    bool operator==(const BlobRecord&) const = default;
    // The order of blobs() and of the file.
    static bool DigestLess(const BlobRecord& a, const BlobRecord& b) { return a.digest < b.digest; }
    static bool SameDigest(const BlobRecord& a, const BlobRecord& b) { return a.digest == b.digest; }
  };
  // The capacity a vector of `count` records is given: some room for the
  // blobs of the next bundles, so that recording one (a handful of blobs,
  // most of the time) does not copy the whole vector and, for the moment of
  // the copy, hold it twice.
  static size_t CapacityFor(size_t count) { return count + count / 64 + 1024; }
  // Every blob recorded, in strictly increasing order of digest.
  const std::vector<BlobRecord>& blobs() const { return blobs_; }
  // The sequence of the bundle that shipped `digest`; nullopt when the
  // ledger does not have it.
  std::optional<uint64_t> SentSequence(const format::Digest& digest) const;
  // The record of `digest`; nullopt when the ledger does not have it.
  std::optional<BlobRecord> Record(const format::Digest& digest) const;
  // Blobs a receipt confirmed (delivered_sequence not 0).
  size_t delivered_count() const;

  // One image a bundle carried: a ref of its catalog, and what the export
  // was given for it.
  struct BundleImage {
    std::string ref;         // as given: the source's name for it ("oci:/srv/images:app:1.0")
    std::string repository;  // the name it is imported as; may be empty
    std::string tag;         // empty when pinned by digest
    format::Digest digest;   // its root manifest or index
    bool operator==(const BundleImage&) const = default;
  };
  // The images of a bundle's catalog, in its order.
  static std::vector<BundleImage> ImagesOf(const format::Catalog& catalog);

  // Records a complete bundle: its sequence becomes the ledger's, and its
  // shipped blobs are remembered (a blob already recorded keeps the sequence
  // that first shipped it), and so are the images it carried. `sequence`
  // must be sequence() + 1. Costs the bundle's blobs, not the ledger's: the
  // new ones are merged in place.
  // Without `images`, the record says they were not recorded.
  void RecordBundle(const format::BundleHeader& header, const std::vector<format::Digest>& shipped,
                    std::optional<std::vector<BundleImage>> images = std::nullopt);

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
    // The images it carried; nullopt when not recorded: by a sluice before
    // they were, or for a bundle older than the last kBundlesWithImages.
    std::optional<std::vector<BundleImage>> images{};
    bool confirmed() const { return confirmed_unix != 0; }
  };
  // How many of the last bundles keep their images: enough to tell what
  // changed since any recent bundle, without a history that grows by every
  // image of every bundle ever shipped (the ledger is read and written
  // whole by every export).
  static constexpr size_t kBundlesWithImages = 64;
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
  Ledger() = default;
  // A ledger of what its file held (ledger_file.h).
  explicit Ledger(ledger_file::Contents&& contents);
  // Keeps the images of the last kBundlesWithImages bundles only.
  void ForgetOldImages();
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
