// `import --files-to DIR`: every file artifact the import published
// (oci/artifact.h, recognised by its artifactType) is also written to
// DIR/NAME, NAME being the file's name as the artifact's title annotation
// gives it, besides whatever the destination got.
//
// The bytes are read back from the destination (ImageSink::OpenBlob), so a
// file this bundle did not ship, because an earlier bundle did, is written
// too. Each is checked against its digest and size as it is read and
// published atomically (temp file beside it, fsync, rename, fsync of DIR):
// DIR/NAME is either the old file or the whole new one, never a part. A file
// that does not match its digest leaves nothing behind.
//
// A name that is no plain file name ("", ".", "..", holding '/' or a NUL
// byte, longer than 255 bytes) is refused (kCorruption: the bundle says
// so), as are two different files of the bundle with one name (kInvalidArgument:
// tell them apart with file:PATH:TAG and a directory each). Both are found
// before any file is written. Refs the import left alone (a tag of an older
// bundle, ImportReport::tags_left_alone) are not in the report, and their
// files not written.
#pragma once

#include <string>

#include "importer.h"
#include "io/file.h"
#include "sink/image_sink.h"

namespace sluice {

// Writes the files and records each one's path in its ref's `file`. DIR is
// created when missing. Nothing to write is no error.
Status WriteFileArtifacts(io::FileSystem* fs, ImageSink* sink, const std::string& dir,
                          ImportReport* report);

}  // namespace sluice
