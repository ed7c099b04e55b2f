// WriteParity and the segments of a single file (PARITY.md sections 2 and 6).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "format/checksum.h"
#include "format/crypto.h"
#include "format/parity.h"
#include "format/parity_format.h"
#include "format/parity_tables.h"
#include "format/reed_solomon.h"
#include "format/side_thread.h"

namespace sluice::format {
namespace {

std::string ShardName(const std::vector<DataShard>& data, size_t i) {
  const DataShard& s = data[i];
  return "data shard " + std::to_string(i) + " (volume " + std::to_string(s.volume_number) + ", " +
         (s.file ? s.file->name() : std::string("no file")) + ", bytes " +
         std::to_string(s.offset) + ".." + std::to_string(s.offset + s.length) + ")";
}

// What WriteParity needs of its arguments; returns the shard size L.
Result<uint64_t> CheckArguments(const std::vector<DataShard>& data, const ParityParams& params,
                                const std::vector<io::SequentialWriter*>& outputs) {
  const size_t k = data.size();
  const size_t m = outputs.size();
  if (k < 1 || m < 1 || k + m > kMaxParityShards) {
    return Status::InvalidArgument("parity: " + std::to_string(k) + " data shards and " +
                                   std::to_string(m) + " parity files; need at least one " +
                                   "of each and at most " + std::to_string(kMaxParityShards) +
                                   " together");
  }
  const uint32_t s = params.stripe_size;
  if (s < kMinStripeSize || s > kMaxStripeSize || s % kStripeAlignment != 0) {
    return Status::InvalidArgument("parity: stripe size " + std::to_string(s) +
                                   " is not a multiple of 4096 from 4096 to " +
                                   std::to_string(kMaxStripeSize));
  }
  uint64_t longest = 0;
  for (size_t i = 0; i < k; ++i) {
    const DataShard& d = data[i];
    if (d.file == nullptr)
      return Status::InvalidArgument("parity: " + ShardName(data, i) + " has no file");
    if (d.volume_number == 0) {
      return Status::InvalidArgument("parity: " + ShardName(data, i) +
                                     ": volume numbers count from 1");
    }
    if (d.offset > UINT64_MAX - d.length || d.file->Size() < d.offset + d.length) {
      return Status::InvalidArgument("parity: " + ShardName(data, i) + " lies beyond the end of " +
                                     d.file->name() + " (" + std::to_string(d.file->Size()) +
                                     " bytes)");
    }
    longest = std::max(longest, d.length);
  }
  for (size_t p = 0; p < m; ++p) {
    if (outputs[p] == nullptr) {
      return Status::InvalidArgument("parity: no writer for parity file " + std::to_string(p));
    }
  }
  if (longest == 0) return Status::InvalidArgument("parity: every data shard is empty");
  if (longest > kMaxShardSize) {
    return Status::InvalidArgument("parity: a data shard of " + std::to_string(longest) +
                                   " bytes exceeds the format's limit of " +
                                   std::to_string(kMaxShardSize));
  }
  return longest;
}

// The row buffers of one pass over the data: k data rows and m parity rows
// (of S bytes, or L if shorter), and the code that fills them.
class RowEncoder {
 public:
  RowEncoder(const std::vector<DataShard>& data, const ParitySetInfo& info, ReedSolomon* rs)
      : data_(data),
        info_(info),
        rs_(rs),
        k_(info.data_count()),
        m_(info.parity_count()),
        row_capacity_(static_cast<size_t>(info.header.row_length(0))),
        buffers_((k_ + m_) * row_capacity_) {}

  // Reads row `row` of every data shard (zero-padded to the row's length),
  // feeding its real bytes to hashers[i] when given, and computes the parity
  // rows. Checksums of the real bytes are in checksum(shard) afterwards. The
  // side thread reads and hashes the first half of the data shards.
  Status Encode(uint64_t row, std::vector<Sha256>* hashers) {
    const uint32_t half = k_ / 2;
    Status side;
    if (half > 0) side_.Start([&] { side = ReadRows(row, 0, half, hashers); });
    Status mine = ReadRows(row, half, k_, hashers);
    side_.Join();
    SLUICE_RETURN_IF_ERROR(side);
    SLUICE_RETURN_IF_ERROR(mine);
    const uint64_t len = info_.header.row_length(row);
    std::vector<const uint8_t*> in(k_);
    std::vector<uint8_t*> out(m_);
    for (uint32_t i = 0; i < k_; ++i) in[i] = row_buffer(i);
    for (uint32_t p = 0; p < m_; ++p) out[p] = row_buffer(k_ + p);
    rs_->Encode(in, out, len);
    for (uint32_t p = 0; p < m_; ++p) {
      checksums_[k_ + p] = Xxh3(io::ByteView(row_buffer(k_ + p), len));
    }
    return Status::Ok();
  }

  uint8_t* row_buffer(uint32_t shard) { return buffers_.data() + shard * row_capacity_; }
  uint64_t checksum(uint32_t shard) const { return checksums_[shard]; }

 private:
  // Reads, pads and hashes row `row` of data shards [first, end).
  Status ReadRows(uint64_t row, uint32_t first, uint32_t end, std::vector<Sha256>* hashers) {
    const uint64_t len = info_.header.row_length(row);
    for (uint32_t i = first; i < end; ++i) {
      uint8_t* buf = row_buffer(i);
      const uint64_t real = info_.RowBytes(i, row);
      const DataShard& d = data_[i];
      const uint64_t at = d.offset + row * info_.header.stripe_size;
      SLUICE_ASSIGN_OR_RETURN(size_t got, ReadUpTo(*d.file, at, io::MutableBytes(buf, real)));
      if (got < real) {
        return Status::IoError(d.file->name() + ": ended at offset " + std::to_string(at + got) +
                               " while the parity of " + ShardName(data_, i) +
                               " was written; it changed meanwhile, write the parity again");
      }
      std::memset(buf + real, 0, len - real);
      checksums_[i] = Xxh3(io::ByteView(buf, real));
      if (hashers != nullptr) (*hashers)[i].Update(io::ByteView(buf, real));
    }
    return Status::Ok();
  }

