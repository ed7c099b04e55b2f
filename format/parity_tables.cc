// Header and tables of a parity file (PARITY.md sections 3, 4 and 8).
#include "format/parity_tables.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "format/checksum.h"
#include "format/endian.h"
#include "format/parity_format.h"

namespace sluice::format {
namespace {

// Header field offsets (PARITY.md section 3).
constexpr size_t kVersionAt = 8;
constexpr size_t kHeaderSizeAt = 12;
constexpr size_t kBundleIdAt = 16;
constexpr size_t kBundleDigestAt = 32;
constexpr size_t kDataCountAt = 64;
constexpr size_t kParityCountAt = 68;
constexpr size_t kParityIndexAt = 72;
constexpr size_t kStripeSizeAt = 76;
constexpr size_t kShardSizeAt = 80;

// Shard table entry field offsets (PARITY.md section 4).
constexpr size_t kEntryVolumeAt = 0;
constexpr size_t kEntryOffsetAt = 8;
constexpr size_t kEntryLengthAt = 16;
constexpr size_t kEntrySha256At = 24;

// Row checksums are read and written this many at a time.
constexpr size_t kChecksumChunk = 8192;

std::string At(uint64_t offset) { return " at offset " + std::to_string(offset); }

Status Damage(const io::PositionalReader& file, const std::string& what) {
  return Status::Corruption(file.name() + ": " + what);
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += ' ';
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

// Reads exactly buf.size() bytes; a file ending first is damage (the header
// said the bytes are there).
Status ReadExactAt(const io::PositionalReader& file, uint64_t offset, io::MutableBytes buf,
                   const std::string& what) {
  SLUICE_ASSIGN_OR_RETURN(size_t n, ReadUpTo(file, offset, buf));
  if (n < buf.size()) {
    return Damage(file, "truncated: " + what + At(offset) + " needs " + std::to_string(buf.size()) +
                            " bytes, the file ends after " + std::to_string(n));
  }
  return Status::Ok();
}

// The checks of PARITY.md section 8 on the header fields, in table order.
Status CheckHeaderFields(const io::PositionalReader& file, const ParityHeader& h) {
  auto bad = [&](size_t at, const std::string& field, uint64_t value, const std::string& rule) {
    return Damage(file, "header field " + field + At(at) + " is " + std::to_string(value) + "; " +
                            rule + " (a damaged header: use another parity file)");
  };
  if (h.data_count < 1 || h.data_count >= kMaxParityShards) {
    return bad(kDataCountAt, "data_count", h.data_count,
               "must be 1 to " + std::to_string(kMaxParityShards - 1));
  }
  if (h.parity_count < 1 || h.data_count + h.parity_count > kMaxParityShards) {
    return bad(kParityCountAt, "parity_count", h.parity_count,
               "must be at least 1, and data_count + parity_count at most " +
                   std::to_string(kMaxParityShards));
  }
  if (h.parity_index >= h.parity_count) {
    return bad(kParityIndexAt, "parity_index", h.parity_index,
               "must be below parity_count " + std::to_string(h.parity_count));
  }
  if (h.stripe_size < kMinStripeSize || h.stripe_size > kMaxStripeSize ||
      h.stripe_size % kStripeAlignment != 0) {
    return bad(kStripeSizeAt, "stripe_size", h.stripe_size,
               "must be a multiple of 4096 from 4096 to " + std::to_string(kMaxStripeSize));
  }
  if (h.shard_size < 1 || h.shard_size > kMaxShardSize) {
    return bad(kShardSizeAt, "shard_size", h.shard_size,
               "must be 1 to " + std::to_string(kMaxShardSize));
  }
  return Status::Ok();
}

ParityHeader DecodeHeaderFields(const uint8_t* p, uint32_t header_size) {
  ParityHeader h;
  h.header_size = header_size;
  std::memcpy(h.bundle_id.data(), p + kBundleIdAt, h.bundle_id.size());
  std::memcpy(h.bundle_digest.data(), p + kBundleDigestAt, h.bundle_digest.size());
  h.data_count = LoadU32(p + kDataCountAt);
  h.parity_count = LoadU32(p + kParityCountAt);
  h.parity_index = LoadU32(p + kParityIndexAt);
  h.stripe_size = LoadU32(p + kStripeSizeAt);
  h.shard_size = LoadU64(p + kShardSizeAt);
  return h;
}

Status CheckShardTable(const io::PositionalReader& file, const ParitySetInfo& info) {
  uint64_t longest = 0;
  for (size_t i = 0; i < info.shards.size(); ++i) {
    const ShardEntry& e = info.shards[i];
    const std::string where = "shard table entry " + std::to_string(i) +
                              At(info.header.tables_offset() + i * kShardEntrySize);
    if (e.volume_number == 0) return Damage(file, where + ": volume_number 0 (they count from 1)");
    if (e.length > info.header.shard_size) {
      return Damage(file, where + ": length " + std::to_string(e.length) +
                              " exceeds the header's shard_size " +
                              std::to_string(info.header.shard_size));
    }
    if (e.offset > UINT64_MAX - e.length) {
      return Damage(file, where + ": offset " + std::to_string(e.offset) + " + length " +
                              std::to_string(e.length) + " overflows");
    }
    longest = std::max(longest, e.length);
  }
  if (longest != info.header.shard_size) {
    return Damage(file, "shard table" + At(info.header.tables_offset()) +
                            ": the longest shard has " + std::to_string(longest) +
                            " bytes, the header's shard_size says " +
                            std::to_string(info.header.shard_size));
  }
  return Status::Ok();
}

void EncodeShardEntry(const ShardEntry& e, uint8_t* p) {
  std::memset(p, 0, kShardEntrySize);
  StoreU32(p + kEntryVolumeAt, e.volume_number);
  StoreU64(p + kEntryOffsetAt, e.offset);
  StoreU64(p + kEntryLengthAt, e.length);
  std::memcpy(p + kEntrySha256At, e.sha256.data(), e.sha256.size());
}

ShardEntry DecodeShardEntry(const uint8_t* p) {
  ShardEntry e;
  e.volume_number = LoadU32(p + kEntryVolumeAt);
  e.offset = LoadU64(p + kEntryOffsetAt);
  e.length = LoadU64(p + kEntryLengthAt);
  std::memcpy(e.sha256.data(), p + kEntrySha256At, e.sha256.size());
  return e;
}

Status AppendToAll(const std::vector<io::SequentialWriter*>& outputs, io::ByteView bytes) {
  for (io::SequentialWriter* out : outputs) SLUICE_RETURN_IF_ERROR(out->Append(bytes));
  return Status::Ok();
}

}  // namespace

uint64_t ParityHeader::rows() const {
  return stripe_size == 0 ? 0 : (shard_size + stripe_size - 1) / stripe_size;
}

uint64_t ParityHeader::row_length(uint64_t row) const {
  return std::min<uint64_t>(stripe_size, shard_size - row * stripe_size);
}

uint64_t ParityHeader::tables_size() const {
  return uint64_t{data_count} * kShardEntrySize +
         uint64_t{data_count + parity_count} * rows() * kRowChecksumSize + kTablesChecksumSize;
}

bool ParityHeader::SameSet(const ParityHeader& o) const {
  return bundle_id == o.bundle_id && bundle_digest == o.bundle_digest &&
         data_count == o.data_count && parity_count == o.parity_count &&
         stripe_size == o.stripe_size && shard_size == o.shard_size;
}

uint64_t ParitySetInfo::RowBytes(uint32_t shard, uint64_t row) const {
  const uint64_t start = row * header.stripe_size;
  const uint64_t length = shard < shards.size() ? shards[shard].length : header.shard_size;
  return start >= length ? 0 : std::min<uint64_t>(header.stripe_size, length - start);
}

Result<size_t> ReadUpTo(const io::PositionalReader& file, uint64_t offset, io::MutableBytes buf) {
  size_t done = 0;
  while (done < buf.size()) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, file.ReadAt(offset + done, buf.subspan(done)));
    if (n == 0) break;
    done += n;
  }
  return done;
}

