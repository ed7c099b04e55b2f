// Reed-Solomon parity files beside a bundle (format/PARITY.md), made by
// `sluice export --parity N` and used by `sluice repair`.
//
// A bundle of volumes gets N parity volumes, any N of its volumes (or
// scattered damage, at most N rows lost in any row of the set) rebuilt
// from them; a bundle of one file is cut into up to 32 segments for the
// purpose (format::SegmentShards), so a parity file costs about 1/32 of it
// and a damaged range is rebuilt too. Named after the bundle:
// site.sluice or site.NNN.sluice -> site.par1.sluice, site.par2.sluice, ...
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "format/catalog.h"
#include "io/file.h"

namespace sluice {

// STEM.parN.sluice (N from 1).
std::string ParityPath(const std::string& stem, uint32_t number);

// Writes `parity_count` parity files for the bundle whose files (one, or
// its volumes in order) are `files`, atomically, beside them. Returns their
// paths.
Result<std::vector<std::string>> WriteParityFiles(io::FileSystem* fs,
                                                  const std::vector<std::string>& files,
                                                  const format::BundleId& bundle_id,
                                                  const std::array<uint8_t, 32>& bundle_digest,
                                                  uint32_t parity_count);

struct RepairReport {
  std::vector<std::string> parity_files;  // found and used
  std::vector<std::string> rebuilt;       // data and parity files written back
  std::string details;                    // what was damaged, for people
  bool was_intact = false;
};

// Finds the bundle `path` names (a file, or a volume set as OpenBundleInput
// does) and its parity files, checks every row of every file against the
// parity tables, and writes back, atomically, every data volume (or the
// single file) and parity file that lost rows. kNotFound when there are no
// parity files; kCorruption naming the rows that lost more than the parity
// can rebuild (nothing is then written).
Result<RepairReport> RepairBundle(io::FileSystem* fs, const std::string& path);

}  // namespace sluice
