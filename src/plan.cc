#include "plan.h"

#include <map>
#include <set>

#include "oci/manifest.h"
#include "oci/media_types.h"

namespace sluice {
namespace {

class GraphWalk {
 public:
  GraphWalk(ExportPlan* plan, const Ledger& ledger) : plan_(plan), ledger_(ledger) {}

  Status AddImage(ImageSource* source, const SourceImage& image) {
    SLUICE_RETURN_IF_ERROR(
        AddManifest(source, image, image.digest, image.media_type, /*depth=*/0)
            .WithContext(image.display));
    plan_->catalog.refs.push_back({image.repository, image.tag, image.digest, image.display});
    return Status::Ok();
  }

 private:
  Status AddManifest(ImageSource* source, const SourceImage& image, const format::Digest& digest,
                     const std::string& media_type, int depth) {
    if (depth > kMaxIndexDepth) {
      return Status::Unsupported("indexes nest deeper than " + std::to_string(kMaxIndexDepth) +
                                 " levels at " + digest.str());
    }
    if (manifests_.contains(digest)) return Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(ManifestBytes fetched,
                            source->FetchManifest(image.repository, digest));
    std::string type = media_type.empty() ? fetched.media_type : media_type;
    auto parsed = oci::ParseManifest(fetched.bytes, type);
    if (!parsed.ok()) return parsed.status().WithContext("manifest " + digest.str());
    const oci::Manifest& m = *parsed;

    if (m.kind == oci::ManifestKind::kIndex) {
      for (const oci::Descriptor& child : m.manifests) {
        SLUICE_RETURN_IF_ERROR(AddManifest(source, image, child.digest, child.media_type,
                                           depth + 1));
      }
    } else {
      SLUICE_RETURN_IF_ERROR(AddBlob(source, image, *m.config));
      for (const oci::Descriptor& layer : m.layers) {
        // Foreign layers live outside the registry; like skopeo, leave them.
        if (oci::IsForeignLayerMediaType(layer.media_type)) continue;
        SLUICE_RETURN_IF_ERROR(AddBlob(source, image, layer));
      }
    }
    // Children first: an importer writing manifests in catalog order never
    // publishes an index before the manifests it lists.
    manifests_.insert(digest);
    plan_->manifest_bytes += fetched.bytes.size();
    plan_->catalog.manifests.push_back({digest, m.media_type, std::move(fetched.bytes)});
    return Status::Ok();
  }

  Status AddBlob(ImageSource* source, const SourceImage& image, const oci::Descriptor& d) {
    if (auto it = blobs_.find(d.digest); it != blobs_.end()) {
      const format::BlobEntry& seen = plan_->catalog.blobs[it->second];
      if (seen.size != d.size) {
        return Status::Corruption("blob " + d.digest.str() + " is declared with size " +
                                  std::to_string(d.size) + " here and " +
                                  std::to_string(seen.size) + " elsewhere");
      }
      return Status::Ok();
    }
    bool shipped = !ledger_.Contains(d.digest);
    blobs_.emplace(d.digest, plan_->catalog.blobs.size());
    plan_->catalog.blobs.push_back({d.digest, d.size, d.media_type, shipped});
    plan_->origins.push_back({source, image.repository, image.display});
    (shipped ? plan_->shipped_blobs : plan_->skipped_blobs) += 1;
    (shipped ? plan_->shipped_bytes : plan_->skipped_bytes) += d.size;
    return Status::Ok();
  }

  ExportPlan* plan_;
  const Ledger& ledger_;
  std::set<format::Digest> manifests_;
  std::map<format::Digest, size_t> blobs_;
};

}  // namespace

Result<ExportPlan> PlanExport(const std::vector<ImageSource*>& sources, const Ledger& ledger) {
  ExportPlan plan;
  GraphWalk walk(&plan, ledger);
  std::map<std::pair<std::string, std::string>, SourceImage> refs;
  for (ImageSource* source : sources) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<SourceImage> images, source->ListImages());
    for (const SourceImage& image : images) {
      auto [it, added] = refs.try_emplace({image.repository, image.tag}, image);
      if (!added) {
        if (it->second.digest == image.digest) continue;  // the same image named twice
        // A bundle names each ref by repository and tag (format/SPEC.md), so
        // a repository has at most one image without a tag in it.
        std::string as = image.tag.empty()
                             ? "the one image pinned by digest a bundle can carry for '" +
                                   image.repository + "'; export the other in another bundle"
                             : "'" + image.tag + "' but are different images";
        return Status::InvalidArgument("'" + image.display + "' and '" + it->second.display +
                                       "' would both be imported as " + as);
      }
      SLUICE_RETURN_IF_ERROR(walk.AddImage(source, image));
    }
  }
  return plan;
}

}  // namespace sluice
