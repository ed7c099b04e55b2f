// Files that travel as OCI artifacts (src/oci/artifact.h), each an export
// source of one image whose manifest the source makes:
//
//   helm:FILE.tgz     a packaged Helm chart, carried as `helm push` stores it
//                     (src/source/helm_chart.h), under repository
//                     charts/NAME, tag = the chart's version ('+' written
//                     '_'), so that after `import --to docker://REGISTRY`,
//                     `helm install oci://REGISTRY/charts/NAME --version X`
//                     finds it. The .tgz is the layer, byte for byte.
//   file:FILE[:TAG]   any file, under repository files/NAME (NAME: the file's
//                     base name made a registry path component, see
//                     FileRepository), tag TAG or "latest". The layer is the
//                     file's bytes.
//
// The manifest's bytes depend on the file alone (no time, no path): the
// same file exported next month is the same manifest, with the same digest,
// and its blobs are left out as the ledger says the far side holds them.
// ListImages hashes the file once, streaming, for its size and sha256 (and
// reads a chart's Chart.yaml out of it); OpenBlob streams it again, checked
// against them as it is read, so a file that changed between the two is
// refused naming it. Memory stays bounded
// whatever the file's size.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "source/image_source.h"

namespace sluice {

// Nothing is read until ListImages().
std::unique_ptr<ImageSource> NewHelmChartSource(io::FileSystem* fs, std::string path);

// `tag` empty: "latest". Nothing is read until ListImages().
std::unique_ptr<ImageSource> NewFileSource(io::FileSystem* fs, std::string path, std::string tag);

// "files/NAME": the repository a file whose base name is `base_name` lands
// in. NAME is the base name lower-cased, every run of characters other than
// letters and digits that is not one of the separators a registry path
// allows ('.', '_', '__', dashes) written '.' when it holds a dot and '-'
// otherwise, such runs at either end dropped, and cut to 128 characters;
// "file" when nothing is left ("Values (prod).YAML" ->
// "files/values-prod.yaml", ".bashrc" -> "files/bashrc", "a..b" -> "files/a.b").
std::string FileRepository(std::string_view base_name);

}  // namespace sluice
