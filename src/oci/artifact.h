// The OCI artifacts sluice makes from files (src/source/artifact_source.h)
// and recognises in a bundle (import --files-to, the mapping file, inspect):
//
//   Helm chart   the manifest `helm push` writes: config of type
//                application/vnd.cncf.helm.config.v1+json (the chart's
//                metadata as JSON), one layer of type
//                application/vnd.cncf.helm.chart.content.v1.tar+gzip (the
//                packaged .tgz, byte for byte), the chart's name and version
//                in the annotations org.opencontainers.image.title and
//                org.opencontainers.image.version. Charts pushed by helm
//                itself are recognised the same way (and Helm's older layer
//                type application/tar+gzip).
//   file         an OCI 1.1 artifact in the ORAS manner: artifactType
//                application/vnd.sluice.file.v1, the empty config
//                (application/vnd.oci.empty.v1+json, the 2 bytes "{}"), one
//                layer of type application/octet-stream holding the file's
//                bytes as they are, its base name in the layer's (and the
//                manifest's) org.opencontainers.image.title. `oras pull`
//                writes such a layer to a file of that name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "oci/manifest.h"

namespace sluice::oci {

inline constexpr std::string_view kHelmConfigMediaType = "application/vnd.cncf.helm.config.v1+json";
inline constexpr std::string_view kHelmChartLayerMediaType =
    "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
// What Helm pushed before 3.7 and still reads.
inline constexpr std::string_view kHelmLegacyChartLayerMediaType = "application/tar+gzip";

inline constexpr std::string_view kFileArtifactType = "application/vnd.sluice.file.v1";
inline constexpr std::string_view kFileLayerMediaType = "application/octet-stream";

// The image-spec's empty descriptor: what a config is when an artifact has
// nothing to configure (image-spec 1.1, "Guidance for an Empty Descriptor").
inline constexpr std::string_view kEmptyConfigMediaType = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view kEmptyConfigBytes = "{}";

// Pre-defined annotation keys (image-spec annotations.md).
inline constexpr std::string_view kAnnotationTitle = "org.opencontainers.image.title";
inline constexpr std::string_view kAnnotationVersion = "org.opencontainers.image.version";
inline constexpr std::string_view kAnnotationDescription = "org.opencontainers.image.description";
inline constexpr std::string_view kAnnotationUrl = "org.opencontainers.image.url";
inline constexpr std::string_view kAnnotationSource = "org.opencontainers.image.source";
inline constexpr std::string_view kAnnotationAuthors = "org.opencontainers.image.authors";
inline constexpr std::string_view kAnnotationCreated = "org.opencontainers.image.created";

enum class ArtifactKind { kHelmChart, kFile };

// "helm-chart" or "file", as reports and the mapping file name them.
std::string_view ArtifactKindName(ArtifactKind kind);

struct Artifact {
  ArtifactKind kind = ArtifactKind::kFile;
  // The chart's name, or the file's name: the title annotation, as the
  // manifest claims it (unchecked: a caller that makes it a path checks it).
  std::string name;
  std::string version;  // the chart's version; "" for a file
  Descriptor content;   // the chart's .tgz, or the file's bytes
};

// What `manifest_bytes` (a manifest of `media_type`, which may be empty) is,
// when it is one of the artifacts above; nullopt for anything else (an
// image, an index, bytes that do not parse: whoever reads them for what
// they are says what is wrong with them).
std::optional<Artifact> RecognizeArtifact(std::string_view manifest_bytes,
                                          std::string_view media_type);

}  // namespace sluice::oci
