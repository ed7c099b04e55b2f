#include "volume_staging.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "format/bundle_format.h"
#include "format/catalog_codec.h"
#include "format/crypto.h"
#include "format/parity.h"
#include "io/atomic_file.h"
#include "parity_files.h"
#include "volume_set.h"

namespace sluice {
namespace {

constexpr const char* kStagedStem = "bundle";
constexpr size_t kCopyChunk = 1 << 20;

// A file given to StageVolumes: a data volume or a parity file.
struct GivenFile {
  std::string path;
  bool parity = false;
  uint32_t number = 0;  // volume number, or parity number
};

// The data volumes and parity files at `path`: those of the named file's
// bundle name beside it, or every one in a directory.
Result<std::vector<GivenFile>> GivenFiles(io::FileSystem* fs, const std::string& path) {
  std::vector<GivenFile> given;
  std::string parity_dir, parity_stem;  // where the parity files are, and their stem
  auto kind = io::KindOfPath(fs, path);
  uint32_t number = 0;
  if (kind.ok() && *kind == io::PathKind::kRegular &&
      ParseParityName(io::Basename(path), &parity_stem, &number)) {
    parity_dir = io::Dirname(path);
    auto volumes = FindVolumes(fs, io::JoinPath(parity_dir, parity_stem + ".sluice"));
    if (volumes.ok()) {
      for (const VolumeFile& v : volumes->volumes) given.push_back({v.path, false, v.record.number});
    }
  } else {
    SLUICE_ASSIGN_OR_RETURN(VolumeFiles volumes, FindVolumes(fs, path));
    for (const VolumeFile& v : volumes.volumes) given.push_back({v.path, false, v.record.number});
    if (!volumes.volumes.empty()) {
      parity_dir = volumes.dir;
      parity_stem = io::Basename(volumes.stem);
    } else if (kind.ok() && *kind == io::PathKind::kDirectory) {
      parity_dir = path;  // parity files only, on a disc of their own
    }
  }
  if (!parity_dir.empty()) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(parity_dir));
    for (const std::string& name : names) {
      std::string stem;
      if (!ParseParityName(name, &stem, &number)) continue;
      if (!parity_stem.empty() && stem != parity_stem) continue;
      given.push_back({io::JoinPath(parity_dir, name), true, number});
    }
  }
  return given;
}

// Copies `from` to `to` through a temp file, calls `check` on the copy, and
// publishes it only if the check passes.
Status CopyChecked(io::FileSystem* fs, const std::string& from, const std::string& to,
                   const std::function<Status(const io::PositionalReader&)>& check) {
  SLUICE_ASSIGN_OR_RETURN(auto source, fs->NewPositionalReader(from));
  SLUICE_ASSIGN_OR_RETURN(uint64_t free, fs->FreeSpace(io::Dirname(to)));
  if (free < source->Size()) {
    return Status::NoSpace("staging " + from + " needs " + std::to_string(source->Size()) +
                           " bytes and " + io::Dirname(to) + " has " + std::to_string(free) +
                           " free; make room, or give --staging DIR on a larger disk");
  }
  SLUICE_ASSIGN_OR_RETURN(auto out, io::AtomicFile::Create(fs, to));
  std::string buffer(kCopyChunk, '\0');
  for (uint64_t at = 0; at < source->Size();) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kCopyChunk, source->Size() - at));
    SLUICE_ASSIGN_OR_RETURN(size_t n, source->ReadAt(at, io::MutableBytes(
                                                             reinterpret_cast<uint8_t*>(buffer.data()), want)));
    if (n == 0) {
      return Status::IoError("reading " + from + ": it ended at byte " + std::to_string(at) +
                             " of " + std::to_string(source->Size()) + " (was it changed?)");
    }
    SLUICE_RETURN_IF_ERROR(out->writer()->Append(io::ByteView(
        reinterpret_cast<const uint8_t*>(buffer.data()), n)));
    at += n;
  }
  SLUICE_RETURN_IF_ERROR(out->Finish());
  SLUICE_ASSIGN_OR_RETURN(auto copy, fs->NewPositionalReader(out->temp_path()));
  SLUICE_RETURN_IF_ERROR(check(*copy).WithContext(from));
  return out->Commit();
}

std::string StagedVolumePath(const std::string& dir, uint32_t n) {
  return VolumePath(io::JoinPath(dir, kStagedStem), n);
}
std::string StagedParityPath(const std::string& dir, uint32_t n) {
  return ParityPath(io::JoinPath(dir, kStagedStem), n);
}

