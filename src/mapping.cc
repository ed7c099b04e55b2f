#include "mapping.h"

#include <nlohmann/json.hpp>

#include "io/atomic_file.h"

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
                         const ImportReport& report) {
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
    entries.push_back(std::move(entry));
  }
  std::string json = entries.dump(2) + "\n";
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
