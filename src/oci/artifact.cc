#include "oci/artifact.h"

#include "io/json_fields.h"

namespace sluice::oci {
namespace {

// The annotation `key` of the object `holder` (a manifest or a
// descriptor), or "" when there is none or it is not a string.
std::string Annotation(const io::JsonField& holder, std::string_view key) {
  auto annotations = holder.OptionalObject("annotations");
  if (!annotations.ok() || !*annotations) return "";
  auto value = (*annotations)->StringOr(key, "");
  return value.ok() ? *value : "";
}

}  // namespace

std::string_view ArtifactKindName(ArtifactKind kind) {
  return kind == ArtifactKind::kHelmChart ? "helm-chart" : "file";
}

std::optional<Artifact> RecognizeArtifact(std::string_view manifest_bytes,
                                          std::string_view media_type) {
  auto manifest = ParseManifest(manifest_bytes, media_type);
  if (!manifest.ok() || manifest->kind != ManifestKind::kImage || !manifest->config) {
    return std::nullopt;
  }
  // ParseManifest has read these bytes as a JSON object already.
  auto parsed = io::ParseJson(manifest_bytes, "manifest");
  if (!parsed.ok()) return std::nullopt;
  io::JsonField doc = parsed->root();
  auto layers = doc.OptionalArray("layers");
  if (!layers.ok() || !*layers) return std::nullopt;
  auto layer_fields = (*layers)->Elements();
  if (!layer_fields.ok() || layer_fields->size() != manifest->layers.size()) return std::nullopt;

  Artifact artifact;
  if (manifest->config->media_type == kHelmConfigMediaType) {
    // Helm finds the chart among the layers by its type (a provenance
    // layer may sit beside it).
    for (const Descriptor& layer : manifest->layers) {
      if (layer.media_type == kHelmChartLayerMediaType ||
          layer.media_type == kHelmLegacyChartLayerMediaType) {
        artifact.kind = ArtifactKind::kHelmChart;
        artifact.name = Annotation(doc, kAnnotationTitle);
        artifact.version = Annotation(doc, kAnnotationVersion);
        artifact.content = layer;
        return artifact;
      }
    }
    return std::nullopt;
  }
  auto artifact_type = doc.StringOr("artifactType", "");
  if (artifact_type.ok() && *artifact_type == kFileArtifactType && manifest->layers.size() == 1) {
    artifact.kind = ArtifactKind::kFile;
    artifact.name = Annotation((*layer_fields)[0], kAnnotationTitle);
    artifact.content = manifest->layers[0];
    return artifact;
  }
  return std::nullopt;
}

}  // namespace sluice::oci
