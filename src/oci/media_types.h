// Media types sluice understands, and what it needs to know about each.
#pragma once

#include <cstdint>
#include <string_view>

#include "format/bundle_format.h"

namespace sluice::oci {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

// The Accept list a registry client sends for manifests.
inline constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// Largest manifest sluice accepts, from a registry, a layout or an archive:
// what a bundle can carry (format/SPEC.md). The distribution spec lets
// registries refuse anything over 4 MiB; 16 MiB leaves room without inviting
// abuse.
inline constexpr uint64_t kMaxManifestSize = format::kMaxManifestSize;

inline bool IsIndexMediaType(std::string_view mt) {
  return mt == kOciIndex || mt == kDockerManifestList;
}
inline bool IsImageManifestMediaType(std::string_view mt) {
  return mt == kOciManifest || mt == kDockerManifest;
}
inline bool IsManifestMediaType(std::string_view mt) {
  return IsIndexMediaType(mt) || IsImageManifestMediaType(mt);
}

// Layers that registries may refuse to serve (Windows base layers): their
// descriptors carry `urls`, and tools do not copy them by default.
inline bool IsForeignLayerMediaType(std::string_view mt) {
  return mt == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" ||
         mt.starts_with("application/vnd.oci.image.layer.nondistributable.");
}

// Layers whose media type says their bytes are gzip or zstd compressed:
// OCI "+gzip" and "+zstd", Docker ".tar.gzip" and ".tar.zstd" (foreign and
// nondistributable ones too). A label only: the bundle writer looks at the
// bytes (format::ChooseCompression), and a docker-archive's plain tars are
// labelled ".tar.gzip".
inline bool IsCompressedLayerMediaType(std::string_view mt) {
  return mt.ends_with("+gzip") || mt.ends_with("+zstd") || mt.ends_with(".tar.gzip") ||
         mt.ends_with(".tar.zstd");
}

}  // namespace sluice::oci