// Reads what the staging directory `dir` holds into `set`.
Status ReadHeld(io::FileSystem* fs, const std::string& dir, StagedSet* set) {
  set->volumes.clear();
  set->parity.clear();
  if (!fs->Exists(dir)) return Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  for (const std::string& name : names) {
    std::string stem;
    uint32_t number = 0;
    if (ParseParityName(name, &stem, &number) && stem == kStagedStem) {
      set->parity.push_back(number);
      if (set->parity_count == 0) {
        SLUICE_ASSIGN_OR_RETURN(auto file, fs->NewPositionalReader(io::JoinPath(dir, name)));
        SLUICE_ASSIGN_OR_RETURN(format::ParityHeader header, format::ReadParityHeader(*file));
        set->parity_count = header.parity_count;
        if (set->volume_count == 0) set->volume_count = header.data_count;
      }
    }
  }
  auto volumes = FindVolumes(fs, dir);
  if (!volumes.ok() && volumes.status().kind() != ErrorKind::kNotFound) return volumes.status();
  if (volumes.ok()) {
    for (const VolumeFile& v : volumes->volumes) set->volumes.push_back(v.record.number);
    if (volumes->count != 0) set->volume_count = volumes->count;
  }
  std::sort(set->parity.begin(), set->parity.end());
  return Status::Ok();
}

// The bundle id in the header of a bundle file or volume.
Result<format::BundleId> ReadBundleId(const io::PositionalReader& file) {
  std::string header(format::kHeaderPrefixSize, '\0');
  auto read = [&]() -> Status {
    SLUICE_ASSIGN_OR_RETURN(size_t n, file.ReadAt(0, io::MutableBytes(
                                                         reinterpret_cast<uint8_t*>(header.data()), header.size())));
    if (n != header.size()) return Status::Corruption("its header is cut short");
    return Status::Ok();
  };
  SLUICE_RETURN_IF_ERROR(read());
  SLUICE_ASSIGN_OR_RETURN(size_t header_size, format::DecodeHeaderPrefix(io::AsBytes(header)));
  header.resize(header_size);
  SLUICE_RETURN_IF_ERROR(read());
  SLUICE_ASSIGN_OR_RETURN(auto fields, format::DecodeHeader(io::AsBytes(header)));
  return fields.header.bundle_id;
}

// STAGING/BUNDLE-ID.imported: left by RemoveStagedSet, so that a volume of
// the bundle given afterwards is not kept for an import that happened.
std::string ImportedMarker(const std::string& staging_root, const std::string& bundle_id) {
  return io::JoinPath(staging_root, bundle_id + ".imported");
}

bool Holds(const std::vector<uint32_t>& numbers, uint32_t n) {
  return std::find(numbers.begin(), numbers.end(), n) != numbers.end();
}

}  // namespace

std::vector<uint32_t> StagedSet::Missing() const {
  std::vector<uint32_t> missing;
  for (uint32_t n = 1; n <= volume_count; ++n) {
    if (!Holds(volumes, n)) missing.push_back(n);
  }
  return missing;
}

bool StagedSet::Complete() const {
  return !volumes.empty() && volume_count > 0 && Missing().size() <= parity.size();
}

std::string StagedSet::StillNeeded() const {
  if (volume_count == 0) return "any volume of the bundle";
  const std::vector<uint32_t> missing = Missing();
  const size_t short_by = missing.size() - std::min(missing.size(), parity.size());
  std::string text = std::string(missing.size() > 1 ? "volumes " : "volume ") + NumberList(missing);
  if (parity_count > parity.size()) {
    text += " (or " + std::to_string(short_by) + " of them and parity volumes for the rest)";
  } else if (!parity.empty()) {
    text += " (any " + std::to_string(short_by) + " of them)";
  }
  return text;
}

std::string StagedSet::InputPath() const { return dir; }

bool NamesVolumeFiles(io::FileSystem* fs, const std::string& path) {
  if (path == "-") return false;
  auto given = GivenFiles(fs, path);
  return given.ok() && !given->empty();
}

std::string DefaultStagingRoot(const std::string& state_path) {
  return io::JoinPath(io::Dirname(state_path), "staging");
}

Result<std::unique_ptr<io::FileLock>> LockStaging(io::FileSystem* fs, const std::string& root,
                                                  std::chrono::milliseconds wait) {
  SLUICE_RETURN_IF_ERROR(fs->CreateDirs(root).WithContext("staging directory " + root));
  io::LockOptions options;
  options.wait = wait;
  options.holder = io::LockHolder("sluice import");
  return fs->Lock(io::JoinPath(root, ".lock"), options);
}

