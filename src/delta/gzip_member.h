// Reading gzip members (RFC 1952) from a stream: the header kept verbatim,
// the raw deflate bytes and the content they decode to handed out as they
// pass, the CRC32 and ISIZE trailer checked. Shared by Gunzip and the recipe
// search.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/file.h"
#include "io/status.h"

namespace sluice::delta {

// The length of the gzip member header at the start of `bytes`, nullopt when
// `bytes` ends inside it. kUnsupported "not gzip (magic 50 4b)" for another
// magic or a method other than deflate; kCorruption for reserved flag bits or
// a header CRC16 that does not match.
Result<std::optional<size_t>> GzipHeaderLength(std::string_view bytes);

// A SequentialReader read in chunks, with the offset of what it hands out and
// the chance to hand back what was not used.
class ChunkedInput {
 public:
  explicit ChunkedInput(io::SequentialReader& reader);
  // The next bytes (empty only at end of input), valid until the next call.
  Result<io::ByteView> Next();
  // Gives back the last `count` bytes Next returned: the next Next returns them.
  void Unread(size_t count);
  // Offset in the blob of the next byte Next returns.
  uint64_t offset() const { return offset_; }
  const std::string& name() const { return reader_.name(); }

 private:
  io::SequentialReader& reader_;
  std::vector<uint8_t> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  uint64_t offset_ = 0;
};

// Sees one member pass. `deflate` is a run of the member's raw deflate bytes
// (in order, each exactly once), `content` the content decoded from them and
// all that came before (possibly empty).
class MemberVisitor {
 public:
  virtual ~MemberVisitor() = default;
  virtual Status OnHeader(std::string_view header) = 0;
  virtual Status OnDeflate(io::ByteView deflate, io::ByteView content) = 0;
};

// Reads one member from `input` (positioned at its first byte). Damage is
// kCorruption naming the blob and offset; a wrong magic kUnsupported as in
// GzipHeaderLength. A visitor's error is returned as it is.
Status ReadGzipMember(ChunkedInput& input, MemberVisitor& visitor);

}  // namespace sluice::delta
