// Constants of the bundle format (SPEC.md), shared by the reader and the
// writer so the two can never disagree. Every number here is part of the
// on-disk format: changing one is a format change (SPEC.md section 13).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::format {

// Version 3 gave every catalog record and trailer entry a length (so later
// fields can be added without a new version), marks manifests a bundle does
// not carry, and cuts a bundle into volumes. A reader accepts version 3 only
// (SPEC.md section 17).
inline constexpr uint32_t kFormatVersion = 3;

// Header (SPEC.md section 3).
inline constexpr std::array<uint8_t, 8> kHeaderMagic = {0x89, 'S', 'L', 'U', 'I', 'C', 'E', 0x0A};
inline constexpr size_t kHeaderSize = 96;  // what version 2 writers write
inline constexpr size_t kMinHeaderSize = 96;
inline constexpr size_t kMaxHeaderSize = 4096;
// magic, version, required and optional features, header_size: the bytes
// whose meaning never changes across versions.
inline constexpr size_t kHeaderPrefixSize = 24;
inline constexpr size_t kHeaderFieldsEnd = 88;  // extension area starts here

// Feature bits (SPEC.md section 13). Bit 0, required: some blobs are
// shipped as deltas (SPEC.md section 4, "Delta blobs").
inline constexpr uint32_t kRequiredFeatureDelta = 1u << 0;
inline constexpr uint32_t kKnownRequiredFeatures = kRequiredFeatureDelta;
inline constexpr uint32_t kKnownOptionalFeatures = 0;

// Catalog (SPEC.md section 4).
inline constexpr uint64_t kMinCatalogSize = 3 * 4 + 8;
inline constexpr uint64_t kMaxCatalogSize = 256ull << 20;
inline constexpr uint32_t kMaxStringSize = 4096;  // repository, tag, source, media type, digest
inline constexpr uint32_t kMaxManifestSize = 16u << 20;
inline constexpr uint8_t kBlobFlagShipped = 0x01;
inline constexpr uint8_t kBlobFlagDelta = 0x02;  // requires kBlobFlagShipped
// Delta blobs: the one delta codec (zstd with the base content as its
// reference prefix), and the bounds that keep a reader's memory and output
// known before it starts.
inline constexpr uint8_t kDeltaCodecZstdPrefix = 1;
inline constexpr uint64_t kMaxDeltaContentSize = 1ull << 31;
inline constexpr uint32_t kMaxDeltaWindowLog = 31;
inline constexpr uint32_t kMinPigzBlockSize = 32u << 10;
inline constexpr uint32_t kMaxPigzBlockSize = 512u << 20;
inline constexpr uint32_t kMaxGzipHeaderSize = 4096;
inline constexpr uint8_t kManifestFlagAbsent = 0x01;
inline constexpr size_t kDigestStringSize = 71;  // "sha256:" + 64 hex digits
// Every record starts with its u32 record_size: the bytes that follow it.
inline constexpr size_t kRecordSizeField = 4;
// Smallest encoding of each record (record_size included), to check counts
// before allocating. A Ref is repository, tag, digest and source: three
// strings that may be empty; a Manifest is digest, media type, flags, bytes.
inline constexpr size_t kMinRefRecordSize = kRecordSizeField + 4 + 4 + 4 + kDigestStringSize + 4;
inline constexpr size_t kMinManifestRecordSize =
    kRecordSizeField + 4 + kDigestStringSize + 4 + 1 + 4;
inline constexpr size_t kMinBlobRecordSize = kRecordSizeField + 4 + kDigestStringSize + 8 + 4 + 1;

// Signature (SPEC.md section 5).
inline constexpr size_t kSignatureSize = 100;
inline constexpr uint32_t kSignatureAlgorithmEd25519 = 1;
// Includes the terminating NUL: 27 bytes.
inline constexpr std::string_view kSignatureContext{"sluice bundle v1 signature\0", 27};

// Volume record (SPEC.md section 6): after the signature of every volume.
inline constexpr std::array<uint8_t, 4> kVolumeMagic = {'S', 'V', 'O', 'L'};
inline constexpr size_t kVolumeRecordSize = 40;  // what version 3 writers write
inline constexpr size_t kMaxVolumeRecordSize = 4096;
inline constexpr size_t kVolumeCountOffset = 12;  // patched once the count is known

// Frames (SPEC.md section 7).
inline constexpr std::array<uint8_t, 4> kFrameMagic = {'S', 'F', 'R', 'M'};
inline constexpr size_t kFrameHeaderSize = 40;
inline constexpr size_t kFrameChecksumOffset = 32;  // checksum covers [0, 32) and payload
inline constexpr uint32_t kMaxFrameRawSize = 16u << 20;
inline constexpr uint32_t kDefaultFrameSize = 1u << 20;
inline constexpr uint8_t kCodecNone = 0;
inline constexpr uint8_t kCodecZstd = 1;
inline constexpr uint8_t kFrameFlagLast = 0x01;

// Trailer and footer (SPEC.md section 8).
inline constexpr std::array<uint8_t, 4> kTrailerMagic = {'S', 'T', 'R', 'L'};
inline constexpr size_t kTrailerHeaderSize = 24;
inline constexpr size_t kTrailerEntrySize = 40;  // what version 3 writers write
inline constexpr size_t kMaxTrailerEntrySize = 4096;
inline constexpr size_t kFooterSize = 32;
inline constexpr std::array<uint8_t, 8> kFooterMagic = {'S', 'L', 'U', 'I', 'C', 'E', 'N', 'D'};

}  // namespace sluice::format
