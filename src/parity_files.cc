#include "parity_files.h"

#include <map>
#include <memory>

#include "format/parity.h"
#include "io/atomic_file.h"
#include "volume_set.h"

namespace sluice {
namespace {

// The name the files of a bundle share: "dir/site" for dir/site.sluice,
// dir/site.003.sluice or dir/site.par2.sluice.
std::string StemOf(const std::string& path) {
  std::string stem = VolumeStem(path);
  const size_t dot = stem.rfind('.');
  if (dot == std::string::npos || dot + 1 == stem.size()) return stem;
  const std::string tail = stem.substr(dot + 1);
  const bool volume = tail.size() >= 3 && tail.find_first_not_of("0123456789") == std::string::npos;
  const bool parity = tail.size() > 3 && tail.compare(0, 3, "par") == 0 &&
                      tail.find_first_not_of("0123456789", 3) == std::string::npos;
  return volume || parity ? stem.substr(0, dot) : stem;
}

// The file of volume n of a bundle of `count` volumes named `stem`: a
// bundle of one volume is STEM.sluice, or STEM.001.sluice when cut into
// volumes that all fit in one.
std::string VolumeFilePath(io::FileSystem* fs, const std::string& stem, uint32_t n,
                           size_t count) {
  if (count == 1 && !fs->Exists(VolumePath(stem, 1))) return stem + ".sluice";
  return VolumePath(stem, n);
}

}  // namespace

std::string ParityPath(const std::string& stem, uint32_t number) {
  return stem + ".par" + std::to_string(number) + ".sluice";
}

Result<std::vector<std::string>> WriteParityFiles(io::FileSystem* fs,
                                                  const std::vector<std::string>& files,
                                                  const format::BundleId& bundle_id,
                                                  const std::array<uint8_t, 32>& bundle_digest,
                                                  uint32_t parity_count) {
  if (files.empty()) return Status::InvalidArgument("--parity needs a bundle written to files");
  std::vector<std::unique_ptr<io::PositionalReader>> readers;
  std::vector<format::DataShard> shards;
  format::ParityParams params;
  params.bundle_id = bundle_id;
  params.bundle_digest = bundle_digest;
  for (size_t i = 0; i < files.size(); ++i) {
    SLUICE_ASSIGN_OR_RETURN(auto reader, fs->NewPositionalReader(files[i]));
    readers.push_back(std::move(reader));
  }
  if (files.size() == 1) {
    const uint64_t size = readers[0]->Size();
    shards = format::SegmentShards(readers[0].get(), size,
                                   format::DefaultSegmentCount(size, params.stripe_size),
                                   params.stripe_size);
  } else {
    for (size_t i = 0; i < readers.size(); ++i) {
      shards.push_back({readers[i].get(), static_cast<uint32_t>(i + 1), 0, readers[i]->Size()});
    }
  }
  const std::string stem = StemOf(files[0]);
  std::vector<std::unique_ptr<io::AtomicFile>> outputs;
  std::vector<io::SequentialWriter*> writers;
  std::vector<std::string> paths;
  for (uint32_t p = 1; p <= parity_count; ++p) {
    paths.push_back(ParityPath(stem, p));
    SLUICE_ASSIGN_OR_RETURN(auto out, io::AtomicFile::Create(fs, paths.back()));
    writers.push_back(out->writer());
    outputs.push_back(std::move(out));
  }
  SLUICE_RETURN_IF_ERROR(format::WriteParity(shards, params, writers));
  for (auto& out : outputs) SLUICE_RETURN_IF_ERROR(out->Commit());
  return paths;
}

Result<std::unique_ptr<ParityContext>> OpenParity(io::FileSystem* fs, const std::string& path) {
  auto ctx = std::make_unique<ParityContext>();
  if (auto kind = io::KindOfPath(fs, path); kind.ok() && *kind == io::PathKind::kDirectory) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(path));
    for (const std::string& name : names) {
      if (name.find(".par1.sluice") != std::string::npos) {
        ctx->stem = io::JoinPath(path, name.substr(0, name.size() - 12));
        break;
      }
    }
    if (ctx->stem.empty()) return std::unique_ptr<ParityContext>();
  } else {
    ctx->stem = StemOf(path);
  }
  std::vector<const io::PositionalReader*> parity_files;
  for (uint32_t p = 1; p <= 255; ++p) {
    const std::string candidate = ParityPath(ctx->stem, p);
    if (!fs->Exists(candidate)) continue;
    SLUICE_ASSIGN_OR_RETURN(auto reader, fs->NewPositionalReader(candidate));
    parity_files.push_back(reader.get());
    ctx->parity_readers.push_back(std::move(reader));
    ctx->parity_paths.push_back(candidate);
  }
  if (parity_files.empty()) return std::unique_ptr<ParityContext>();
  SLUICE_ASSIGN_OR_RETURN(ctx->set, format::ParitySet::Open(parity_files));
  // Volumes by number, whether or not they are here: missing ones are
  // rebuilt.
  const std::vector<uint32_t> numbers = ctx->set->VolumeNumbers();
  for (uint32_t n : numbers) {
    ctx->volume_paths[n] = VolumeFilePath(fs, ctx->stem, n, numbers.size());
    if (!fs->Exists(ctx->volume_paths[n])) continue;
    SLUICE_ASSIGN_OR_RETURN(auto reader, fs->NewPositionalReader(ctx->volume_paths[n]));
    SLUICE_RETURN_IF_ERROR(ctx->set->SetVolumeFile(n, reader.get()));
    ctx->volume_readers[n] = std::move(reader);
  }
  return ctx;
}

