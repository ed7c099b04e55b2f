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
//              tag names its one kept child (`digest`) instead
// FILE.json is FILE with ".json" appended, always: never FILE itself
// ("x.map" -> "x.map.json", "m.json" -> "m.json.json"). When FILE is a stream
// (a FIFO, /dev/stdout, /dev/null) there is no FILE.json: see WriteMappingFiles.
#pragma once

#include <string>

#include "importer.h"
#include "io/file.h"

namespace sluice {

// The JSON path that goes with a text mapping path.
std::string MappingJsonPath(const std::string& text_path);

// The two sides of an image's line: where it came from (with "@DIGEST" when
// it was exported by digest) and where it now is, by digest.
std::string MappingSource(const ImportReport::Ref& ref);
std::string MappingDestination(const ImportReport::Ref& ref);

// Writes both files atomically; a symlink is written through to its target.
// A FILE that is a stream (a FIFO, a device such as /dev/stdout or
// /dev/null) gets the text written into it and no JSON twin; a FILE.json that
// is one is written into too. Neither is ever replaced by a regular file.
Status WriteMappingFiles(io::FileSystem* fs, const std::string& text_path,
                         const ImportReport& report);

}  // namespace sluice
