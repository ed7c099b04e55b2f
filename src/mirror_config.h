// `sluice export --config FILE`: a YAML file that declares what to mirror,
// in the manner of oc-mirror's ImageSetConfiguration and Hauler's content
// manifests, read into the same SourceRef list a --list file gives
// (source_list.h), with the options a --list line cannot carry (a tag
// pattern, platforms, an auth file). README.md, "Config files", shows a
// whole one. In short:
//
//   version: 1                  # optional; the only version there is
//   authfile: auth.json         # optional: registry credentials for every
//                               # docker:// image of the file (skopeo --authfile)
//   images:
//     - docker://quay.io/team/app:1.0        # a ref, as on the command line
//     - name: quay.io/team/app               # no transport written: docker://
//       tags: ["1.1", "1.2"]                 # each a ref of its own
//       tagPattern: '1\.3\.[0-9]+'           # tags/list, whole tags matched
//       digests: [sha256:...]
//       platforms: [linux/amd64]             # this image's --platform
//     - name: oci:layouts/base               # every tagged image, asked for
//       allTags: true
//   charts:
//     - charts/app-1.0.tgz                   # helm:PATH
//   files:
//     - path: files/install.sh               # file:PATH
//
// Rules, each refused with kInvalidArgument naming FILE:LINE:COLUMN (1-based,
// of the offending key or value) and the key:
//   - one YAML document, a map of the keys above and no other; an image is a
//     string (its name) or a map of name, tags, tagPattern, digests, allTags
//     and platforms; a chart or a file is a string (its path) or a map of
//     path. An unknown key, a key given twice, or a value of the wrong type
//     (a list where a string belongs, an empty list, allTags not a boolean)
//     is an error.
//   - a name that starts with no transport (docker://, oci:, oci-archive:,
//     docker-archive:) is a registry reference: docker:// is implied.
//     registry-storage: is a destination, and refused.
//   - a name that picks no image (docker://HOST/REPO, oci:DIR, an archive
//     with nothing after the file) takes every tag only when allTags: true
//     says so; without it, and without tags:, tagPattern: or digests:, it is
//     an error, so that no one mirrors a whole repository by accident. A
//     name that picks one (a tag, a digest) takes none of those keys. A
//     name naming no repository (a whole registry) is refused.
//   - tagPattern and digests apply to docker:// names only; tags to every
//     transport (oci:DIR:TAG, docker-archive:FILE:NAME:TAG, ...).
//   - relative paths (authfile, layouts, archives, charts, files) are taken
//     from the config file's directory, not the working directory; the
//     authfile must exist.
// Refs come out in the order of the file (images, then charts, then files),
// each image's tags before its digests and tag pattern, and each with the
// position of what produced it as its origin.
#pragma once

#include <string>
#include <vector>

#include "io/file.h"
#include "source_list.h"

namespace sluice {

// Appends the refs the config file at `path` declares. kInvalidArgument for
// anything the rules above refuse; kNotFound for a missing file or authfile.
// The file may hold at most 16 MiB.
Status ReadMirrorConfig(io::FileSystem* fs, const std::string& path, std::vector<SourceRef>* refs);

}  // namespace sluice
