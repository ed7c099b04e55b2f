// Reads images from tar archives, plain or compressed (gzip, zstd, xz,
// bzip2), as containers/image (skopeo) reads them:
//
//   oci-archive:FILE[:TAG]     a tar of an OCI image layout; behaves exactly
//                              like oci:DIR[:TAG]
//   docker-archive:FILE[:SEL]  `docker save` output (manifest.json with
//                              Config, RepoTags and Layers per image)
//
// Archives are indexed once and never loaded whole: a plain tar's entries are
// read as byte ranges of the file; a compressed tar is decompressed again up to
// the entry each large blob needs.
//
// docker-archive images carry no registry manifest. Unless the archive also
// holds an OCI layout (docker 25 and later write index.json and blobs/ beside
// manifest.json; its manifests are then used as they are), the source
// generates the Docker schema 2 manifest skopeo generates for the same
// archive, byte for byte, so that both tools give the image the same digest:
// config application/vnd.docker.container.image.v1+json, one layer per
// rootfs.diff_ids entry of the config, typed
// application/vnd.docker.image.rootfs.diff.tar.gzip (sic: skopeo's choice,
// although the bytes are a plain tar), digest = the diff_id, size = the
// layer file's size. Layer bytes are checked against their diff_id as they
// stream. Layers stored compressed inside the archive are refused
// (kUnsupported); docker save and skopeo never write them.
//
// SourceImage repository/tag come from RepoTags, normalised as docker does:
// "busybox:latest" and "docker.io/library/busybox:latest" give repository
// "library/busybox", tag "latest"; "example.com/team/app:1.0" gives
// "team/app", "1.0" (the host is dropped).
#pragma once

#include <memory>
#include <string>

#include "source/image_source.h"

namespace sluice {

// `tag` empty: every tagged image of the layout. Nothing is read until
// ListImages().
std::unique_ptr<ImageSource> NewOciArchiveSource(io::FileSystem* fs, std::string path,
                                                 std::string tag);

// `selector`: "" for every RepoTag of every image in manifest.json; a
// "NAME[:TAG]" to match against RepoTags after normalisation (TAG defaults
// to "latest"); or "@N" for the N-th image of manifest.json (0-based; all of
// its RepoTags, or none: an image without RepoTags is only ever exported this
// way, with empty repository and tag). Nothing is read until ListImages().
std::unique_ptr<ImageSource> NewDockerArchiveSource(io::FileSystem* fs, std::string path,
                                                    std::string selector);

}  // namespace sluice
