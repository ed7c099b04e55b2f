// The exporter's record of what the far side already holds: every blob ever
// shipped, keyed by digest, with the bundle sequence that shipped it.
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
// On disk it is a JSON document (format "sluice-ledger", version 1; the
// "pending" member is optional, and a reader that ignores it errs on the
// safe side: it ships those blobs again).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/catalog.h"
#include "io/file.h"

namespace sluice {

class Ledger {
 public:
  // A fresh ledger: random id, sequence 0, no blobs.
  static Ledger Create();
  // Loads `path`; if nothing is there, returns Create(). kCorruption for a
  // file that is not a valid ledger (naming the path and the problem).
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
  bool Contains(const format::Digest& digest) const { return blobs_.contains(digest.str()); }
  size_t blob_count() const { return blobs_.size(); }

  // Records a complete bundle: its sequence becomes the ledger's, and its
  // shipped blobs are remembered. `sequence` must be sequence() + 1.
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
  };
  const std::vector<BundleRecord>& bundles() const { return bundles_; }

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
  format::LedgerId id_{};
  uint64_t sequence_ = 0;
  std::map<std::string, uint64_t> blobs_;  // digest -> sequence that shipped it
  std::vector<BundleRecord> bundles_;
  std::optional<PendingBundle> pending_;
  // The lock LoadLocked took (shared by copies; let go with the last one),
  // and the lock file it is on.
  std::shared_ptr<io::FileLock> lock_;
  std::string lock_path_;
};

}  // namespace sluice
