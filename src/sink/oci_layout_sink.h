// Writes images into an OCI image layout directory (oci:DIR), creating it on
// first write. Blobs and manifests are published atomically under their
// digests; index.json (the tags) is rewritten atomically in Commit(), and
// only when it changes, so a re-import leaves it byte for byte as it was.
#pragma once

#include <memory>
#include <string>

#include "sink/image_sink.h"

namespace sluice {

std::unique_ptr<ImageSink> NewOciLayoutSink(io::FileSystem* fs, std::string dir);

// The ref name an image gets in an OCI layout: its tag, prefixed by
// "REPOSITORY:" when it came from a registry ("library/alpine:3.19").
std::string OciRefName(const std::string& repository, const std::string& tag);

}  // namespace sluice
