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
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/catalog.h"
#include "format/parity.h"
#include "io/file.h"
#include "progress.h"

namespace sluice {

// STEM.parN.sluice (N from 1).
std::string ParityPath(const std::string& stem, uint32_t number);
// "site.par2.sluice" -> "site", 2 (N from 1 to 255); false for other names.
bool ParseParityName(const std::string& name, std::string* stem, uint32_t* number);

// Writes `parity_count` parity files STEM.par1.sluice, ... for the bundle
// whose files (one, or its volumes in order) are `files`, atomically, beside
// them, and removes STEM.parN.sluice files beyond them (an earlier bundle's
// of the same name, which a reader would otherwise take for this one's).
// `stem` is the bundle's name without ".sluice" (VolumeStem of -o). With
// parity_count 0 it only removes. Returns the paths written.
Result<std::vector<std::string>> WriteParityFiles(io::FileSystem* fs, const std::string& stem,
                                                  const std::vector<std::string>& files,
                                                  const format::BundleId& bundle_id,
                                                  const std::array<uint8_t, 32>& bundle_digest,
                                                  uint32_t parity_count);

// A bundle's parity files opened with its data files (those present).
struct ParityContext {
  std::string stem;
  std::vector<std::string> parity_paths;
  std::vector<std::unique_ptr<io::PositionalReader>> parity_readers;
  std::unique_ptr<format::ParitySet> set;
  std::map<uint32_t, std::string> volume_paths;  // by volume number, present or not
  std::map<uint32_t, std::unique_ptr<io::PositionalReader>> volume_readers;
  // ReadThroughParity: every data file, in volume order, read with lost
  // rows rebuilt.
  std::vector<std::unique_ptr<io::PositionalReader>> repaired;
};

// The parity files beside `path` (a bundle file, one of its volumes or
// parity files, or a directory holding them) with the bundle's files
// attached; null when there are none. With `progress`, every byte read from
// them is counted there.
Result<std::unique_ptr<ParityContext>> OpenParity(io::FileSystem* fs, const std::string& path,
                                                  ProgressCounter* progress = nullptr);

// For verify and import: when parity files lie beside `path`, checks every
// row of the bundle's files against them. Null when there are none or all is
// intact (the files are read as they are); else the bundle's files with
// lost rows rebuilt in memory (ParityContext::repaired), or kCorruption when
// more is lost than the parity holds. *note says what was done, for people.
// `progress` counts the check (phase "checking parity"); nothing returned
// refers to it.
Result<std::unique_ptr<ParityContext>> ReadThroughParity(io::FileSystem* fs,
                                                         const std::string& path,
                                                         std::string* note,
                                                         ProgressCounter* progress = nullptr);

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
// can rebuild (nothing is then written). `progress` counts the phases
// "checking" (every byte of the files read) and "rebuilding" (the bytes of
// the files written back).
Result<RepairReport> RepairBundle(io::FileSystem* fs, const std::string& path,
                                  ProgressCounter* progress = nullptr);

}  // namespace sluice