std::string EncodeParityHeader(const ParityHeader& h) {
  uint8_t p[kParityHeaderSize] = {};
  std::memcpy(p, kParityMagic.data(), kParityMagic.size());
  StoreU32(p + kVersionAt, kParityVersion);
  StoreU32(p + kHeaderSizeAt, kParityHeaderSize);
  std::memcpy(p + kBundleIdAt, h.bundle_id.data(), h.bundle_id.size());
  std::memcpy(p + kBundleDigestAt, h.bundle_digest.data(), h.bundle_digest.size());
  StoreU32(p + kDataCountAt, h.data_count);
  StoreU32(p + kParityCountAt, h.parity_count);
  StoreU32(p + kParityIndexAt, h.parity_index);
  StoreU32(p + kStripeSizeAt, h.stripe_size);
  StoreU64(p + kShardSizeAt, h.shard_size);
  const size_t sum_at = kParityHeaderSize - 8;
  StoreU64(p + sum_at, Xxh3(io::ByteView(p, sum_at)));
  return std::string(reinterpret_cast<const char*>(p), sizeof p);
}

Status AppendParityTables(const ParitySetInfo& info,
                          const std::vector<io::SequentialWriter*>& outputs) {
  Xxh3Stream sum;
  std::vector<uint8_t> chunk(info.shards.size() * kShardEntrySize);
  for (size_t i = 0; i < info.shards.size(); ++i) {
    EncodeShardEntry(info.shards[i], chunk.data() + i * kShardEntrySize);
  }
  sum.Update(chunk);
  SLUICE_RETURN_IF_ERROR(AppendToAll(outputs, chunk));
  for (size_t done = 0; done < info.row_checksums.size();) {
    const size_t n = std::min(kChecksumChunk, info.row_checksums.size() - done);
    chunk.resize(n * kRowChecksumSize);
    for (size_t i = 0; i < n; ++i) {
      StoreU64(chunk.data() + i * kRowChecksumSize, info.row_checksums[done + i]);
    }
    sum.Update(chunk);
    SLUICE_RETURN_IF_ERROR(AppendToAll(outputs, chunk));
    done += n;
  }
  uint8_t tail[kTablesChecksumSize];
  StoreU64(tail, sum.Digest());
  return AppendToAll(outputs, io::ByteView(tail, sizeof tail));
}

