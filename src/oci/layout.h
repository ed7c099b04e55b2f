// The OCI image layout on disk (image-spec "image-layout.md"): shared by the
// layout source and sink.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "format/crypto.h"

namespace sluice::oci {

inline constexpr std::string_view kLayoutFile = "oci-layout";
inline constexpr std::string_view kLayoutFileContents = "{\"imageLayoutVersion\":\"1.0.0\"}";
inline constexpr std::string_view kIndexFile = "index.json";
inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
// index.json grows with tags; a hostile one must not exhaust memory.
inline constexpr uint64_t kMaxIndexFileSize = 64u << 20;

// DIR/blobs/sha256/<hex>
std::string BlobPath(std::string_view dir, const format::Digest& digest);

}  // namespace sluice::oci
