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
#include <optional>

#include "reference/reference.h"
#include "reference/tag_pattern.h"
#include "registry/registry_client.h"
#include "source/image_source.h"

namespace sluice {

// Nothing is fetched until ListImages(). `tags`: of a reference naming no
// tag or digest (a repository, or a host), only the tags it matches are
// taken, each tag name matched before its manifest is fetched; ListImages
// is kNotFound, naming the pattern and some of the tags there are, when it
// matches none.
Result<std::unique_ptr<ImageSource>> NewRegistrySource(const Reference& reference,
                                                       registry::ClientOptions options,
                                                       std::optional<TagPattern> tags = {});

}  // namespace sluice
