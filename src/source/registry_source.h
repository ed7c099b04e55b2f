// Reads images from a registry: docker://HOST/REPO:TAG (one image),
// docker://HOST/REPO@sha256:... (pinned; with a tag too, the digest wins and
// the tag is kept as the name), docker://HOST/REPO (every tag, tags/list
// paginated) and docker://HOST (every tag of every repository, via _catalog).
//
// Manifests are fetched with the client's Accept list and checked against
// their digest (RegistryClient). Blobs are streamed unverified: the caller
// (the bundle writer) checks size and sha256 on the fly. Docker schema 1
// manifests are refused with kUnsupported.
#pragma once

#include <memory>

#include "reference/reference.h"
#include "registry/registry_client.h"
#include "source/image_source.h"

namespace sluice {

// Nothing is fetched until ListImages().
Result<std::unique_ptr<ImageSource>> NewRegistrySource(const Reference& reference,
                                                       registry::ClientOptions options);

}  // namespace sluice