  const std::vector<DataShard>& data_;
  const ParitySetInfo& info_;
  ReedSolomon* rs_;
  const uint32_t k_;
  const uint32_t m_;
  const size_t row_capacity_;  // the longest row: S, or L if shorter
  std::vector<uint8_t> buffers_;
  std::vector<uint64_t> checksums_ = std::vector<uint64_t>(k_ + m_);
  SideThread side_;
};

// First pass: every row checksum and every shard's SHA-256, into `info`
// (whose shards have their place already).
Status ComputeTables(RowEncoder* encoder, ParitySetInfo* info) {
  const uint32_t k = info->data_count();
  const uint32_t n = k + info->parity_count();
  const uint64_t rows = info->rows();
  std::vector<Sha256> hashers(k);
  info->row_checksums.assign(static_cast<size_t>(n * rows), 0);
  for (uint64_t r = 0; r < rows; ++r) {
    SLUICE_RETURN_IF_ERROR(encoder->Encode(r, &hashers));
    for (uint32_t i = 0; i < n; ++i) info->row_checksums[i * rows + r] = encoder->checksum(i);
  }
  for (uint32_t i = 0; i < k; ++i) info->shards[i].sha256 = hashers[i].FinishRaw();
  return Status::Ok();
}

// Second pass: the parity bytes, each data row checked against the first
// pass so the tables describe exactly the bytes the parity was computed from.
Status AppendParityRows(const std::vector<DataShard>& data, const ParitySetInfo& info,
                        RowEncoder* encoder, const std::vector<io::SequentialWriter*>& outputs) {
  const uint32_t k = info.data_count();
  const uint64_t rows = info.rows();
  for (uint64_t r = 0; r < rows; ++r) {
    SLUICE_RETURN_IF_ERROR(encoder->Encode(r, nullptr));
    for (uint32_t i = 0; i < k + info.parity_count(); ++i) {
      if (encoder->checksum(i) == info.RowChecksum(i, r)) continue;
      return Status::IoError(
          (i < k ? ShardName(data, i) : "parity " + std::to_string(i - k)) + ": row " +
          std::to_string(r) + " read differently the second time (checksum " +
          ChecksumText(encoder->checksum(i)) + ", first " + ChecksumText(info.RowChecksum(i, r)) +
          "); the file changed while its parity was written, write the parity again");
    }
    const uint64_t len = info.header.row_length(r);
    for (uint32_t p = 0; p < info.parity_count(); ++p) {
      SLUICE_RETURN_IF_ERROR(outputs[p]->Append(io::ByteView(encoder->row_buffer(k + p), len)));
    }
  }
  return Status::Ok();
}

}  // namespace

Status WriteParity(const std::vector<DataShard>& data, const ParityParams& params,
                   const std::vector<io::SequentialWriter*>& outputs) {
  SLUICE_ASSIGN_OR_RETURN(const uint64_t shard_size, CheckArguments(data, params, outputs));
  const uint32_t k = static_cast<uint32_t>(data.size());
  const uint32_t m = static_cast<uint32_t>(outputs.size());
  SLUICE_ASSIGN_OR_RETURN(ReedSolomon rs,
                          ReedSolomon::Create(static_cast<int>(k), static_cast<int>(m)));
  ParitySetInfo info;
  info.header.bundle_id = params.bundle_id;
  info.header.bundle_digest = params.bundle_digest;
  info.header.data_count = k;
  info.header.parity_count = m;
  info.header.stripe_size = params.stripe_size;
  info.header.shard_size = shard_size;
  for (const DataShard& d : data) info.shards.push_back({d.volume_number, d.offset, d.length, {}});

  RowEncoder encoder(data, info, &rs);
  SLUICE_RETURN_IF_ERROR(ComputeTables(&encoder, &info));
  for (uint32_t p = 0; p < m; ++p) {
    ParityHeader h = info.header;
    h.parity_index = p;
    SLUICE_RETURN_IF_ERROR(outputs[p]->Append(io::AsBytes(EncodeParityHeader(h))));
  }
  SLUICE_RETURN_IF_ERROR(AppendParityTables(info, outputs));
  return AppendParityRows(data, info, &encoder, outputs);
}

uint32_t DefaultSegmentCount(uint64_t size, uint32_t stripe_size) {
  const uint64_t rows = stripe_size == 0 ? 0 : (size + stripe_size - 1) / stripe_size;
  return static_cast<uint32_t>(std::clamp<uint64_t>(rows, 1, kDefaultSegmentCount));
}

std::vector<DataShard> SegmentShards(const io::PositionalReader* file, uint64_t size,
                                     uint32_t count, uint32_t stripe_size) {
  const uint64_t rows = (size + stripe_size - 1) / stripe_size;
  const uint64_t n = std::clamp<uint64_t>(count, 1, std::max<uint64_t>(rows, 1));
  std::vector<DataShard> shards;
  uint64_t offset = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t shard_rows = rows / n + (i < rows % n ? 1 : 0);
    const uint64_t end = std::min(size, offset + shard_rows * stripe_size);
    shards.push_back({file, 1, offset, end - offset});
    offset = end;
  }
  return shards;
}

}  // namespace sluice::format
