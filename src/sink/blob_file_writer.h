// A BlobWriter for sinks that keep blobs as files named by their digest (OCI
// layouts, registry storage): bytes go to a temp file, are checked against
// the declared size (as they arrive) and sha256 (at Commit), and only then is
// the file fsynced and renamed into place. A sink that must do more once the
// data is durable (link it into a repository) passes `after_publish`.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sink/image_sink.h"

namespace sluice {

Result<std::unique_ptr<BlobWriter>> NewBlobFileWriter(
    io::FileSystem* fs, const std::string& path, const format::Digest& digest, uint64_t size,
    std::function<Status()> after_publish = {});

}  // namespace sluice
