#include "parity_files.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <optional>
#include <memory>

#include "format/bundle_format.h"
#include "format/catalog_codec.h"
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

// What a bundle file (or volume) says it is: its bundle id, and the SHA-256
// of its header and catalog, which its signature covers and its parity
// files name. Each empty when it cannot be read (damage).
struct BundleIdentity {
  std::optional<format::BundleId> bundle_id;
  std::optional<std::array<uint8_t, 32>> digest;
};

BundleIdentity IdentityOf(io::FileSystem* fs, const std::string& path) {
  BundleIdentity id;
  auto file = fs->NewPositionalReader(path);
  if (!file.ok()) return id;
  std::string header(format::kHeaderPrefixSize, '\0');
  auto read = [&](uint64_t offset, std::string* buf) {
    auto n = (*file)->ReadAt(offset, io::MutableBytes(reinterpret_cast<uint8_t*>(buf->data()),
                                                      buf->size()));
    return n.ok() && *n == buf->size();
  };
  if (!read(0, &header)) return id;
  auto header_size = format::DecodeHeaderPrefix(io::AsBytes(header));
  if (!header_size.ok()) return id;
  header.resize(*header_size);
  if (!read(0, &header)) return id;
  auto fields = format::DecodeHeader(io::AsBytes(header));
  if (!fields.ok()) return id;
  id.bundle_id = fields->header.bundle_id;
  format::Sha256 hash;
  hash.Update(io::AsBytes(header));
  std::string chunk;
  for (uint64_t at = 0; at < fields->catalog_size;) {
    chunk.resize(static_cast<size_t>(std::min<uint64_t>(fields->catalog_size - at, 1 << 20)));
    if (!read(*header_size + at, &chunk)) return id;
    hash.Update(io::AsBytes(chunk));
    at += chunk.size();
  }
  id.digest = hash.FinishRaw();
  return id;
}

// "site.002.sluice (missing), site.par1.sluice": the files that lost rows.
std::string LostFiles(const format::ParityCheck& check) {
  std::string lost;
  for (const format::ShardHealth& shard : check.data) {
    if (!shard.intact()) lost += (lost.empty() ? "" : ", ") + shard.name +
                                 (shard.missing ? " (missing)" : " (damaged)");
  }
  for (const format::ShardHealth& shard : check.parity) {
    if (!shard.intact()) lost += (lost.empty() ? "" : ", ") + shard.name;
  }
  return lost;
}

// Brackets a phase of a counter that may be null.
class Phase {
 public:
  Phase(ProgressCounter* progress, const char* name, const char* unit, uint64_t items,
        uint64_t bytes)
      : progress_(progress) {
    if (progress_) progress_->BeginPhase(name, unit, items, bytes);
  }
  ~Phase() {
    if (progress_) progress_->EndPhase();
  }
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 private:
  ProgressCounter* progress_;
};

// Checks every row of the files of `ctx` (opened with OpenParity(...,
// progress), which counts what is read) as the phase `phase`.
Result<format::ParityCheck> CheckRows(const ParityContext& ctx, ProgressCounter* progress,
                                      const char* phase) {
  uint64_t bytes = 0;
  for (const auto& reader : ctx.parity_readers) bytes += reader->Size();
  for (const auto& [n, reader] : ctx.volume_readers) bytes += reader->Size();
  Phase checking(progress, phase, "", 0, bytes);
  return ctx.set->Check();
}

// After CheckRows: *ctx opened again without the counter, when there is
// one, so that what is read next is not counted as the check, and nothing
// kept refers to the counter.
Status ReopenUncounted(io::FileSystem* fs, const std::string& path, ProgressCounter* progress,
                       std::unique_ptr<ParityContext>* ctx) {
  if (progress == nullptr) return Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(*ctx, OpenParity(fs, path));
  if (!*ctx) return Status::NotFound("the parity files beside " + path + " went away");
  return Status::Ok();
}

}  // namespace

bool ParseParityName(const std::string& name, std::string* stem, uint32_t* number) {
  constexpr std::string_view kTail = ".sluice";
  if (name.size() <= kTail.size() || name.compare(name.size() - kTail.size(), kTail.size(), kTail) != 0) {
    return false;
  }
  const std::string base = name.substr(0, name.size() - kTail.size());
  const size_t dot = base.rfind(".par");
  if (dot == std::string::npos || dot == 0) return false;
  const std::string digits = base.substr(dot + 4);
  if (digits.empty() || digits.size() > 3 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  uint32_t n = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), n);  // 1-3 digits: fits
  if (n < 1 || n > 255) return false;
  if (stem) *stem = base.substr(0, dot);
  *number = n;
  return true;
}

std::string ParityPath(const std::string& stem, uint32_t number) {
  return stem + ".par" + std::to_string(number) + ".sluice";
}

