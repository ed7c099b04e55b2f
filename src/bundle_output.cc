#include "bundle_output.h"

#include <algorithm>

#include "format/bundle_reader.h"
#include "format/frame_codec.h"
#include "io/atomic_file.h"
#include "format/parity_stream.h"
#include "io/rate_limited_writer.h"
#include "volume_set.h"

namespace sluice {
namespace {

class FileOutput final : public BundleOutput {
 public:
  FileOutput(io::FileSystem* fs, std::string path, std::string location,
             std::unique_ptr<io::AtomicFile> file)
      : fs_(fs), path_(std::move(path)), location_(std::move(location)), file_(std::move(file)) {}

  Status Prepare(uint64_t planned_bytes) override {
    // Where the temp file is: beside the file a symlinked output points to.
    std::string dir = io::Dirname(file_->path());
    SLUICE_ASSIGN_OR_RETURN(uint64_t free_bytes, fs_->FreeSpace(dir));
    if (free_bytes < planned_bytes) {
      file_->Abandon();  // nothing of a refused export stays behind
      return Status::NoSpace("the bundle needs up to " + std::to_string(planned_bytes) +
                             " bytes but " + dir + " has " + std::to_string(free_bytes) + " free");
    }
    file_->writer()->Reserve(planned_bytes);
    return Status::Ok();
  }

  io::SequentialWriter* writer() override { return file_->writer(); }

  Status Publish() override {
    SLUICE_RETURN_IF_ERROR(file_->Commit().WithContext("publishing " + path_));
    // -o NAME replaces whatever bundle NAME was: volumes of an earlier set
    // of that name would otherwise be read instead of this file.
    for (uint32_t n = 1;; ++n) {
      const std::string stale = VolumePath(VolumeStem(path_), n);
      if (!fs_->Exists(stale) || !fs_->Remove(stale).ok()) break;
    }
    return Status::Ok();
  }

  std::optional<std::string> Location() const override { return location_; }
  std::string Describe() const override { return "bundle " + path_; }
  std::vector<std::string> Files() const override { return {path_}; }

 private:
  io::FileSystem* fs_;
  std::string path_;      // as given, for messages
  std::string location_;  // absolute, for the ledger
  std::unique_ptr<io::AtomicFile> file_;
};

// Standard output, or a FIFO, device or socket given by path: bytes go
// straight in, and Publish only closes.
class StreamOutput final : public BundleOutput {
 public:
  StreamOutput(io::FileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}

  Status Prepare(uint64_t /*planned_bytes*/) override {
    if (path_.empty()) {
      out_ = io::StdoutWriter();
      return Status::Ok();
    }
    SLUICE_ASSIGN_OR_RETURN(out_, fs_->NewWriter(path_));
    return Status::Ok();
  }
  io::SequentialWriter* writer() override { return out_.get(); }
  Status Publish() override { return out_->Close().WithContext(Describe()); }
  std::optional<std::string> Location() const override { return std::nullopt; }
  std::string Describe() const override {
    return path_.empty() ? "standard output" : "bundle stream " + path_;
  }
  std::vector<std::string> Files() const override { return {}; }

 private:
  io::FileSystem* fs_;
  std::string path_;  // "" for standard output
  std::unique_ptr<io::SequentialWriter> out_;
};

// Wraps an output so that its writer() passes the bytes on at a set rate at
// most. The limit sits above the output's own buffering: the long-run rate
// is exact, and the device gets them in pieces of up to that buffer's size
// (1 MiB).
class RateLimitedOutput final : public BundleOutput {
 public:
  RateLimitedOutput(std::unique_ptr<BundleOutput> base, uint64_t bytes_per_second)
      : base_(std::move(base)), bytes_per_second_(bytes_per_second) {}

  Status Prepare(uint64_t planned_bytes) override {
    SLUICE_RETURN_IF_ERROR(base_->Prepare(planned_bytes));
    // Started now, not when opened: the time spent planning is no credit.
    limited_ = io::NewRateLimitedWriter(base_->writer(), bytes_per_second_);
    return Status::Ok();
  }
  io::SequentialWriter* writer() override { return limited_.get(); }
  Status Publish() override { return base_->Publish(); }
  std::optional<std::string> Location() const override { return base_->Location(); }
  std::string Describe() const override { return base_->Describe(); }
  std::vector<std::string> Files() const override { return base_->Files(); }

 private:
  std::unique_ptr<BundleOutput> base_;
  const uint64_t bytes_per_second_;
  std::unique_ptr<io::SequentialWriter> limited_;  // writes into base_->writer()
};

// Wraps a stream so that its writer() sends the bundle inside a parity
// stream (format/parity_stream.h): packets with Reed-Solomon parity inline,
// for a link that damages or drops bytes and cannot be asked again. Above
// a rate limit, so the limit counts the bytes on the wire.
class ParityStreamOutput final : public BundleOutput {
 public:
  ParityStreamOutput(std::unique_ptr<BundleOutput> base, uint32_t parity_count)
      : base_(std::move(base)), parity_count_(parity_count) {}

