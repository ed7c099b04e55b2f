// A BlobWriter for sinks that keep blobs as files named by their digest (OCI
// layouts, registry storage): bytes go to a temp file in `ingest_dir` (never
// in the content-addressed directory itself, whose readers take every name
// for a digest), are checked against
// the declared size (as they arrive) and sha256 (at Commit), and only then is
// the file fsynced and renamed into place. A sink that must do more once the
// data is durable (link it into a repository) passes `after_publish`.
//
// With DirSync::kDeferred the rename is not followed by an fsync of the
// blob's directory: a sink writing many blobs into one directory syncs it
// once (FileSystem::SyncDir) after the last and before anything names them.
// That fsync is what import to a local disk waited on most (one per blob, a
// journal commit each).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sink/image_sink.h"

namespace sluice {

enum class DirSync { kEach, kDeferred };

Result<std::unique_ptr<BlobWriter>> NewBlobFileWriter(
    io::FileSystem* fs, const std::string& path, const std::string& ingest_dir,
    const format::Digest& digest, uint64_t size, std::function<Status()> after_publish = {},
    DirSync dir_sync = DirSync::kEach);

// The directory below a sink's root (an OCI layout's DIR, a registry
// storage's DIR) where its temp files are written: SluiceDir(root)/ingest,
// beside the content, on the same file system, where no reader of the layout
// or the registry looks. A killed import's leftovers there are removed by the
// next import.
std::string IngestDir(const std::string& root);

// Whether the file at `path` holds exactly the blob `digest` (its bytes hash
// to it); false when it is missing, a directory, or damaged.
Result<bool> FileHoldsBlob(io::FileSystem* fs, const std::string& path,
                           const format::Digest& digest);

}  // namespace sluice
