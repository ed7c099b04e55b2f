#include "sink/blob_file_writer.h"

#include <vector>

#include "format/blob_check.h"
#include "io/atomic_file.h"

namespace sluice {
namespace {

class BlobFileWriter final : public BlobWriter {
 public:
  BlobFileWriter(std::unique_ptr<io::AtomicFile> file, std::string path, format::Digest digest,
                 uint64_t size, std::function<Status()> after_publish, DirSync dir_sync)
      : file_(std::move(file)),
        path_(std::move(path)),
        check_(digest, size, "blob " + digest.str()),
        after_publish_(std::move(after_publish)),
        dir_sync_(dir_sync) {}

  Status Append(io::ByteView data) override {
    SLUICE_RETURN_IF_ERROR(check_.Update(data));
    return file_->writer()->Append(data).WithContext(file_->temp_path());
  }

  Status Commit() override {
    SLUICE_RETURN_IF_ERROR(check_.Finish());
    Status published = dir_sync_ == DirSync::kEach ? file_->Commit()
                                                   : file_->CommitLeavingDirUnsynced();
    SLUICE_RETURN_IF_ERROR(published.WithContext("publishing " + path_));
    return after_publish_ ? after_publish_() : Status::Ok();
  }

 private:
  std::unique_ptr<io::AtomicFile> file_;
  std::string path_;
  format::BlobCheck check_;
  std::function<Status()> after_publish_;
  const DirSync dir_sync_;
};

}  // namespace

Result<std::unique_ptr<BlobWriter>> NewBlobFileWriter(io::FileSystem* fs, const std::string& path,
                                                      const std::string& ingest_dir,
                                                      const format::Digest& digest, uint64_t size,
                                                      std::function<Status()> after_publish,
                                                      DirSync dir_sync) {
  SLUICE_ASSIGN_OR_RETURN(auto file, io::AtomicFile::Create(fs, path, {}, ingest_dir));
  file->writer()->Reserve(size);
  return std::unique_ptr<BlobWriter>(std::make_unique<BlobFileWriter>(
      std::move(file), path, digest, size, std::move(after_publish), dir_sync));
}

std::string IngestDir(const std::string& root) { return io::JoinPath(SluiceDir(root), "ingest"); }

Result<bool> FileHoldsBlob(io::FileSystem* fs, const std::string& path,
                           const format::Digest& digest) {
  auto info = fs->Stat(path);
  if (!info.ok()) {
    if (info.status().IsNotFound()) return false;
    return info.status();
  }
  if (info->is_directory) return false;
  SLUICE_ASSIGN_OR_RETURN(auto reader, fs->NewSequentialReader(path));
  std::vector<uint8_t> buffer(1u << 20);
  format::Sha256 hasher;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(buffer));
    if (n == 0) break;
    hasher.Update(io::ByteView(buffer.data(), n));
  }
  return hasher.Finish() == digest;
}

}  // namespace sluice
