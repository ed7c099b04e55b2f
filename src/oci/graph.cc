#include "oci/graph.h"

#include "oci/media_types.h"

namespace sluice::oci {

std::vector<Reference> ReferencesOf(const Manifest& manifest) {
  std::vector<Reference> out;
  for (const Descriptor& child : manifest.manifests) {
    out.push_back({ReferenceKind::kManifest, &child});
  }
  if (manifest.config) out.push_back({ReferenceKind::kConfig, &*manifest.config});
  for (const Descriptor& layer : manifest.layers) {
    if (IsForeignLayerMediaType(layer.media_type)) continue;
    out.push_back({ReferenceKind::kLayer, &layer});
  }
  return out;
}

Status GraphWalk::Walk(const Descriptor& root) { return Visit(root, 0); }

Status GraphWalk::Visit(const Descriptor& d, int depth) {
  if (manifests_.contains(d.digest)) return Status::Ok();
  if (depth > kMaxIndexDepth) {
    return Status::Unsupported("indexes nest deeper than " + std::to_string(kMaxIndexDepth) +
                               " levels at " + d.digest.str());
  }
  SLUICE_ASSIGN_OR_RETURN(FetchedManifest fetched, hooks_.fetch(d));
  auto parsed =
      ParseManifest(fetched.bytes, d.media_type.empty() ? fetched.media_type : d.media_type);
  if (!parsed.ok()) return parsed.status().WithContext("manifest " + d.digest.str());
  for (const Reference& ref : ReferencesOf(*parsed)) {
    const Descriptor& child = *ref.descriptor;
    if (ref.kind == ReferenceKind::kManifest) {
      if (hooks_.keep_child && !hooks_.keep_child(d, child)) continue;
      SLUICE_RETURN_IF_ERROR(Visit(child, depth + 1));
      continue;
    }
    auto [seen, added] = blob_sizes_.try_emplace(child.digest, child.size);
    if (!added) {
      if (seen->second == child.size) continue;
      return Status::Corruption("blob " + child.digest.str() + " is declared with size " +
                                std::to_string(child.size) + " in manifest " + d.digest.str() +
                                " and " + std::to_string(seen->second) + " elsewhere");
    }
    if (hooks_.blob) SLUICE_RETURN_IF_ERROR(hooks_.blob(child, d));
  }
  manifests_.insert(d.digest);
  if (hooks_.manifest) SLUICE_RETURN_IF_ERROR(hooks_.manifest(d, *parsed, fetched.bytes));
  return Status::Ok();
}

}  // namespace sluice::oci
