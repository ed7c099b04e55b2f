#include "catalog_check.h"

#include <set>

#include "oci/manifest.h"
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
  std::set<format::Digest> manifests;
  std::set<format::Digest> blobs;
  for (const auto& m : catalog.manifests) manifests.insert(m.digest);
  for (const auto& b : catalog.blobs) blobs.insert(b.digest);

  for (const format::ManifestEntry& entry : catalog.manifests) {
    auto parsed = oci::ParseManifest(entry.bytes, entry.media_type);
    if (!parsed.ok()) return parsed.status().WithContext("catalog manifest " + entry.digest.str());
    auto missing = [&](const oci::Descriptor& d, const char* what) {
      return Status::Corruption("catalog manifest " + entry.digest.str() + " references " + what +
                                " " + d.digest.str() + " which the bundle does not list");
    };
    for (const oci::Descriptor& child : parsed->manifests) {
      if (!manifests.contains(child.digest)) return missing(child, "manifest");
    }
    if (parsed->config && !blobs.contains(parsed->config->digest)) {
      return missing(*parsed->config, "config");
    }
    for (const oci::Descriptor& layer : parsed->layers) {
      if (oci::IsForeignLayerMediaType(layer.media_type)) continue;
      if (!blobs.contains(layer.digest)) return missing(layer, "layer");
    }
  }
  return Status::Ok();
}

}  // namespace sluice
