// The files of a bundle cut into volumes (format/SPEC.md section 6): how
// sluice names them, and how a reader finds the whole set from a directory,
// the set's name or any one volume.
//
// `-o site-a.sluice --volume-size 4.7G` writes site-a.001.sluice,
// site-a.002.sluice, ...: the name without its ".sluice", a dot, the volume
// number in three digits at least, ".sluice". The names only help people
// and this finder: which volume a file is, and of which bundle, is read from
// its volume record.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/bundle_reader.h"
#include "io/file.h"

namespace sluice {

// "dir/site-a.sluice" -> "dir/site-a" (a name without ".sluice" is kept).
std::string VolumeStem(const std::string& output_path);
// VolumePath("dir/site-a", 3) == "dir/site-a.003.sluice".
std::string VolumePath(const std::string& stem, uint32_t number);

// One volume file and what its volume record says.
struct VolumeFile {
  std::string path;
  format::VolumeRecord record;
};

// The volumes of one bundle found at `path` (as FindVolumeSet takes it),
// whether or not all are there.
struct VolumeFiles {
  std::string dir;
  std::string stem;                // dir/NAME, for VolumePath
  std::vector<VolumeFile> volumes;  // in number order, no number twice
  uint32_t count = 0;              // volumes in the set, as theirs say; 0 when none
  // The numbers from 1 to count that are not in `volumes`.
  std::vector<uint32_t> Missing() const;
};
// FindVolumeSet without the demand that every volume be there: empty when
// `path` is no set.
Result<VolumeFiles> FindVolumes(io::FileSystem* fs, const std::string& path);

// "1, 3, 4"
std::string NumberList(const std::vector<uint32_t>& numbers);

// Whether `path` names a set of volumes: a directory holding the volumes of
// one bundle; a volume file STEM.NNN.sluice with its siblings beside it; or
// STEM.sluice when no such file exists but STEM.001.sluice does. Returns
// the volumes in number order, each one's trailer and volume record read
// (not its frames), once every volume from 1 to the count is there and all
// agree on the count; kNotFound naming the missing volumes and the files
// they should be; kCorruption naming a file whose volume record or trailer
// is damaged; kInvalidArgument for two volumes claiming one number or a
// directory holding several sets. An empty vector: `path` is no set (a
// single bundle file, a stream).
Result<std::vector<VolumeFile>> FindVolumeSet(io::FileSystem* fs, const std::string& path);

}  // namespace sluice
