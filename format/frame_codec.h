// Encoding and decoding of the volume record, frames, trailer and footer
// (SPEC.md sections 6 to 8). Pure functions over bytes; the reader and writer do the I/O and
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

// The volume record, checksum included (kVolumeRecordSize bytes).
std::string EncodeVolumeRecord(const VolumeRecord& volume);
// Parses a whole volume record of `bytes.size()` bytes (its size field said
// so): checks the magic, the checksum, then the numbers. kCorruption, the
// message not saying where.
Result<VolumeRecord> DecodeVolumeRecord(io::ByteView bytes);

// The trailer for the parts of blobs in one volume, in frame order, without
// extension.
std::string EncodeTrailer(const std::vector<BlobLocation>& locations);

// The fixed start of a trailer.
struct TrailerHeader {
  uint32_t entry_size = 0;
  uint32_t entry_count = 0;
  uint64_t trailer_size = 0;  // header, entries and extension
};
// Parses the kTrailerHeaderSize bytes that start a trailer: the magic, the
// reserved field, entry_size within limits, and trailer_size at least the
// header and entries. kCorruption, the message not saying where.
Result<TrailerHeader> DecodeTrailerHeader(io::ByteView bytes);
// Parses one entry (its first kTrailerEntrySize bytes; the rest of a larger
// entry holds fields of later revisions).
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
