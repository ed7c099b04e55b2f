// Where an import writes images to. One implementation per transport: OCI
// layout (oci:DIR), registry (docker://), registry storage (registry-storage:DIR).
//
// Order is the importer's promise: every blob of an image lands (its
// writer's Commit has returned) before its manifests, child manifests before their index, and tags only in Commit(),
// after everything they point at is durable.
#pragma once

#include <memory>
#include <string>

#include "format/crypto.h"
#include "io/file.h"

namespace sluice {

// One blob being written. Nothing is visible until Commit().
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;  // uncommitted: discarded
  virtual Status Append(io::ByteView data) = 0;
  // Publishes the blob under its digest. The sink checks the bytes against
  // the digest and size it was given (kCorruption otherwise).
  virtual Status Commit() = 0;
};

class ImageSink {
 public:
  virtual ~ImageSink() = default;

  // Whether `repository`:`tag` can be written here: the name it gets here
  // passes CheckRefName (reference/ref_name.h), plus the destination's own
  // limits. An empty tag is an image pinned by digest, which gets no tag.
  // Called for every ref before anything is written, so a bad name refuses
  // the whole import.
  virtual Status CheckRef(const std::string& repository, const std::string& tag) = 0;

  // The reference the image `digest` of `repository`:`tag` will have here, as
  // a user would write it ("oci:/srv/layout:app:1.0",
  // "registry.local/mirror/app:1.0"); pinned (no tag), by its digest
  // ("registry.local/mirror/app@sha256:...").
  virtual std::string Describe(const std::string& repository, const std::string& tag,
                               const format::Digest& digest) = 0;

  // True if the destination already holds the blob (or manifest) `digest`.
  virtual Result<bool> HasBlob(const std::string& repository, const format::Digest& digest) = 0;
  // For a blob the bundle does not carry and HasBlob did not find: true if
  // the destination holds it anywhere and has made it available in
  // `repository` (a registry mounts it from another repository, which may
  // take a search). Content-addressed, so doing this before the import is
  // known to go ahead exposes nothing. Default: no other place to look.
  virtual Result<bool> FindBlob(const std::string& /*repository*/,
                                const format::Digest& /*digest*/) {
    return false;
  }
  virtual Result<std::unique_ptr<BlobWriter>> NewBlob(const std::string& repository,
                                                      const format::Digest& digest,
                                                      uint64_t size) = 0;
  virtual Status PutManifest(const std::string& repository, const format::Digest& digest,
                             const std::string& media_type, const std::string& bytes) = 0;
  // Records a tag; it becomes visible in Commit(). An empty tag (pinned)
  // tags nothing: a registry already holds the manifest by digest; an OCI
  // layout records it in its index without a ref name, as a root.
  virtual Status AddTag(const std::string& repository, const std::string& tag,
                        const format::Digest& digest, const std::string& media_type,
                        uint64_t size) = 0;
  // Makes the tags visible, atomically where the transport allows.
  virtual Status Commit() = 0;
  // How many blobs may be written at once: NewBlob, and Append and Commit
  // on the writers it returns, are then called from that many threads. A
  // registry gains from overlapping uploads; a local disk does not, and
  // writing one blob at a time keeps its crash behaviour simple.
  virtual size_t MaxBlobsInFlight() const { return 1; }
  // Bytes free for new blobs at the destination, or nullopt-like UINT64_MAX if unknown.
  virtual Result<uint64_t> FreeSpace() = 0;
};

}  // namespace sluice
