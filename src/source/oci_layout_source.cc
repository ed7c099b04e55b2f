#include "source/oci_layout_source.h"

#include <map>
#include <set>
#include <vector>

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

    entries_ = entries;
    return ImagesOfIndex(std::move(entries), tag_, "oci:" + dir_, dir_);
  }

  // Tags are looked up in index.json as ListImages read it; referrers are
  // the manifests index.json lists whose subject field names `subject`
  // (every listed manifest is read once, the first time referrers are asked
  // for).
  Result<std::vector<SourceImage>> FindAttached(const std::string& repository,
                                                const format::Digest& subject,
                                                const AttachedKinds& kinds) override {
    std::vector<SourceImage> out;
    std::set<format::Digest> found;
    auto add = [&](const oci::IndexEntry& entry, const std::string& tag) {
      if (!found.insert(entry.digest).second) return;
      out.push_back(SourceImage{
          .display =
              "oci:" + dir_ + (tag.empty() ? "@" + entry.digest.str() : ":" + entry.ref_name),
          .repository = repository,
          .tag = tag,
          .digest = entry.digest,
          .media_type = entry.media_type});
    };
    std::string stem = AttachedTagStem(subject);
    // A tag names the attachment in this repository: "sha256-<hex>.sig", or
    // "REPOSITORY:sha256-<hex>.sig" as sluice writes registry images here.
    auto try_tag = [&](const std::string& tag) {
      for (const oci::IndexEntry& entry : entries_) {
        if (!entry.ref_name.empty() && SplitRefName(entry.ref_name) == std::pair(repository, tag)) {
          add(entry, tag);
        }
      }
    };
    if (kinds.signatures) {
      for (const char* suffix : kCosignSuffixes) try_tag(stem + suffix);
    }
    if (!kinds.referrers) return out;
    try_tag(stem);
    SLUICE_RETURN_IF_ERROR(ReadSubjects());
    for (const oci::IndexEntry* entry : referrers_[subject]) {
      auto [entry_repository, tag] = SplitRefName(entry->ref_name);
      // Tagged in another repository, or not at all: carried by digest here.
      add(*entry, !entry->ref_name.empty() && entry_repository == repository ? tag : "");
    }
    return out;
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
  // Fills referrers_ from every manifest entries_ lists, once.
  Status ReadSubjects() {
    if (subjects_read_) return Status::Ok();
    for (const oci::IndexEntry& entry : entries_) {
      auto m = FetchManifest("", entry.digest);
      // An entry this export cannot read anyway (a blob missing, a schema 1
      // manifest) refers to nothing it carries; a damaged one is an error.
      if (!m.ok() && m.status().IsNotFound()) continue;
      if (!m.ok()) return m.status().WithContext(dir_ + " index.json, read for subjects");
      auto parsed = oci::ParseManifest(m->bytes, entry.media_type);
      if (!parsed.ok() && parsed.status().kind() == ErrorKind::kUnsupported) continue;
      if (!parsed.ok()) {
        return parsed.status().WithContext("manifest " + entry.digest.str() + " of " + dir_ +
                                           " index.json, read for its subject");
      }
      if (parsed->subject) referrers_[parsed->subject->digest].push_back(&entry);
    }
    subjects_read_ = true;
    return Status::Ok();
  }

  io::FileSystem* fs_;
  std::string dir_;
  std::string tag_;
  std::vector<oci::IndexEntry> entries_;  // of index.json, as ListImages read them
  bool subjects_read_ = false;
  std::map<format::Digest, std::vector<const oci::IndexEntry*>> referrers_;  // subject ->
};

}  // namespace

std::unique_ptr<ImageSource> NewOciLayoutSource(io::FileSystem* fs, std::string dir,
                                                std::string tag) {
  return std::make_unique<OciLayoutSource>(fs, std::move(dir), std::move(tag));
}

}  // namespace sluice
