#include "sink/registry_storage_sink.h"

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "io/atomic_file.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "sink/blob_file_writer.h"
#include "reference/ref_name.h"
#include "reference/reference.h"

namespace sluice {
namespace {

// A link file holds "sha256:" and 64 hex digits; anything longer is not one.
constexpr uint64_t kMaxLinkSize = 256;

class RegistryStorageSink final : public ImageSink {
 public:
  RegistryStorageSink(io::FileSystem* fs, std::string dir, std::string prefix)
      : fs_(fs),
        dir_(std::move(dir)),
        root_(RegistryStorageRoot(dir_)),
        prefix_(std::move(prefix)) {}

  Status CheckRef(const std::string& repository, const std::string& tag) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository, tag));
    return CheckRefName(target, tag).WithContext("registry-storage:" + dir_);
  }

  std::string Describe(const std::string& repository, const std::string& tag,
                       const format::Digest& digest) override {
    auto target = Target(repository, tag);
    std::string name = "registry-storage:" + dir_ + ":" + (target.ok() ? *target : repository);
    return tag.empty() ? name + "@" + digest.str() : name + ":" + tag;
  }

  // The registry that will serve DIR is not known here.
  Placement Place(const std::string& repository) override {
    auto target = Target(repository, "");
    return {"", target.ok() ? *target : repository};
  }

  Result<std::unique_ptr<io::SequentialReader>> OpenBlob(const std::string&,
                                                         const format::Digest& digest) override {
    return fs_->NewSequentialReader(DataPath(digest));
  }

  Result<bool> HasBlob(const std::string& repository, const format::Digest& digest) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository, ""));
    std::string layer_link = LayerLinkPath(target, digest);
    if (pending_mounts_.contains(layer_link)) return true;
    SLUICE_ASSIGN_OR_RETURN(bool data, DataExists(digest));
    if (!data) return false;
    SLUICE_ASSIGN_OR_RETURN(bool revision, LinkHolds(RevisionLinkPath(target, digest), digest));
    if (revision) return true;
    SLUICE_ASSIGN_OR_RETURN(bool layer, LinkHolds(layer_link, digest));
    if (layer) return true;
    // A manifest needs a revision link, which PutManifest writes.
    SLUICE_ASSIGN_OR_RETURN(bool manifest, DataIsManifest(digest));
    if (manifest) return false;
    // Another repository's blob: link it here, as a registry mount does. The
    // link is written with the next write, so an import refused after its
    // checks leaves no trace.
    pending_mounts_.emplace(layer_link, digest);
    return true;
  }

  Result<bool> HasIntactBlob(const std::string& repository,
                             const format::Digest& digest) override {
    SLUICE_ASSIGN_OR_RETURN(bool has, HasBlob(repository, digest));
    if (!has) return false;
    return FileHoldsBlob(fs_, DataPath(digest), digest);
  }

  Result<std::optional<format::Digest>> TagDigest(const std::string& repository,
                                                  const std::string& tag) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository, tag));
    std::string link = TagDir(target, tag) + "/current/link";
    auto text = io::ReadSmallFile(fs_, link, kMaxLinkSize);
    if (!text.ok()) {
      if (text.status().IsNotFound()) return std::optional<format::Digest>();
      return text.status();
    }
    auto digest = format::Digest::Parse(*text);
    if (!digest.ok()) return digest.status().WithContext(link);
    return std::optional<format::Digest>(*digest);
  }

  Result<std::unique_ptr<BlobWriter>> NewBlob(const std::string& repository,
                                              const format::Digest& digest,
                                              uint64_t size) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository, ""));
    SLUICE_RETURN_IF_ERROR(FlushMounts());
    std::string path = DataPath(digest);
    SLUICE_RETURN_IF_ERROR(EnsureDir(io::Dirname(path)));
    std::string link = LayerLinkPath(target, digest);
    SLUICE_RETURN_IF_ERROR(EnsureIngestDir());
    return NewBlobFileWriter(fs_, path, IngestDir(dir_), digest, size,
                             [this, link, digest] { return WriteLink(link, digest); });
  }

  Status PutManifest(const std::string& repository, const format::Digest& digest,
                     const std::string& media_type, const std::string& bytes) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository, ""));
    format::Digest actual = format::Sha256::Of(bytes);
    if (actual != digest) {
      return Status::Corruption("manifest " + digest.str() + " for " + target + ": bytes hash to " +
                                actual.str());
    }
    SLUICE_RETURN_IF_ERROR(FlushMounts());
    // As the registry checks a manifest push: everything it names must be
    // linked in the repository first, or the tag would name a broken image.
    auto parsed = oci::ParseManifest(bytes, media_type);
    if (!parsed.ok()) return parsed.status().WithContext("manifest " + digest.str());
    for (const oci::Descriptor& child : parsed->manifests) {
      // A platform left out by the export: the index is stored without it,
      // byte for byte, as an OCI layout stores it (a registry serving this
      // storage serves the index and the children that are there).
      if (absent_.contains(child.digest)) continue;
      SLUICE_RETURN_IF_ERROR(CheckLinked(target, digest, child, /*manifest=*/true));
    }
    if (parsed->config) {
      SLUICE_RETURN_IF_ERROR(CheckLinked(target, digest, *parsed->config, /*manifest=*/false));
    }
    for (const oci::Descriptor& layer : parsed->layers) {
      // Foreign layers live elsewhere (their descriptors carry urls); the
      // registry does not require them either.
      if (oci::IsForeignLayerMediaType(layer.media_type)) continue;
      SLUICE_RETURN_IF_ERROR(CheckLinked(target, digest, layer, /*manifest=*/false));
    }

    SLUICE_ASSIGN_OR_RETURN(bool data, FileHoldsBlob(fs_, DataPath(digest), digest));
    if (!data) {
      SLUICE_RETURN_IF_ERROR(Publish(DataPath(digest), bytes));
    }
    return WriteLink(RevisionLinkPath(target, digest), digest);
  }

  Status AddTag(const std::string& repository, const std::string& tag, const format::Digest& digest,
                const std::string& /*media_type*/, uint64_t /*size*/) override {
    SLUICE_RETURN_IF_ERROR(CheckRef(repository, tag));
    // Pinned: as a push by digest, the manifest's data and revision link
    // (PutManifest) are all the registry keeps; no tag links.
    if (tag.empty()) return Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository, tag));
    tags_.push_back({std::move(target), tag, digest});
    return Status::Ok();
  }

  Status Commit() override {
    SLUICE_RETURN_IF_ERROR(FlushMounts());
    while (!tags_.empty()) {
      const PendingTag& t = tags_.front();
      std::string where = "tag " + t.repository + ":" + t.tag + " in registry-storage:" + dir_;
      SLUICE_ASSIGN_OR_RETURN(bool data, DataExists(t.digest));
      SLUICE_ASSIGN_OR_RETURN(bool revision,
                              LinkHolds(RevisionLinkPath(t.repository, t.digest), t.digest));
      if (!data || !revision) {
        return Status::NotFound(where + ": manifest " + t.digest.str() +
                                " is not stored in the repository; not tagging it");
      }
      // The index entry first: current/link is what makes the tag resolve.
      std::string tag_dir = TagDir(t.repository, t.tag);
      SLUICE_RETURN_IF_ERROR(
          WriteLink(tag_dir + "/index/sha256/" + std::string(t.digest.hex()) + "/link", t.digest)
              .WithContext(where));
      SLUICE_RETURN_IF_ERROR(WriteLink(tag_dir + "/current/link", t.digest).WithContext(where));
      tags_.erase(tags_.begin());
    }
    return Status::Ok();
  }

  Result<uint64_t> FreeSpace() override { return fs_->FreeSpace(dir_); }

  void ExpectAbsent(const format::Digest& digest) override { absent_.insert(digest); }

 private:
  struct PendingTag {
    std::string repository;  // the target, prefix included
    std::string tag;
    format::Digest digest;
  };

  // The repository an image of `repository` lands in, checked against the
  // distribution grammar (which admits no "." or ".." component and no
  // leading "_", so a name never leaves repositories/ nor meets _layers).
  Result<std::string> Target(const std::string& repository, const std::string& tag) const {
    if (repository.empty() && prefix_.empty()) {
      std::string image = tag.empty() ? "an image pinned by digest" : "image " + QuoteName(tag);
      return Status::InvalidArgument(image +
                                     " has no repository name (from an OCI layout); give one with "
                                     "--to registry-storage:" +
                                     dir_ + ":REPOSITORY");
    }
    std::string target = prefix_.empty()      ? repository
                         : repository.empty() ? prefix_
                                              : prefix_ + "/" + repository;
    Status valid = ValidateRepository(target);
    if (!valid.ok()) return valid.WithContext("registry-storage:" + dir_);
    return target;
  }

  std::string DataPath(const format::Digest& d) const {
    std::string hex(d.hex());
    return root_ + "/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
  }
  std::string RepositoryPath(const std::string& repository) const {
    return root_ + "/repositories/" + repository;
  }
  std::string TagDir(const std::string& repository, const std::string& tag) const {
    return RepositoryPath(repository) + "/_manifests/tags/" + tag;
  }
  std::string LayerLinkPath(const std::string& repository, const format::Digest& d) const {
    return RepositoryPath(repository) + "/_layers/sha256/" + std::string(d.hex()) + "/link";
  }
  std::string RevisionLinkPath(const std::string& repository, const format::Digest& d) const {
    return RepositoryPath(repository) + "/_manifests/revisions/sha256/" + std::string(d.hex()) +
           "/link";
  }

  Result<bool> DataExists(const format::Digest& digest) {
    auto info = fs_->Stat(DataPath(digest));
    if (info.ok()) return !info->is_directory;
    if (info.status().IsNotFound()) return false;
    return info.status();
  }

  // Whether the link at `path` names `digest`. A missing or foreign link is
  // false (it gets rewritten); failing to read one is an error.
  Result<bool> LinkHolds(const std::string& path, const format::Digest& digest) {
    auto text = io::ReadSmallFile(fs_, path, kMaxLinkSize);
    if (text.ok()) return *text == digest.str();
    if (text.status().IsNotFound() || text.status().kind() == ErrorKind::kInvalidArgument) {
      return false;
    }
    return text.status();
  }

  // Whether stored data is an image manifest or index: a JSON object with
  // schemaVersion 2 and a manifest media type, or (mediaType being optional
  // in OCI) the layers or manifests list only manifests have. Configs and
  // layers never look like this.
  Result<bool> DataIsManifest(const format::Digest& digest) {
    std::string path = DataPath(digest);
    SLUICE_ASSIGN_OR_RETURN(io::FileInfo info, fs_->Stat(path));
    if (info.size > oci::kMaxManifestSize) return false;
    {
      SLUICE_ASSIGN_OR_RETURN(auto reader, fs_->NewSequentialReader(path));
      uint8_t first = 0;
      SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(io::MutableBytes(&first, 1)));
      if (n != 1 || first != '{') return false;  // layers are gzip, zstd or tar
    }
    SLUICE_ASSIGN_OR_RETURN(std::string text, io::ReadSmallFile(fs_, path, oci::kMaxManifestSize));
    auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return false;
    auto version = doc.find("schemaVersion");
    if (version == doc.end() || !version->is_number_integer() || *version != 2) return false;
    auto type = doc.find("mediaType");
    if (type != doc.end() && type->is_string() &&
        oci::IsManifestMediaType(type->get<std::string>())) {
      return true;
    }
    auto layers = doc.find("layers");
    auto manifests = doc.find("manifests");
    return (layers != doc.end() && layers->is_array()) ||
           (manifests != doc.end() && manifests->is_array());
  }

  // `child`, named by manifest `parent`, must be stored and linked in
  // `repository`: as a revision (a manifest) or under _layers (a blob).
  Status CheckLinked(const std::string& repository, const format::Digest& parent,
                     const oci::Descriptor& child, bool manifest) {
    SLUICE_ASSIGN_OR_RETURN(bool data, DataExists(child.digest));
    bool linked = false;
    if (data) {
      std::string link = manifest ? RevisionLinkPath(repository, child.digest)
                                  : LayerLinkPath(repository, child.digest);
      SLUICE_ASSIGN_OR_RETURN(linked, LinkHolds(link, child.digest));
    }
    if (linked) return Status::Ok();
    return Status::NotFound("manifest " + parent.str() + " for " + repository + " names " +
                            (manifest ? "manifest " : "blob ") + child.digest.str() +
                            ", which registry-storage:" + dir_ + " does not hold in " + repository +
                            "; not storing the manifest");
  }

  // Creates `path` and its missing parents, each fsynced into its parent so
  // that links written later never outlive the directories they sit in. A
  // directory that was already there is cleared of the temp files a killed
  // import left (io::IsStaleTempName: only sluice's own, only those no
  // running process can still be writing). Every file this sink writes goes
  // through here first, so a rerun cleans exactly where an earlier run of
  // the same import wrote, without walking the whole storage.
  Status EnsureDir(const std::string& path) {
    if (known_dirs_.contains(path)) return Status::Ok();
    auto info = fs_->Stat(path);
    if (info.ok()) {
      if (!info->is_directory) return Status::IoError(path + " exists and is not a directory");
      SLUICE_RETURN_IF_ERROR(io::RemoveStaleTempFiles(fs_, path).status());
    } else if (!info.status().IsNotFound()) {
      return info.status();
    } else {
      std::string parent = io::Dirname(path);
      if (parent != path) SLUICE_RETURN_IF_ERROR(EnsureDir(parent));
      SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(path));
      SLUICE_RETURN_IF_ERROR(fs_->SyncDir(parent));
    }
    known_dirs_.insert(path);
    return Status::Ok();
  }

  // Publishes a link holding `digest`, unless it already does.
  Status WriteLink(const std::string& path, const format::Digest& digest) {
    SLUICE_ASSIGN_OR_RETURN(bool holds, LinkHolds(path, digest));
    if (holds) return Status::Ok();
    return Publish(path, digest.str());
  }

  // Writes a small file (a manifest's data, a link) atomically, its temp
  // file in the ingest directory.
  Status Publish(const std::string& path, const std::string& bytes) {
    SLUICE_RETURN_IF_ERROR(EnsureDir(io::Dirname(path)));
    SLUICE_RETURN_IF_ERROR(EnsureIngestDir());
    return io::WriteFileAtomically(fs_, path, io::AsBytes(bytes), {}, IngestDir(dir_))
        .WithContext("writing " + path);
  }

  // The directory of this sink's temp files (IngestDir), outside
  // docker/registry/v2 where the registry never looks; created, and cleared
  // of a killed import's leftovers, before the first write.
  Status EnsureIngestDir() { return EnsureDir(IngestDir(dir_)); }

  Status FlushMounts() {
    while (!pending_mounts_.empty()) {
      auto it = pending_mounts_.begin();
      SLUICE_RETURN_IF_ERROR(WriteLink(it->first, it->second));
      pending_mounts_.erase(it);
    }
    return Status::Ok();
  }

  io::FileSystem* fs_;
  std::string dir_;
  std::string root_;
  std::string prefix_;
  std::set<std::string> known_dirs_;
  std::map<std::string, format::Digest> pending_mounts_;  // layer link path -> digest
  std::set<format::Digest> absent_;                       // left out by the export (ExpectAbsent)
  std::vector<PendingTag> tags_;
};

}  // namespace

std::string RegistryStorageRoot(const std::string& dir) {
  return io::JoinPath(dir, "docker/registry/v2");
}

Result<std::unique_ptr<ImageSink>> NewRegistryStorageSink(io::FileSystem* fs, std::string dir,
                                                          std::string prefix) {
  if (dir.empty()) {
    return Status::InvalidArgument("registry-storage: needs a directory (registry-storage:DIR)");
  }
  if (!prefix.empty()) {
    Status valid = ValidateRepository(prefix);
    if (!valid.ok()) {
      return valid.WithContext("registry-storage:" + dir + ":" + prefix +
                               ": bad repository prefix");
    }
  }
  return std::unique_ptr<ImageSink>(
      std::make_unique<RegistryStorageSink>(fs, std::move(dir), std::move(prefix)));
}

}  // namespace sluice
