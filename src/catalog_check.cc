#include "catalog_check.h"

#include <string_view>
#include <unordered_set>

#include "oci/graph.h"
#include "oci/media_types.h"
#include "reference/ref_name.h"

namespace sluice {

Status CheckCatalogGraph(const format::Catalog& catalog) {
  for (const format::RefEntry& ref : catalog.refs) {
    if (Status s = CheckRefName(ref.repository, ref.tag); !s.ok()) {
      return Status::Corruption("catalog ref " + QuoteName(JoinRefName(ref.repository, ref.tag)) +
                                " (" + ref.manifest.str() + "): " + s.message());
    }
  }
  // Hash sets of views into the catalog: lookups cost O(1) and no digest is
  // copied, so the check stays linear in time and small in memory however
  // many records the catalog holds.
  std::unordered_set<std::string_view> manifests(catalog.manifests.size());
  std::unordered_set<std::string_view> blobs(catalog.blobs.size());
  for (const auto& m : catalog.manifests) manifests.insert(m.digest.str());
  for (const auto& b : catalog.blobs) blobs.insert(b.digest.str());

  // Absent manifests (format/SPEC.md section 4) each named as the child of
  // an index the bundle carries: one named by nothing would be a writer bug.
  std::unordered_set<std::string_view> absent_unnamed;
  for (const auto& m : catalog.manifests) {
    if (m.absent) absent_unnamed.insert(m.digest.str());
  }

  for (const format::ManifestEntry& entry : catalog.manifests) {
    if (entry.absent) continue;  // no bytes: nothing to parse, nothing below it listed
    auto parsed = oci::ParseManifest(entry.bytes, entry.media_type);
    if (!parsed.ok()) return parsed.status().WithContext("catalog manifest " + entry.digest.str());
    auto missing = [&](const oci::Descriptor& d, const char* what) {
      return Status::Corruption("catalog manifest " + entry.digest.str() + " references " + what +
                                " " + d.digest.str() + " which the bundle does not list");
    };
    for (const oci::Reference& ref : oci::ReferencesOf(*parsed)) {
      const oci::Descriptor& d = *ref.descriptor;
      switch (ref.kind) {
        case oci::ReferenceKind::kManifest:
          if (!manifests.contains(d.digest.str())) return missing(d, "manifest");
          absent_unnamed.erase(d.digest.str());
          break;
        case oci::ReferenceKind::kConfig:
          if (!blobs.contains(d.digest.str())) return missing(d, "config");
          break;
        case oci::ReferenceKind::kLayer:
          if (!blobs.contains(d.digest.str())) return missing(d, "layer");
          break;
      }
    }
  }
  if (!absent_unnamed.empty()) {
    return Status::Corruption("catalog manifest " + std::string(*absent_unnamed.begin()) +
                              " is marked absent but no index the bundle carries lists it");
  }
  return Status::Ok();
}

}  // namespace sluice
