// Sub-layer deltas on the importing side (format/SPEC.md section 4, "Delta
// blobs"): a blob the bundle carries as a delta is rebuilt from the base the
// destination holds, and reaches the destination only as the exact blob,
// checked against its digest before it is committed.
#pragma once

#include <memory>
#include <string>

#include "format/catalog.h"
#include "io/file.h"
#include "sink/image_sink.h"

namespace sluice {

// A writer that takes the delta's bytes of `blob` and hands the rebuilt
// blob's bytes to `target` (the sink's writer of `blob` itself). Start reads
// the base from `sink` (in `repository`, where the blob goes), checks it
// against its digest and decodes it into a scratch directory under
// `scratch_parent` ($TMPDIR, else /tmp, when empty).
//
// One rebuild runs at a time in a process (each holds up to a layer's tar
// of zstd window and a decoded base); a second Start waits for the first
// writer to go.
//
// Commit fails, and commits nothing, unless the rebuilt bytes have the
// blob's size and sha256. Errors name the blob and its base: a base the
// destination lacks is kNotFound, one that is damaged there kCorruption
// (both say what to do); a delta or recipe that does not rebuild the blob
// is kCorruption.
Result<std::unique_ptr<BlobWriter>> StartDeltaRebuild(io::FileSystem* fs, ImageSink* sink,
                                                      const std::string& repository,
                                                      const format::BlobEntry& blob,
                                                      std::unique_ptr<BlobWriter> target,
                                                      const std::string& scratch_parent = "");

}  // namespace sluice
