// The catalog: everything a bundle says about its contents, signed as one
// unit before any blob data (see SPEC.md, "Catalog").
#pragma once

#include <array>
#include <cstdint>
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

// A config or layer blob the bundle's manifests reference.
struct BlobEntry {
  Digest digest;
  uint64_t size = 0;
  std::string media_type;
  bool shipped = false;  // false: the exporter's ledger says the far side has it

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