Result<StagedSet> StageVolumes(io::FileSystem* fs, const std::string& path,
                               const std::string& staging_root,
                               const format::TrustPolicy& trust) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<GivenFile> given, GivenFiles(fs, path));
  if (given.empty()) {
    return Status::NotFound(path + " holds no volumes or parity files of a bundle "
                                   "(NAME.001.sluice, NAME.par1.sluice, ...)");
  }
  StagedSet set;
  // The bundle: that of the first volume given, checked whole before
  // anything is staged for it; with only parity files, the one they name.
  std::optional<format::BundleId> bundle_id;
  // (Only to name the staging directory: every file is checked, bundle id
  // included, once copied.)
  for (const GivenFile& file : given) {
    SLUICE_ASSIGN_OR_RETURN(auto reader, fs->NewPositionalReader(file.path));
    if (file.parity) {
      auto header = format::ReadParityHeader(*reader);
      if (header.ok() && !bundle_id) bundle_id = header->bundle_id;
      continue;
    }
    auto id = ReadBundleId(*reader);
    if (!id.ok()) return id.status().WithContext("volume " + file.path);
    bundle_id = *id;
    break;
  }
  if (!bundle_id) {
    return Status::Corruption("no volume or parity file at " + path +
                              " could be read: each is damaged; read the disc again");
  }
  set.bundle_id = format::HexEncode(io::ByteView(bundle_id->data(), bundle_id->size()));
  set.dir = io::JoinPath(staging_root, set.bundle_id);
  // A volume of a bundle imported already (parity made up for it, or it
  // came again): nothing to keep.
  if (fs->Exists(ImportedMarker(staging_root, set.bundle_id))) {
    set.imported = true;
    return set;
  }
  SLUICE_RETURN_IF_ERROR(fs->CreateDirs(set.dir).WithContext("staging directory " + set.dir));
  SLUICE_RETURN_IF_ERROR(ReadHeld(fs, set.dir, &set));
  for (const GivenFile& file : given) {
    const std::string name =
        (file.parity ? "parity volume " : "volume ") + std::to_string(file.number);
    if (Holds(file.parity ? set.parity : set.volumes, file.number)) {
      set.already.push_back(name);
      continue;
    }
    if (file.parity) {
      SLUICE_RETURN_IF_ERROR(CopyChecked(
          fs, file.path, StagedParityPath(set.dir, file.number),
          [&](const io::PositionalReader& copy) -> Status {
            SLUICE_ASSIGN_OR_RETURN(format::ParitySetInfo info, format::ReadParityFile(copy));
            if (info.header.bundle_id != *bundle_id) {
              return Status::InvalidArgument(
                  "parity file of another bundle (" +
                  format::HexEncode(io::ByteView(info.header.bundle_id.data(), 16)) +
                  ", not " + set.bundle_id + "); give it with that bundle's volumes");
            }
            if (info.header.parity_index + 1 != file.number) {
              return Status::Corruption("it holds parity shard " +
                                        std::to_string(info.header.parity_index + 1) +
                                        ", its name says " + std::to_string(file.number) +
                                        "; name it after its shard");
            }
            set.parity_count = info.header.parity_count;
            if (set.volume_count == 0) set.volume_count = info.header.data_count;
            return Status::Ok();
          }));
    } else {
      SLUICE_RETURN_IF_ERROR(CopyChecked(
          fs, file.path, StagedVolumePath(set.dir, file.number),
          [&](const io::PositionalReader& copy) -> Status {
            SLUICE_ASSIGN_OR_RETURN(format::VolumeCheck check, format::VerifyVolume(copy, trust));
            if (check.catalog.header.bundle_id != *bundle_id) {
              return Status::InvalidArgument("volume of another bundle than " + given.front().path +
                                             "; give the volumes of one bundle at a time");
            }
            if (check.record.number != file.number) {
              return Status::Corruption("it is volume " + std::to_string(check.record.number) +
                                        ", its name says " + std::to_string(file.number) +
                                        "; name it after its volume record");
            }
            set.volume_count = check.record.count;
            return Status::Ok();
          }));
    }
    set.taken.push_back(name);
    // Held now: what the check read says the rest (no second look at the
    // directory).
    std::vector<uint32_t>& held = file.parity ? set.parity : set.volumes;
    held.insert(std::upper_bound(held.begin(), held.end(), file.number), file.number);
  }
  return set;
}

Status RemoveStagedSet(io::FileSystem* fs, const std::string& staging_root,
                       const std::string& bundle_id) {
  if (bundle_id.empty() || !fs->Exists(staging_root)) return Status::Ok();
  const std::string dir = io::JoinPath(staging_root, bundle_id);
  if (fs->Exists(dir)) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
    for (const std::string& name : names) {
      SLUICE_RETURN_IF_ERROR(fs->Remove(io::JoinPath(dir, name)));
    }
    SLUICE_RETURN_IF_ERROR(fs->Remove(dir).WithContext("staging directory"));
  }
  return io::WriteFileAtomically(fs, ImportedMarker(staging_root, bundle_id),
                                 io::AsBytes(std::string_view("imported\n")));
}

}  // namespace sluice
