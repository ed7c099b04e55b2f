#include "sink/oci_layout_sink.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "oci/layout.h"
#include "oci/media_types.h"
#include "reference/ref_name.h"
#include "sink/blob_file_writer.h"

namespace sluice {
namespace {

using nlohmann::ordered_json;

class OciLayoutSink final : public ImageSink {
 public:
  OciLayoutSink(io::FileSystem* fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}

  // The image gets the ref name REPOSITORY:TAG (or TAG), which must be an
  // OCI ref name; a pinned image gets none.
  Status CheckRef(const std::string& repository, const std::string& tag) override {
    SLUICE_RETURN_IF_ERROR(CheckRefName(repository, tag).WithContext("oci:" + dir_));
    if (tag.empty()) return Status::Ok();
    return CheckRefName("", JoinRefName(repository, tag)).WithContext("oci:" + dir_);
  }

  std::string Describe(const std::string& repository, const std::string& tag,
                       const format::Digest& digest) override {
    if (tag.empty()) return "oci:" + dir_ + "@" + digest.str();
    return "oci:" + dir_ + ":" + JoinRefName(repository, tag);
  }

  Placement Place(const std::string& repository) override { return {"", repository}; }

  Result<std::unique_ptr<io::SequentialReader>> OpenBlob(const std::string&,
                                                         const format::Digest& digest) override {
    return fs_->NewSequentialReader(oci::BlobPath(dir_, digest));
  }

  Result<bool> HasBlob(const std::string&, const format::Digest& digest) override {
    auto info = fs_->Stat(oci::BlobPath(dir_, digest));
    if (info.ok()) return !info->is_directory;
    if (info.status().IsNotFound()) return false;
    return info.status();
  }

  Result<bool> HasIntactBlob(const std::string&, const format::Digest& digest) override {
    return FileHoldsBlob(fs_, oci::BlobPath(dir_, digest), digest);
  }

  Result<std::optional<format::Digest>> TagDigest(const std::string& repository,
                                                  const std::string& tag) override {
    std::string index_path = io::JoinPath(dir_, oci::kIndexFile);
    auto text = io::ReadSmallFile(fs_, index_path, oci::kMaxIndexFileSize);
    if (!text.ok()) {
      if (text.status().IsNotFound()) return std::optional<format::Digest>();
      return text.status();
    }
    SLUICE_ASSIGN_OR_RETURN(std::vector<oci::IndexEntry> entries,
                            oci::ParseIndex(*text, index_path));
    std::string name = JoinRefName(repository, tag);
    for (const oci::IndexEntry& entry : entries) {
      if (entry.ref_name == name) return std::optional<format::Digest>(entry.digest);
    }
    return std::optional<format::Digest>();
  }

  // Renamed into blobs/sha256 without its directory's fsync: the one
  // SyncBlobs does before the first manifest or tag covers them all.
  Result<std::unique_ptr<BlobWriter>> NewBlob(const std::string&, const format::Digest& digest,
                                              uint64_t size) override {
    SLUICE_RETURN_IF_ERROR(EnsureLayout());
    return NewBlobFileWriter(
        fs_, oci::BlobPath(dir_, digest), IngestDir(dir_), digest, size,
        [this] {
          blobs_unsynced_.store(true);
          return Status::Ok();
        },
        DirSync::kDeferred);
  }

  // Written after the blobs it may name are durable. Renamed into
  // blobs/sha256 without its directory's fsync, as blobs are: only
  // index.json names a manifest for a reader of the layout, and Commit
  // syncs the directory once before writing it (an import of a thousand
  // images otherwise waits for a thousand directory fsyncs, one by one).
  Status PutManifest(const std::string& repository, const format::Digest& digest,
                     const std::string&, const std::string& bytes) override {
    SLUICE_RETURN_IF_ERROR(SyncBlobs());
    SLUICE_ASSIGN_OR_RETURN(bool present, HasIntactBlob(repository, digest));
    if (present) return Status::Ok();
    SLUICE_RETURN_IF_ERROR(EnsureLayout());
    SLUICE_ASSIGN_OR_RETURN(
        auto writer, NewBlobFileWriter(
                         fs_, oci::BlobPath(dir_, digest), IngestDir(dir_), digest, bytes.size(),
                         [this] {
                           manifests_unsynced_.store(true);
                           return Status::Ok();
                         },
                         DirSync::kDeferred));
    SLUICE_RETURN_IF_ERROR(writer->Append(io::AsBytes(bytes)));
    return writer->Commit();
  }

  Status AddTag(const std::string& repository, const std::string& tag,
                const format::Digest& digest, const std::string& media_type,
                uint64_t size) override {
    SLUICE_RETURN_IF_ERROR(CheckRef(repository, tag));
    ordered_json descriptor = {{"mediaType", media_type}, {"digest", digest.str()}, {"size", size}};
    if (tag.empty()) {
      pinned_.emplace(digest.str(), std::move(descriptor));
      return Status::Ok();
    }
    std::string name = JoinRefName(repository, tag);
    descriptor["annotations"] = {{std::string(oci::kRefNameAnnotation), name}};
    tags_[name] = std::move(descriptor);
    return Status::Ok();
  }

