// The OCI image layout on disk (image-spec "image-layout.md"): shared by the
// layout source and sink.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "format/crypto.h"
#include "io/status.h"

namespace sluice::oci {

inline constexpr std::string_view kLayoutFile = "oci-layout";
inline constexpr std::string_view kLayoutFileContents = "{\"imageLayoutVersion\":\"1.0.0\"}";
inline constexpr std::string_view kIndexFile = "index.json";
inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
// index.json grows with tags; a hostile one must not exhaust memory.
inline constexpr uint64_t kMaxIndexFileSize = 64u << 20;

// One entry of an index.json's "manifests".
struct IndexEntry {
  format::Digest digest;
  std::string media_type;  // "" when the entry has none
  uint64_t size = 0;       // 0 when the entry has none
  std::string ref_name;    // its kRefNameAnnotation, "" when untagged
};

// Parses the bytes of an index.json. `what` names it in messages
// ("oci:/srv/images index.json"). kCorruption naming the field
// ("manifests[2].digest is a number, expected a string") for anything but an
// object whose "manifests" is an array of descriptors with a valid digest
// and, where present, a string mediaType, an unsigned size and an
// annotations object whose ref name is a string.
Result<std::vector<IndexEntry>> ParseIndex(std::string_view text, const std::string& what);

// DIR/blobs/sha256/<hex>
std::string BlobPath(std::string_view dir, const format::Digest& digest);

}  // namespace sluice::oci