  Status Prepare(uint64_t planned_bytes) override {
    SLUICE_RETURN_IF_ERROR(base_->Prepare(planned_bytes));
    format::ParityStreamOptions options;
    options.parity_count = parity_count_;
    SLUICE_ASSIGN_OR_RETURN(envelope_, format::NewParityStreamWriter(base_->writer(), options));
    return Status::Ok();
  }
  io::SequentialWriter* writer() override { return envelope_.get(); }
  Status Publish() override {
    // The last group, marked last: until it is written the stream reads as
    // cut short, never as a shorter bundle.
    SLUICE_RETURN_IF_ERROR(envelope_->Close().WithContext(Describe()));
    return base_->Publish();
  }
  std::optional<std::string> Location() const override { return base_->Location(); }
  std::string Describe() const override { return base_->Describe(); }
  std::vector<std::string> Files() const override { return base_->Files(); }

 private:
  std::unique_ptr<BundleOutput> base_;
  const uint32_t parity_count_;
  std::unique_ptr<io::SequentialWriter> envelope_;  // writes into base_->writer()
};

// The volumes of a bundle cut into files of at most volume_size bytes:
// STEM.001.sluice, STEM.002.sluice, ... (volume_set.h). Each is a temp
// file until Publish; one is being written at a time, and those before it
// are closed.
class VolumeSetOutput final : public BundleOutput, public format::VolumeSink {
 public:
  VolumeSetOutput(io::FileSystem* fs, std::string stem, std::string location,
                  uint64_t volume_size, std::unique_ptr<io::AtomicFile> first)
      : fs_(fs), stem_(std::move(stem)), location_(std::move(location)), size_(volume_size) {
    files_.push_back(std::move(first));
  }

  Status Prepare(uint64_t planned_bytes) override {
    std::string dir = io::Dirname(files_.front()->path());
    SLUICE_ASSIGN_OR_RETURN(uint64_t free_bytes, fs_->FreeSpace(dir));
    if (free_bytes < planned_bytes) {
      files_.front()->Abandon();
      return Status::NoSpace("the bundle's volumes need up to " + std::to_string(planned_bytes) +
                             " bytes but " + dir + " has " + std::to_string(free_bytes) + " free");
    }
    unplanned_ = planned_bytes;
    ReserveNext();
    return Status::Ok();
  }
  io::SequentialWriter* writer() override { return files_.back()->writer(); }
  format::VolumeSink* volume_sink() override { return this; }
  uint64_t volume_size() const override { return size_; }

  Result<io::SequentialWriter*> NextVolume(uint32_t number) override {
    // Done with: synced and closed now, so that a set of a hundred volumes
    // holds the buffers of one.
    SLUICE_RETURN_IF_ERROR(files_.back()->Finish());
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<io::AtomicFile> next,
                            io::AtomicFile::Create(fs_, VolumePath(stem_, number)));
    files_.push_back(std::move(next));
    ReserveNext();
    return files_.back()->writer();
  }

  Status CompleteVolumes(const std::vector<format::VolumeRecord>& volumes,
                         uint64_t record_offset) override {
    if (volumes.size() != files_.size()) {
      return Status::InvalidArgument("volume set " + stem_ + ": " +
                                     std::to_string(volumes.size()) + " volume records for " +
                                     std::to_string(files_.size()) + " files");
    }
    for (size_t i = 0; i < files_.size(); ++i) {
      SLUICE_RETURN_IF_ERROR(files_[i]->Finish());
      const std::string record = format::EncodeVolumeRecord(volumes[i]);
      SLUICE_RETURN_IF_ERROR(
          fs_->OverwriteAt(files_[i]->temp_path(), record_offset, io::AsBytes(record)));
    }
    return Status::Ok();
  }

  // Volume 1 last: until it is in place no volume set of this bundle can be
  // read (a reader starts at volume 1), and LoadLedger looks for it.
  Status Publish() override {
    for (size_t i = 1; i < files_.size(); ++i) {
      SLUICE_RETURN_IF_ERROR(files_[i]->Commit().WithContext("publishing " + files_[i]->path()));
    }
    SLUICE_RETURN_IF_ERROR(files_[0]->Commit().WithContext("publishing " + files_[0]->path()));
    // A longer set written earlier under the same name would leave volumes
    // behind that a reader of the directory takes for this bundle's.
    for (uint32_t n = static_cast<uint32_t>(files_.size()) + 1;; ++n) {
      const std::string stale = VolumePath(stem_, n);
      if (!fs_->Exists(stale) || !fs_->Remove(stale).ok()) break;
    }
    // Nor may an earlier single file of this name be read instead of the set.
    if (fs_->Exists(stem_ + ".sluice")) (void)fs_->Remove(stem_ + ".sluice");
    return Status::Ok();
  }
  std::optional<std::string> Location() const override { return location_; }
  std::string Describe() const override {
    return "bundle volumes " + VolumePath(stem_, 1) + " to " +
           VolumePath(stem_, static_cast<uint32_t>(files_.size()));
  }
  std::vector<std::string> Files() const override {
    std::vector<std::string> out;
    for (size_t i = 0; i < files_.size(); ++i) {
      out.push_back(VolumePath(stem_, static_cast<uint32_t>(i + 1)));
    }
    return out;
  }

