#include "format/frame_codec.h"

#include <zstd.h>

#include <algorithm>

#include "format/checksum.h"
#include "format/endian.h"

namespace sluice::format {

std::array<uint8_t, kFrameHeaderSize> EncodeFrameHeader(const FrameHeader& header,
                                                        io::ByteView payload) {
  std::array<uint8_t, kFrameHeaderSize> out{};
  std::copy(kFrameMagic.begin(), kFrameMagic.end(), out.begin());
  StoreU32(&out[4], header.blob_index);
  StoreU64(&out[8], header.raw_offset);
  StoreU32(&out[16], header.raw_size);
  StoreU32(&out[20], header.stored_size);
  out[24] = header.codec;
  out[25] = header.flags;
  // [26, 32) reserved, zero.
  Xxh3Stream sum;
  sum.Update(io::ByteView(out.data(), kFrameChecksumOffset));
  sum.Update(payload);
  StoreU64(&out[kFrameChecksumOffset], sum.Digest());
  return out;
}

uint64_t MaxZstdStoredSize(uint32_t raw_size) { return ZSTD_compressBound(raw_size); }

Result<FrameHeader> DecodeFrameHeader(const std::array<uint8_t, kFrameHeaderSize>& bytes) {
  if (!std::equal(kFrameMagic.begin(), kFrameMagic.end(), bytes.begin())) {
    return Status::Corruption("no frame magic");
  }
  FrameHeader h;
  h.blob_index = LoadU32(&bytes[4]);
  h.raw_offset = LoadU64(&bytes[8]);
  h.raw_size = LoadU32(&bytes[16]);
  h.stored_size = LoadU32(&bytes[20]);
  h.codec = bytes[24];
  h.flags = bytes[25];
  h.checksum = LoadU64(&bytes[kFrameChecksumOffset]);
  if (std::any_of(&bytes[26], &bytes[32], [](uint8_t b) { return b != 0; })) {
    return Status::Corruption("reserved bytes are not zero");
  }
  if (h.flags & ~kFrameFlagLast) {
    return Status::Corruption("unknown frame flags " + std::to_string(h.flags));
  }
  if (h.raw_size > kMaxFrameRawSize) {
    return Status::Corruption("raw_size " + std::to_string(h.raw_size) + " exceeds the limit of " +
                              std::to_string(kMaxFrameRawSize));
  }
  switch (h.codec) {
    case kCodecNone:
      if (h.stored_size != h.raw_size) {
        return Status::Corruption("uncompressed frame with stored_size " +
                                  std::to_string(h.stored_size) + " != raw_size " +
                                  std::to_string(h.raw_size));
      }
      break;
    case kCodecZstd:
      if (h.stored_size > MaxZstdStoredSize(h.raw_size)) {
        return Status::Corruption("zstd frame with stored_size " + std::to_string(h.stored_size) +
                                  " larger than any compression of " +
                                  std::to_string(h.raw_size) + " bytes");
      }
      break;
    default:
      return Status::Corruption("unknown codec " + std::to_string(h.codec));
  }
  return h;
}

std::string EncodeVolumeRecord(const VolumeRecord& volume) {
  std::string out(reinterpret_cast<const char*>(kVolumeMagic.data()), kVolumeMagic.size());
  PutU32(&out, static_cast<uint32_t>(kVolumeRecordSize));
  PutU32(&out, volume.number);
  PutU32(&out, volume.count);
  PutU64(&out, volume.first_frame);
  PutU64(&out, volume.stored_offset);
  PutU64(&out, Xxh3(io::AsBytes(out)));
  return out;
}

Result<VolumeRecord> DecodeVolumeRecord(io::ByteView bytes) {
  if (bytes.size() < kVolumeRecordSize ||
      !std::equal(kVolumeMagic.begin(), kVolumeMagic.end(), bytes.begin())) {
    return Status::Corruption("no volume record (magic SVOL) after the signature");
  }
  const uint64_t stored = LoadU64(bytes.data() + bytes.size() - 8);
  const uint64_t computed = Xxh3(bytes.first(bytes.size() - 8));
  if (stored != computed) {
    return Status::Corruption("volume record checksum mismatch (stored " + ChecksumText(stored) +
                              ", computed " + ChecksumText(computed) + ")");
  }
  VolumeRecord v;
  v.number = LoadU32(bytes.data() + 8);
  v.count = LoadU32(bytes.data() + kVolumeCountOffset);
  v.first_frame = LoadU64(bytes.data() + 16);
  v.stored_offset = LoadU64(bytes.data() + 24);
  if (v.count == 0 || v.number == 0 || v.number > v.count) {
    return Status::Corruption("volume record says volume " + std::to_string(v.number) + " of " +
                              std::to_string(v.count));
  }
  if (v.number == 1 && (v.first_frame != 0 || v.stored_offset != 0)) {
    return Status::Corruption("volume 1 does not start at the bundle's first frame");
  }
  return v;
}

std::string EncodeTrailer(const std::vector<BlobLocation>& locations) {
  std::string out(reinterpret_cast<const char*>(kTrailerMagic.data()), kTrailerMagic.size());
  PutU32(&out, static_cast<uint32_t>(kTrailerEntrySize));
  PutU32(&out, static_cast<uint32_t>(locations.size()));
  PutU32(&out, 0);  // reserved
  PutU64(&out, kTrailerHeaderSize + kTrailerEntrySize * locations.size());
  for (const BlobLocation& l : locations) {
    PutU32(&out, l.blob_index);
    PutU32(&out, l.frame_count);
    PutU64(&out, l.offset);
    PutU64(&out, l.stored_size);
    PutU64(&out, l.raw_offset);
    PutU64(&out, l.raw_size);
  }
  return out;
}

Result<TrailerHeader> DecodeTrailerHeader(io::ByteView bytes) {
  if (bytes.size() < kTrailerHeaderSize ||
      !std::equal(kTrailerMagic.begin(), kTrailerMagic.end(), bytes.begin())) {
    return Status::Corruption("wrong trailer magic");
  }
  TrailerHeader t;
  t.entry_size = LoadU32(bytes.data() + 4);
  t.entry_count = LoadU32(bytes.data() + 8);
  t.trailer_size = LoadU64(bytes.data() + 16);
  if (LoadU32(bytes.data() + 12) != 0) return Status::Corruption("trailer reserved field is not 0");
  if (t.entry_size < kTrailerEntrySize || t.entry_size > kMaxTrailerEntrySize ||
      t.entry_size % 8 != 0) {
    return Status::Corruption("trailer entry_size " + std::to_string(t.entry_size) +
                              " is not a multiple of 8 between " +
                              std::to_string(kTrailerEntrySize) + " and " +
                              std::to_string(kMaxTrailerEntrySize));
  }
  if (t.trailer_size < kTrailerHeaderSize + uint64_t{t.entry_size} * t.entry_count) {
    return Status::Corruption("trailer_size " + std::to_string(t.trailer_size) +
                              " is smaller than its " + std::to_string(t.entry_count) +
                              " entries need");
  }
  return t;
}

BlobLocation DecodeTrailerEntry(const uint8_t* p) {
  BlobLocation l;
  l.blob_index = LoadU32(p);
  l.frame_count = LoadU32(p + 4);
  l.offset = LoadU64(p + 8);
  l.stored_size = LoadU64(p + 16);
  l.raw_offset = LoadU64(p + 24);
  l.raw_size = LoadU64(p + 32);
  return l;
}

std::array<uint8_t, kFooterSize> EncodeFooter(uint64_t trailer_offset, io::ByteView trailer) {
  std::array<uint8_t, kFooterSize> out{};
  StoreU64(&out[0], trailer_offset);
  StoreU64(&out[8], trailer.size());
  Xxh3Stream sum;
  sum.Update(trailer);
  sum.Update(io::ByteView(out.data(), 16));
  StoreU64(&out[16], sum.Digest());
  std::copy(kFooterMagic.begin(), kFooterMagic.end(), out.begin() + 24);
  return out;
}

Result<Footer> DecodeFooter(const std::array<uint8_t, kFooterSize>& bytes) {
  if (!std::equal(kFooterMagic.begin(), kFooterMagic.end(), bytes.begin() + 24)) {
    return Status::Corruption("footer end magic is not SLUICEND");
  }
  Footer f;
  f.trailer_offset = LoadU64(&bytes[0]);
  f.trailer_size = LoadU64(&bytes[8]);
  f.checksum = LoadU64(&bytes[16]);
  return f;
}

}  // namespace sluice::format
