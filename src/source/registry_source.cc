#include "source/registry_source.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "oci/manifest.h"
#include "oci/media_types.h"

namespace sluice {
namespace {

class RegistrySource final : public ImageSource {
 public:
  RegistrySource(Reference reference, std::unique_ptr<registry::RegistryClient> client,
                 std::optional<TagPattern> tags)
      : reference_(std::move(reference)), client_(std::move(client)), tags_(std::move(tags)) {}

  Result<std::vector<SourceImage>> ListImages() override {
    std::vector<std::string> repositories;
    if (reference_.repository.empty()) {
      SLUICE_ASSIGN_OR_RETURN(repositories, client_->Catalog());
      std::sort(repositories.begin(), repositories.end());
    } else {
      repositories.push_back(reference_.repository);
    }
    std::vector<SourceImage> out;
    for (const std::string& repository : repositories) {
      bool pinned =
          !reference_.repository.empty() && (!reference_.tag.empty() || !reference_.digest.empty());
      if (pinned) {
        SLUICE_ASSIGN_OR_RETURN(SourceImage image,
                                Resolve(repository, reference_.tag, reference_.digest));
        out.push_back(std::move(image));
        continue;
      }
      SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> tags, client_->ListTags(repository));
      std::sort(tags.begin(), tags.end());
      for (const std::string& tag : tags) {
        if (tags_) {
          SLUICE_ASSIGN_OR_RETURN(bool wanted, tags_->Matches(tag));
          if (!wanted) {
            if (unmatched_.size() < 10) unmatched_.push_back(tag);
            continue;
          }
        }
        SLUICE_ASSIGN_OR_RETURN(SourceImage image, Resolve(repository, tag, format::Digest()));
        out.push_back(std::move(image));
      }
    }
    if (tags_ && out.empty()) {
      // Most likely a pattern written for other tags than the registry has:
      // say which it has, rather than ship nothing without a word.
      std::string has;
      for (const std::string& tag : unmatched_) has += (has.empty() ? "" : ", ") + tag;
      std::string where = reference_.repository.empty()
                              ? "any repository of " + client_->host()
                              : Display(reference_.repository, "", format::Digest());
      return Status::NotFound("no tag of " + where +
                              " matches the pattern '" + tags_->text() + "' (whole tags)" +
                              (has.empty() ? "; it has no tags" : "; it has " + has +
                                                                      (unmatched_.size() == 10
                                                                           ? ", ..."
                                                                           : "")));
    }
    return out;
  }

  Result<ManifestBytes> FetchManifest(const std::string& repository,
                                      const format::Digest& digest) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find({repository, digest});
      if (it != cache_.end()) return it->second;
    }
    // GetManifest checks the bytes against the digest (kCorruption).
    SLUICE_ASSIGN_OR_RETURN(registry::Manifest m, client_->GetManifest(repository, digest.str()));
    return ManifestBytes{std::move(m.bytes), std::move(m.media_type)};
  }

  // One GET per candidate tag, and one for the referrers API (plus one for
  // the fallback tag when the registry has no API): a tag found is fetched
  // whole at once and cached, so the walk does not ask for it again.
  Result<std::vector<SourceImage>> FindAttached(const std::string& repository,
                                                const format::Digest& subject,
                                                const AttachedKinds& kinds) override {
    std::vector<SourceImage> out;
    std::string stem = AttachedTagStem(subject);
    auto try_tag = [&](const std::string& tag) -> Status {
      auto found = Resolve(repository, tag, format::Digest());
      if (found.ok()) {
        out.push_back(std::move(found).value());
        return Status::Ok();
      }
      if (found.status().IsNotFound()) return Status::Ok();  // most manifests have none
      return found.status().WithContext("looking up " + tag + ", attached to " + subject.str());
    };
    if (kinds.signatures) {
      for (const char* suffix : kCosignSuffixes) SLUICE_RETURN_IF_ERROR(try_tag(stem + suffix));
    }
    if (!kinds.referrers) return out;
    SLUICE_ASSIGN_OR_RETURN(std::optional<registry::Manifest> listed,
                            client_->GetReferrers(repository, subject));
    if (!listed) {
      // No referrers API: the distribution spec's fallback, an index tagged
      // sha256-<hex> whose children are the referrers.
      SLUICE_RETURN_IF_ERROR(try_tag(stem));
      return out;
    }
    auto index = oci::ParseManifest(listed->bytes, oci::kOciIndex);
    if (!index.ok()) {
      return index.status().WithContext("referrers of " + Display(repository, "", subject));
    }
    // Only the API names these: they travel pinned by digest.
    for (const oci::Descriptor& d : index->manifests) {
      out.push_back(SourceImage{.display = Display(repository, "", d.digest),
                                .repository = repository,
                                .tag = "",
                                .digest = d.digest,
                                .media_type = d.media_type});
    }
    return out;
  }

  Result<std::unique_ptr<io::SequentialReader>> OpenBlob(const std::string& repository,
                                                         const format::Digest& digest,
                                                         uint64_t /*size*/) override {
    return client_->OpenBlob(repository, digest);
  }

  // RegistryClient is thread-safe; each blob is its own HTTP stream.
  size_t MaxBlobsInFlight() const override { return SIZE_MAX; }

 private:
  std::string Display(const std::string& repository, const std::string& tag,
                      const format::Digest& digest) const {
    std::string display =
        client_->host() == kDockerHubEndpoint ? std::string(kDockerHubDomain) : client_->host();
    display += "/" + repository;
    if (!tag.empty()) display += ":" + tag;
    if (!digest.empty()) display += "@" + digest.str();
    return display;
  }

  Result<SourceImage> Resolve(const std::string& repository, const std::string& tag,
                              const format::Digest& digest) {
    std::string display = Display(repository, tag, digest);
    SLUICE_ASSIGN_OR_RETURN(registry::Manifest m,
                            client_->GetManifest(repository, digest.empty() ? tag : digest.str()));
    if (m.media_type == oci::kDockerSchema1 || m.media_type == oci::kDockerSchema1Signed) {
      return Status::Unsupported(display + " is a Docker schema 1 manifest (" + m.media_type +
                                 "); sluice copies schema 2 and OCI images only");
    }
    SourceImage image;
    image.display = display;
    image.repository = repository;
    image.tag = tag;
    image.digest = m.digest;
    image.media_type = m.media_type;
    std::lock_guard<std::mutex> lock(mu_);
    cache_[{repository, m.digest}] = ManifestBytes{std::move(m.bytes), std::move(m.media_type)};
    return image;
  }

  Reference reference_;
  std::unique_ptr<registry::RegistryClient> client_;
  std::optional<TagPattern> tags_;
  std::vector<std::string> unmatched_;  // the first tags tags_ did not match, for the error
  std::mutex mu_;
  // Root manifests read while listing, so the walk does not fetch them twice.
  std::map<std::pair<std::string, format::Digest>, ManifestBytes> cache_;
};

}  // namespace

Result<std::unique_ptr<ImageSource>> NewRegistrySource(const Reference& reference,
                                                       registry::ClientOptions options,
                                                       std::optional<TagPattern> tags) {
  SLUICE_ASSIGN_OR_RETURN(
      auto client, registry::RegistryClient::Create(reference.Endpoint(), std::move(options)));
  return std::unique_ptr<ImageSource>(
      new RegistrySource(reference, std::move(client), std::move(tags)));
}

}  // namespace sluice
