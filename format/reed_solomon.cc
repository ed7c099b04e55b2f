#include "format/reed_solomon.h"

#include <isa-l/erasure_code.h>

#include <cassert>
#include <string>

namespace sluice::format {

namespace {

// ISA-L takes arrays of non-const pointers even where it only reads them.
unsigned char** Unconst(const uint8_t* const* p) { return const_cast<unsigned char**>(p); }
unsigned char** Unconst(uint8_t* const* p) { return const_cast<unsigned char**>(p); }

}  // namespace

Result<ReedSolomon> ReedSolomon::Create(int data_count, int parity_count) {
  if (data_count < 1 || parity_count < 1 || data_count + parity_count > kMaxShards) {
    return Status::InvalidArgument("Reed-Solomon: " + std::to_string(data_count) + " data and " +
                                   std::to_string(parity_count) +
                                   " parity shards; each count must be at least 1 and their " +
                                   "sum at most " + std::to_string(kMaxShards));
  }
  return ReedSolomon(data_count, parity_count);
}

ReedSolomon::ReedSolomon(int k, int m)
    : k_(k),
      m_(m),
      matrix_(static_cast<size_t>(k + m) * k),
      encode_tables_(static_cast<size_t>(32) * k * m) {
  gf_gen_cauchy1_matrix(matrix_.data(), k + m, k);
  ec_init_tables(k, m, matrix_.data() + static_cast<size_t>(k) * k, encode_tables_.data());
}

ReedSolomon::~ReedSolomon() = default;

void ReedSolomon::Encode(std::span<const uint8_t* const> data, std::span<uint8_t* const> parity,
                         size_t len) const {
  assert(data.size() == static_cast<size_t>(k_) && parity.size() == static_cast<size_t>(m_));
  if (len == 0) return;
  ec_encode_data(static_cast<int>(len), k_, m_, const_cast<unsigned char*>(encode_tables_.data()),
                 Unconst(data.data()), Unconst(parity.data()));
}

// Decoding is encoding with another matrix: take the rows of the generator
// matrix of k present shards (a k x k matrix B, invertible because every
// square submatrix of [I; Cauchy] is), invert it, and a lost data shard d is
// row d of B^-1 applied to those k shards; a lost parity shard p is its
// generator row times B^-1.
Status ReedSolomon::PrepareDecode(const std::vector<bool>& present) {
  if (present == decode_present_) return Status::Ok();
  const int n = k_ + m_;
  std::vector<int> sources;
  std::vector<int> targets;
  for (int i = 0; i < n; ++i) {
    if (!present[i]) {
      targets.push_back(i);
    } else if (static_cast<int>(sources.size()) < k_) {
      sources.push_back(i);
    }
  }
  if (static_cast<int>(targets.size()) > m_) {
    return Status::InvalidArgument("Reed-Solomon: " + std::to_string(targets.size()) + " of " +
                                   std::to_string(n) + " shards missing; at most " +
                                   std::to_string(m_) + " can be rebuilt");
  }
  const size_t k = static_cast<size_t>(k_);
  std::vector<uint8_t> b(k * k);
  std::vector<uint8_t> inverse(k * k);
  for (size_t r = 0; r < k; ++r) {
    for (size_t c = 0; c < k; ++c) b[r * k + c] = matrix_[sources[r] * k + c];
  }
  if (gf_invert_matrix(b.data(), inverse.data(), k_) != 0) {
    // Cannot happen for a Cauchy code; say so rather than rebuild garbage.
    return Status::InvalidArgument("Reed-Solomon: the decode matrix is singular");
  }
  std::vector<uint8_t> rows(targets.size() * k);
  for (size_t t = 0; t < targets.size(); ++t) {
    uint8_t* row = rows.data() + t * k;
    const size_t e = static_cast<size_t>(targets[t]);
    if (e < k) {
      for (size_t c = 0; c < k; ++c) row[c] = inverse[e * k + c];
      continue;
    }
    for (size_t c = 0; c < k; ++c) {
      uint8_t s = 0;
      for (size_t i = 0; i < k; ++i) s ^= gf_mul(matrix_[e * k + i], inverse[i * k + c]);
      row[c] = s;
    }
  }
  decode_tables_.assign(32 * k * targets.size(), 0);
  if (!targets.empty()) {
    ec_init_tables(k_, static_cast<int>(targets.size()), rows.data(), decode_tables_.data());
  }
  decode_present_ = present;
  decode_sources_ = std::move(sources);
  decode_targets_ = std::move(targets);
  return Status::Ok();
}

Status ReedSolomon::Reconstruct(std::span<uint8_t* const> shards, const std::vector<bool>& present,
                                size_t len) {
  assert(shards.size() == static_cast<size_t>(k_ + m_) && present.size() == shards.size());
  SLUICE_RETURN_IF_ERROR(PrepareDecode(present));
  if (decode_targets_.empty() || len == 0) return Status::Ok();
  std::vector<uint8_t*> sources(decode_sources_.size());
  std::vector<uint8_t*> targets(decode_targets_.size());
  for (size_t i = 0; i < sources.size(); ++i) sources[i] = shards[decode_sources_[i]];
  for (size_t i = 0; i < targets.size(); ++i) targets[i] = shards[decode_targets_[i]];
  ec_encode_data(static_cast<int>(len), k_, static_cast<int>(targets.size()), decode_tables_.data(),
                 sources.data(), targets.data());
  return Status::Ok();
}

}  // namespace sluice::format
