#include "source/oci_layout_source.h"

#include "io/atomic_file.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "reference/reference.h"

namespace sluice {
namespace {

// A layout's ref names are free-form; one that reads "REPOSITORY:TAG"
// ("library/alpine:3.19", as sluice writes registry images into layouts)
// names a repository too, so it can be pushed to a registry as such.
std::pair<std::string, std::string> SplitRefName(const std::string& name) {
  size_t colon = name.rfind(':');
  if (colon != std::string::npos) {
    std::string repository = name.substr(0, colon);
    std::string tag = name.substr(colon + 1);
    if (ValidateRepository(repository).ok() && IsValidTag(tag)) {
      return {repository, tag};
    }
  }
  return {"", name};
}

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

    std::vector<SourceImage> images;
    std::vector<std::string> available;
    for (oci::IndexEntry& entry : entries) {
      const std::string& name = entry.ref_name;
      if (name.empty()) continue;  // untagged: reachable only through a tag
      available.push_back(name);
      if (!tag_.empty() && name != tag_) continue;
      auto [repository, tag] = SplitRefName(name);
      images.push_back(SourceImage{.display = "oci:" + dir_ + ":" + name,
                                   .repository = std::move(repository),
                                   .tag = std::move(tag),
                                   .digest = entry.digest,
                                   .media_type = std::move(entry.media_type)});
    }
    if (images.empty()) {
      std::string list;
      for (const std::string& n : available) list += (list.empty() ? "" : ", ") + n;
      if (tag_.empty()) return Status::NotFound(dir_ + " has no tagged image");
      return Status::NotFound(
          "tag '" + tag_ + "' not found in " + index_path +
          (list.empty() ? std::string(" (it has no tags)") : " (tags: " + list + ")"));
    }
    return images;
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
