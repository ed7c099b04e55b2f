#include "sink/blob_file_writer.h"

#include "io/atomic_file.h"

namespace sluice {
namespace {

class BlobFileWriter final : public BlobWriter {
 public:
  BlobFileWriter(std::unique_ptr<io::AtomicFile> file, std::string path, format::Digest digest,
                 uint64_t size, std::function<Status()> after_publish)
      : file_(std::move(file)),
        path_(std::move(path)),
        digest_(std::move(digest)),
        size_(size),
        after_publish_(std::move(after_publish)) {}

  Status Append(io::ByteView data) override {
    written_ += data.size();
    if (written_ > size_) {
      return Status::Corruption("blob " + digest_.str() + " is longer than its declared " +
                                std::to_string(size_) + " bytes");
    }
    hasher_.Update(data);
    return file_->writer()->Append(data).WithContext(file_->temp_path());
  }

  Status Commit() override {
    format::Digest actual = hasher_.Finish();
    if (written_ != size_ || actual != digest_) {
      return Status::Corruption("blob " + digest_.str() + ": wrote " + std::to_string(written_) +
                                " bytes hashing to " + actual.str() + ", expected " +
                                std::to_string(size_) + " bytes");
    }
    SLUICE_RETURN_IF_ERROR(file_->Commit().WithContext("publishing " + path_));
    return after_publish_ ? after_publish_() : Status::Ok();
  }

 private:
  std::unique_ptr<io::AtomicFile> file_;
  std::string path_;
  format::Digest digest_;
  uint64_t size_;
  std::function<Status()> after_publish_;
  uint64_t written_ = 0;
  format::Sha256 hasher_;
};

}  // namespace

Result<std::unique_ptr<BlobWriter>> NewBlobFileWriter(io::FileSystem* fs, const std::string& path,
                                                      const format::Digest& digest, uint64_t size,
                                                      std::function<Status()> after_publish) {
  SLUICE_ASSIGN_OR_RETURN(auto file, io::AtomicFile::Create(fs, path));
  return std::unique_ptr<BlobWriter>(std::make_unique<BlobFileWriter>(
      std::move(file), path, digest, size, std::move(after_publish)));
}

}  // namespace sluice
