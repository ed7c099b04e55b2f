// Registry references as skopeo and docker write them, parsed and normalised
// the way docker's distribution/reference does:
//
//   docker://HOST[:PORT]/REPO[:TAG][@sha256:HEX]   (the "docker://" is optional)
//   docker://alpine            -> docker.io/library/alpine
//   docker://coderenvs/x:1     -> docker.io/coderenvs/x:1
//   docker://quay.io           -> host only (every repository of the host)
//
// The first path component is a host when it contains '.' or ':', is
// "localhost", or has an upper-case letter; otherwise the name is on
// docker.io. On docker.io a single-component name gets "library/". The
// Docker Hub API endpoint is registry-1.docker.io.
//
// Validation follows the distribution spec grammar; an error names the part
// that is wrong. Pure functions: no I/O.
#pragma once

#include <string>
#include <string_view>

#include "format/crypto.h"
#include "io/status.h"

namespace sluice {

inline constexpr std::string_view kDockerHubDomain = "docker.io";
inline constexpr std::string_view kDockerHubEndpoint = "registry-1.docker.io";
inline constexpr size_t kMaxNameLength = 255;  // host + "/" + repository
inline constexpr size_t kMaxTagLength = 128;

struct Reference {
  std::string host;        // "docker.io", "quay.io", "127.0.0.1:5000", "[::1]:5000"
  std::string repository;  // "library/alpine"; empty for a host-only reference
  std::string tag;         // empty when none was written (never defaulted to "latest")
  format::Digest digest;   // empty when none was written

  // The host:port to talk to: registry-1.docker.io for docker.io, else host.
  std::string Endpoint() const;
  // "host/repository[:tag][@digest]", the normalised form.
  std::string ToString() const;
  // The tag or, when pinned, the digest: what goes after /manifests/.
  std::string ManifestReference() const { return digest.empty() ? tag : digest.str(); }
};

// Parses an image reference (see above). A host-only reference ("quay.io",
// "127.0.0.1:5000") yields an empty repository; it may not carry a tag or
// digest. Errors are kInvalidArgument and name the bad part.
Result<Reference> ParseReference(std::string_view text);

// Parses a push destination, docker://HOST[:PORT][/PREFIX]: the first
// component is always the host, the rest an optional repository prefix; no tag
// or digest. Returns host and repository (= prefix, possibly empty).
Result<Reference> ParseDestination(std::string_view text);

// Grammar checks, exposed for tests and for callers that join prefixes.
bool IsValidHost(std::string_view host);                 // name or IP, optional :port, [v6]
bool IsValidPathComponent(std::string_view c);           // [a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*
Status ValidateRepository(std::string_view repository);  // components joined by '/'
bool IsValidTag(std::string_view tag);                   // [A-Za-z0-9_][A-Za-z0-9._-]{0,127}

}  // namespace sluice
