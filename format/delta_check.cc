#include "format/delta_check.h"

#include <cstdint>

#include "format/bundle_format.h"

namespace sluice::format {

bool IsGzipHeader(std::string_view header) {
  constexpr uint8_t kText = 0x01, kHeaderCrc = 0x02, kExtra = 0x04, kName = 0x08,
                    kComment = 0x10;
  if (header.size() < 10 || static_cast<uint8_t>(header[0]) != 0x1f ||
      static_cast<uint8_t>(header[1]) != 0x8b || header[2] != 8) {
    return false;
  }
  const uint8_t flags = static_cast<uint8_t>(header[3]);
  if (flags & ~(kText | kHeaderCrc | kExtra | kName | kComment)) return false;
  size_t pos = 10;
  if (flags & kExtra) {
    if (header.size() < pos + 2) return false;
    pos += 2 + (static_cast<uint8_t>(header[pos]) | (static_cast<uint8_t>(header[pos + 1]) << 8));
  }
  for (uint8_t field : {kName, kComment}) {
    if (!(flags & field)) continue;
    size_t end = header.find('\0', pos);
    if (end == std::string_view::npos) return false;
    pos = end + 1;
  }
  if (flags & kHeaderCrc) pos += 2;
  return pos == header.size();
}

std::string DeltaProblem(const BlobEntry& b) {
  const BlobDelta& d = *b.delta;
  const ContentEncoding& e = d.encoding;
  if (!b.shipped) return "is a delta but not shipped";
  if (d.base == b.digest) return "is a delta against itself";
  if (static_cast<uint8_t>(d.base_decoding) > 1) {
    return "has unknown base decoding " + std::to_string(static_cast<int>(d.base_decoding));
  }
  if (d.codec != kDeltaCodecZstdPrefix) {
    return "has unknown delta codec " + std::to_string(d.codec);
  }
  if (d.content_size > kMaxDeltaContentSize) {
    return "rebuilds " + std::to_string(d.content_size) + " bytes of content, over the limit of " +
           std::to_string(kMaxDeltaContentSize);
  }
  if (d.digest.empty()) return "has no delta digest";
  switch (e.kind) {
    case ContentEncoding::Kind::kNone:
      if (e.level != 0 || e.mem_level != 0 || e.strategy != 0 || e.block_size != 0 ||
          !e.gzip_header.empty()) {
        return "has encoding parameters for no encoding";
      }
      if (d.content_size != b.size) {
        return "rebuilds " + std::to_string(d.content_size) + " bytes as a blob of " +
               std::to_string(b.size) + " with no encoding";
      }
      return "";
    case ContentEncoding::Kind::kGzipZlib:
    case ContentEncoding::Kind::kGzipPigz:
    case ContentEncoding::Kind::kGzipPigzSingleThread:
    case ContentEncoding::Kind::kGzipPigzIndependent:
      break;
    default:
      return "has unknown encoding " + std::to_string(static_cast<int>(e.kind));
  }
  if (e.level < 1 || e.level > 9 || e.mem_level < 1 || e.mem_level > 9 || e.strategy > 4) {
    return "has deflate parameters out of range (level " + std::to_string(e.level) +
           ", mem_level " + std::to_string(e.mem_level) + ", strategy " +
           std::to_string(e.strategy) + ")";
  }
  const bool pigz = e.kind != ContentEncoding::Kind::kGzipZlib;
  if (pigz ? (e.block_size < kMinPigzBlockSize || e.block_size > kMaxPigzBlockSize ||
              e.block_size % 1024 != 0)
           : e.block_size != 0) {
    return "has block size " + std::to_string(e.block_size) + ", not allowed for its encoding";
  }
  // The decoder refuses a longer one as it reads it: never write one.
  if (e.gzip_header.size() > kMaxGzipHeaderSize) {
    return "has a gzip header of " + std::to_string(e.gzip_header.size()) +
           " bytes, over the limit of " + std::to_string(kMaxGzipHeaderSize);
  }
  if (!IsGzipHeader(e.gzip_header)) return "has a gzip header that is not one RFC 1952 header";
  return "";
}

}  // namespace sluice::format
