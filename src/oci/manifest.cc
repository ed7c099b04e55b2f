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

// Which of the fields that tell an index from an image manifest a document
// has. Null counts as absent, as in containers/image.
struct Shape {
  bool manifests = false;
  bool config = false;
  bool layers = false;
};

Result<Shape> ShapeOf(const io::JsonField& doc) {
  auto has = [&](const char* key) -> Result<bool> {
    SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> member, doc.Member(key));
    return member && !member->IsNull();
  };
  Shape shape;
  SLUICE_ASSIGN_OR_RETURN(shape.manifests, has("manifests"));
  SLUICE_ASSIGN_OR_RETURN(shape.config, has("config"));
  SLUICE_ASSIGN_OR_RETURN(shape.layers, has("layers"));
  return shape;
}

// "'config' and 'layers'"
std::string ImageFields(const Shape& shape) {
  if (shape.config && shape.layers) return "'config' and 'layers'";
  return shape.config ? "'config'" : "'layers'";
}

// Whether two media types name the same kind of document: an index (OCI
// index or Docker manifest list) or an image manifest (OCI or Docker schema
// 2). Within a kind the two families have the same fields, so every reader
// finds the same children.
bool SameKind(std::string_view a, std::string_view b) {
  return (IsIndexMediaType(a) && IsIndexMediaType(b)) ||
         (IsImageManifestMediaType(a) && IsImageManifestMediaType(b));
}

// Refuses a document that readers could take for two different things
// (CVE-2021-41190): one declared as one kind whose own mediaType says the
// other, or that carries both an index's and an image manifest's fields, or
// the fields of the kind it is not read as. Otherwise an image descriptor
// could hide an index whose children never ship, and a registry storing it
// (which believes the document's own mediaType, or its fields when it has
// none) would serve an index with missing children. containers/image
// (validateUnambiguousManifestFormat) and distribution refuse them too.
// `effective` is the type the document is read as.
Status CheckUnambiguous(const Shape& shape, std::string_view declared, std::string_view own,
                        std::string_view effective) {
  if (!declared.empty() && !own.empty() && !SameKind(declared, own)) {
    return Status::Corruption("ambiguous manifest: declared as " + std::string(declared) +
                              " but its mediaType is " + std::string(own));
  }
  const bool image_fields = shape.config || shape.layers;
  if (shape.manifests && image_fields) {
    return Status::Corruption("ambiguous manifest: has 'manifests' (an index) and " +
                              ImageFields(shape) + " (an image manifest)");
  }
  if (IsIndexMediaType(effective) && image_fields) {
    return Status::Corruption("ambiguous manifest: an index (" + std::string(effective) +
                              ") with the " + ImageFields(shape) + " of an image manifest");
  }
  if (IsImageManifestMediaType(effective) && shape.manifests) {
    return Status::Corruption("ambiguous manifest: an image manifest (" + std::string(effective) +
                              ") with the 'manifests' of an index");
  }
  return Status::Ok();
}

}  // namespace

std::string Platform::ToString() const {
  std::string out = os + "/" + architecture;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

Result<Platform> ParsePlatform(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  bool bad = parts.size() < 2 || parts.size() > 3;
  for (const std::string& part : parts) {
    if (part.empty()) bad = true;
    for (char c : part) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) bad = true;
    }
  }
  if (bad) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a platform: give os/architecture[/variant], e.g. "
                                   "linux/amd64 or linux/arm64/v8");
  }
  Platform platform{parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
  return platform;
}

bool PlatformMatches(const Platform& wanted, const Platform& child) {
  return wanted.os == child.os && wanted.architecture == child.architecture &&
         (wanted.variant.empty() || wanted.variant == child.variant);
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
  SLUICE_ASSIGN_OR_RETURN(Shape shape, ShapeOf(doc));
  SLUICE_ASSIGN_OR_RETURN(uint64_t schema_version, doc.UintOr("schemaVersion", 2));
  if (declared_media_type == kDockerSchema1 || declared_media_type == kDockerSchema1Signed ||
      own_type == kDockerSchema1 || own_type == kDockerSchema1Signed || schema_version == 1) {
    return Status::Unsupported(
        "Docker schema 1 manifests are not supported (convert the image to schema 2 or OCI)");
  }
  if (!declared_media_type.empty() && !IsManifestMediaType(declared_media_type)) {
    return Status::Unsupported("manifest media type '" + std::string(declared_media_type) +
                               "' is not supported");
  }
  // The document's own type, when it has one, is what a registry storing it
  // serves; the declared one may name the other family of the same kind
  // (CheckUnambiguous refuses any other disagreement). Both are optional in
  // OCI; without either, the shape tells an index from an image manifest.
  m.media_type = !own_type.empty() ? own_type : std::string(declared_media_type);
  if (m.media_type.empty()) m.media_type = shape.manifests ? kOciIndex : kOciManifest;
  SLUICE_RETURN_IF_ERROR(CheckUnambiguous(shape, declared_media_type, own_type, m.media_type));
  if (!IsManifestMediaType(m.media_type)) {
    return Status::Unsupported("manifest media type '" + m.media_type + "' is not supported");
  }
  if (IsIndexMediaType(m.media_type)) {
    m.kind = ManifestKind::kIndex;
    SLUICE_ASSIGN_OR_RETURN(m.manifests, ParseDescriptorList(doc, "manifests"));
  } else {
    m.kind = ManifestKind::kImage;
    SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> config, doc.Member("config"));
    if (!config) return Status::Corruption("image manifest has no config");
    SLUICE_ASSIGN_OR_RETURN(Descriptor cfg, ParseDescriptor(*config));
    m.config = std::move(cfg);
    SLUICE_ASSIGN_OR_RETURN(m.layers, ParseDescriptorList(doc, "layers"));
  }
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> subject, doc.OptionalObject("subject"));
  if (subject) {
    SLUICE_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(*subject));
    m.subject = std::move(d);
  }
  return m;
}

}  // namespace sluice::oci