  Status Commit() override {
    SLUICE_RETURN_IF_ERROR(SyncBlobDir(/*manifests_too=*/true));
    if (tags_.empty() && pinned_.empty()) return Status::Ok();
    SLUICE_RETURN_IF_ERROR(EnsureLayout());
    std::string index_path = io::JoinPath(dir_, oci::kIndexFile);
    ordered_json index = {{"schemaVersion", 2},
                          {"mediaType", std::string(oci::kOciIndex)},
                          {"manifests", ordered_json::array()}};
    ordered_json original;
    std::vector<oci::IndexEntry> existing;
    if (auto text = io::ReadSmallFile(fs_, index_path, oci::kMaxIndexFileSize); text.ok()) {
      auto parsed = oci::ParseIndex(*text, index_path);
      if (!parsed.ok()) {
        return Status::Corruption(parsed.status().message() + "; not touching it");
      }
      existing = std::move(parsed).value();
      // Checked above; kept as parsed so that entries sluice does not own
      // keep every field they have.
      index = ordered_json::parse(*text, nullptr, /*allow_exceptions=*/false);
      original = index;
    } else if (!text.status().IsNotFound()) {
      return text.status();
    }

    // Retag in place and append new names at the end, so that importing the
    // same tags again produces the same bytes and index.json is left alone.
    std::map<std::string, bool> placed;
    ordered_json entries = ordered_json::array();
    for (size_t i = 0; i < existing.size(); ++i) {
      const std::string& name = existing[i].ref_name;
      auto ours = tags_.find(name);
      if (ours == tags_.end()) {
        entries.push_back(index["manifests"][i]);
      } else if (!placed[name]) {
        entries.push_back(ours->second);
        placed[name] = true;
      }
    }
    for (const auto& [name, descriptor] : tags_) {
      if (!placed[name]) entries.push_back(descriptor);
    }
    // A pinned image needs only to be a root of the layout: an entry of its
    // digest, tagged or not, already is one.
    std::set<std::string> roots;
    for (const auto& entry : entries) {
      auto digest = entry.is_object() ? entry.find("digest") : entry.end();
      if (digest != entry.end() && digest->is_string()) roots.insert(digest->get<std::string>());
    }
    for (const auto& [digest, descriptor] : pinned_) {
      if (!roots.contains(digest)) entries.push_back(descriptor);
    }
    index["manifests"] = std::move(entries);

    if (index == original) return Status::Ok();  // nothing new: leave the bytes alone
    std::string new_text = io::DumpJson(index, 2) + "\n";
    return io::WriteFileAtomically(fs_, index_path, io::AsBytes(new_text), {}, IngestDir(dir_))
        .WithContext("writing " + index_path);
  }

  Result<uint64_t> FreeSpace() override { return fs_->FreeSpace(dir_); }

  // Each blob is its own temp file, checked and fsynced before its rename,
  // so blobs written at once cannot see each other half-done. One per core
  // keeps every core hashing; one more keeps them busy while a blob waits
  // for its fsync.
  size_t MaxBlobsInFlight() const override {
    return std::max(1u, std::thread::hardware_concurrency()) + 1;
  }

 private:
  // Makes the renames of blobs written since the last call durable: one
  // fsync of blobs/sha256, after the last blob and before anything names it.
  Status SyncBlobs() { return SyncBlobDir(/*manifests_too=*/false); }

  // The same for blobs and, with `manifests_too`, manifests: before
  // index.json is written.
  Status SyncBlobDir(bool manifests_too) {
    const bool blobs = blobs_unsynced_.exchange(false);
    const bool manifests = manifests_too && manifests_unsynced_.exchange(false);
    if (!blobs && !manifests) return Status::Ok();
    std::string blob_dir = io::JoinPath(dir_, "blobs/sha256");
    Status synced =
        fs_->SyncDir(blob_dir).WithContext("making the blobs of oci:" + dir_ + " durable");
    if (!synced.ok()) {
      if (blobs) blobs_unsynced_.store(true);
      if (manifests) manifests_unsynced_.store(true);
    }
    return synced;
  }

  // Creates DIR, DIR/blobs/sha256, the ingest directory and DIR/oci-layout
  // on the first write, so an import refused before writing leaves no trace.
  // Then removes the temp files a killed import left: only sluice's own, and
  // only those no running process can still be writing (io::IsStaleTempName).
  // Temp files go to the ingest directory; blobs/sha256 and DIR are swept
  // too, for those of versions that wrote them beside their targets. Called
  // by the threads writing blobs at once (MaxBlobsInFlight).
  Status EnsureLayout() {
    std::lock_guard<std::mutex> lock(layout_mu_);
    if (layout_ready_) return Status::Ok();
    std::string blob_dir = io::JoinPath(dir_, "blobs/sha256");
    std::string ingest_dir = IngestDir(dir_);
    SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(blob_dir));
    SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(ingest_dir));
    for (const std::string& d : {ingest_dir, blob_dir, dir_}) {
      SLUICE_RETURN_IF_ERROR(io::RemoveStaleTempFiles(fs_, d).status());
    }
    std::string layout_path = io::JoinPath(dir_, oci::kLayoutFile);
    if (!fs_->Exists(layout_path)) {
      SLUICE_RETURN_IF_ERROR(io::WriteFileAtomically(
          fs_, layout_path, io::AsBytes(oci::kLayoutFileContents), {}, ingest_dir));
    }
    layout_ready_ = true;
    return Status::Ok();
  }

  io::FileSystem* fs_;
  std::string dir_;
  std::atomic<bool> blobs_unsynced_{false};  // renamed into blobs/sha256, not yet synced
  std::atomic<bool> manifests_unsynced_{false};  // the same, of manifests
  std::mutex layout_mu_;
  bool layout_ready_ = false;  // under layout_mu_
  std::map<std::string, ordered_json> tags_;    // ref name -> descriptor
  std::map<std::string, ordered_json> pinned_;  // digest -> descriptor, no ref name
};

}  // namespace

std::unique_ptr<ImageSink> NewOciLayoutSink(io::FileSystem* fs, std::string dir) {
  return std::make_unique<OciLayoutSink>(fs, std::move(dir));
}

}  // namespace sluice
