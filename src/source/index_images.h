// The images an OCI index.json names by ref name: what oci:DIR and
// oci-archive:FILE list, so that the two behave alike.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "oci/layout.h"
#include "source/image_source.h"

namespace sluice {

// Each entry of `entries` with a ref name, or only the one named `wanted`
// when it is not empty; untagged entries are reachable only through a tag.
// A ref name that reads "REPOSITORY:TAG" ("library/alpine:3.19", as sluice
// writes registry images into layouts) names a repository too, so it can be
// pushed to a registry as such; any other ref name is a tag alone.
// `display_prefix` ("oci:DIR") starts each image's display name; `where`
// names the index in the kNotFound error given when nothing matches, which
// lists the ref names there are.
// A ref name read as ImagesOfIndex reads it: {repository, tag}, repository ""
// unless the name reads "REPOSITORY:TAG".
std::pair<std::string, std::string> SplitRefName(const std::string& name);

Result<std::vector<SourceImage>> ImagesOfIndex(std::vector<oci::IndexEntry> entries,
                                               const std::string& wanted,
                                               const std::string& display_prefix,
                                               const std::string& where);

}  // namespace sluice