Result<ParityHeader> ReadParityHeader(const io::PositionalReader& file) {
  uint8_t prefix[kParityHeaderPrefixSize];
  SLUICE_ASSIGN_OR_RETURN(size_t got, ReadUpTo(file, 0, prefix));
  if (got < kParityMagic.size() ||
      std::memcmp(prefix, kParityMagic.data(), kParityMagic.size()) != 0) {
    return Damage(file, "not a sluice parity file: the magic" + At(0) + " is " +
                            Hex(prefix, std::min(got, kParityMagic.size())) + ", expected " +
                            Hex(kParityMagic.data(), kParityMagic.size()));
  }
  if (got < sizeof prefix) {
    return Damage(file, "truncated: the file ends after " + std::to_string(got) +
                            " bytes, inside the header");
  }
  const uint32_t header_size = LoadU32(prefix + kHeaderSizeAt);
  if (header_size < kParityMinHeaderSize || header_size > kParityMaxHeaderSize ||
      header_size % 8 != 0) {
    return Damage(file, "header_size" + At(kHeaderSizeAt) + " is " + std::to_string(header_size) +
                            "; must be a multiple of 8 from 96 to 4096");
  }
  std::vector<uint8_t> header(header_size);
  SLUICE_RETURN_IF_ERROR(ReadExactAt(file, 0, header, "the header"));
  const uint64_t stored = LoadU64(header.data() + header_size - 8);
  const uint64_t computed = Xxh3(io::ByteView(header.data(), header_size - 8));
  if (stored != computed) {
    return Damage(file, "header checksum" + At(header_size - 8) + " mismatch (stored " +
                            ChecksumText(stored) + ", computed " + ChecksumText(computed) +
                            "): a damaged header; use another parity file of the set");
  }
  const uint32_t version = LoadU32(header.data() + kVersionAt);
  if (version != kParityVersion) {
    return Status::Unsupported(file.name() + ": parity format version " + std::to_string(version) +
                               "; this build reads version " + std::to_string(kParityVersion) +
                               " (a newer sluice wrote it?)");
  }
  ParityHeader h = DecodeHeaderFields(header.data(), header_size);
  SLUICE_RETURN_IF_ERROR(CheckHeaderFields(file, h));
  const uint64_t tables_end = h.tables_offset() + h.tables_size();
  if (file.Size() < tables_end) {
    return Damage(file, "truncated: the header says its tables end at offset " +
                            std::to_string(tables_end) + ", the file has " +
                            std::to_string(file.Size()) + " bytes");
  }
  return h;
}

