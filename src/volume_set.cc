#include "volume_set.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <regex>

#include "io/atomic_file.h"

namespace sluice {
namespace {

constexpr std::string_view kSuffix = ".sluice";

// "site-a.003.sluice" -> {"site-a", 3}; false for other names.
bool ParseVolumeName(const std::string& name, std::string* stem, uint32_t* number) {
  static const std::regex kVolumeName(R"(^(.+)\.([0-9]{3,9})\.sluice$)");
  std::smatch m;
  if (!std::regex_match(name, m, kVolumeName)) return false;
  *stem = m[1];
  const std::string digits = m[2];
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), *number);
  return error == std::errc() && end == digits.data() + digits.size() && *number > 0;
}

// The volumes named STEM.NNN.sluice among `names` in `dir`, each one's
// volume record read, in number order, checked to agree on the count and
// to hold no number twice; missing numbers are not an error here.
Result<VolumeFiles> ReadVolumes(io::FileSystem* fs, const std::string& dir,
                                const std::string& stem, const std::vector<std::string>& names) {
  VolumeFiles found;
  found.dir = dir;
  found.stem = io::JoinPath(dir, stem);
  std::vector<VolumeFile>& set = found.volumes;
  for (const std::string& name : names) {
    std::string s;
    uint32_t number = 0;
    if (!ParseVolumeName(name, &s, &number) || s != stem) continue;
    VolumeFile v;
    v.path = io::JoinPath(dir, name);
    SLUICE_ASSIGN_OR_RETURN(auto file, fs->NewPositionalReader(v.path));
    auto located = format::ReadVolumeLocations(*file);
    if (!located.ok()) return located.status().WithContext("volume " + v.path);
    v.record = located->record;
    // A bundle of one file whose name ends in digits (nightly.2024.sluice)
    // is no volume of this set.
    if (v.record.count == 1 && number != 1) continue;
    set.push_back(std::move(v));
  }
  std::sort(set.begin(), set.end(), [](const VolumeFile& a, const VolumeFile& b) {
    return a.record.number < b.record.number;
  });
  if (set.empty()) return found;
  found.count = set.front().record.count;
  std::map<uint32_t, const VolumeFile*> by_number;
  for (const VolumeFile& v : set) {
    if (v.record.count != found.count) {
      return Status::Corruption("volume " + v.path + " says the set has " +
                                std::to_string(v.record.count) + " volumes, " +
                                set.front().path + " says " + std::to_string(found.count) +
                                ": volumes of different bundles are mixed");
    }
    auto [it, added] = by_number.emplace(v.record.number, &v);
    if (!added) {
      return Status::InvalidArgument(it->second->path + " and " + v.path + " are both volume " +
                                     std::to_string(v.record.number) + "; keep one");
    }
  }
  return found;
}

}  // namespace

std::string VolumeStem(const std::string& output_path) {
  if (output_path.size() > kSuffix.size() &&
      output_path.compare(output_path.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0) {
    return output_path.substr(0, output_path.size() - kSuffix.size());
  }
  return output_path;
}

std::string VolumePath(const std::string& stem, uint32_t number) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%03u", number);
  return stem + "." + digits + std::string(kSuffix);
}

std::vector<uint32_t> VolumeFiles::Missing() const {
  std::vector<uint32_t> missing;
  size_t next = 0;
  for (uint32_t n = 1; n <= count; ++n) {
    while (next < volumes.size() && volumes[next].record.number < n) ++next;
    if (next == volumes.size() || volumes[next].record.number != n) missing.push_back(n);
  }
  return missing;
}

std::string NumberList(const std::vector<uint32_t>& numbers) {
  std::string list;
  for (uint32_t n : numbers) list += (list.empty() ? "" : ", ") + std::to_string(n);
  return list;
}

Result<VolumeFiles> FindVolumes(io::FileSystem* fs, const std::string& path) {
  if (path == "-") return VolumeFiles();
  auto kind = io::KindOfPath(fs, path);
  if (kind.ok() && *kind == io::PathKind::kDirectory) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(path));
    std::vector<std::string> stems;
    for (const std::string& name : names) {
      std::string stem;
      uint32_t number = 0;
      if (ParseVolumeName(name, &stem, &number) &&
          std::find(stems.begin(), stems.end(), stem) == stems.end()) {
        stems.push_back(stem);
      }
    }
    if (stems.empty()) {
      return Status::NotFound("directory " + path +
                              " holds no bundle volumes (NAME.001.sluice, ...)");
    }
    if (stems.size() > 1) {
      return Status::InvalidArgument("directory " + path + " holds the volumes of " +
                                     std::to_string(stems.size()) + " bundles (" + stems[0] +
                                     ", " + stems[1] + "); name one volume of the set to read");
    }
    return ReadVolumes(fs, path, stems[0], names);
  }
  const std::string dir = io::Dirname(path);
  std::string stem;
  uint32_t number = 0;
  if (kind.ok() && *kind == io::PathKind::kRegular) {
    if (!ParseVolumeName(io::Basename(path), &stem, &number)) return VolumeFiles();
    // A file that is a whole bundle, whatever its name says, is read alone.
    SLUICE_ASSIGN_OR_RETURN(auto file, fs->NewPositionalReader(path));
    auto located = format::ReadVolumeLocations(*file);
    if (located.ok() && located->record.count == 1) return VolumeFiles();
  } else if (!kind.ok() || *kind == io::PathKind::kMissing) {
    stem = io::Basename(VolumeStem(path));
    if (!fs->Exists(VolumePath(io::JoinPath(dir, stem), 1))) return VolumeFiles();
  } else {
    return VolumeFiles();
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  return ReadVolumes(fs, dir, stem, names);
}

Result<std::vector<VolumeFile>> FindVolumeSet(io::FileSystem* fs, const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(VolumeFiles found, FindVolumes(fs, path));
  const std::vector<uint32_t> missing = found.Missing();
  if (!missing.empty()) {
    return Status::NotFound("the bundle " + found.stem + " has " + std::to_string(found.count) +
                            " volumes, and volume" + (missing.size() > 1 ? "s " : " ") +
                            NumberList(missing) + " (e.g. " +
                            VolumePath(found.stem, missing.front()) + ") " +
                            (missing.size() > 1 ? "are" : "is") +
                            " not there; put every volume beside the others, or import them "
                            "one at a time (each is kept until the set is whole)");
  }
  return std::move(found.volumes);
}

}  // namespace sluice