Result<std::vector<std::string>> WriteParityFiles(io::FileSystem* fs, const std::string& stem,
                                                  const std::vector<std::string>& files,
                                                  const format::BundleId& bundle_id,
                                                  const std::array<uint8_t, 32>& bundle_digest,
                                                  uint32_t parity_count) {
  for (uint32_t p = parity_count + 1; p <= 255; ++p) {
    const std::string stale = ParityPath(stem, p);
    if (fs->Exists(stale)) SLUICE_RETURN_IF_ERROR(fs->Remove(stale).WithContext("stale parity"));
  }
  if (parity_count == 0) return std::vector<std::string>();
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

Result<std::unique_ptr<ParityContext>> OpenParity(io::FileSystem* fs, const std::string& path,
                                                  ProgressCounter* progress) {
  auto ctx = std::make_unique<ParityContext>();
  // The stems the bundle's files may share, most likely first: a parity
  // file's or a volume's name without its number; the name without
  // ".sluice" (site.sluice, or nightly.2024.sluice, whose digits are part
  // of its name); for a set of one volume site.001.sluice, "site".
  std::vector<std::string> stems;
  std::string data_file;  // the file named, when it is a bundle file
  auto kind = io::KindOfPath(fs, path);
  if (kind.ok() && *kind == io::PathKind::kDirectory) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(path));
    for (const std::string& name : names) {
      uint32_t number = 0;
      if (ParseParityName(name, nullptr, &number)) {
        const std::string stem = io::JoinPath(path, StemOf(name));
        if (std::find(stems.begin(), stems.end(), stem) == stems.end()) stems.push_back(stem);
      }
    }
  } else {
    const std::string plain = VolumeStem(path);
    const std::string stripped = StemOf(path);
    const bool parity_name = plain.size() > stripped.size() &&
                             plain.compare(stripped.size(), 4, ".par") == 0;
    bool volume_of_several = false;
    if (kind.ok() && *kind == io::PathKind::kRegular && !parity_name) {
      data_file = path;
      if (auto file = fs->NewPositionalReader(path); file.ok()) {
        auto located = format::ReadVolumeLocations(**file);
        volume_of_several = located.ok() && located->record.count > 1;
      }
    }
    if (parity_name || volume_of_several) {
      stems.push_back(stripped);
    } else {
      stems.push_back(plain);
      if (stripped != plain) stems.push_back(stripped);
    }
  }
  for (const std::string& stem : stems) {
    for (uint32_t p = 1; p <= 255 && ctx->stem.empty(); ++p) {
      if (fs->Exists(ParityPath(stem, p))) ctx->stem = stem;
    }
    if (!ctx->stem.empty()) break;
  }
  if (ctx->stem.empty()) return std::unique_ptr<ParityContext>();
  std::vector<const io::PositionalReader*> parity_files;
  for (uint32_t p = 1; p <= 255; ++p) {
    const std::string candidate = ParityPath(ctx->stem, p);
    if (!fs->Exists(candidate)) continue;
    SLUICE_ASSIGN_OR_RETURN(auto opened, fs->NewPositionalReader(candidate));
    auto reader = CountReads(std::move(opened), progress);
    parity_files.push_back(reader.get());
    ctx->parity_readers.push_back(std::move(reader));
    ctx->parity_paths.push_back(candidate);
  }
  if (parity_files.empty()) return std::unique_ptr<ParityContext>();
  // Parity of exactly this bundle: its header and catalog, read from the
  // file named or from volume 1, must be what the parity files were made
  // for; files of an earlier bundle of the same name are passed over.
  // When the catalog itself is damaged its digest matches nothing: then the
  // bundle id in the header decides (and a header too damaged to read,
  // nothing: the rebuilt bundle is still checked against its signature).
  const std::string first = data_file.empty() ? VolumeFilePath(fs, ctx->stem, 1, 1) : data_file;
  const BundleIdentity identity = IdentityOf(fs, first);
  auto set = format::ParitySet::Open(parity_files, identity.digest);
  if (!set.ok() && set.status().kind() == ErrorKind::kNotFound) {
    set = format::ParitySet::Open(parity_files);
    if (set.ok() && identity.bundle_id &&
        (*set)->info().header.bundle_id != *identity.bundle_id) {
      return std::unique_ptr<ParityContext>();  // parity of another bundle only
    }
  }
  SLUICE_ASSIGN_OR_RETURN(ctx->set, std::move(set));
  // Volumes by number, whether or not they are here: missing ones are
  // rebuilt.
  const std::vector<uint32_t> numbers = ctx->set->VolumeNumbers();
  for (uint32_t n : numbers) {
    ctx->volume_paths[n] = numbers.size() == 1 && !data_file.empty()
                               ? data_file
                               : VolumeFilePath(fs, ctx->stem, n, numbers.size());
    if (!fs->Exists(ctx->volume_paths[n])) continue;
    SLUICE_ASSIGN_OR_RETURN(auto opened, fs->NewPositionalReader(ctx->volume_paths[n]));
    auto reader = CountReads(std::move(opened), progress);
    SLUICE_RETURN_IF_ERROR(ctx->set->SetVolumeFile(n, reader.get()));
    ctx->volume_readers[n] = std::move(reader);
  }
  return ctx;
}

