#include "sink/registry_sink.h"

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "format/blob_check.h"
#include "reference/ref_name.h"

namespace sluice {
namespace {

class RegistryBlobWriter final : public BlobWriter {
 public:
  RegistryBlobWriter(std::unique_ptr<registry::BlobUpload> upload, std::string name,
                     format::Digest digest, uint64_t size, std::function<void()> on_commit)
      : upload_(std::move(upload)),
        check_(std::move(digest), size, std::move(name)),
        on_commit_(std::move(on_commit)) {}

  Status Append(io::ByteView data) override {
    SLUICE_RETURN_IF_ERROR(check_.Update(data));
    return upload_->Append(data);
  }

  Status Commit() override {
    SLUICE_RETURN_IF_ERROR(check_.Finish());
    SLUICE_RETURN_IF_ERROR(upload_->Commit());
    on_commit_();
    return Status::Ok();
  }

 private:
  std::unique_ptr<registry::BlobUpload> upload_;
  format::BlobCheck check_;
  std::function<void()> on_commit_;
};

class RegistrySink final : public ImageSink {
 public:
  RegistrySink(std::string prefix, std::unique_ptr<registry::RegistryClient> client)
      : prefix_(std::move(prefix)), client_(std::move(client)) {}

  Status CheckRef(const std::string& repository, const std::string& tag) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository));
    return CheckRefName(target, tag).WithContext("destination " + client_->host());
  }

  std::string Describe(const std::string& repository, const std::string& tag,
                       const format::Digest& digest) override {
    auto target = Target(repository);
    std::string name = client_->host() + "/" + (target.ok() ? *target : repository);
    return tag.empty() ? name + "@" + digest.str() : name + ":" + tag;
  }

  Placement Place(const std::string& repository) override {
    auto target = Target(repository);
    return {client_->host(), target.ok() ? *target : repository};
  }

  Result<std::unique_ptr<io::SequentialReader>> OpenBlob(const std::string& repository,
                                                         const format::Digest& digest) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository));
    return client_->OpenBlob(target, digest);
  }

  Result<bool> HasBlob(const std::string& repository, const format::Digest& digest) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository));
    std::string from;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = known_.find(digest);
      if (it != known_.end()) {
        if (it->second.count(target)) return true;
        from = *it->second.begin();
      }
    }
    SLUICE_ASSIGN_OR_RETURN(auto size, client_->HeadBlob(target, digest));
    if (!size) {
      SLUICE_ASSIGN_OR_RETURN(auto manifest, client_->HeadManifest(target, digest.str()));
      if (manifest) {
        Remember(digest, target);
        return true;
      }
    }
    if (!size && !from.empty()) {
      SLUICE_ASSIGN_OR_RETURN(bool mounted, client_->MountBlob(target, digest, from));
      if (!mounted) return false;
    } else if (!size) {
      return false;
    }
    Remember(digest, target);
    return true;
  }

  // Looks in every repository the registry lists (its catalog, read once)
  // and mounts from the first that holds the blob. A registry that refuses
  // the catalog (it may be restricted) leaves only the repositories this
  // sink has seen.
  Result<bool> FindBlob(const std::string& repository, const format::Digest& digest) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository));
    std::vector<std::string> candidates;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!catalog_) {
        auto listed = client_->Catalog();
        catalog_ = listed.ok() ? *listed : std::vector<std::string>{};
      }
      candidates = *catalog_;
    }
    for (const std::string& from : candidates) {
      if (from == target) continue;
      // Every repository is only a candidate: one this account may not read
      // (401/403), or one that will not lend the blob, is passed over rather
      // than failing the import. If none has it, the importer names the blob
      // as missing.
      auto size = client_->HeadBlob(from, digest);
      if (!size.ok() || !*size) continue;
      auto mounted = client_->MountBlob(target, digest, from);
      if (!mounted.ok() || !*mounted) continue;
      Remember(digest, target);
      return true;
    }
    return false;
  }

  Result<std::unique_ptr<BlobWriter>> NewBlob(const std::string& repository,
                                              const format::Digest& digest,
                                              uint64_t size) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository));
    SLUICE_ASSIGN_OR_RETURN(auto upload, client_->StartUpload(target, digest, size));
    std::string name = "blob " + client_->host() + "/" + target + "@" + digest.str();
    return std::unique_ptr<BlobWriter>(
        new RegistryBlobWriter(std::move(upload), std::move(name), digest, size,
                               [this, digest, target] { Remember(digest, target); }));
  }

  Status PutManifest(const std::string& repository, const format::Digest& digest,
                     const std::string& media_type, const std::string& bytes) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository));
    format::Digest got = format::Sha256::Of(bytes);
    if (got != digest) {
      return Status::Corruption("manifest " + digest.str() + " for " + target + ": bytes hash to " +
                                got.str());
    }
    SLUICE_ASSIGN_OR_RETURN(format::Digest pushed,
                            client_->PutManifest(target, digest.str(), media_type, bytes));
    (void)pushed;
    std::lock_guard<std::mutex> lock(mu_);
    manifests_[digest] = {media_type, bytes};
    known_[digest].insert(target);
    return Status::Ok();
  }

  Result<std::optional<format::Digest>> TagDigest(const std::string& repository,
                                                  const std::string& tag) override {
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository));
    SLUICE_ASSIGN_OR_RETURN(auto info, client_->HeadManifest(target, tag));
    if (!info) return std::optional<format::Digest>();
    return std::optional<format::Digest>(info->digest);
  }

  Status AddTag(const std::string& repository, const std::string& tag, const format::Digest& digest,
                const std::string& media_type, uint64_t /*size*/) override {
    SLUICE_RETURN_IF_ERROR(CheckRef(repository, tag));
    // Pinned: PutManifest pushed it by digest (or HasBlob found it there).
    if (tag.empty()) return Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(std::string target, Target(repository));
    std::lock_guard<std::mutex> lock(mu_);
    tags_.push_back({target, tag, digest, media_type});
    return Status::Ok();
  }

  Status Commit() override {
    std::vector<PendingTag> tags;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tags.swap(tags_);
    }
    for (size_t i = 0; i < tags.size(); ++i) {
      const PendingTag& t = tags[i];
      std::string media_type = t.media_type;
      std::string bytes;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = manifests_.find(t.digest);
        if (it != manifests_.end()) {
          media_type = it->second.first;
          bytes = it->second.second;
        }
      }
      if (bytes.empty()) {
        // Pushed by an earlier run: the registry has it; fetch (verified) to re-tag.
        auto m = client_->GetManifest(t.repository, t.digest.str());
        if (!m.ok()) return Requeue(tags, i, m.status());
        bytes = std::move(m->bytes);
        if (media_type.empty()) media_type = m->media_type;
      }
      auto pushed = client_->PutManifest(t.repository, t.tag, media_type, bytes);
      if (!pushed.ok()) return Requeue(tags, i, pushed.status());
    }
    return Status::Ok();
  }

  // Every call goes through the thread-safe RegistryClient; the sink's own
  // state is under mu_.
  size_t MaxBlobsInFlight() const override { return SIZE_MAX; }

  Result<uint64_t> FreeSpace() override { return UINT64_MAX; }

 private:
  struct PendingTag {
    std::string repository;
    std::string tag;
    format::Digest digest;
    std::string media_type;
  };

  // Keeps the tags not yet pushed, so a retried Commit() finishes the job.
  Status Requeue(std::vector<PendingTag>& tags, size_t failed, Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    tags_.insert(tags_.begin(), tags.begin() + static_cast<std::ptrdiff_t>(failed), tags.end());
    return status.WithContext("pushing tag " + client_->host() + "/" + tags[failed].repository +
                              ":" + tags[failed].tag);
  }

  Result<std::string> Target(const std::string& repository) const {
    std::string target = prefix_.empty()      ? repository
                         : repository.empty() ? prefix_
                                              : prefix_ + "/" + repository;
    Status valid = ValidateRepository(target);
    if (!valid.ok()) return valid.WithContext("destination " + client_->host());
    return target;
  }

  void Remember(const format::Digest& digest, const std::string& repository) {
    std::lock_guard<std::mutex> lock(mu_);
    known_[digest].insert(repository);
  }

  std::string prefix_;
  std::unique_ptr<registry::RegistryClient> client_;
  std::mutex mu_;
  std::map<format::Digest, std::set<std::string>> known_;  // digest -> repositories holding it
  std::map<format::Digest, std::pair<std::string, std::string>> manifests_;  // -> type, bytes
  std::vector<PendingTag> tags_;
  std::optional<std::vector<std::string>> catalog_;  // the registry's repositories, once read
};

}  // namespace

Result<std::unique_ptr<ImageSink>> NewRegistrySink(const Reference& destination,
                                                   registry::ClientOptions options) {
  if (!destination.repository.empty()) {
    SLUICE_RETURN_IF_ERROR(ValidateRepository(destination.repository));
  }
  SLUICE_ASSIGN_OR_RETURN(
      auto client, registry::RegistryClient::Create(destination.Endpoint(), std::move(options)));
  return std::unique_ptr<ImageSink>(new RegistrySink(destination.repository, std::move(client)));
}

}  // namespace sluice
