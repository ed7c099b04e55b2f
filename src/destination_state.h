// What a destination remembers of the bundles imported into it, so that old
// media cannot roll it back and another site's media cannot slip in:
//   - the ledger it is bound to: the ledger of its first bundle, changed only
//     on purpose (import --accept-ledger ID);
//   - the highest bundle sequence of that ledger imported so far: a tag is
//     never moved to a manifest of an older bundle (unless
//     import --allow-rollback).
//
// Kept as a small JSON file, {"format": "sluice-destination-state",
// "version": 1, "ledger_id": HEX, "sequence": N}: for oci:DIR and
// registry-storage:DIR in DIR/.sluice/state.json; for a registry in a file
// of the importing machine (import --state-file). It changes only under the
// destination's lock (DIR/.sluice/lock, or the state file's path + ".lock"),
// which the importer holds from reading the state until the tags and the new
// state are written, so two imports into one destination take turns.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "format/catalog.h"
#include "io/file.h"

namespace sluice {

struct DestinationState {
  std::string ledger_id;  // hex; "" before the first import
  uint64_t sequence = 0;  // highest bundle sequence of that ledger imported
};

class DestinationStateFile {
 public:
  // `path`: the state file; its directory is created on the first Lock.
  DestinationStateFile(io::FileSystem* fs, std::string path);

  const std::string& path() const { return path_; }

  // The state, or the empty state if the file does not exist yet.
  // kCorruption naming the file and the field for anything else.
  Result<DestinationState> Load() const;
  // Replaces the file atomically.
  Status Save(const DestinationState& state) const;
  // Takes the destination's lock, waiting up to `wait` for another import
  // to finish; kBusy naming the holder after that.
  Result<std::unique_ptr<io::FileLock>> Lock(std::chrono::milliseconds wait) const;

 private:
  io::FileSystem* fs_;
  std::string path_;
};

// DIR/.sluice/state.json: the state file of a local destination (oci:DIR,
// registry-storage:DIR).
std::string LocalStatePath(const std::string& root);

// Where a registry's state is kept when import --state-file is not given:
// $XDG_STATE_HOME/sluice/registries/HOST[/PREFIX].json, with ~/.local/state
// for an unset XDG_STATE_HOME ("" when neither is set).
std::string DefaultRegistryStatePath(const std::string& host, const std::string& prefix);

}  // namespace sluice
