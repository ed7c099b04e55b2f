#include "oci/manifest.h"

#include "io/json_fields.h"
#include "json_document.h"
#include "oci/media_types.h"

namespace sluice::oci {
namespace {

Result<Descriptor> ParseDescriptor(const io::JsonField& obj) {
  SLUICE_RETURN_IF_ERROR(obj.ExpectObject());
  Descriptor d;
  SLUICE_ASSIGN_OR_RETURN(d.media_type, obj.StringOr("mediaType", ""));
  // A bad digest inside a manifest is bad data (kCorruption), not a bad argument.
  SLUICE_ASSIGN_OR_RETURN(d.digest, DigestMember(obj, "digest"));
  SLUICE_ASSIGN_OR_RETURN(d.size, obj.Uint("size"));
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> p, obj.OptionalObject("platform"));
  if (p) {
    Platform platform;
    SLUICE_ASSIGN_OR_RETURN(platform.os, p->StringOr("os", ""));
    SLUICE_ASSIGN_OR_RETURN(platform.architecture, p->StringOr("architecture", ""));
    SLUICE_ASSIGN_OR_RETURN(platform.variant, p->StringOr("variant", ""));
    d.platform = std::move(platform);
  }
  return d;
}

Result<std::vector<Descriptor>> ParseDescriptorList(const io::JsonField& doc, const char* key) {
  std::vector<Descriptor> out;
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> list, doc.OptionalArray(key));
  if (!list) return out;
  SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> elements, list->Elements());
  out.reserve(elements.size());
  for (const io::JsonField& element : elements) {
    SLUICE_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(element));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

std::string Platform::ToString() const {
  std::string out = os + "/" + architecture;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

Result<Manifest> ParseManifest(std::string_view bytes, std::string_view declared_media_type) {
  if (bytes.size() > kMaxManifestSize) {
    return Status::Corruption("manifest of " + std::to_string(bytes.size()) +
                              " bytes exceeds the " + std::to_string(kMaxManifestSize) +
                              "-byte limit");
  }
  SLUICE_ASSIGN_OR_RETURN(io::JsonDocument parsed, io::ParseJson(bytes, "manifest"));
  io::JsonField doc = parsed.root();
  SLUICE_RETURN_IF_ERROR(doc.ExpectObject());

  Manifest m;
  SLUICE_ASSIGN_OR_RETURN(std::string own_type, doc.StringOr("mediaType", ""));
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> manifests, doc.Member("manifests"));
  SLUICE_ASSIGN_OR_RETURN(uint64_t schema_version, doc.UintOr("schemaVersion", 2));
  m.media_type = declared_media_type.empty() ? own_type : std::string(declared_media_type);
  if (m.media_type.empty()) {
    // Both fields are optional in OCI; the shape tells them apart.
    m.media_type = manifests ? kOciIndex : kOciManifest;
  }
  if (m.media_type == kDockerSchema1 || m.media_type == kDockerSchema1Signed ||
      schema_version == 1) {
    return Status::Unsupported(
        "Docker schema 1 manifests are not supported (convert the image to schema 2 or OCI)");
  }
  if (IsIndexMediaType(m.media_type)) {
    m.kind = ManifestKind::kIndex;
    SLUICE_ASSIGN_OR_RETURN(m.manifests, ParseDescriptorList(doc, "manifests"));
  } else if (IsImageManifestMediaType(m.media_type)) {
    m.kind = ManifestKind::kImage;
    SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> config, doc.Member("config"));
    if (!config) return Status::Corruption("image manifest has no config");
    SLUICE_ASSIGN_OR_RETURN(Descriptor cfg, ParseDescriptor(*config));
    m.config = std::move(cfg);
    SLUICE_ASSIGN_OR_RETURN(m.layers, ParseDescriptorList(doc, "layers"));
  } else {
    return Status::Unsupported("manifest media type '" + m.media_type + "' is not supported");
  }
  return m;
}

}  // namespace sluice::oci
