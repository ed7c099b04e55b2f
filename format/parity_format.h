// Constants of the parity file format (PARITY.md), shared by the writer and
// the reader so the two can never disagree. Every number here is part of the
// on-disk format: changing one is a format change (PARITY.md section 9).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice::format {

inline constexpr uint32_t kParityVersion = 1;

// Header (PARITY.md section 3).
inline constexpr std::array<uint8_t, 8> kParityMagic = {0x89, 'S', 'L', 'U', 'P', 'A', 'R', 0x0A};
inline constexpr size_t kParityHeaderSize = 96;  // what version 1 writers write
inline constexpr size_t kParityMinHeaderSize = 96;
inline constexpr size_t kParityMaxHeaderSize = 4096;
// magic, version, header_size: the bytes whose meaning never changes.
inline constexpr size_t kParityHeaderPrefixSize = 16;
inline constexpr size_t kParityHeaderFieldsEnd = 88;  // extension area starts here

// Shard table and row checksums (PARITY.md section 4).
inline constexpr size_t kShardEntrySize = 64;
inline constexpr size_t kRowChecksumSize = 8;
inline constexpr size_t kTablesChecksumSize = 8;

// Limits (PARITY.md section 7).
inline constexpr uint32_t kMaxParityShards = 255;  // data_count + parity_count
inline constexpr uint32_t kStripeAlignment = 4096;
inline constexpr uint32_t kMinStripeSize = 4096;
inline constexpr uint32_t kMaxStripeSize = 16u << 20;
inline constexpr uint32_t kDefaultStripeSize = 1u << 20;
inline constexpr uint64_t kMaxShardSize = uint64_t{1} << 50;

// How many segments a single bundle file is cut into by default (PARITY.md
// section 2): a parity file then costs 1/32 of the bundle.
inline constexpr uint32_t kDefaultSegmentCount = 32;

// Parity streams (PARITY.md section 12): a bundle wrapped in fixed-size
// packets, Reed-Solomon parity inline, for pipes and one-way links.
inline constexpr uint32_t kStreamVersion = 1;
inline constexpr std::array<uint8_t, 8> kStreamMagic = {0x89, 'S', 'L', 'U', 'S', 'T', 'R', 0x0A};
inline constexpr size_t kStreamHeaderSize = 88;  // what version 1 writers write
inline constexpr size_t kStreamMinHeaderSize = 88;
inline constexpr size_t kStreamMaxHeaderSize = 4096;
// magic, version, header_size: the bytes whose meaning never changes.
inline constexpr size_t kStreamHeaderPrefixSize = 16;
inline constexpr size_t kStreamHeaderFieldsEnd = 80;  // extension area starts here
inline constexpr size_t kStreamChecksumSize = 8;      // the header's last 8 bytes
inline constexpr uint32_t kStreamFlagLastGroup = 1;

// Limits (PARITY.md section 12.6).
inline constexpr uint32_t kStreamMinStripeSize = 4096;
inline constexpr uint32_t kStreamMaxStripeSize = 1u << 20;
inline constexpr uint32_t kStreamDefaultStripeSize = 64u << 10;
inline constexpr uint32_t kStreamDefaultDataCount = 16;
inline constexpr uint32_t kStreamDefaultParityCount = 2;
// (k + m) x S: what a reader holds for one group.
inline constexpr uint64_t kStreamMaxGroupBytes = 64u << 20;
// data_offset + group_size: far from overflow in any offset computation.
inline constexpr uint64_t kStreamMaxDataOffset = uint64_t{1} << 60;

}  // namespace sluice::format
