// A packaged Helm chart (`helm package` output, NAME-VERSION.tgz) read as
// `helm push` reads it, to carry it as the OCI artifact helm push makes
// (src/oci/artifact.h):
//
//   - the file is a gzip-compressed tar whose Chart.yaml sits in the chart's
//     top directory (NAME/Chart.yaml; subcharts' NAME/charts/*/Chart.yaml
//     are part of the package, not its metadata);
//   - Chart.yaml is checked as Helm's loader checks it (Metadata.Validate):
//     apiVersion, name and version present, the name a plain name, the
//     version SemVer as Helm's semver library takes it (an optional "v",
//     minor and patch optional, pre-release and build parts), the type
//     "application", "library" or none. sluice adds one rule: the name
//     must be a registry path component (lower-case letters and digits,
//     with '.', '_', '__' or dashes between them), since the chart lands
//     in the repository charts/NAME, and helm push names it that way too;
//   - the config blob is the metadata as JSON, as Helm's json.Marshal of its
//     Metadata writes it: Helm's field order, empty fields left out, map
//     keys sorted, '<', '>' and '&' escaped as \u003c, \u003e and \u0026.
//     Strings are "sanitised" as Helm does for the ASCII range (whitespace
//     becomes a space, other control characters are dropped). Scalars of
//     import-values are strings (Helm would keep a YAML number a number);
//   - the manifest annotations are the ones helm push derives from the
//     metadata, except org.opencontainers.image.created (see
//     ChartAnnotations).
//
// Pure functions apart from ReadPackagedChart, which reads the file.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "io/file.h"

namespace sluice {

// Chart.yaml larger than this is refused: real ones are a few KiB.
inline constexpr uint64_t kMaxChartYamlSize = 1u << 20;

struct ChartMaintainer {
  std::string name;
  std::string email;
  std::string url;
};

struct ChartDependency {
  std::string name;
  std::string version;
  std::string repository;
  std::string condition;
  std::vector<std::string> tags;
  bool enabled = false;
  nlohmann::ordered_json import_values = nlohmann::ordered_json::array();
  std::string alias;
};

// The fields of Chart.yaml Helm's Metadata knows; others are ignored, as
// Helm ignores them.
struct ChartMetadata {
  std::string name;
  std::string home;
  std::vector<std::string> sources;
  std::string version;
  std::string description;
  std::vector<std::string> keywords;
  std::vector<ChartMaintainer> maintainers;
  std::string icon;
  std::string api_version;
  std::string condition;
  std::string tags;
  std::string app_version;
  bool deprecated = false;
  std::map<std::string, std::string> annotations;
  std::string kube_version;
  std::vector<ChartDependency> dependencies;
  std::string type;
};

// Parses and checks Chart.yaml (see above). kCorruption with one line
// saying what is wrong ("line 3: ..." for YAML that does not parse;
// "chart version '1.x' is not SemVer ..."); the caller names the file.
Result<ChartMetadata> ParseChartYaml(std::string_view text);

// Whether Helm takes `version` as a chart version (Masterminds semver's
// NewVersion: "1.2.3", "v1.2", "1.0.0-rc.1+build.5").
bool IsValidChartVersion(std::string_view version);

// The tag helm push gives the chart: its version, with '+' (which no tag may
// hold) written '_', as Helm writes and reads it back.
std::string ChartTag(std::string_view version);

// The config blob's bytes (see above): the same metadata, the same bytes.
std::string ChartConfigJson(const ChartMetadata& metadata);

// JSON text as Go's encoding/json writes it, as helm push writes its config
// and manifest: no spaces, invalid UTF-8 as U+FFFD, and '<', '>', '&',
// U+2028 and U+2029 escaped (\u003c ...).
std::string GoJsonText(const nlohmann::ordered_json& value);

// The manifest annotations helm push writes (pkg/registry, chart.go):
// description, title (the name), version, url (home), source (the first of
// sources) and authors ("NAME (EMAIL), ..."), each only when not blank, and
// then the chart's own annotations, which may replace any of them except
// title and version. Left out: org.opencontainers.image.created, the time
// of the push, which would make the same chart file a new manifest, with a
// new digest, every time it is exported; without it the manifest's bytes
// depend on the chart file alone.
std::map<std::string, std::string> ChartAnnotations(const ChartMetadata& metadata);

struct PackagedChart {
  ChartMetadata metadata;
  std::string chart_yaml;  // the entry it was read from ("mychart/Chart.yaml")
};

// Reads the metadata of the chart packaged at `path` (libarchive, through
// `fs`). kCorruption for a file that is not a gzip-compressed tar, is
// damaged or cut short, holds no NAME/Chart.yaml (or several), or whose
// Chart.yaml ParseChartYaml refuses; kNotFound/kIoError from the file
// system. Messages say what is wrong without naming the file: the caller
// adds it.
Result<PackagedChart> ReadPackagedChart(io::FileSystem* fs, const std::string& path);

}  // namespace sluice
