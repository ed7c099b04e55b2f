#include "mapping.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <set>

#include "io/atomic_file.h"
#include "io/json_fields.h"

namespace sluice {
namespace {

// "host/repo:tag" -> "host/repo@sha256:...": the reference that cannot move.
std::string Pinned(const std::string& destination, const std::string& digest) {
  size_t slash = destination.rfind('/');
  size_t colon = destination.rfind(':');
  std::string name = destination;
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    name.resize(colon);
  }
  return name + "@" + digest;
}

}  // namespace

std::string MappingJsonPath(const std::string& text_path) { return text_path + ".json"; }

std::string HelmValuesMapping(const ImportReport& report) {
  // yaml-cpp's Emitter reports trouble through its state, never by throwing.
  // Names and values double-quoted: a tag "1.10" or a digest must never be
  // read back as a number.
  YAML::Emitter out;
  out << YAML::Comment("Written by sluice import: where each image of bundle " +
                       std::to_string(report.bundle.sequence) + " now is, as Helm values");
  out << YAML::BeginMap;
  const std::pair<const char*, std::optional<oci::ArtifactKind>> sections[] = {
      {"images", std::nullopt},
      {"charts", oci::ArtifactKind::kHelmChart},
      {"files", oci::ArtifactKind::kFile}};
  for (const auto& [section, kind] : sections) {
    std::set<std::string> seen;  // one entry per source
    bool open = false;
    for (const ImportReport::Ref& ref : report.refs) {
      std::optional<oci::ArtifactKind> ref_kind;
      if (ref.artifact) ref_kind = ref.artifact->kind;
      std::string source = MappingSource(ref);
      if (ref_kind != kind || !seen.insert(source).second) continue;
      if (!open) {
        out << YAML::Key << section << YAML::Value << YAML::BeginMap;
        open = true;
      }
      out << YAML::Key << YAML::DoubleQuoted << source << YAML::Value << YAML::BeginMap;
      const std::pair<const char*, const std::string*> fields[] = {
          {"registry", &ref.placement.registry},
          {"repository", &ref.placement.repository},
          {"tag", &ref.tag},
          {"digest", &ref.digest}};
      for (const auto& [key, value] : fields) {
        out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << *value;
      }
      out << YAML::EndMap;
    }
    if (open) out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string MappingSource(const ImportReport::Ref& ref) {
  // What the exporter read: the index, even when its one kept child was
  // tagged in its place (ImportReport::Ref::index).
  std::string suffix = "@" + (ref.index.empty() ? ref.digest : ref.index);
  if (!ref.pinned || ref.source.ends_with(suffix)) return ref.source;
  return ref.source + suffix;
}

std::string MappingDestination(const ImportReport::Ref& ref) {
  return ref.pinned ? ref.destination : ref.destination + "@" + ref.digest;
}

Status WriteMappingFiles(io::FileSystem* fs, const std::string& text_path,
                         const ImportReport& report, MappingFormat format) {
  std::string text;
  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  for (const ImportReport::Ref& ref : report.refs) {
    text += MappingSource(ref) + "=" + MappingDestination(ref) + "\n";
    nlohmann::ordered_json entry = {
        {"source", MappingSource(ref)},
        {"destination", ref.destination},
        {"digest", ref.digest},
        {"pinned", ref.pinned ? ref.destination : Pinned(ref.destination, ref.digest)}};
    if (!ref.index.empty()) {
      // The destination refused the index; `digest` is its one kept child.
      entry["index"] = ref.index;
      entry["platform"] = ref.platform;
    }
    if (ref.artifact) {
      entry["artifact"] = oci::ArtifactKindName(ref.artifact->kind);
      entry["name"] = ref.artifact->name;
      if (ref.artifact->kind == oci::ArtifactKind::kHelmChart) {
        entry["version"] = ref.artifact->version;
      }
      if (!ref.file.empty()) entry["file"] = ref.file;
    }
    entries.push_back(std::move(entry));
  }
  if (format == MappingFormat::kHelm) text = HelmValuesMapping(report);
  // Names are the bundle's: bytes that are no UTF-8 are shown as U+FFFD.
  std::string json = io::DumpJson(entries, 2) + "\n";
  Result<io::PathKind> kind = io::KindOfPath(fs, text_path);
  if (kind.ok() && io::IsStream(*kind)) {
    // A FIFO or a device (/dev/stdout, /dev/null) is written into, never
    // replaced; the JSON twin is left out, since "FILE.json" beside a device
    // would be a stray file in /dev, and the reader of a stream expects one
    // document.
    return io::WriteFileOrStream(fs, text_path, io::AsBytes(text))
        .WithContext("writing mapping " + text_path);
  }
  // Temp files of mapping writes a killed import left (their process gone),
  // beside the file written (a symlink's target).
  SLUICE_ASSIGN_OR_RETURN(std::string real, io::FollowSymlinks(fs, text_path));
  (void)io::RemoveStaleTempFiles(fs, io::Dirname(real));
  SLUICE_RETURN_IF_ERROR(io::WriteFileAtomically(fs, text_path, io::AsBytes(text))
                             .WithContext("writing mapping " + text_path));
  std::string json_path = MappingJsonPath(text_path);
  return io::WriteFileOrStream(fs, json_path, io::AsBytes(json))
      .WithContext("writing mapping " + json_path);
}

}  // namespace sluice
