// Reading manifests and indexes. sluice never re-serialises them: their bytes
// are their identity. This only extracts what the graph walk needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "format/crypto.h"
#include "oci/media_types.h"

namespace sluice::oci {

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string ToString() const;  // "linux/arm64/v8"
};

// Parses "os/architecture[/variant]" ("linux/amd64", "linux/arm64/v8"), as a
// user gives it: every part non-empty, no spaces, at most three parts.
// kInvalidArgument otherwise; the caller adds which flag or line it came from.
Result<Platform> ParsePlatform(std::string_view text);

// Whether an index child declaring `child` is what `wanted` asks for: os and
// architecture equal, and the variant too when `wanted` names one
// ("linux/arm64" takes linux/arm64/v8; "linux/arm64/v8" does not take a child
// declaring no variant). Exact comparison: "unknown/unknown" (the platform
// BuildKit gives attestation manifests) is matched only when asked for.
bool PlatformMatches(const Platform& wanted, const Platform& child);

struct Descriptor {
  std::string media_type;
  format::Digest digest;
  uint64_t size = 0;
  std::optional<Platform> platform;  // index entries only
};

enum class ManifestKind { kImage, kIndex };

struct Manifest {
  ManifestKind kind = ManifestKind::kImage;
  std::string media_type;  // the effective media type
  std::optional<Descriptor> config;
  std::vector<Descriptor> layers;     // image: layers (foreign layers included)
  std::vector<Descriptor> manifests;  // index: children
  // OCI 1.1: the manifest this one is about (a signature, an SBOM), when it
  // names one. Not a reference of the graph: a subject does not need its
  // referrers, nor a referrer its subject.
  std::optional<Descriptor> subject;
};

// Parses manifest or index bytes. `declared_media_type` is what the
// descriptor or registry said (may be empty); the document's own mediaType
// field is optional. When both are given they must name the same kind (an
// index: OCI index or Docker manifest list; or an image manifest: OCI or
// Docker schema 2), and the document's own is the effective media type, as
// it is what a registry storing the bytes serves. Without either, the shape
// decides (`manifests`: an index). kCorruption for malformed JSON or
// descriptors, and for an ambiguous document (CVE-2021-41190, refused as
// containers/image and distribution refuse it): declared and own media
// types of different kinds, an index's `manifests` beside an image
// manifest's `config` or `layers`, or the fields of the kind it is not read
// as. kUnsupported for Docker schema 1 or unknown types. Messages do not
// name the digest: callers add it as context.
Result<Manifest> ParseManifest(std::string_view bytes, std::string_view declared_media_type);

}  // namespace sluice::oci
