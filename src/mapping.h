// The mapping an import leaves behind: for every image, where it came from
// and where it now is, pinned by digest. Operators feed it to
// `helm --set image=...`, to a registry mirror configuration, or to scripts.
//
//   FILE       one "SOURCE=DESTINATION@DIGEST" line per image (oc-mirror style)
//   FILE.json  [{"source", "destination", "digest", "pinned"}...]
// (FILE.json is FILE with its extension replaced by .json.)
#pragma once

#include <string>

#include "importer.h"
#include "io/file.h"

namespace sluice {

// The JSON path that goes with a text mapping path.
std::string MappingJsonPath(const std::string& text_path);

// Writes both files atomically.
Status WriteMappingFiles(io::FileSystem* fs, const std::string& text_path,
                         const ImportReport& report);

}  // namespace sluice
