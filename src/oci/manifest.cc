#include "oci/manifest.h"

#include <nlohmann/json.hpp>

#include "oci/media_types.h"

namespace sluice::oci {
namespace {

using nlohmann::json;

std::string StringField(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

Result<Descriptor> ParseDescriptor(const json& obj, std::string_view where) {
  if (!obj.is_object()) {
    return Status::Corruption(std::string(where) + " is not a JSON object");
  }
  Descriptor d;
  d.media_type = StringField(obj, "mediaType");
  auto digest = format::Digest::Parse(StringField(obj, "digest"));
  if (!digest.ok()) {
    // A bad digest inside a manifest is bad data, not a bad argument.
    return Status::Corruption(std::string(where) + ": " + digest.status().message());
  }
  d.digest = std::move(digest).value();
  auto size = obj.find("size");
  if (size == obj.end() || !size->is_number_unsigned()) {
    return Status::Corruption(std::string(where) + " (" + d.digest.str() +
                              ") has no non-negative integer size");
  }
  d.size = size->get<uint64_t>();
  if (auto p = obj.find("platform"); p != obj.end() && p->is_object()) {
    d.platform = Platform{StringField(*p, "os"), StringField(*p, "architecture"),
                          StringField(*p, "variant")};
  }
  return d;
}

Result<std::vector<Descriptor>> ParseDescriptorList(const json& doc, const char* key) {
  std::vector<Descriptor> out;
  auto it = doc.find(key);
  if (it == doc.end()) return out;
  if (!it->is_array()) return Status::Corruption(std::string("\"") + key + "\" is not an array");
  out.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    std::string where = std::string(key) + "[" + std::to_string(i) + "]";
    SLUICE_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor((*it)[i], where));
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
  // nlohmann's parser recurses per nesting level: refuse deep documents
  // before parsing so a hostile manifest cannot exhaust the stack.
  int nesting = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') deepest = std::max(deepest, ++nesting);
    else if (c == '}' || c == ']') --nesting;
  }
  if (deepest > 64) {
    return Status::Corruption("manifest JSON nests " + std::to_string(deepest) +
                              " levels deep (limit 64)");
  }
  json doc = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::Corruption("manifest is not a JSON object");
  }

  Manifest m;
  std::string own_type = StringField(doc, "mediaType");
  m.media_type = declared_media_type.empty() ? own_type : std::string(declared_media_type);
  if (m.media_type.empty()) {
    // Both fields are optional in OCI; the shape tells them apart.
    m.media_type = doc.contains("manifests") ? kOciIndex : kOciManifest;
  }
  if (m.media_type == kDockerSchema1 || m.media_type == kDockerSchema1Signed ||
      (doc.contains("schemaVersion") && doc["schemaVersion"] == 1)) {
    return Status::Unsupported(
        "Docker schema 1 manifests are not supported (convert the image to schema 2 or OCI)");
  }
  if (IsIndexMediaType(m.media_type)) {
    m.kind = ManifestKind::kIndex;
    SLUICE_ASSIGN_OR_RETURN(m.manifests, ParseDescriptorList(doc, "manifests"));
  } else if (IsImageManifestMediaType(m.media_type)) {
    m.kind = ManifestKind::kImage;
    auto config = doc.find("config");
    if (config == doc.end()) return Status::Corruption("image manifest has no config");
    SLUICE_ASSIGN_OR_RETURN(Descriptor cfg, ParseDescriptor(*config, "config"));
    m.config = std::move(cfg);
    SLUICE_ASSIGN_OR_RETURN(m.layers, ParseDescriptorList(doc, "layers"));
  } else {
    return Status::Unsupported("manifest media type '" + m.media_type + "' is not supported");
  }
  return m;
}

}  // namespace sluice::oci
