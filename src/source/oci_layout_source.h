// Reads images from an OCI image layout directory (oci:DIR[:TAG]).
#pragma once

#include <memory>
#include <string>

#include "source/image_source.h"

namespace sluice {

// `tag` empty: every tagged image of the layout. Nothing is read until
// ListImages().
std::unique_ptr<ImageSource> NewOciLayoutSource(io::FileSystem* fs, std::string dir,
                                                std::string tag);

}  // namespace sluice
