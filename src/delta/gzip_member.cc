#include "delta/gzip_member.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace sluice::delta {
namespace {

constexpr size_t kChunk = 64 * 1024;
constexpr size_t kContentBuffer = 256 * 1024;
// Names and comments are zero-terminated and could run on: a header longer
// than this is refused rather than kept.
constexpr size_t kMaxHeader = 1 << 20;

constexpr uint8_t kFlagHcrc = 0x02, kFlagExtra = 0x04, kFlagName = 0x08, kFlagComment = 0x10;

std::string Hex2(uint8_t a, uint8_t b) {
  char text[8];
  std::snprintf(text, sizeof(text), "%02x %02x", a, b);
  return text;
}

uint32_t Le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace

Result<std::optional<size_t>> GzipHeaderLength(std::string_view text) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const size_t size = text.size();
  if (size >= 2 && (bytes[0] != 0x1f || bytes[1] != 0x8b)) {
    return Status::Unsupported("not gzip (magic " + Hex2(bytes[0], bytes[1]) + ")");
  }
  if (size < 10) return std::optional<size_t>();
  if (bytes[2] != 8) {
    return Status::Unsupported("gzip compression method " + std::to_string(bytes[2]) + " is not deflate (8)");
  }
  const uint8_t flags = bytes[3];
  if (flags & 0xe0) return Status::Corruption("gzip header has reserved flag bits set (flags " +
                                              std::to_string(flags) + ")");
  size_t at = 10;
  if (flags & kFlagExtra) {
    if (size < at + 2) return std::optional<size_t>();
    at += 2 + (size_t{bytes[at]} | size_t{bytes[at + 1]} << 8);
    if (size < at) return std::optional<size_t>();
  }
  for (uint8_t flag : {kFlagName, kFlagComment}) {
    if (!(flags & flag)) continue;
    while (at < size && bytes[at] != 0) ++at;
    if (at >= size) {
      if (size > kMaxHeader) return Status::Unsupported("gzip header longer than 1 MiB");
      return std::optional<size_t>();
    }
    ++at;  // the terminating zero
  }
  if (flags & kFlagHcrc) {
    if (size < at + 2) return std::optional<size_t>();
    const uint32_t crc = crc32(0, bytes, static_cast<uInt>(at));
    const uint32_t stored = uint32_t{bytes[at]} | uint32_t{bytes[at + 1]} << 8;
    if ((crc & 0xffff) != stored) return Status::Corruption("gzip header CRC16 does not match");
    at += 2;
  }
  return std::optional<size_t>(at);
}

ChunkedInput::ChunkedInput(io::SequentialReader& reader) : reader_(reader), buffer_(kChunk) {}

Result<io::ByteView> ChunkedInput::Next() {
  if (begin_ == end_) {
    SLUICE_ASSIGN_OR_RETURN(size_t got, reader_.Read(io::MutableBytes(buffer_)));
    begin_ = 0;
    end_ = got;
  }
  io::ByteView out(buffer_.data() + begin_, end_ - begin_);
  offset_ += out.size();
  begin_ = end_;
  return out;
}

void ChunkedInput::Unread(size_t count) {
  begin_ -= count;
  offset_ -= count;
}

Status ReadGzipMember(ChunkedInput& input, MemberVisitor& visitor) {
  const uint64_t member_start = input.offset();
  auto damaged = [&](const std::string& what) {
    return Status::Corruption(input.name() + ": gzip member at offset " + std::to_string(member_start) +
                              ": " + what + " at offset " + std::to_string(input.offset()));
  };

  // The header, kept verbatim.
  std::string header;
  size_t header_length = 0;
  while (header_length == 0) {
    SLUICE_ASSIGN_OR_RETURN(io::ByteView chunk, input.Next());
    if (chunk.empty()) return damaged("header cut short");
    header.append(io::AsChars(chunk));
    auto length = GzipHeaderLength(header);
    if (!length.ok()) {
      // A wrong magic is the caller's to name; damage is named here.
      return length.status().IsCorruption() ? damaged(length.status().message()) : length.status();
    }
    if (length->has_value()) {
      header_length = **length;
      input.Unread(header.size() - header_length);
      header.resize(header_length);
    }
  }
  SLUICE_RETURN_IF_ERROR(visitor.OnHeader(header));

  // The raw deflate stream.
  z_stream stream{};
  if (inflateInit2(&stream, -15) != Z_OK) return Status::IoError("zlib inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> owner(&stream, inflateEnd);
  std::vector<uint8_t> content(kContentBuffer);
  uint32_t crc = crc32(0, Z_NULL, 0);
  uint32_t size = 0;
  bool ended = false;
  while (!ended) {
    SLUICE_ASSIGN_OR_RETURN(io::ByteView chunk, input.Next());
    if (chunk.empty()) return damaged("deflate data cut short");
    stream.next_in = const_cast<Bytef*>(chunk.data());
    stream.avail_in = static_cast<uInt>(chunk.size());
    while (stream.avail_in > 0 && !ended) {
      const Bytef* in_before = stream.next_in;
      stream.next_out = content.data();
      stream.avail_out = static_cast<uInt>(content.size());
      const int code = inflate(&stream, Z_NO_FLUSH);
      if (code == Z_STREAM_END) {
        ended = true;
      } else if (code != Z_OK && code != Z_BUF_ERROR) {
        input.Unread(stream.avail_in);
        return damaged(std::string("bad deflate data (") + (stream.msg ? stream.msg : "zlib error") + ")");
      }
      const io::ByteView used(in_before, static_cast<size_t>(stream.next_in - in_before));
      const io::ByteView made(content.data(), content.size() - stream.avail_out);
      crc = crc32(crc, made.data(), static_cast<uInt>(made.size()));
      size += static_cast<uint32_t>(made.size());  // ISIZE is the size modulo 2^32
      SLUICE_RETURN_IF_ERROR(visitor.OnDeflate(used, made));
    }
    input.Unread(stream.avail_in);
  }

  // The trailer: CRC32 and ISIZE, little-endian.
  uint8_t trailer[8];
  size_t have = 0;
  while (have < sizeof(trailer)) {
    SLUICE_ASSIGN_OR_RETURN(io::ByteView chunk, input.Next());
    if (chunk.empty()) return damaged("trailer cut short");
    const size_t take = std::min(chunk.size(), sizeof(trailer) - have);
    std::copy_n(chunk.data(), take, trailer + have);
    have += take;
    input.Unread(chunk.size() - take);
  }
  if (Le32(trailer) != crc) {
    return damaged("CRC32 " + std::to_string(Le32(trailer)) + " in the trailer, " + std::to_string(crc) +
                   " of the content,");
  }
  if (Le32(trailer + 4) != size) {
    return damaged("ISIZE " + std::to_string(Le32(trailer + 4)) + " in the trailer, " +
                   std::to_string(size) + " bytes of content (mod 2^32),");
  }
  return Status::Ok();
}

}  // namespace sluice::delta
