// The exporter's record of what the far side already holds: every blob ever
// shipped, keyed by digest, with the bundle sequence that shipped it.
//
// The ledger decides what the far side will ever receive, so it changes only
// after a bundle is complete and durable (Exporter), and is always replaced
// atomically: a crash leaves the old ledger or the new one, never a mix.
//
// On disk it is a JSON document (format "sluice-ledger", version 1).
#pragma once

#include <map>
#include <string>
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
  // Atomically replaces `path` (temp file, fsync, rename, fsync directory).
  Status Save(io::FileSystem* fs, const std::string& path) const;

  const format::LedgerId& id() const { return id_; }
  // Sequence of the last bundle recorded; 0 for a fresh ledger.
  uint64_t sequence() const { return sequence_; }
  bool Contains(const format::Digest& digest) const { return blobs_.contains(digest.str()); }
  size_t blob_count() const { return blobs_.size(); }

  // Records a complete bundle: its sequence becomes the ledger's, and its
  // shipped blobs are remembered. `sequence` must be sequence() + 1.
  void RecordBundle(const format::BundleHeader& header,
                    const std::vector<format::Digest>& shipped);

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

 private:
  format::LedgerId id_{};
  uint64_t sequence_ = 0;
  std::map<std::string, uint64_t> blobs_;  // digest -> sequence that shipped it
  std::vector<BundleRecord> bundles_;
};

}  // namespace sluice
