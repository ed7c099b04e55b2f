// Writes images into an OCI image layout directory (oci:DIR), creating it on
// first write. Blobs and manifests are published atomically under their
// digests; index.json (the tags) is rewritten atomically in Commit(), and
// only when it changes, so a re-import leaves it byte for byte as it was.
// An image gets the ref name REPOSITORY:TAG ("library/alpine:3.19"), or TAG
// when it has no repository; one pinned by digest gets an index entry
// without a ref name.
#pragma once

#include <memory>
#include <string>

#include "sink/image_sink.h"

namespace sluice {

std::unique_ptr<ImageSink> NewOciLayoutSink(io::FileSystem* fs, std::string dir);

}  // namespace sluice