Result<RepairReport> RepairBundle(io::FileSystem* fs, const std::string& path) {
  if (auto kind = io::KindOfPath(fs, path); kind.ok() && *kind == io::PathKind::kDirectory) {
    return Status::InvalidArgument("repair " + path + ": name the bundle (site.sluice) or one of "
                                   "its volumes or parity files, not a directory");
  }
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<ParityContext> ctx, OpenParity(fs, path));
  if (!ctx) {
    return Status::NotFound("no parity files beside " + path + " (" +
                            ParityPath(StemOf(path), 1) +
                            ", ...): export with --parity N to be able to repair");
  }
  RepairReport report;
  report.parity_files = ctx->parity_paths;
  const format::ParitySet* set = ctx->set.get();
  std::map<uint32_t, std::string>& volume_paths = ctx->volume_paths;
  SLUICE_ASSIGN_OR_RETURN(format::ParityCheck check, set->Check());
  report.details = check.Report();
  if (check.intact()) {
    report.was_intact = true;
    return report;
  }
  if (!check.repairable()) {
    // One line: which files lost rows, and how many rows cannot come back.
    std::string lost;
    for (const format::ShardHealth& shard : check.data) {
      if (!shard.intact()) lost += (lost.empty() ? "" : ", ") + shard.name +
                                   (shard.missing ? " (missing)" : " (damaged)");
    }
    for (const format::ShardHealth& shard : check.parity) {
      if (!shard.intact()) lost += (lost.empty() ? "" : ", ") + shard.name;
    }
    return Status::Corruption("the bundle " + path + " lost more than its " +
                              std::to_string(set->info().parity_count()) +
                              " parity files can rebuild: " + lost + "; " +
                              std::to_string(check.unrepairable.size()) +
                              " ranges of rows lost in more than " +
                              std::to_string(set->info().parity_count()) +
                              " files; find the missing volumes, or ask for the bundle again");
  }
  // Which volumes lost rows (a single file's segments all belong to volume 1).
  std::map<uint32_t, bool> damaged;
  for (size_t i = 0; i < check.data.size(); ++i) {
    if (!check.data[i].intact()) damaged[set->info().shards[i].volume_number] = true;
  }
  for (const auto& [n, unused] : damaged) {
    SLUICE_ASSIGN_OR_RETURN(auto out, io::AtomicFile::Create(fs, volume_paths[n]));
    SLUICE_RETURN_IF_ERROR(set->RebuildVolume(n, out->writer()));
    SLUICE_RETURN_IF_ERROR(out->Commit());
    report.rebuilt.push_back(volume_paths[n]);
  }
  for (size_t p = 0; p < check.parity.size(); ++p) {
    if (check.parity[p].intact()) continue;
    const std::string target = ParityPath(ctx->stem, static_cast<uint32_t>(p + 1));
    SLUICE_ASSIGN_OR_RETURN(auto out, io::AtomicFile::Create(fs, target));
    SLUICE_RETURN_IF_ERROR(set->RepairParityFile(static_cast<uint32_t>(p), out->writer()));
    SLUICE_RETURN_IF_ERROR(out->Commit());
    report.rebuilt.push_back(target);
  }
  return report;
}

}  // namespace sluice

namespace sluice {

Result<std::unique_ptr<ParityContext>> ReadThroughParity(io::FileSystem* fs,
                                                         const std::string& path,
                                                         std::string* note) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<ParityContext> ctx, OpenParity(fs, path));
  if (!ctx) return ctx;
  SLUICE_ASSIGN_OR_RETURN(format::ParityCheck check, ctx->set->Check());
  if (check.intact()) {
    *note = "checked every row against " + std::to_string(ctx->parity_paths.size()) +
            " parity files: intact";
    return std::unique_ptr<ParityContext>();
  }
  if (!check.repairable()) {
    return Status::Corruption("the bundle " + path + " lost more than its " +
                              std::to_string(ctx->parity_paths.size()) +
                              " parity files can rebuild; run sluice repair " + path +
                              " to see which rows");
  }
  for (const auto& [n, unused] : ctx->volume_paths) {
    SLUICE_ASSIGN_OR_RETURN(auto reader, ctx->set->NewVolumeReader(n));
    ctx->repaired.push_back(std::move(reader));
  }
  size_t lost = 0;
  for (const format::ShardHealth& shard : check.data) lost += shard.intact() ? 0 : 1;
  *note = "rebuilt in memory from " + std::to_string(ctx->parity_paths.size()) +
          " parity files: " + std::to_string(lost) +
          " damaged or missing parts (sluice repair writes them back)";
  return ctx;
}

}  // namespace sluice