Result<RepairReport> RepairBundle(io::FileSystem* fs, const std::string& path,
                                  ProgressCounter* progress) {
  if (auto kind = io::KindOfPath(fs, path); kind.ok() && *kind == io::PathKind::kDirectory) {
    return Status::InvalidArgument("repair " + path + ": name the bundle (site.sluice) or one of "
                                   "its volumes or parity files, not a directory");
  }
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<ParityContext> ctx, OpenParity(fs, path, progress));
  if (!ctx) {
    return Status::NotFound("no parity files beside " + path + " (" +
                            ParityPath(StemOf(path), 1) +
                            ", ...): export with --parity N to be able to repair");
  }
  RepairReport report;
  report.parity_files = ctx->parity_paths;
  SLUICE_ASSIGN_OR_RETURN(format::ParityCheck check, CheckRows(*ctx, progress, "checking"));
  // Rebuilding reads the files again: counted by what it writes.
  SLUICE_RETURN_IF_ERROR(ReopenUncounted(fs, path, progress, &ctx));
  const format::ParitySet* set = ctx->set.get();
  std::map<uint32_t, std::string>& volume_paths = ctx->volume_paths;
  report.details = check.Report();
  if (check.intact()) {
    report.was_intact = true;
    return report;
  }
  if (!check.repairable()) {
    // One line: which files lost rows, and how many rows cannot come back.
    return Status::Corruption("the bundle " + path + " lost more than its " +
                              std::to_string(set->info().parity_count()) +
                              " parity files can rebuild: " + LostFiles(check) + "; " +
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
  // What is written back: the damaged volumes, whole, and damaged parity files.
  std::map<uint32_t, uint64_t> volume_size;
  for (const format::ShardEntry& shard : set->info().shards) {
    uint64_t& size = volume_size[shard.volume_number];
    size = std::max(size, shard.offset + shard.length);
  }
  uint64_t files_to_write = damaged.size();
  uint64_t bytes_to_write = 0;
  for (const auto& [n, unused] : damaged) bytes_to_write += volume_size[n];
  for (const format::ShardHealth& shard : check.parity) {
    if (shard.intact()) continue;
    files_to_write += 1;
    bytes_to_write += set->info().header.file_size();
  }
  Phase rebuilding(progress, "rebuilding", "files", files_to_write, bytes_to_write);
  // Each file through a counter, when there is one.
  auto write = [&](const std::string& target,
                   const std::function<Status(io::SequentialWriter*)>& fill) -> Status {
    SLUICE_ASSIGN_OR_RETURN(auto out, io::AtomicFile::Create(fs, target));
    if (progress != nullptr) {
      SLUICE_RETURN_IF_ERROR(fill(CountWrites(out->writer(), progress).get()));
    } else {
      SLUICE_RETURN_IF_ERROR(fill(out->writer()));
    }
    SLUICE_RETURN_IF_ERROR(out->Commit());
    if (progress != nullptr) progress->AddItem();
    report.rebuilt.push_back(target);
    return Status::Ok();
  };
  for (const auto& entry : damaged) {
    // A copy, not a structured binding: clang 14 (the sanitized build)
    // cannot capture one in a lambda.
    const auto n = entry.first;
    SLUICE_RETURN_IF_ERROR(write(volume_paths[n], [&](io::SequentialWriter* out) {
      return set->RebuildVolume(n, out);
    }));
  }
  for (size_t p = 0; p < check.parity.size(); ++p) {
    if (check.parity[p].intact()) continue;
    SLUICE_RETURN_IF_ERROR(
        write(ParityPath(ctx->stem, static_cast<uint32_t>(p + 1)), [&](io::SequentialWriter* out) {
          return set->RepairParityFile(static_cast<uint32_t>(p), out);
        }));
  }
  return report;
}

}  // namespace sluice

namespace sluice {

Result<std::unique_ptr<ParityContext>> ReadThroughParity(io::FileSystem* fs,
                                                         const std::string& path,
                                                         std::string* note,
                                                         ProgressCounter* progress) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<ParityContext> ctx, OpenParity(fs, path, progress));
  if (!ctx) return ctx;
  SLUICE_ASSIGN_OR_RETURN(format::ParityCheck check,
                          CheckRows(*ctx, progress, "checking parity"));
  if (check.intact()) {
    *note = "checked every row against " + std::to_string(ctx->parity_paths.size()) +
            " parity files: intact";
    return std::unique_ptr<ParityContext>();
  }
  if (!check.repairable()) {
    return Status::Corruption("the bundle " + path + " lost more than its " +
                              std::to_string(ctx->parity_paths.size()) +
                              " parity files can rebuild: " + LostFiles(check) +
                              "; find the missing volumes (import takes them one at a time), "
                              "or run sluice repair " + path + " to see which rows");
  }
  // What is read from here on is the caller's next pass.
  SLUICE_RETURN_IF_ERROR(ReopenUncounted(fs, path, progress, &ctx));
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
