// The mapping an import leaves behind: for every image, where it came from
// and where it now is, pinned by digest. Operators feed it to
// `helm --set image=...`, to a registry mirror configuration, or to scripts.
//
//   FILE       one "SOURCE=DESTINATION@DIGEST" line per image (oc-mirror style);
//              an image exported by digest has no tag at either end:
//              "SOURCE@DIGEST=DESTINATION@DIGEST"
//   FILE.json  [{"source", "destination", "digest", "pinned"}...], source and
//              destination as in the text line, without the "@DIGEST" a
//              tagged destination gets there; plus "index" and "platform"
//              when the destination refused the bundle's index and the
//              tag names its one kept child (`digest`) instead; plus, for a
//              Helm chart or a file carried as an artifact (oci/artifact.h),
//              "artifact" ("helm-chart" or "file"), "name", "version" (a
//              chart's) and "file" (where import --files-to wrote it)
//
// With --mapping-format helm, FILE is instead a Helm values snippet (YAML),
// every image split the way charts take an image reference apart, keyed by
// its source as the text line writes it; charts and files each in a map of
// their own, of the same shape (a section with nothing in it is left out):
//
//   images:
//     "docker.io/library/nginx:1.25":
//       registry: "registry.local:5000"       # "" when --to is not a registry
//       repository: "mirror/library/nginx"   # PREFIX included
//       tag: "1.25"                          # "" for an image pinned by digest
//       digest: "sha256:..."
//   charts:
//     "helm:mychart-0.1.0.tgz": {registry, repository, tag, digest}
//   files:
//     "file:values.yaml": {registry, repository, tag, digest}
//
// Every string is double-quoted, so no tag or digest is ever read as a
// number. A template reads one as
// {{ (index .Values.images "docker.io/library/nginx:1.25").repository }}.
// FILE.json is FILE with ".json" appended, always: never FILE itself
// ("x.map" -> "x.map.json", "m.json" -> "m.json.json"). When FILE is a stream
// (a FIFO, /dev/stdout, /dev/null) there is no FILE.json: see WriteMappingFiles.
#pragma once

#include <string>

#include "importer.h"
#include "io/file.h"

namespace sluice {

enum class MappingFormat {
  kText,  // SOURCE=DESTINATION@DIGEST lines
  kHelm,  // a Helm values snippet (YAML)
};

// The JSON path that goes with a text mapping path.
std::string MappingJsonPath(const std::string& text_path);

// The two sides of an image's line: where it came from (with "@DIGEST" when
// it was exported by digest) and where it now is, by digest.
std::string MappingSource(const ImportReport::Ref& ref);
std::string MappingDestination(const ImportReport::Ref& ref);

// The Helm values snippet (see above) of an import.
std::string HelmValuesMapping(const ImportReport& report);

// Writes both files atomically (FILE in `format`, FILE.json); a symlink is
// written through to its target.
// A FILE that is a stream (a FIFO, a device such as /dev/stdout or
// /dev/null) gets the text written into it and no JSON twin; a FILE.json that
// is one is written into too. Neither is ever replaced by a regular file.
Status WriteMappingFiles(io::FileSystem* fs, const std::string& text_path,
                         const ImportReport& report,
                         MappingFormat format = MappingFormat::kText);

}  // namespace sluice
