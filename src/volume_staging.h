// Disc by disc: the volumes of one bundle brought in one at a time, each from
// its own disc or stick, in any order (README "Discs and USB sticks").
//
// `sluice import` keeps each volume it is given, checked on its own, in a
// staging directory beside the destination's state until the set is whole,
// or parity volumes can make it whole; only then is the bundle imported,
// from there, exactly as the whole set given at once would be. So nothing
// becomes visible at the destination (no blob even, let alone a tag) before
// every volume is in, and a damaged disc is refused the moment it is read,
// while it can still be read again or replaced.
//
// The price is disk space: the staging directory holds the bundle's
// volumes (their compressed bytes) until the import, and is removed when
// the bundle is imported.
//
// Layout: STAGING/BUNDLE-ID/bundle.NNN.sluice and bundle.parN.sluice, each
// published by an atomic rename once whole and checked, so a staging
// directory only ever holds good files; STAGING/BUNDLE-ID.imported marks a
// bundle imported; STAGING/.lock is held while a
// volume is taken in or the set imported, so two imports of volumes of one
// bundle cannot both import it or read a set the other removes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "format/bundle_reader.h"
#include "io/file.h"

namespace sluice {

// What the staging directory holds of one bundle.
struct StagedSet {
  std::string dir;        // STAGING/BUNDLE-ID
  std::string bundle_id;  // hex
  uint32_t volume_count = 0;  // 0 while only parity files are held
  uint32_t parity_count = 0;  // m of its parity set; 0 while none is held
  std::vector<uint32_t> volumes;       // held, in number order
  std::vector<uint32_t> parity;        // parity files held, in number order
  std::vector<std::string> taken;      // files this call took in ("volume 3", "parity volume 1")
  std::vector<std::string> already;    // files given that were held already
  bool imported = false;  // the bundle was imported already: nothing was kept

  // Volumes from 1 to volume_count not held.
  std::vector<uint32_t> Missing() const;
  // Every volume held, or parity files enough to rebuild those missing.
  bool Complete() const;
  // For people: "volumes 2, 5 (or parity volumes in their place)".
  std::string StillNeeded() const;
  // What OpenBundleInput reads the held set through: the directory, whose
  // parity files rebuild the volumes missing.
  std::string InputPath() const;
};

// Whether `path` names a volume or parity file of a bundle cut into
// volumes, or a directory holding such files: what import may stage. False
// for "-", a single bundle file, or a path with none.
bool NamesVolumeFiles(io::FileSystem* fs, const std::string& path);

// The staging directory of a destination whose state is kept at
// `state_path`: beside it, in "staging".
std::string DefaultStagingRoot(const std::string& state_path);

// Holds the staging root's lock (created with the root) for as long as it
// lives; `wait` as the destination's own lock waits.
Result<std::unique_ptr<io::FileLock>> LockStaging(io::FileSystem* fs, const std::string& root,
                                                  std::chrono::milliseconds wait);

// Takes in the volumes and parity files at `path` (a volume or parity file,
// with those of the same name beside it; or a directory, a mount point,
// holding them): each one not yet held is copied into the bundle's staging
// directory and checked there before it is published: a volume alone, as
// `sluice verify --volume` checks it (signature with `trust`, volume record,
// every frame), a parity file by its header and tables and that it is
// parity of the same bundle. A file that fails is refused with its error,
// naming it (files taken in before it stay held). kResourceExhausted, before
// copying, when the staging file system lacks the room.
Result<StagedSet> StageVolumes(io::FileSystem* fs, const std::string& path,
                               const std::string& staging_root,
                               const format::TrustPolicy& trust);

// Once bundle `bundle_id` (hex) is imported, from whichever volumes:
// removes what is staged of it and, where the staging directory exists,
// marks it imported, so that a volume of it given later is not kept again.
Status RemoveStagedSet(io::FileSystem* fs, const std::string& staging_root,
                       const std::string& bundle_id);

}  // namespace sluice
