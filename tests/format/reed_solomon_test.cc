// The Reed-Solomon wrapper against arithmetic done here by hand: the parity
// PARITY.md section 5 defines, and every way of losing up to m shards.
#include "format/reed_solomon.h"

#include <catch2/catch.hpp>

#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include "tests/support/files.h"

namespace sluice::format {
namespace {

// GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D), bit by bit:
// no tables shared with ISA-L.
uint8_t GfMul(uint8_t a, uint8_t b) {
  uint8_t p = 0;
  while (b != 0) {
    if (b & 1) p ^= a;
    const bool carry = a & 0x80;
    a = static_cast<uint8_t>(a << 1);
    if (carry) a ^= 0x1D;
    b >>= 1;
  }
  return p;
}

uint8_t GfInv(uint8_t a) {
  for (int x = 1; x < 256; ++x) {
    if (GfMul(a, static_cast<uint8_t>(x)) == 1) return static_cast<uint8_t>(x);
  }
  return 0;
}

// Parity p of data shards `data` as PARITY.md section 5 defines it: byte b
// is the sum over j of inverse((k + p) xor j) times data[j][b].
std::string ExpectedParity(const std::vector<std::string>& data, int p) {
  const int k = static_cast<int>(data.size());
  std::string out(data[0].size(), '\0');
  for (int j = 0; j < k; ++j) {
    const uint8_t c = GfInv(static_cast<uint8_t>((k + p) ^ j));
    for (size_t b = 0; b < out.size(); ++b) {
      out[b] = static_cast<char>(static_cast<uint8_t>(out[b]) ^
                                 GfMul(c, static_cast<uint8_t>(data[j][b])));
    }
  }
  return out;
}

struct Shards {
  std::vector<std::string> bytes;  // k data then m parity

