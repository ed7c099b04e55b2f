// References the way skopeo writes them: a transport, a colon, and the
// transport's own syntax.
//
//   oci:DIR[:TAG]          an OCI image layout directory (TAG is the
//                          org.opencontainers.image.ref.name annotation)
//   docker://HOST/REPO...  a registry (parsed by src/registry)
//   oci-archive:FILE[:TAG] a tar of an OCI image layout, TAG as for oci:
//   docker-archive:FILE[:NAME[:TAG]|:@N]
//                          `docker save` output; NAME:TAG selects a RepoTag,
//                          @N the N-th image of its manifest.json
//   registry-storage:DIR[:PREFIX]
//                          a distribution registry's storage directory (its
//                          rootdirectory); import destination only. Images
//                          land below the repository PREFIX when given.
//
// As in containers/image, the path ends at the first colon after "oci:" (and
// the archive and registry-storage transports), so a tag may itself contain
// colons ("oci:dir:library/alpine:3.19").
#pragma once

#include <string>
#include <string_view>

#include "io/status.h"

namespace sluice {

enum class Transport { kOciLayout, kDocker, kOciArchive, kDockerArchive, kRegistryStorage };

struct TransportRef {
  Transport transport = Transport::kOciLayout;
  std::string path;  // kOciLayout, kRegistryStorage: the directory; archives: the file
  std::string name;  // kOciLayout, kOciArchive: the tag, may be empty; kDocker: everything
                     // after "docker://"; kDockerArchive: "NAME[:TAG]", "@N" or empty;
                     // kRegistryStorage: the repository prefix, may be empty
  std::string text;  // as written, for messages
};

Result<TransportRef> ParseTransportRef(std::string_view text);

// OCI layout ref names (the image-spec grammar): components of [A-Za-z0-9]
// joined by "/" and separators [-._:@+] or "--".
bool IsValidOciRefName(std::string_view name);

}  // namespace sluice
