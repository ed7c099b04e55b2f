// Where an import writes images to. One implementation per transport: OCI
// layout (oci:DIR), registry (docker://), registry storage (registry-storage:DIR).
// Each can also read back a blob it holds (import --files-to writes the
// file artifacts out of the destination, whichever bundle shipped them).
//
// Order is the importer's promise: every blob of an image lands (its
// writer's Commit has returned) before its manifests, child manifests before their index, and tags only in Commit(),
// after everything they point at is durable.
#pragma once

#include <memory>
#include <optional>
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

// Where an image of the bundle's `repository` lands, split as Helm charts
// take an image reference apart: the registry ("registry.local:5000"; "" for
// a destination that is no registry sluice knows the address of: an OCI
// layout, a registry's storage directory) and the repository there
// ("mirror/library/alpine"; for an OCI layout, the ref name's repository part).
struct Placement {
  std::string registry;
  std::string repository;
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

  // Where images of `repository` land (see Placement). Default: the
  // repository as it is, no registry.
  virtual Placement Place(const std::string& repository) { return {"", repository}; }

  // Streams the blob `digest` the destination holds in `repository`, for a
  // caller that checks it against its digest as it reads. kNotFound when it
  // is not there. Default: kUnsupported.
  virtual Result<std::unique_ptr<io::SequentialReader>> OpenBlob(
      const std::string& /*repository*/, const format::Digest& digest) {
    return Status::Unsupported("this destination cannot read back blob " + digest.str());
  }

  // True if the destination already holds the blob (or manifest) `digest`.
  virtual Result<bool> HasBlob(const std::string& repository, const format::Digest& digest) = 0;
  // As HasBlob, for a blob the bundle carries: false also when what the
  // destination holds under `digest` is damaged (its bytes hash to another
  // digest), so that the verified bytes replace it. A sink that cannot tell
  // (a registry checked the digest when the blob was pushed) answers as
  // HasBlob.
  virtual Result<bool> HasIntactBlob(const std::string& repository, const format::Digest& digest) {
    return HasBlob(repository, digest);
  }
  // The manifest `repository`:`tag` names at the destination now, or nullopt
  // when there is no such tag.
  virtual Result<std::optional<format::Digest>> TagDigest(const std::string& repository,
                                                          const std::string& tag) = 0;
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
  // Told, before any PutManifest, of each manifest the bundle left out on
  // purpose (an index child of a platform not exported, format/SPEC.md
  // section 4): a sink that checks an index's children before storing it
  // stores an index naming `digest` without it. Default: nothing to check.
  virtual void ExpectAbsent(const format::Digest& /*digest*/) {}
  // Records a tag; it becomes visible in Commit(). An empty tag (pinned)
  // tags nothing: a registry already holds the manifest by digest; an OCI
  // layout records it in its index without a ref name, as a root.
  virtual Status AddTag(const std::string& repository, const std::string& tag,
                        const format::Digest& digest, const std::string& media_type,
                        uint64_t size) = 0;
  // Makes the tags visible, atomically where the transport allows. Not safe
  // against another process committing to the same destination at once:
  // the importer holds the destination's lock (destination_state.h) around it.
  virtual Status Commit() = 0;
  // How many blobs may be written at once: NewBlob, and Append and Commit
  // on the writers it returns, are then called from that many threads. A
  // registry gains from overlapping uploads; a local destination from
  // hashing blobs on every core (each blob is still its own temp file,
  // published whole or not at all).
  virtual size_t MaxBlobsInFlight() const { return 1; }
  // Bytes free for new blobs at the destination, or nullopt-like UINT64_MAX if unknown.
  virtual Result<uint64_t> FreeSpace() = 0;
};

// Where sluice keeps what is its own beside a local destination's content
// (DIR of oci:DIR and of registry-storage:DIR): temp files (ingest/), the
// destination's state and its lock (destination_state.h). No reader of an
// OCI layout or of registry storage looks there.
inline std::string SluiceDir(const std::string& root) {
  return root.empty() || root.back() == '/' ? root + ".sluice" : root + "/.sluice";
}

}  // namespace sluice