  std::vector<const uint8_t*> Data(int k) const {
    std::vector<const uint8_t*> p;
    for (int i = 0; i < k; ++i) p.push_back(reinterpret_cast<const uint8_t*>(bytes[i].data()));
    return p;
  }
  std::vector<uint8_t*> All() {
    std::vector<uint8_t*> p;
    for (std::string& s : bytes) p.push_back(reinterpret_cast<uint8_t*>(s.data()));
    return p;
  }
};

Shards Encoded(ReedSolomon& rs, size_t len, uint64_t seed) {
  const int k = rs.data_count();
  Shards s;
  for (int i = 0; i < k; ++i) s.bytes.push_back(testing::RandomBytes(len, seed + i));
  for (int p = 0; p < rs.parity_count(); ++p) s.bytes.emplace_back(len, '\0');
  std::vector<uint8_t*> all = s.All();
  rs.Encode(s.Data(k), std::span<uint8_t* const>(all).subspan(k), len);
  return s;
}

TEST_CASE("Reed-Solomon refuses shard counts out of range") {
  CHECK(ReedSolomon::Create(0, 1).status().kind() == ErrorKind::kInvalidArgument);
  CHECK(ReedSolomon::Create(1, 0).status().kind() == ErrorKind::kInvalidArgument);
  CHECK(ReedSolomon::Create(-1, 2).status().kind() == ErrorKind::kInvalidArgument);
  CHECK(ReedSolomon::Create(200, 56).status().kind() == ErrorKind::kInvalidArgument);
  CHECK_THAT(ReedSolomon::Create(200, 56).status().message(), Catch::Contains("at most 255"));
  CHECK(ReedSolomon::Create(254, 1).ok());
  CHECK(ReedSolomon::Create(1, 254).ok());
}

TEST_CASE("Reed-Solomon parity is the Cauchy code of PARITY.md, at every length") {
  // Lengths around ISA-L's vector widths, so its tail handling is covered.
  for (auto [k, m] : {std::pair{1, 1}, {4, 2}, {10, 4}, {3, 7}}) {
    Result<ReedSolomon> rs = ReedSolomon::Create(k, m);
    REQUIRE(rs.ok());
    for (size_t len : {1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 4096, 4097}) {
      INFO("k " << k << " m " << m << " len " << len);
      Shards s = Encoded(*rs, len, len * 7 + k);
      std::vector<std::string> data(s.bytes.begin(), s.bytes.begin() + k);
      for (int p = 0; p < m; ++p) CHECK(s.bytes[k + p] == ExpectedParity(data, p));
    }
  }
}

TEST_CASE("Reed-Solomon with one parity shard is not plain XOR, as PARITY.md says") {
  // Guards the worked example: the coefficients of a 2+1 set are 1/2 and 1/3.
  CHECK(GfInv(2) == 0x8E);
  CHECK(GfInv(3) == 0xF4);
  Result<ReedSolomon> rs = ReedSolomon::Create(2, 1);
  REQUIRE(rs.ok());
  Shards s;
  s.bytes = {std::string("\x01", 1), std::string("\x01", 1), std::string(1, '\0')};
  std::vector<uint8_t*> all = s.All();
  rs->Encode(s.Data(2), std::span<uint8_t* const>(all).subspan(2), 1);
  CHECK(static_cast<uint8_t>(s.bytes[2][0]) == (0x8E ^ 0xF4));
}

// Every subset of the k + m shards of size 1..m (as bit masks).
std::vector<uint32_t> LossPatterns(int n, int max_lost) {
  std::vector<uint32_t> out;
  for (uint32_t mask = 1; mask < (1u << n); ++mask) {
    if (std::popcount(mask) <= max_lost) out.push_back(mask);
  }
  return out;
}

TEST_CASE("Reed-Solomon rebuilds every combination of up to m lost shards") {
  for (auto [k, m] : {std::pair{4, 2}, {5, 3}, {2, 4}}) {
    Result<ReedSolomon> rs = ReedSolomon::Create(k, m);
    REQUIRE(rs.ok());
    const Shards original = Encoded(*rs, 1000, 99);
    // One object for all patterns: its kept tables must follow the pattern.
    for (uint32_t mask : LossPatterns(k + m, m)) {
      INFO("k " << k << " m " << m << " lost mask " << mask);
      Shards s = original;
      std::vector<bool> present(k + m, true);
      for (int i = 0; i < k + m; ++i) {
        if (mask & (1u << i)) {
          present[i] = false;
          std::memset(s.bytes[i].data(), 0xA5, s.bytes[i].size());
        }
      }
      std::vector<uint8_t*> all = s.All();
      REQUIRE(rs->Reconstruct(all, present, 1000).ok());
      CHECK(s.bytes == original.bytes);
    }
  }
}

TEST_CASE("Reed-Solomon refuses more than m lost shards and leaves the buffers alone") {
  Result<ReedSolomon> rs = ReedSolomon::Create(4, 2);
  REQUIRE(rs.ok());
  Shards s = Encoded(*rs, 64, 5);
  const Shards before = s;
  std::vector<bool> present = {false, true, false, true, true, false};
  std::vector<uint8_t*> all = s.All();
  Status st = rs->Reconstruct(all, present, 64);
  CHECK(st.kind() == ErrorKind::kInvalidArgument);
  CHECK_THAT(st.message(), Catch::Contains("3 of 6 shards missing"));
  CHECK(s.bytes == before.bytes);
}

TEST_CASE("Reed-Solomon rebuilds with the largest set the format allows") {
  Result<ReedSolomon> rs = ReedSolomon::Create(200, 55);
  REQUIRE(rs.ok());
  const Shards original = Encoded(*rs, 256, 3);
  Shards s = original;
  std::vector<bool> present(255, true);
  // 40 data shards and 15 parity shards lost.
  for (int i = 0; i < 40; ++i) present[i * 5] = false;
  for (int i = 0; i < 15; ++i) present[200 + i * 3] = false;
  for (int i = 0; i < 255; ++i) {
    if (!present[i]) s.bytes[i].assign(256, '\0');
  }
  std::vector<uint8_t*> all = s.All();
  REQUIRE(rs->Reconstruct(all, present, 256).ok());
  CHECK(s.bytes == original.bytes);
}

}  // namespace
}  // namespace sluice::format
