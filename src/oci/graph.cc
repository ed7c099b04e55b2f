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

Status GraphWalk::Walk(const Descriptor& root) { return Visit(root, 0, 0).status(); }

bool GraphWalk::Complete(const format::Digest& digest) const {
  auto it = manifests_.find(digest);
  return it != manifests_.end() && it->second;
}

Result<bool> GraphWalk::Damage(const Descriptor& d, const Status& error) {
  if (hooks_.walk_past && hooks_.walk_past(d, error)) return false;
  return error;
}

Result<bool> GraphWalk::Visit(const Descriptor& d, int depth, int attach_depth) {
  if (auto it = manifests_.find(d.digest); it != manifests_.end()) return it->second;
  if (depth > kMaxIndexDepth) {
    return Damage(d, Status::Unsupported("indexes nest deeper than " +
                                         std::to_string(kMaxIndexDepth) + " levels at " +
                                         d.digest.str()));
  }
  Result<FetchedManifest> fetched = hooks_.fetch(d);
  if (!fetched.ok()) return Damage(d, fetched.status());
  auto parsed =
      ParseManifest(fetched->bytes, d.media_type.empty() ? fetched->media_type : d.media_type);
  if (!parsed.ok()) return Damage(d, parsed.status().WithContext("manifest " + d.digest.str()));
  bool complete = true;
  for (const Reference& ref : ReferencesOf(*parsed)) {
    const Descriptor& child = *ref.descriptor;
    bool whole = true;
    if (ref.kind == ReferenceKind::kManifest) {
      if (hooks_.keep_child && !hooks_.keep_child(d, child)) continue;
      SLUICE_ASSIGN_OR_RETURN(whole, Visit(child, depth + 1, attach_depth));
    } else {
      SLUICE_ASSIGN_OR_RETURN(whole, VisitBlob(child, d));
    }
    complete = complete && whole;
  }
  manifests_[d.digest] = complete;
  if (hooks_.manifest) SLUICE_RETURN_IF_ERROR(hooks_.manifest(d, *parsed, fetched->bytes));
  if (hooks_.attached && attach_depth < kMaxAttachDepth) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<Descriptor> attached, hooks_.attached(d, *parsed));
    // An attachment's completeness is its own: a missing signature does not
    // make its image incomplete.
    for (const Descriptor& a : attached) {
      SLUICE_RETURN_IF_ERROR(Visit(a, 0, attach_depth + 1).status());
    }
  }
  return complete;
}

Result<bool> GraphWalk::VisitBlob(const Descriptor& blob, const Descriptor& of) {
  auto [seen, added] = blobs_.try_emplace(blob.digest, SeenBlob{blob.size, true});
  if (!added) {
    if (seen->second.size == blob.size) return seen->second.intact;
    return Damage(blob, Status::Corruption("blob " + blob.digest.str() +
                                           " is declared with size " + std::to_string(blob.size) +
                                           " in manifest " + of.digest.str() + " and " +
                                           std::to_string(seen->second.size) + " elsewhere"));
  }
  Status s = hooks_.blob ? hooks_.blob(blob, of) : Status::Ok();
  if (s.ok()) return true;
  SLUICE_ASSIGN_OR_RETURN(seen->second.intact, Damage(blob, s));
  return false;
}

}  // namespace sluice::oci
