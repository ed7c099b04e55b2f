#include "source/oci_layout_source.h"

#include "io/atomic_file.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "source/index_images.h"

namespace sluice {
namespace {

class OciLayoutSource final : public ImageSource {
 public:
  OciLayoutSource(io::FileSystem* fs, std::string dir, std::string tag)
      : fs_(fs), dir_(std::move(dir)), tag_(std::move(tag)) {}

  Result<std::vector<SourceImage>> ListImages() override {
    std::string layout_path = io::JoinPath(dir_, oci::kLayoutFile);
    if (!fs_->Exists(layout_path)) {
      return Status::NotFound(dir_ + " is not an OCI image layout (no " + layout_path + ")");
    }
    std::string index_path = io::JoinPath(dir_, oci::kIndexFile);
    SLUICE_ASSIGN_OR_RETURN(std::string text,
                            io::ReadSmallFile(fs_, index_path, oci::kMaxIndexFileSize));
    SLUICE_ASSIGN_OR_RETURN(std::vector<oci::IndexEntry> entries,
                            oci::ParseIndex(text, index_path));

    return ImagesOfIndex(std::move(entries), tag_, "oci:" + dir_, dir_);
  }

  Result<ManifestBytes> FetchManifest(const std::string& /*repository*/,
                                      const format::Digest& digest) override {
    std::string path = oci::BlobPath(dir_, digest);
    auto bytes = io::ReadSmallFile(fs_, path, oci::kMaxManifestSize);
    if (!bytes.ok()) return bytes.status().WithContext("manifest " + digest.str());
    if (format::Sha256::Of(*bytes) != digest) {
      return Status::Corruption("manifest " + path + " does not match its digest " + digest.str() +
                                " (it hashes to " + format::Sha256::Of(*bytes).str() + ")");
    }
    return ManifestBytes{std::move(bytes).value(), ""};
  }

  Result<std::unique_ptr<io::SequentialReader>> OpenBlob(const std::string& /*repository*/,
                                                         const format::Digest& digest,
                                                         uint64_t /*size*/) override {
    std::string path = oci::BlobPath(dir_, digest);
    auto reader = fs_->NewSequentialReader(path);
    if (!reader.ok() && reader.status().IsNotFound()) {
      return Status::NotFound("blob " + digest.str() + " is missing from layout " + dir_);
    }
    return reader;
  }

  // Files open independently; reading ahead overlaps the disk with compression.
  size_t MaxBlobsInFlight() const override { return SIZE_MAX; }

 private:
  io::FileSystem* fs_;
  std::string dir_;
  std::string tag_;
};

}  // namespace

std::unique_ptr<ImageSource> NewOciLayoutSource(io::FileSystem* fs, std::string dir,
                                                std::string tag) {
  return std::make_unique<OciLayoutSource>(fs, std::move(dir), std::move(tag));
}

}  // namespace sluice
