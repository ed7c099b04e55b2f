// Reed-Solomon erasure coding over GF(2^8), a thin wrapper of ISA-L
// (PARITY.md section 5). k data shards and m parity shards of equal length;
// parity shard p is row k + p of the (k + m) x k matrix that ISA-L's
// gf_gen_cauchy1_matrix(k + m, k) builds (identity on top, Cauchy below), so
// any k of the k + m shards determine the others.
//
// Kept behind this header so isa-l/erasure_code.h stays in one .cc file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "io/status.h"

namespace sluice::format {

class ReedSolomon {
 public:
  // Data and parity shards together; GF(2^8) Cauchy codes exist up to 256,
  // the parity format stops at 255 (PARITY.md section 7).
  static constexpr int kMaxShards = 255;

  // kInvalidArgument unless data_count >= 1, parity_count >= 1 and
  // data_count + parity_count <= kMaxShards.
  static Result<ReedSolomon> Create(int data_count, int parity_count);

  ReedSolomon(ReedSolomon&&) noexcept = default;
  ReedSolomon& operator=(ReedSolomon&&) noexcept = default;
  ReedSolomon(const ReedSolomon&) = delete;
  ReedSolomon& operator=(const ReedSolomon&) = delete;
  ~ReedSolomon();

  int data_count() const { return k_; }
  int parity_count() const { return m_; }

  // Computes the m parity shards of the k data shards, `len` bytes each.
  // `data` has k pointers, `parity` m; buffers must not overlap. Thread-safe.
  void Encode(std::span<const uint8_t* const> data, std::span<uint8_t* const> parity,
              size_t len) const;

  // `shards` holds k + m pointers (data 0..k-1, then parity 0..m-1) to `len`
  // bytes each; present[i] says whether shard i holds its bytes. Rebuilds
  // every shard that is not present, in place, from the first k present
  // ones. kInvalidArgument (and nothing written) when more than m are
  // missing. The tables for one pattern of missing shards are kept for the
  // next call, so rebuilding many rows with the same shards lost inverts
  // one matrix. Not thread-safe (the kept tables): one object per thread.
  Status Reconstruct(std::span<uint8_t* const> shards, const std::vector<bool>& present,
                     size_t len);

 private:
  ReedSolomon(int k, int m);
  Status PrepareDecode(const std::vector<bool>& present);

  int k_ = 0;
  int m_ = 0;
  std::vector<uint8_t> matrix_;         // (k + m) x k, row-major
  std::vector<uint8_t> encode_tables_;  // ec_init_tables of rows k..k+m-1
  // The decode of the last pattern: which shards it read and rebuilt.
  std::vector<bool> decode_present_;
  std::vector<int> decode_sources_;
  std::vector<int> decode_targets_;
  std::vector<uint8_t> decode_tables_;
};

}  // namespace sluice::format
