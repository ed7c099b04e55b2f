// Where an export reads images from. One implementation per transport:
// OCI layout (oci:DIR[:TAG]), registry (docker://), docker-archive: and
// oci-archive:. Every source feeds the same graph walk, ledger dedupe and bundle writer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "format/crypto.h"
#include "io/file.h"

namespace sluice {

// A root the export starts from: a tagged (or digest-pinned) manifest or index.
struct SourceImage {
  std::string display;     // the reference as the user wrote it, for messages
  std::string repository;  // "" for OCI layouts; "library/alpine" for registries
  std::string tag;         // "" when pinned by digest only
  format::Digest digest;   // of the root manifest or index
  std::string media_type;  // as the source declared it; may be empty
};

struct ManifestBytes {
  std::string bytes;       // exactly as stored: the digest is over these bytes
  std::string media_type;  // as the source declared it; may be empty
};

// Which manifests attached to a subject FindAttached looks for.
struct AttachedKinds {
  // The cosign-style tags sha256-<hex>.sig, .att and .sbom.
  bool signatures = true;
  // OCI 1.1 referrers: manifests whose `subject` names the digest (the
  // referrers API, or the fallback tag sha256-<hex>, an index of them).
  bool referrers = true;
};

// "sha256-<hex>": the fallback tag of the referrers of `digest`, and the stem
// of its cosign-style tags (stem + ".sig", ".att", ".sbom").
inline std::string AttachedTagStem(const format::Digest& digest) {
  return "sha256-" + std::string(digest.hex());
}
// The suffixes of the cosign-style tags, in the order sources look them up.
inline constexpr const char* kCosignSuffixes[] = {".sig", ".att", ".sbom"};

class ImageSource {
 public:
  virtual ~ImageSource() = default;

  // The images this source was asked for, resolved to digests.
  virtual Result<std::vector<SourceImage>> ListImages() = 0;

  // The exact bytes of a manifest or index in `repository`. The source checks
  // them against `digest` and fails with kCorruption if they differ.
  virtual Result<ManifestBytes> FetchManifest(const std::string& repository,
                                              const format::Digest& digest) = 0;

  // Streams a blob. The caller checks size and sha256 as the bytes go by (the
  // bundle writer does), so a source need not buffer or pre-verify. Called
  // from up to MaxBlobsInFlight() threads at once, after ListImages().
  virtual Result<std::unique_ptr<io::SequentialReader>> OpenBlob(const std::string& repository,
                                                                 const format::Digest& digest,
                                                                 uint64_t size) = 0;

  // The manifests attached to `subject` in `repository` that the source
  // holds, of the kinds asked for: each a SourceImage under the tag that
  // names it (sha256-<hex>.sig, the fallback tag sha256-<hex>), or pinned by
  // digest alone (tag "") when only its subject field ties it to `subject`.
  // A candidate the source does not have is no error (most manifests have
  // no signature); any other failure is, naming the tag it looked up.
  // Default: none (a source that holds only the images it was given).
  virtual Result<std::vector<SourceImage>> FindAttached(const std::string& /*repository*/,
                                                        const format::Digest& /*subject*/,
                                                        const AttachedKinds& /*kinds*/) {
    return std::vector<SourceImage>{};
  }

  // How many blobs may be read at once (OpenBlob from several threads, each
  // reader on its own). A registry gains from overlapping requests; a source
  // whose blobs share one decompressor does not.
  virtual size_t MaxBlobsInFlight() const { return 1; }
};

}  // namespace sluice