Result<ParitySetInfo> ReadParityTables(const io::PositionalReader& file,
                                       const ParityHeader& header) {
  ParitySetInfo info;
  info.header = header;
  const uint64_t start = header.tables_offset();
  Xxh3Stream sum;
  std::vector<uint8_t> chunk(header.data_count * kShardEntrySize);
  SLUICE_RETURN_IF_ERROR(ReadExactAt(file, start, chunk, "the shard table"));
  sum.Update(chunk);
  info.shards.reserve(header.data_count);
  for (size_t i = 0; i < header.data_count; ++i) {
    info.shards.push_back(DecodeShardEntry(chunk.data() + i * kShardEntrySize));
  }
  // ReadParityHeader checked the file holds every table byte, so this
  // allocation is bounded by the file's size.
  const uint64_t count = uint64_t{header.data_count + header.parity_count} * header.rows();
  info.row_checksums.resize(static_cast<size_t>(count));
  uint64_t at = start + chunk.size();
  for (size_t done = 0; done < count;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChecksumChunk, count - done));
    chunk.resize(n * kRowChecksumSize);
    SLUICE_RETURN_IF_ERROR(ReadExactAt(file, at, chunk, "the row checksums"));
    sum.Update(chunk);
    for (size_t i = 0; i < n; ++i) {
      info.row_checksums[done + i] = LoadU64(chunk.data() + i * kRowChecksumSize);
    }
    done += n;
    at += chunk.size();
  }
  uint8_t tail[kTablesChecksumSize];
  SLUICE_RETURN_IF_ERROR(ReadExactAt(file, at, tail, "the tables checksum"));
  const uint64_t stored = LoadU64(tail);
  const uint64_t computed = sum.Digest();
  if (stored != computed) {
    return Damage(file, "tables checksum" + At(at) + " mismatch (stored " + ChecksumText(stored) +
                            ", computed " + ChecksumText(computed) +
                            "): the shard table or row checksums from offset " +
                            std::to_string(start) + " are damaged; use another parity file");
  }
  SLUICE_RETURN_IF_ERROR(CheckShardTable(file, info));
  return info;
}

Status CheckParityFileSize(const io::PositionalReader& file, const ParityHeader& header) {
  if (file.Size() == header.file_size()) return Status::Ok();
  return Damage(
      file, "the file has " + std::to_string(file.Size()) + " bytes; its header and tables say " +
                std::to_string(header.file_size()) + " (" +
                (file.Size() < header.file_size() ? "truncated" : "bytes appended") + ")");
}

Result<ParitySetInfo> ReadParityFile(const io::PositionalReader& file) {
  SLUICE_ASSIGN_OR_RETURN(ParityHeader header, ReadParityHeader(file));
  SLUICE_ASSIGN_OR_RETURN(ParitySetInfo info, ReadParityTables(file, header));
  SLUICE_RETURN_IF_ERROR(CheckParityFileSize(file, header));
  return info;
}

}  // namespace sluice::format
