// The catalog: everything a bundle says about its contents, signed as one
// unit before any blob data (see SPEC.md, "Catalog").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/crypto.h"

namespace sluice::format {

using BundleId = std::array<uint8_t, 16>;
using LedgerId = std::array<uint8_t, 16>;

struct BundleHeader {
  BundleId bundle_id{};
  LedgerId ledger_id{};
  uint64_t base_sequence = 0;  // ledger sequence the bundle was planned against
  uint64_t sequence = 0;       // base_sequence + 1
  uint64_t created_unix = 0;   // seconds since the epoch

  bool operator==(const BundleHeader&) const = default;
};

// A name that points at a manifest or index in the catalog. `repository` is
// empty for refs that came from an OCI layout (whose tags name no repository).
// `source` is the reference the image was exported from, as the exporter knew
// it ("docker.io/library/alpine:3.19", "oci:/srv/layout:app:1.0"); may be
// empty. It is informational (import reports, mapping files): repository and
// tag alone decide where an importer writes.
struct RefEntry {
  std::string repository;
  std::string tag;
  Digest manifest;
  std::string source;

  bool operator==(const RefEntry&) const = default;
};

// A manifest or index, kept byte for byte: its digest is its name. An
// absent one is named by an index the bundle carries (a platform left out)
// but not carried itself: its bytes are empty, and no ref may name it.
struct ManifestEntry {
  Digest digest;
  std::string media_type;
  std::string bytes;
  bool absent = false;

  bool operator==(const ManifestEntry&) const = default;
};

// How the rebuilt content of a delta blob is turned into the blob's exact
// bytes (SPEC.md section 4, "Delta blobs").
struct ContentEncoding {
  enum class Kind : uint8_t {
    kNone = 0,       // the content is the blob
    kGzipZlib = 1,   // one gzip member, deflated as one zlib stream
    kGzipPigz = 2,   // one gzip member, deflated block by block as pigz does
    kGzipPigzSingleThread = 3,  // as pigz -p 1 does: one stream across blocks
    kGzipPigzIndependent = 4,   // as pigz -i does: blocks without dictionary
  };
  Kind kind = Kind::kNone;
  uint8_t level = 0;       // deflate level 1..9
  uint8_t mem_level = 0;   // zlib memLevel 1..9
  uint8_t strategy = 0;    // zlib strategy 0..4
  uint32_t block_size = 0; // pigz: content bytes per block
  std::string gzip_header; // the gzip member header, verbatim

  bool operator==(const ContentEncoding&) const = default;
};

// A shipped blob carried as the difference from a blob the far side already
// holds: its frames carry the delta, and the reader rebuilds the blob from
// the base and the delta, then checks it against the blob's digest.
struct BlobDelta {
  enum class BaseDecoding : uint8_t {
    kNone = 0,  // the base blob's bytes are the base content
    kGunzip = 1,  // the base blob is one gzip member, decoded
  };
  Digest base;                  // the blob the far side holds
  BaseDecoding base_decoding = BaseDecoding::kNone;
  uint8_t codec = 1;            // kDeltaCodecZstdPrefix, the only one so far
  uint64_t content_size = 0;    // bytes of the rebuilt content, before encoding
  uint64_t size = 0;            // bytes of the delta: what the frames carry
  Digest digest;                // SHA-256 of the delta
  ContentEncoding encoding;

  bool operator==(const BlobDelta&) const = default;
};

// A config or layer blob the bundle's manifests reference.
struct BlobEntry {
  Digest digest;
  uint64_t size = 0;
  std::string media_type;
  bool shipped = false;  // false: the exporter's ledger says the far side has it
  std::optional<BlobDelta> delta;  // shipped as a delta (shipped is then true)

  // What the blob's frames carry, and what their bytes must hash to: the
  // blob itself, or its delta.
  uint64_t carried_size() const { return delta ? delta->size : size; }
  const Digest& carried_digest() const { return delta ? delta->digest : digest; }

  bool operator==(const BlobEntry&) const = default;
};

struct Catalog {
  BundleHeader header;
  std::vector<RefEntry> refs;
  std::vector<ManifestEntry> manifests;
  std::vector<BlobEntry> blobs;

  bool operator==(const Catalog&) const = default;
};

}  // namespace sluice::format
