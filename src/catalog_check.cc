#include "catalog_check.h"

#include <set>

#include "oci/manifest.h"
#include "oci/media_types.h"
#include "reference/reference.h"
#include "reference/transport_ref.h"

namespace sluice {

namespace {

// Quotes a name from a bundle for a message: printable ASCII as is, other
// bytes as \xNN, and long names cut short.
std::string Printable(const std::string& name) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < name.size() && i < 100; ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    }
  }
  if (name.size() > 100) out += "... (" + std::to_string(name.size()) + " bytes)";
  return "'" + out + "'";
}

Status CheckRefName(const format::RefEntry& ref) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("catalog ref " + Printable(ref.repository) + " " +
                              Printable(ref.tag) + " (" + ref.manifest.str() + "): " + why);
  };
  if (ref.repository.empty()) {
    // From an OCI layout: the tag is the whole ref name, which may be absent.
    if (!ref.tag.empty() && !IsValidOciRefName(ref.tag)) {
      return bad("tag " + Printable(ref.tag) + " is not a valid OCI reference name");
    }
    return Status::Ok();
  }
  if (Status s = ValidateRepository(ref.repository); !s.ok()) return bad(s.message());
  if (!ref.tag.empty() && !IsValidTag(ref.tag)) {
    return bad("tag " + Printable(ref.tag) + " is not a valid registry tag");
  }
  return Status::Ok();
}

}  // namespace

Status CheckCatalogGraph(const format::Catalog& catalog) {
  for (const format::RefEntry& ref : catalog.refs) SLUICE_RETURN_IF_ERROR(CheckRefName(ref));
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
