#include "bundle_output.h"

#include "format/bundle_reader.h"
#include "io/atomic_file.h"

namespace sluice {
namespace {

class FileOutput final : public BundleOutput {
 public:
  FileOutput(io::FileSystem* fs, std::string path) : fs_(fs), path_(std::move(path)) {}

  Status Prepare(uint64_t planned_bytes) override {
    std::string dir = io::Dirname(path_);
    // Temp files of exports killed earlier (only those whose process is gone).
    (void)io::RemoveStaleTempFiles(fs_, dir);
    SLUICE_ASSIGN_OR_RETURN(uint64_t free_bytes, fs_->FreeSpace(dir));
    if (free_bytes < planned_bytes) {
      return Status::NoSpace("the bundle needs up to " + std::to_string(planned_bytes) +
                             " bytes but " + dir + " has " + std::to_string(free_bytes) + " free");
    }
    SLUICE_ASSIGN_OR_RETURN(file_, io::AtomicFile::Create(fs_, path_));
    return Status::Ok();
  }

  io::SequentialWriter* writer() override { return file_->writer(); }

  Status Publish() override { return file_->Commit().WithContext("publishing " + path_); }

  std::optional<std::string> Location() const override { return path_; }
  std::string Describe() const override { return "bundle " + path_; }

 private:
  io::FileSystem* fs_;
  std::string path_;
  std::unique_ptr<io::AtomicFile> file_;
};

class StdoutOutput final : public BundleOutput {
 public:
  Status Prepare(uint64_t /*planned_bytes*/) override {
    out_ = io::StdoutWriter();
    return Status::Ok();
  }
  io::SequentialWriter* writer() override { return out_.get(); }
  Status Publish() override { return out_->Close().WithContext("standard output"); }
  std::optional<std::string> Location() const override { return std::nullopt; }
  std::string Describe() const override { return "standard output"; }

 private:
  std::unique_ptr<io::SequentialWriter> out_;
};

}  // namespace

std::unique_ptr<BundleOutput> NewBundleOutput(io::FileSystem* fs, const std::string& output) {
  if (output == "-") return std::make_unique<StdoutOutput>();
  return std::make_unique<FileOutput>(fs, output);
}

bool OutputHoldsBundle(io::FileSystem* fs, const std::string& location,
                       const std::string& bundle_id) {
  auto in = fs->NewSequentialReader(location);
  if (!in.ok()) return false;
  auto reader = format::BundleReader::Open(in->get(), {{}, /*skip_signature=*/true});
  return reader.ok() && format::HexEncode((*reader)->catalog().header.bundle_id) == bundle_id;
}

}  // namespace sluice
