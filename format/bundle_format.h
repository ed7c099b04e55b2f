// Constants of the bundle format (SPEC.md), shared by the reader and the
// writer so the two can never disagree. Every number here is part of the
// on-disk format: changing one is a format change (SPEC.md section 12).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::format {

// Version 2 added the source reference to Ref records. Version 1 was never
// released, so a reader accepts version 2 only.
inline constexpr uint32_t kFormatVersion = 2;

// Header (SPEC.md section 3).
inline constexpr std::array<uint8_t, 8> kHeaderMagic = {0x89, 'S', 'L', 'U', 'I', 'C', 'E', 0x0A};
inline constexpr size_t kHeaderSize = 96;  // what version 2 writers write
inline constexpr size_t kMinHeaderSize = 96;
inline constexpr size_t kMaxHeaderSize = 4096;
// magic, version, required and optional features, header_size: the bytes
// whose meaning never changes across versions.
inline constexpr size_t kHeaderPrefixSize = 24;
inline constexpr size_t kHeaderFieldsEnd = 88;  // extension area starts here

// Feature bits (SPEC.md section 12). Version 2 defines none.
inline constexpr uint32_t kKnownRequiredFeatures = 0;
inline constexpr uint32_t kKnownOptionalFeatures = 0;

// Catalog (SPEC.md section 4).
inline constexpr uint64_t kMinCatalogSize = 3 * 4 + 8;
inline constexpr uint64_t kMaxCatalogSize = 256ull << 20;
inline constexpr uint32_t kMaxStringSize = 4096;  // repository, tag, source, media type, digest
inline constexpr uint32_t kMaxManifestSize = 16u << 20;
inline constexpr uint8_t kBlobFlagShipped = 0x01;
inline constexpr size_t kDigestStringSize = 71;  // "sha256:" + 64 hex digits
// Smallest encoding of each record, to check counts before allocating. A Ref
// is repository, tag, digest and source: three strings that may be empty.
inline constexpr size_t kMinRefRecordSize = 4 + 4 + 4 + kDigestStringSize + 4;
inline constexpr size_t kMinManifestRecordSize = 4 + kDigestStringSize + 4 + 4;
inline constexpr size_t kMinBlobRecordSize = 4 + kDigestStringSize + 8 + 4 + 1;

// Signature (SPEC.md section 5).
inline constexpr size_t kSignatureSize = 100;
inline constexpr uint32_t kSignatureAlgorithmEd25519 = 1;
// Includes the terminating NUL: 27 bytes.
inline constexpr std::string_view kSignatureContext{"sluice bundle v1 signature\0", 27};

// Frames (SPEC.md section 6).
inline constexpr std::array<uint8_t, 4> kFrameMagic = {'S', 'F', 'R', 'M'};
inline constexpr size_t kFrameHeaderSize = 40;
inline constexpr size_t kFrameChecksumOffset = 32;  // checksum covers [0, 32) and payload
inline constexpr uint32_t kMaxFrameRawSize = 16u << 20;
inline constexpr uint32_t kDefaultFrameSize = 1u << 20;
inline constexpr uint8_t kCodecNone = 0;
inline constexpr uint8_t kCodecZstd = 1;
inline constexpr uint8_t kFrameFlagLast = 0x01;

// Trailer and footer (SPEC.md section 7).
inline constexpr std::array<uint8_t, 4> kTrailerMagic = {'S', 'T', 'R', 'L'};
inline constexpr size_t kTrailerHeaderSize = 8;
inline constexpr size_t kTrailerEntrySize = 24;
inline constexpr size_t kFooterSize = 32;
inline constexpr std::array<uint8_t, 8> kFooterMagic = {'S', 'L', 'U', 'I', 'C', 'E', 'N', 'D'};

}  // namespace sluice::format
