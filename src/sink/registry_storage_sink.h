// Writes images straight into the storage of a CNCF distribution registry
// (v2.x, Debian's docker-registry, `registry:2`): registry-storage:DIR[:PREFIX],
// where DIR is what the registry's filesystem driver has as rootdirectory
// (/var/lib/registry by default). A registry started on DIR, or already
// running on it, then serves the images; no HTTP is involved in the import.
//
// Layout written, below DIR/docker/registry/v2/ (HEX = the sha256 in hex,
// every link file holds "sha256:HEX", no newline):
//
//   blobs/sha256/HEX[0:2]/HEX/data                    the bytes, manifests too
//   repositories/R/_layers/sha256/HEX/link            a config or layer in R
//   repositories/R/_manifests/revisions/sha256/HEX/link   a manifest in R
//   repositories/R/_manifests/tags/T/index/sha256/HEX/link
//   repositories/R/_manifests/tags/T/current/link     the tag T (written last)
//
// as the registry itself lays them out when images are pushed: configs and
// layers are linked under _layers, manifests and an index's children under
// revisions.
//
// Names: an image of repository R lands at PREFIX/R, or at R without a
// prefix; an image with no repository (from an OCI layout tag "t") lands at
// PREFIX, and without a prefix it is refused by CheckRef naming the image.
// Repository and tag follow the distribution grammar (checked before anything
// is written), so no name can make a path escape DIR.
//
// Durability and order: every file is published through io::AtomicFile (temp,
// fsync, rename, fsync of the directory), and every directory created is
// fsynced into its parent. Blob data is durable before any link to it; a
// manifest's revision link is written only after the blobs or child manifests
// it names are linked in its repository (checked, as the registry checks a
// manifest push), except an index's children the bundle left out
// (ExpectAbsent: the index is stored byte for byte without them, as an OCI
// layout stores it; the registry serves it, and the children that are
// there); tags only in Commit(). A link or data file already holding
// the right bytes is never rewritten, so re-importing a bundle changes no file.
// Temp files a killed import left (io/atomic_file.h) are removed from each
// existing directory the first time an import writes into it; only sluice's
// own, and only those no running process can still be writing.
//
//   HasBlob(R, D)  true when D's data exists and D is linked in R: under
//                  revisions for a manifest, under _layers for anything else.
//                  When the data exists but R has no link (another
//                  repository's blob), the _layers link is written (a mount)
//                  and the answer is true. Data that parses as an image
//                  manifest or index is never mounted as a layer: false, so
//                  the importer's PutManifest writes its revision link.
//   FreeSpace      of the filesystem holding DIR.
//
// Files are created 0644 and directories 0755, owned by the importing user:
// run the import as the registry's user (or fix ownership afterwards) if the
// registry must later accept pushes into the same directories.
#pragma once

#include <memory>
#include <string>

#include "sink/image_sink.h"

namespace sluice {

// `prefix` may be empty; otherwise it must be a valid repository name
// (kInvalidArgument naming it). Nothing is touched until the first write.
Result<std::unique_ptr<ImageSink>> NewRegistryStorageSink(io::FileSystem* fs, std::string dir,
                                                          std::string prefix);

// DIR/docker/registry/v2: the root of the layout above.
std::string RegistryStorageRoot(const std::string& dir);

}  // namespace sluice
