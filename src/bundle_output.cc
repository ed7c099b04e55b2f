#include "bundle_output.h"

#include "format/bundle_reader.h"
#include "io/atomic_file.h"
#include "io/rate_limited_writer.h"

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
    return Status::Ok();
  }

  io::SequentialWriter* writer() override { return file_->writer(); }

  Status Publish() override { return file_->Commit().WithContext("publishing " + path_); }

  std::optional<std::string> Location() const override { return location_; }
  std::string Describe() const override { return "bundle " + path_; }

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

 private:
  std::unique_ptr<BundleOutput> base_;
  const uint64_t bytes_per_second_;
  std::unique_ptr<io::SequentialWriter> limited_;  // writes into base_->writer()
};

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
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<BundleOutput> base, OpenUnlimited(fs, output));
  if (options.bytes_per_second == 0) return base;
  return std::unique_ptr<BundleOutput>(
      new RateLimitedOutput(std::move(base), options.bytes_per_second));
}

bool OutputHoldsBundle(io::FileSystem* fs, const std::string& location,
                       const std::string& bundle_id) {
  auto in = fs->NewSequentialReader(location);
  if (!in.ok()) return false;
  auto reader = format::BundleReader::Open(in->get(), {{}, /*skip_signature=*/true});
  return reader.ok() && format::HexEncode((*reader)->catalog().header.bundle_id) == bundle_id;
}

}  // namespace sluice
