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
//   helm:FILE              a packaged Helm chart (.tgz, `helm package`
//                          output); export source only. The whole rest is
//                          the file: a chart's tag is its version.
//   file:FILE[:TAG]        any file, carried as an OCI artifact; export
//                          source only. TAG defaults to "latest".
//
// As in containers/image, the path ends at the first colon after "oci:" (and
// the archive, registry-storage and file transports), so a tag may itself
// contain colons ("oci:dir:library/alpine:3.19").
#pragma once

#include <string>
#include <string_view>

#include "io/status.h"

namespace sluice {

enum class Transport {
  kOciLayout,
  kDocker,
  kOciArchive,
  kDockerArchive,
  kRegistryStorage,
  kHelmChart,
  kFile,
};

struct TransportRef {
  Transport transport = Transport::kOciLayout;
  std::string path;  // kOciLayout, kRegistryStorage: the directory; archives, kHelmChart,
                     // kFile: the file
  std::string name;  // kOciLayout, kOciArchive: the tag, may be empty; kDocker: everything
                     // after "docker://"; kDockerArchive: "NAME[:TAG]", "@N" or empty;
                     // kRegistryStorage: the repository prefix, may be empty; kFile:
                     // the tag, may be empty (then "latest"); kHelmChart: empty
  std::string text;  // as written, for messages
};

Result<TransportRef> ParseTransportRef(std::string_view text);

// OCI layout ref names (the image-spec grammar): components of [A-Za-z0-9]
// joined by "/" and separators [-._:@+] or "--".
bool IsValidOciRefName(std::string_view name);

}  // namespace sluice