 private:
  // The volume just started will hold about a volume's worth of what the
  // plan has left: announced to its writer (SequentialWriter::Reserve).
  void ReserveNext() {
    const uint64_t expected = std::min(size_, unplanned_);
    files_.back()->writer()->Reserve(expected);
    unplanned_ -= expected;
  }

  io::FileSystem* fs_;
  const std::string stem_;      // as given, without ".sluice"
  const std::string location_;  // volume 1, absolute
  const uint64_t size_;
  std::vector<std::unique_ptr<io::AtomicFile>> files_;
  uint64_t unplanned_ = 0;  // planned bytes not yet announced to a volume
};

Result<std::unique_ptr<BundleOutput>> OpenVolumes(io::FileSystem* fs, const std::string& output,
                                                  uint64_t volume_size) {
  Result<io::PathKind> kind =
      output == "-" ? Result<io::PathKind>(io::PathKind::kFifo) : io::KindOfPath(fs, output);
  if (!kind.ok()) return kind.status().WithContext("bundle output " + output);
  if (*kind == io::PathKind::kDirectory || io::IsStream(*kind)) {
    return Status::InvalidArgument(
        "--volume-size writes the bundle as files NAME.001.sluice, NAME.002.sluice, ...; -o " +
        output + " is " + (*kind == io::PathKind::kDirectory ? "a directory" : "a stream") +
        ": name the set, e.g. -o " + io::JoinPath(output == "-" ? "." : output, "site.sluice"));
  }
  const std::string stem = VolumeStem(output);
  const std::string first = VolumePath(stem, 1);
  SLUICE_ASSIGN_OR_RETURN(std::string location, io::AbsolutePath(fs, first));
  (void)io::RemoveStaleTempFiles(fs, io::Dirname(first));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<io::AtomicFile> file, io::AtomicFile::Create(fs, first));
  return std::unique_ptr<BundleOutput>(
      new VolumeSetOutput(fs, stem, std::move(location), volume_size, std::move(file)));
}

Result<std::unique_ptr<BundleOutput>> OpenUnlimited(io::FileSystem* fs, const std::string& output) {
  if (output == "-") return std::unique_ptr<BundleOutput>(new StreamOutput(fs, ""));
  Result<io::PathKind> kind = io::KindOfPath(fs, output);
  if (!kind.ok()) return kind.status().WithContext("bundle output " + output);
  if (*kind == io::PathKind::kDirectory) {
    return Status::InvalidArgument("bundle output " + output +
                                   " is a directory; name the bundle file, e.g. -o " +
                                   io::JoinPath(output, "bundle.sluice"));
  }
  // Renaming over a FIFO or a device would replace it by a regular file
  // (as root, /dev/null itself) and leave its reader with nothing.
  if (io::IsStream(*kind)) return std::unique_ptr<BundleOutput>(new StreamOutput(fs, output));

  // Absolute now: a later run that settles a pending ledger record may start
  // in another directory, and a relative path would send it to the wrong
  // place, drop the record and reuse its sequence.
  SLUICE_ASSIGN_OR_RETURN(std::string location, io::AbsolutePath(fs, output));
  SLUICE_ASSIGN_OR_RETURN(std::string real, io::FollowSymlinks(fs, output));
  // Temp files of exports killed earlier (only those whose process is gone).
  (void)io::RemoveStaleTempFiles(fs, io::Dirname(real));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<io::AtomicFile> file, io::AtomicFile::Create(fs, output));
  return std::unique_ptr<BundleOutput>(
      new FileOutput(fs, output, std::move(location), std::move(file)));
}

}  // namespace

Result<std::unique_ptr<BundleOutput>> OpenBundleOutput(io::FileSystem* fs,
                                                       const std::string& output,
                                                       const BundleOutputOptions& options) {
  if (options.volume_size > 0) {
    if (options.bytes_per_second > 0) {
      return Status::InvalidArgument(
          "--rate-limit paces a stream and --volume-size cuts files for media; use one");
    }
    return OpenVolumes(fs, output, options.volume_size);
  }
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<BundleOutput> base, OpenUnlimited(fs, output));
  const bool stream = !base->Location().has_value();
  if (options.bytes_per_second > 0) {
    base.reset(new RateLimitedOutput(std::move(base), options.bytes_per_second));
  }
  if (stream && options.stream_parity > 0) {
    base.reset(new ParityStreamOutput(std::move(base), options.stream_parity));
  }
  return base;
}

bool OutputHoldsBundle(io::FileSystem* fs, const std::string& location,
                       const std::string& bundle_id) {
  auto in = fs->NewSequentialReader(location);
  if (!in.ok()) return false;
  auto reader = format::BundleReader::Open(in->get(), {{}, /*skip_signature=*/true});
  return reader.ok() && format::HexEncode((*reader)->catalog().header.bundle_id) == bundle_id;
}

}  // namespace sluice
