// Encoding and decoding of frames, trailer and footer (SPEC.md sections 6
// and 7). Pure functions over bytes; the reader and writer do the I/O and
// keep the state (which blob, which offset) these checks need.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "format/bundle_format.h"
#include "format/bundle_reader.h"
#include "io/file.h"
#include "io/status.h"

namespace sluice::format {

struct FrameHeader {
  uint32_t blob_index = 0;
  uint64_t raw_offset = 0;
  uint32_t raw_size = 0;
  uint32_t stored_size = 0;
  uint8_t codec = kCodecNone;
  uint8_t flags = 0;
  uint64_t checksum = 0;

  bool last() const { return (flags & kFrameFlagLast) != 0; }
};

// The frame header for `payload`, its checksum computed over the header's
// first 32 bytes and the payload.
std::array<uint8_t, kFrameHeaderSize> EncodeFrameHeader(const FrameHeader& header,
                                                        io::ByteView payload);

// Parses a frame header and checks what can be checked without context:
// magic, codec, flags, reserved bytes, raw_size limit, stored_size bound.
// The message (kCorruption) says what is wrong, without saying where.
Result<FrameHeader> DecodeFrameHeader(const std::array<uint8_t, kFrameHeaderSize>& bytes);

// The largest stored_size a zstd frame of raw_size bytes may have.
uint64_t MaxZstdStoredSize(uint32_t raw_size);

// The trailer for these locations (in catalog order), without extension.
std::string EncodeTrailer(const std::vector<BlobLocation>& locations);
// Parses one kTrailerEntrySize-byte entry.
BlobLocation DecodeTrailerEntry(const uint8_t* p);

struct Footer {
  uint64_t trailer_offset = 0;
  uint64_t trailer_size = 0;
  uint64_t checksum = 0;
};

// The footer; its checksum is XXH3-64 of trailer || footer[0, 16).
std::array<uint8_t, kFooterSize> EncodeFooter(uint64_t trailer_offset, io::ByteView trailer);
// Parses a footer and checks its end magic (kCorruption).
Result<Footer> DecodeFooter(const std::array<uint8_t, kFooterSize>& bytes);

}  // namespace sluice::format
