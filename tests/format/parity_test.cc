// Parity files (PARITY.md): the bytes the writer produces, what the reader
// refuses, and rebuilding data lost in every way up to what the code allows.
#include "format/parity.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/checksum.h"
#include "format/crypto.h"
#include "format/endian.h"
#include "io/fault_injection_file_system.h"
#include "io/memory_file_system.h"
#include "tests/format/string_io.h"
#include "tests/support/files.h"

namespace sluice::format {
namespace {

using testing::StringWriter;

constexpr uint32_t kStripe = 4096;

// A named file in memory, whose bytes a test may change between opening a
// set and reading it.
class MemFile final : public io::PositionalReader {
 public:
  MemFile(std::string name, std::string data) : name_(std::move(name)), data_(std::move(data)) {}
  Result<size_t> ReadAt(uint64_t offset, io::MutableBytes buf) const override {
    ++reads_;
    if (offset >= data_.size()) return size_t{0};
    const size_t n = std::min<uint64_t>(buf.size(), data_.size() - offset);
    std::memcpy(buf.data(), data_.data() + offset, n);
    return n;
  }
  uint64_t Size() const override { return data_.size(); }
  const std::string& name() const override { return name_; }

  std::string& data() { return data_; }
  uint64_t reads() const { return reads_; }

 private:
  std::string name_;
  std::string data_;
  mutable std::atomic<uint64_t> reads_{0};  // the writer reads on two threads
};

ParityParams TestParams(uint32_t stripe = kStripe) {
  ParityParams p;
  for (int i = 0; i < 16; ++i) p.bundle_id[i] = static_cast<uint8_t>(0x10 + i);
  p.bundle_digest = [] {
    Sha256 h;
    h.Update(io::AsBytes("header||catalog"));
    return h.FinishRaw();
  }();
  p.stripe_size = stripe;
  return p;
}

std::string VolumeName(size_t v) { return "b.sluice." + std::to_string(v); }
std::string ParityName(size_t p) { return "b.sluice.par" + std::to_string(p); }

// Parity files for volumes, each volume one shard.
std::vector<std::string> WriteVolumeParity(const std::vector<std::string>& volumes, uint32_t m,
                                           const ParityParams& params = TestParams()) {
  std::vector<std::unique_ptr<MemFile>> files;
  std::vector<DataShard> shards;
  for (size_t i = 0; i < volumes.size(); ++i) {
    files.push_back(std::make_unique<MemFile>(VolumeName(i + 1), volumes[i]));
    shards.push_back({files.back().get(), static_cast<uint32_t>(i + 1), 0, volumes[i].size()});
  }
  std::vector<StringWriter> writers(m);
  std::vector<io::SequentialWriter*> outputs;
  for (StringWriter& w : writers) outputs.push_back(&w);
  Status s = WriteParity(shards, params, outputs);
  REQUIRE(s.ok());
  std::vector<std::string> out;
  for (const StringWriter& w : writers) out.push_back(w.contents());
  return out;
}

std::vector<std::string> TestVolumes(const std::vector<size_t>& lengths, uint64_t seed = 1) {
  std::vector<std::string> v;
  for (size_t i = 0; i < lengths.size(); ++i)
    v.push_back(::sluice::testing::RandomBytes(lengths[i], seed + i));
  return v;
}

// Four volumes of unequal lengths: the longest (5 rows, the last of 100
// bytes) sets the shard size; one ends on a row boundary, one a byte into
// its second row.
const std::vector<size_t> kLengths = {4 * kStripe + 100, 2 * kStripe, kStripe + 1, 16000};
constexpr uint64_t kRows = 5;

// Where parity row `row` starts in a parity file of a k + m set.
uint64_t ParityRowOffset(uint64_t k, uint64_t m, uint64_t rows, uint64_t row) {
  return 96 + k * 64 + (k + m) * rows * 8 + 8 + row * kStripe;
}

// Flips a byte in the middle of [start, start + length) of `file`.
void Flip(std::string* file, uint64_t start, uint64_t length) {
  (*file)[start + length / 2] ^= 0x5A;
}

// The files as found on the far side: nullopt is a missing file.
struct Found {
  std::vector<std::unique_ptr<MemFile>> files;
  std::vector<const io::PositionalReader*> volumes;
  std::vector<const io::PositionalReader*> parity;
  std::unique_ptr<ParitySet> set;

  Found(const std::vector<std::optional<std::string>>& volume_bytes,
        const std::vector<std::optional<std::string>>& parity_bytes) {
    auto add = [&](const std::optional<std::string>& b, std::string name) {
      if (!b) return static_cast<const io::PositionalReader*>(nullptr);
      files.push_back(std::make_unique<MemFile>(std::move(name), *b));
      return static_cast<const io::PositionalReader*>(files.back().get());
    };
    for (size_t i = 0; i < volume_bytes.size(); ++i) {
      volumes.push_back(add(volume_bytes[i], VolumeName(i + 1)));
    }
    for (size_t p = 0; p < parity_bytes.size(); ++p) {
      parity.push_back(add(parity_bytes[p], ParityName(p)));
    }
  }

  // Opens the set from the parity files and attaches the volumes.
  Status Open() {
    Result<std::unique_ptr<ParitySet>> s = ParitySet::Open(parity);
    if (!s.ok()) return s.status();
    set = std::move(s).value();
    for (size_t i = 0; i < volumes.size(); ++i) {
      SLUICE_RETURN_IF_ERROR(set->SetVolumeFile(static_cast<uint32_t>(i + 1), volumes[i]));
    }
    return Status::Ok();
  }
};

std::vector<std::optional<std::string>> All(const std::vector<std::string>& v) {
  return {v.begin(), v.end()};
}

Result<std::string> RebuildVolume(const ParitySet& set, uint32_t volume) {
  StringWriter out;
  Status s = set.RebuildVolume(volume, &out);
  if (!s.ok()) return s;
  return out.contents();
}

Result<std::string> RepairParity(const ParitySet& set, uint32_t p) {
  StringWriter out;
  Status s = set.RepairParityFile(p, &out);
  if (!s.ok()) return s;
  return out.contents();
}

std::vector<RowRange> Rows(std::initializer_list<RowRange> r) { return r; }

// ---- the bytes written ----

TEST_CASE("parity header is the bytes of PARITY.md section 3") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  const ParityParams params = TestParams();
  for (uint32_t p = 0; p < 2; ++p) {
    std::string want;
    want += std::string("\x89SLUPAR\n", 8);
    PutU32(&want, 1);
    PutU32(&want, 96);
    want += std::string(reinterpret_cast<const char*>(params.bundle_id.data()), 16);
    want += std::string(reinterpret_cast<const char*>(params.bundle_digest.data()), 32);
    PutU32(&want, 4);
    PutU32(&want, 2);
    PutU32(&want, p);
    PutU32(&want, kStripe);
    PutU64(&want, kLengths[0]);
    PutU64(&want, Xxh3(io::AsBytes(want)));
    CHECK(parity[p].substr(0, 96) == want);
    CHECK(parity[p].size() == ParityRowOffset(4, 2, kRows, 0) + kLengths[0]);
  }
  // The tables are the same in every parity file; the parity bytes differ.
  const size_t tables_end = ParityRowOffset(4, 2, kRows, 0);
  CHECK(parity[0].substr(96, tables_end - 96) == parity[1].substr(96, tables_end - 96));
  CHECK(parity[0].substr(tables_end) != parity[1].substr(tables_end));
}

// The worked example of PARITY.md section 11, as its hex dump shows it.
const char kWorkedExample[] =
    "89534c555041520a0100000060000000"  // 0000
    "101112131415161718191a1b1c1d1e1f"  // 0010
    "e3b0c44298fc1c149afbf4c8996fb924"  // 0020
    "27ae41e4649b934ca495991b7852b855"  // 0030
    "02000000010000000000000000100000"  // 0040
    "0600000000000000cd985daea7174c2c"  // 0050
    "01000000000000000000000000000000"  // 0060
    "05000000000000002cf24dba5fb0a30e"  // 0070
    "26e83b2ac5b9e29e1b161e5c1fa7425e"  // 0080
    "73043362938b98240000000000000000"  // 0090
    "02000000000000000000000000000000"  // 00a0
    "0600000000000000711e9609339e92b0"  // 00b0
    "3ddc0a211827dba421f38f9ed8b9d806"  // 00c0
    "e1ffdd8c15ffa03d0000000000000000"  // 00d0
    "fddc625c55e855952551309def3cc2af"  // 00e0
    "02351b21bfd982f449c0c5d8f3da6190"  // 00f0
    "199918126e1f";                     // 0100

std::string FromHex(std::string_view hex) {
  std::string out;
  int half = -1;
  for (char c : hex) {
    const int v = c <= '9' ? c - '0' : c - 'a' + 10;
    if (half < 0) {
      half = v;
    } else {
      out.push_back(static_cast<char>(half * 16 + v));
      half = -1;
    }
  }
  return out;
}

TEST_CASE("writer reproduces the worked example of PARITY.md byte for byte") {
  const std::string want = FromHex(kWorkedExample);
  REQUIRE(want.size() == 262);
  ParityParams params = TestParams();
  Sha256 empty;
  params.bundle_digest = empty.FinishRaw();
  const std::vector<std::string> parity = WriteVolumeParity({"hello", "world!"}, 1, params);
  CHECK(parity[0] == want);
  MemFile f("example.par", want);
  Result<ParitySetInfo> info = ReadParityFile(f);
  REQUIRE(info.ok());
  CHECK(info->header.shard_size == 6);
  CHECK(info->RowChecksum(0, 0) == Xxh3(io::AsBytes("hello")));
}

TEST_CASE("parity tables hold each shard's place and SHA-256 and every row's checksum") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  MemFile file("p", parity[1]);
  Result<ParitySetInfo> info = ReadParityFile(file);
  REQUIRE(info.ok());
  CHECK(info->header.parity_index == 1);
  CHECK(info->rows() == kRows);
  REQUIRE(info->shards.size() == 4);
  for (uint32_t i = 0; i < 4; ++i) {
    INFO("shard " << i);
    CHECK(info->shards[i].volume_number == i + 1);
    CHECK(info->shards[i].offset == 0);
    CHECK(info->shards[i].length == kLengths[i]);
    CHECK(Digest::FromRaw(info->shards[i].sha256) == Sha256::Of(volumes[i]));
    for (uint64_t r = 0; r < kRows; ++r) {
      // A row covers the shard's real bytes only: none past its end.
      const size_t start = std::min<size_t>(r * kStripe, volumes[i].size());
      const std::string row = volumes[i].substr(start, kStripe);
      CHECK(info->RowChecksum(i, r) == Xxh3(io::AsBytes(row)));
      CHECK(info->RowBytes(i, r) == row.size());
    }
  }
  // Parity rows: the row's length, the last one short.
  for (uint32_t p = 0; p < 2; ++p) {
    for (uint64_t r = 0; r < kRows; ++r) {
      const std::string row =
          parity[p].substr(ParityRowOffset(4, 2, kRows, r), r + 1 < kRows ? kStripe : 100);
      CHECK(info->RowChecksum(4 + p, r) == Xxh3(io::AsBytes(row)));
    }
  }
  // The reserved fields of every entry are zero.
  for (uint32_t i = 0; i < 4; ++i) {
    const size_t e = 96 + i * 64;
    CHECK(LoadU32(reinterpret_cast<const uint8_t*>(parity[0].data() + e + 4)) == 0);
    CHECK(LoadU64(reinterpret_cast<const uint8_t*>(parity[0].data() + e + 56)) == 0);
  }
}

TEST_CASE("parity writer refuses what the format cannot describe") {
  MemFile a("a", std::string(5000, 'a'));
  StringWriter w1, w2;
  std::vector<io::SequentialWriter*> two = {&w1, &w2};
  auto write = [&](std::vector<DataShard> data, ParityParams params,
                   std::vector<io::SequentialWriter*> out) {
    return WriteParity(data, params, out).kind();
  };
  const auto kInvalid = ErrorKind::kInvalidArgument;
  CHECK(write({}, TestParams(), two) == kInvalid);
  CHECK(write({{&a, 1, 0, 5000}}, TestParams(), {}) == kInvalid);
  CHECK(write({{&a, 1, 0, 5000}}, TestParams(4095), two) == kInvalid);
  CHECK(write({{&a, 1, 0, 5000}}, TestParams(6000), two) == kInvalid);
  CHECK(write({{&a, 1, 0, 5000}}, TestParams(32u << 20), two) == kInvalid);
  CHECK(write({{&a, 1, 0, 0}}, TestParams(), two) == kInvalid);          // nothing to protect
  CHECK(write({{&a, 1, 1, 5000}}, TestParams(), two) == kInvalid);       // past the file's end
  CHECK(write({{&a, 0, 0, 5000}}, TestParams(), two) == kInvalid);       // volume 0
  CHECK(write({{nullptr, 1, 0, 5000}}, TestParams(), two) == kInvalid);  // no file
  std::vector<DataShard> many(254, DataShard{&a, 1, 0, 10});
  CHECK(write(many, TestParams(), two) == kInvalid);  // 256 shards
  CHECK(w1.contents().empty());
  many.pop_back();
  CHECK(write(many, TestParams(), two) == ErrorKind::kOk);  // 255
}

// ---- rebuilding ----

// How a shard is lost in a loss pattern.
enum class Loss { kMissing, kDamaged, kTruncated };

TEST_CASE("every combination of up to m lost shards rebuilds byte-identical files") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  const uint32_t n = 6;
  // Each pattern: up to two shards, each lost in one of three ways.
  std::vector<std::map<uint32_t, Loss>> patterns = {{}};
  const Loss kWays[] = {Loss::kMissing, Loss::kDamaged, Loss::kTruncated};
  for (uint32_t a = 0; a < n; ++a) {
    for (Loss la : kWays) {
      patterns.push_back({{a, la}});
      for (uint32_t b = a + 1; b < n; ++b) {
        for (Loss lb : kWays) patterns.push_back({{a, la}, {b, lb}});
      }
    }
  }
  REQUIRE(patterns.size() == 1 + 6 * 3 + 15 * 9);
  for (const auto& pattern : patterns) {
    std::vector<std::optional<std::string>> v = All(volumes);
    std::vector<std::optional<std::string>> p = All(parity);
    std::string described;
    for (auto [shard, loss] : pattern) {
      described += " shard " + std::to_string(shard) + " loss " + std::to_string(int(loss));
      std::optional<std::string>& file = shard < 4 ? v[shard] : p[shard - 4];
      const uint64_t base = shard < 4 ? 0 : ParityRowOffset(4, 2, kRows, 0);
      const uint64_t length = shard < 4 ? kLengths[shard] : kLengths[0];
      if (loss == Loss::kMissing) {
        file.reset();
      } else if (loss == Loss::kTruncated) {
        file->resize(base + length / 3);
      } else {
        for (uint64_t at = 0; at < length; at += kStripe) {
          Flip(&*file, base + at, std::min<uint64_t>(kStripe, length - at));
        }
      }
    }
    INFO("lost:" << described);
    Found found(v, p);
    if (!p[0] && !p[1]) {  // nothing left to check against
      CHECK(found.Open().kind() == ErrorKind::kInvalidArgument);
      continue;
    }
    REQUIRE(found.Open().ok());
    Result<ParityCheck> check = found.set->Check();
    REQUIRE(check.ok());
    CHECK(check->repairable());
    CHECK(check->intact() == pattern.empty());
    for (uint32_t s = 0; s < n; ++s) {
      const ShardHealth& h = s < 4 ? check->data[s] : check->parity[s - 4];
      CHECK(h.intact() == (pattern.count(s) == 0));
    }
    for (uint32_t vol = 1; vol <= 4; ++vol) {
      Result<std::string> rebuilt = RebuildVolume(*found.set, vol);
      REQUIRE(rebuilt.ok());
      CHECK(Sha256::Of(*rebuilt) == Sha256::Of(volumes[vol - 1]));
    }
    for (uint32_t q = 0; q < 2; ++q) {
      Result<std::string> repaired = RepairParity(*found.set, q);
      REQUIRE(repaired.ok());
      CHECK(Sha256::Of(*repaired) == Sha256::Of(parity[q]));
    }
  }
}

TEST_CASE("check names each lost shard and its rows") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  std::vector<std::optional<std::string>> v = All(volumes);
  std::vector<std::optional<std::string>> p = All(parity);
  Flip(&*v[0], 1 * kStripe, kStripe);  // volume 1 rows 1 and 2
  Flip(&*v[0], 2 * kStripe, kStripe);
  Flip(&*v[0], 4 * kStripe, 100);  // and its short last row
  v[2].reset();                    // volume 3: missing, 2 rows of bytes
  Flip(&*p[1], ParityRowOffset(4, 2, kRows, 3), kStripe);
  Found found(v, p);
  REQUIRE(found.Open().ok());
  Result<ParityCheck> check = found.set->Check();
  REQUIRE(check.ok());
  CHECK(check->data[0].lost == Rows({{1, 2}, {4, 1}}));
  CHECK(check->data[1].intact());
  CHECK(check->data[2].missing);
  CHECK(check->data[2].lost == Rows({{0, 2}}));
  CHECK(check->data[3].intact());
  CHECK(check->parity[0].intact());
  CHECK(check->parity[1].lost == Rows({{3, 1}}));
  CHECK(check->repairable());
  const std::string report = check->Report();
  CHECK_THAT(report, Catch::Contains("volume 1 (b.sluice.1): rows 1-2 (bytes 4096..12288), "
                                     "row 4 (bytes 16384..16484) damaged"));
  CHECK_THAT(report, Catch::Contains("volume 3 (missing): missing, 2 rows lost"));
  CHECK_THAT(report, Catch::Contains("parity 1 (b.sluice.par1): row 3 (bytes"));
  CHECK_THAT(report, Catch::Contains("every lost row can be rebuilt"));
}

TEST_CASE("m + 1 shards lost in one row is one clear error naming the row and the shards") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  std::vector<std::optional<std::string>> v = All(volumes);
  std::vector<std::optional<std::string>> p = All(parity);
  Flip(&*v[0], 1 * kStripe, kStripe);
  Flip(&*v[1], 1 * kStripe, kStripe);
  Flip(&*p[0], ParityRowOffset(4, 2, kRows, 1), kStripe);
  Flip(&*v[0], 3 * kStripe, kStripe);  // repairable on its own
  Found found(v, p);
  REQUIRE(found.Open().ok());
  Result<ParityCheck> check = found.set->Check();
  REQUIRE(check.ok());
  CHECK_FALSE(check->repairable());
  CHECK(check->unrepairable == Rows({{1, 1}}));
  CHECK_THAT(check->Report(),
             Catch::Contains("row 1 cannot be rebuilt: 3 shards lost it (volume 1, volume 2, "
                             "parity 0), 2 parity shards rebuild at most 2"));

  Result<std::string> rebuilt = RebuildVolume(*found.set, 1);
  REQUIRE(rebuilt.status().IsCorruption());
  CHECK_THAT(rebuilt.status().message(),
             Catch::Contains("row 1 (bytes 4096..8192 of each shard) cannot be rebuilt: 3 of its "
                             "6 shard rows are lost (volume 1 (b.sluice.1), volume 2 "
                             "(b.sluice.2), parity 0 (b.sluice.par0))"));
  // The volumes with no loss in that row still rebuild, and so does every
  // other row of volume 1.
  for (uint32_t vol : {3u, 4u}) CHECK(RebuildVolume(*found.set, vol).ok());
  Result<std::unique_ptr<io::PositionalReader>> opened = found.set->NewShardReader(0);
  REQUIRE(opened.ok());
  std::unique_ptr<io::PositionalReader> reader = std::move(opened).value();
  std::string row3(kStripe, '\0');
  REQUIRE(
      reader
          ->ReadAt(3 * kStripe, io::MutableBytes(reinterpret_cast<uint8_t*>(row3.data()), kStripe))
          .ok());
  CHECK(row3 == volumes[0].substr(3 * kStripe, kStripe));
}

TEST_CASE("damage in more than m shards, at most m per row, is all repaired") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  std::vector<std::optional<std::string>> v = All(volumes);
  std::vector<std::optional<std::string>> p = All(parity);
  Flip(&*v[0], 0, kStripe);  // row 0: volumes 1 and 2
  Flip(&*v[1], 0, kStripe);
  Flip(&*v[2], kStripe, 1);  // row 1: volume 3's one byte, parity 1
  Flip(&*p[1], ParityRowOffset(4, 2, kRows, 1), kStripe);
  Flip(&*v[3], 2 * kStripe, kStripe);  // row 2: volume 4, parity 0
  Flip(&*p[0], ParityRowOffset(4, 2, kRows, 2), kStripe);
  Flip(&*v[0], 3 * kStripe, kStripe);  // row 3: volumes 1 and 4
  Flip(&*v[3], 3 * kStripe, 16000 - 3 * kStripe);
  Found found(v, p);
  REQUIRE(found.Open().ok());
  Result<ParityCheck> check = found.set->Check();
  REQUIRE(check.ok());
  for (const ShardHealth& h : check->data) CHECK_FALSE(h.intact());
  for (const ShardHealth& h : check->parity) CHECK_FALSE(h.intact());
  CHECK(check->repairable());
  for (uint32_t vol = 1; vol <= 4; ++vol) {
    Result<std::string> rebuilt = RebuildVolume(*found.set, vol);
    REQUIRE(rebuilt.ok());
    CHECK(*rebuilt == volumes[vol - 1]);
  }
  for (uint32_t q = 0; q < 2; ++q) {
    Result<std::string> repaired = RepairParity(*found.set, q);
    REQUIRE(repaired.ok());
    CHECK(*repaired == parity[q]);
  }
}

TEST_CASE("several lost shards are rebuilt in one pass over the others") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  std::vector<std::optional<std::string>> v = All(volumes);
  v[1].reset();  // volumes 2 and 3: rows 0 and 1 hold their bytes
  v[2].reset();
  Found found(v, All(parity));
  REQUIRE(found.Open().ok());
  StringWriter out2, out3;
  REQUIRE(found.set->RebuildDataShards({1, 2}, {&out2, &out3}).ok());
  CHECK(out2.contents() == volumes[1]);
  CHECK(out3.contents() == volumes[2]);
  // Volume 1 was read once for each of the two rows to rebuild.
  const auto* volume1 = static_cast<const MemFile*>(found.volumes[0]);
  CHECK(volume1->reads() == 2);

  StringWriter a, b;
  CHECK(found.set->RebuildDataShards({1, 1}, {&a, &b}).kind() == ErrorKind::kInvalidArgument);
  CHECK(found.set->RebuildDataShards({4}, {&a}).kind() == ErrorKind::kInvalidArgument);
  CHECK(found.set->RebuildDataShards({1}, {&a, &b}).kind() == ErrorKind::kInvalidArgument);
  CHECK(a.contents().empty());
}

TEST_CASE("a set refuses shards and volumes it does not have") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  Found found(All(volumes), All(WriteVolumeParity(volumes, 2)));
  REQUIRE(found.Open().ok());
  CHECK(found.set->VolumeNumbers() == std::vector<uint32_t>{1, 2, 3, 4});
  CHECK(found.set->SetDataFile(4, nullptr).kind() == ErrorKind::kInvalidArgument);
  CHECK(found.set->SetVolumeFile(5, nullptr).kind() == ErrorKind::kInvalidArgument);
  CHECK(found.set->NewShardReader(4).status().kind() == ErrorKind::kInvalidArgument);
  CHECK(found.set->NewVolumeReader(5).status().kind() == ErrorKind::kInvalidArgument);
  StringWriter out;
  CHECK(found.set->RebuildVolume(0, &out).kind() == ErrorKind::kInvalidArgument);
  CHECK(found.set->RepairParityFile(2, &out).kind() == ErrorKind::kInvalidArgument);
  CHECK_THAT(found.set->SetDataFile(4, nullptr).message(),
             Catch::Contains("no data shard 4 in a set of 4"));
}

TEST_CASE("a shard reader serves repaired bytes at any offset and length") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  std::vector<std::optional<std::string>> v = All(volumes);
  Flip(&*v[0], 0, kStripe);
  Flip(&*v[0], 2 * kStripe, kStripe);
  v[1].reset();
  Found found(v, All(parity));
  REQUIRE(found.Open().ok());
  for (uint32_t shard : {0u, 1u}) {
    Result<std::unique_ptr<io::PositionalReader>> opened = found.set->NewShardReader(shard);
    REQUIRE(opened.ok());
    std::unique_ptr<io::PositionalReader> r = std::move(opened).value();
    REQUIRE(r->Size() == volumes[shard].size());
    const std::string& want = volumes[shard];
    for (uint64_t offset : {0ul, 1ul, 4095ul, 4096ul, 5000ul, 8191ul, 12000ul, 16483ul}) {
      for (size_t len : {1ul, 100ul, 4096ul, 9000ul, 20000ul}) {
        INFO("shard " << shard << " offset " << offset << " len " << len);
        std::string got(len, '\0');
        Result<size_t> n =
            r->ReadAt(offset, io::MutableBytes(reinterpret_cast<uint8_t*>(got.data()), len));
        REQUIRE(n.ok());
        const std::string expected = offset < want.size() ? want.substr(offset, len) : "";
        CHECK(*n == expected.size());
        CHECK(got.substr(0, *n) == expected);
      }
    }
  }
}

TEST_CASE("a zero-length shard and a one-row set round trip") {
  const std::vector<std::string> volumes = TestVolumes({0, 10, 4096, 1});
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 1);
  std::vector<std::optional<std::string>> v = All(volumes);
  v[0].reset();  // empty: nothing lost
  v[2].reset();
  Found found(v, All(parity));
  REQUIRE(found.Open().ok());
  Result<ParityCheck> check = found.set->Check();
  REQUIRE(check.ok());
  CHECK(check->data[0].intact());
  CHECK(check->data[2].lost == Rows({{0, 1}}));
  for (uint32_t vol = 1; vol <= 4; ++vol) {
    Result<std::string> rebuilt = RebuildVolume(*found.set, vol);
    REQUIRE(rebuilt.ok());
    CHECK(*rebuilt == volumes[vol - 1]);
  }
}

// ---- several parity files ----

TEST_CASE("a parity file with damaged tables is passed over for another's") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  std::vector<std::optional<std::string>> p = All(parity);
  (*p[0])[96 + 64 + 3] ^= 1;  // shard table entry 1
  std::vector<std::optional<std::string>> v = All(volumes);
  v[3].reset();
  Found found(v, p);
  REQUIRE(found.Open().ok());
  CHECK(found.set->info().header.parity_index == 1);  // the tables came from parity 1
  REQUIRE(found.set->notes().size() == 1);
  CHECK_THAT(found.set->notes()[0], Catch::Contains("b.sluice.par0: tables checksum"));
  // Its parity bytes still serve: with volume 4 missing and parity 1's row 0
  // damaged, row 0 needs parity 0.
  std::vector<std::optional<std::string>> p2 = p;
  Flip(&*p2[1], ParityRowOffset(4, 2, kRows, 0), kStripe);
  Found again(v, p2);
  REQUIRE(again.Open().ok());
  Result<std::string> rebuilt = RebuildVolume(*again.set, 4);
  REQUIRE(rebuilt.ok());
  CHECK(*rebuilt == volumes[3]);
}

TEST_CASE("a truncated parity file still gives its tables when no other can") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 1);
  std::string cut = parity[0].substr(0, parity[0].size() - 5000);
  std::vector<std::optional<std::string>> v = All(volumes);
  Flip(&*v[1], 0, kStripe);  // row 0: parity bytes still there
  Found found(v, {cut});
  REQUIRE(found.Open().ok());
  CHECK_THAT(found.set->notes().at(0), Catch::Contains("truncated"));
  Result<ParityCheck> check = found.set->Check();
  REQUIRE(check.ok());
  CHECK(check->parity[0].lost == Rows({{2, 3}}));  // rows 2-4 past the end
  Result<std::string> rebuilt = RebuildVolume(*found.set, 2);
  REQUIRE(rebuilt.ok());
  CHECK(*rebuilt == volumes[1]);
}

TEST_CASE("parity files of another set and duplicates are noted and not used") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  ParityParams other = TestParams();
  other.bundle_id[0] ^= 1;
  const std::vector<std::string> foreign = WriteVolumeParity(TestVolumes(kLengths, 50), 2, other);
  Found found(All(volumes), {parity[0], foreign[1], parity[0]});
  REQUIRE(found.Open().ok());
  REQUIRE(found.set->notes().size() == 2);
  CHECK_THAT(found.set->notes()[0], Catch::Contains("b.sluice.par1: parity of another set"));
  CHECK_THAT(found.set->notes()[1],
             Catch::Contains("b.sluice.par2: holds parity 0 as b.sluice.par0 does"));
  Result<ParityCheck> check = found.set->Check();
  REQUIRE(check.ok());
  CHECK(check->parity[1].missing);
}

TEST_CASE("given the bundle's digest, parity of other bundles is passed over") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  ParityParams other = TestParams();
  other.bundle_digest[31] ^= 1;
  const std::vector<std::string> foreign = WriteVolumeParity(TestVolumes(kLengths, 50), 2, other);
  Found found(All(volumes), {foreign[0], parity[1]});
  // Without the digest the first file's set wins; with it, the bundle's.
  REQUIRE(found.Open().ok());
  CHECK(found.set->info().header.bundle_digest == other.bundle_digest);
  Result<std::unique_ptr<ParitySet>> set =
      ParitySet::Open(found.parity, TestParams().bundle_digest);
  REQUIRE(set.ok());
  CHECK((*set)->info().header.bundle_digest == TestParams().bundle_digest);
  REQUIRE((*set)->notes().size() == 1);
  CHECK_THAT((*set)->notes()[0], Catch::Contains("b.sluice.par0: parity of another bundle"));
  Result<std::unique_ptr<ParitySet>> none =
      ParitySet::Open({found.parity[0]}, TestParams().bundle_digest);
  CHECK(none.status().kind() == ErrorKind::kNotFound);
  CHECK_THAT(none.status().message(), Catch::Contains("no parity file of bundle "));
}

TEST_CASE("no usable parity file is an error naming each file's fault") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  std::vector<std::string> parity = WriteVolumeParity(volumes, 2);
  parity[0][0] = 'X';
  parity[1][96 + 5] ^= 1;
  Found found(All(volumes), All(parity));
  Status s = found.Open();
  CHECK(s.IsCorruption());
  CHECK_THAT(s.message(), Catch::Contains("b.sluice.par0: not a sluice parity file"));
  CHECK_THAT(s.message(), Catch::Contains("b.sluice.par1: tables checksum"));
  Found none(All(volumes), {std::nullopt});
  CHECK(none.Open().kind() == ErrorKind::kInvalidArgument);
}

// ---- what a reader refuses ----

// Rewrites a header field and reseals the header checksum, so the check
// under test is the one that fires.
std::string WithField(std::string file, size_t at, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) file[at + i] = static_cast<char>(value >> (8 * i));
  const uint64_t sum = Xxh3(io::AsBytes(std::string_view(file).substr(0, 88)));
  for (size_t i = 0; i < 8; ++i) file[88 + i] = static_cast<char>(sum >> (8 * i));
  return file;
}

TEST_CASE("parity reader refuses bad header fields, each with its own message") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::string good = WriteVolumeParity(volumes, 2)[0];
  struct Case {
    const char* what;
    std::string bytes;
    ErrorKind kind;
    const char* message;
  };
  std::string bad_magic = good;
  bad_magic[3] = 'X';
  std::string bad_sum = good;
  bad_sum[70] ^= 1;
  const auto kCorrupt = ErrorKind::kCorruption;
  const std::vector<Case> cases = {
      {"magic", bad_magic, kCorrupt,
       "not a sluice parity file: the magic at offset 0 is 89 53 4c 58"},
      {"checksum", bad_sum, kCorrupt, "header checksum at offset 88 mismatch"},
      {"version", WithField(good, 8, 2, 4), ErrorKind::kUnsupported, "parity format version 2"},
      {"header_size small", WithField(good, 12, 88, 4), kCorrupt, "header_size at offset 12 is 88"},
      {"header_size odd", WithField(good, 12, 100, 4), kCorrupt, "header_size at offset 12 is 100"},
      {"header_size big", WithField(good, 12, 8192, 4), kCorrupt,
       "header_size at offset 12 is 8192"},
      {"k 0", WithField(good, 64, 0, 4), kCorrupt, "data_count at offset 64 is 0"},
      {"m 0", WithField(good, 68, 0, 4), kCorrupt, "parity_count at offset 68 is 0"},
      {"k + m 256", WithField(good, 68, 252, 4), kCorrupt, "parity_count at offset 68 is 252"},
      {"p = m", WithField(good, 72, 2, 4), kCorrupt, "parity_index at offset 72 is 2"},
      {"S unaligned", WithField(good, 76, 6000, 4), kCorrupt, "stripe_size at offset 76 is 6000"},
      {"S small", WithField(good, 76, 0, 4), kCorrupt, "stripe_size at offset 76 is 0"},
      {"S big", WithField(good, 76, 32u << 20, 4), kCorrupt,
       "stripe_size at offset 76 is 33554432"},
      {"L 0", WithField(good, 80, 0, 8), kCorrupt, "shard_size at offset 80 is 0"},
      {"L huge", WithField(good, 80, uint64_t{1} << 60, 8), kCorrupt, "shard_size at offset 80"},
      // Sizes that pass the field checks but not the file's size: the tables
      // would need more bytes than the file has (checked before allocating).
      {"k large", WithField(good, 64, 250, 4), kCorrupt,
       "truncated: the header says its tables end"},
      {"L large", WithField(good, 80, uint64_t{1} << 40, 8), kCorrupt,
       "truncated: the header says its tables end"},
      // A larger stripe: fewer rows, so the tables end early and the
      // checksum is read from the wrong place.
      {"S other", WithField(good, 76, 8192, 4), kCorrupt, "tables checksum"},
      {"L shorter", WithField(good, 80, kLengths[0] - 1, 8), kCorrupt,
       "shard table entry 0 at offset 96: length 16484 exceeds the header's shard_size 16483"},
      {"L longer", WithField(good, 80, kLengths[0] + 1, 8), kCorrupt,
       "the longest shard has 16484 bytes, the header's shard_size says 16485"},
      {"L other row", WithField(good, 80, kLengths[0] + kStripe, 8), kCorrupt, "tables checksum"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    MemFile f("x.par", c.bytes);
    Result<ParitySetInfo> info = ReadParityFile(f);
    REQUIRE_FALSE(info.ok());
    CHECK(info.status().kind() == c.kind);
    CHECK_THAT(info.status().message(), Catch::StartsWith("x.par: "));
    CHECK_THAT(info.status().message(), Catch::Contains(c.message));
  }
}

TEST_CASE("parity reader refuses a flipped byte anywhere in header and tables") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::string good = WriteVolumeParity(volumes, 2)[0];
  const size_t tables_end = ParityRowOffset(4, 2, kRows, 0);
  for (size_t at = 0; at < tables_end; ++at) {
    for (uint8_t mask : {0x01, 0x80}) {
      std::string bad = good;
      bad[at] ^= mask;
      MemFile f("x.par", bad);
      Result<ParitySetInfo> info = ReadParityFile(f);
      INFO("byte " << at << " mask " << int(mask));
      REQUIRE_FALSE(info.ok());
      CHECK(info.status().IsCorruption());
    }
  }
}

TEST_CASE("parity reader refuses every truncation and an appended byte") {
  const std::vector<std::string> volumes = TestVolumes({5000, 300});
  const std::string good = WriteVolumeParity(volumes, 1)[0];
  for (size_t len = 0; len < good.size(); ++len) {
    MemFile f("x.par", good.substr(0, len));
    Result<ParitySetInfo> info = ReadParityFile(f);
    INFO("length " << len);
    REQUIRE_FALSE(info.ok());
    CHECK(info.status().IsCorruption());
  }
  MemFile longer("x.par", good + "!");
  CHECK_THAT(ReadParityFile(longer).status().message(), Catch::Contains("bytes appended"));
  MemFile exact("x.par", good);
  CHECK(ReadParityFile(exact).ok());
}

TEST_CASE("parity reader reads a longer header and skips its extension") {
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  const std::string good = WriteVolumeParity(volumes, 2)[0];
  // Header of 104 bytes: 8 extension bytes before the checksum.
  std::string longer =
      good.substr(0, 88) + std::string(8, '\x7f') + std::string(8, '\0') + good.substr(96);
  longer[12] = 104;
  const uint64_t sum = Xxh3(io::AsBytes(std::string_view(longer).substr(0, 96)));
  for (size_t i = 0; i < 8; ++i) longer[96 + i] = static_cast<char>(sum >> (8 * i));
  MemFile f("x.par", longer);
  Result<ParitySetInfo> info = ReadParityFile(f);
  REQUIRE(info.ok());
  CHECK(info->header.header_size == 104);
  // And its parity bytes are found after the longer header.
  std::vector<std::optional<std::string>> v = All(volumes);
  v[0].reset();
  Found found(v, {longer});
  REQUIRE(found.Open().ok());
  Result<std::string> rebuilt = RebuildVolume(*found.set, 1);
  REQUIRE(rebuilt.ok());
  CHECK(*rebuilt == volumes[0]);
}

// ---- a single file cut into segments ----

TEST_CASE("segments cut a file at stripe multiples, as evenly as rows allow") {
  MemFile f("b.sluice", "");
  CHECK(DefaultSegmentCount(0, kStripe) == 1);
  CHECK(DefaultSegmentCount(1, kStripe) == 1);
  CHECK(DefaultSegmentCount(5 * kStripe, kStripe) == 5);
  CHECK(DefaultSegmentCount(5 * kStripe + 1, kStripe) == 6);
  CHECK(DefaultSegmentCount(uint64_t{1} << 40, kDefaultStripeSize) == 32);

  const uint64_t size = 41 * kStripe + 123;  // 42 rows
  std::vector<DataShard> s = SegmentShards(&f, size, 32, kStripe);
  REQUIRE(s.size() == 32);
  uint64_t end = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    INFO("segment " << i);
    CHECK(s[i].file == &f);
    CHECK(s[i].volume_number == 1);
    CHECK(s[i].offset == end);
    CHECK(s[i].offset % kStripe == 0);
    // 42 rows in 32 segments: the first 10 take two rows.
    const uint64_t rows = i < 10 ? 2 : 1;
    CHECK(s[i].length == (i + 1 < s.size() ? rows * kStripe : 123));
    end += s[i].length;
  }
  CHECK(end == size);
  CHECK(SegmentShards(&f, 3 * kStripe, 32, kStripe).size() == 3);  // fewer rows than asked
  CHECK(SegmentShards(&f, 0, 32, kStripe).size() == 1);
  CHECK(SegmentShards(&f, 0, 32, kStripe)[0].length == 0);
}

TEST_CASE("a single file in segments round trips through damage and truncation") {
  const uint64_t size = 41 * kStripe + 123;
  const std::string bundle = ::sluice::testing::RandomBytes(size, 77);
  MemFile file("b.sluice", bundle);
  std::vector<DataShard> shards =
      SegmentShards(&file, size, DefaultSegmentCount(size, kStripe), kStripe);
  REQUIRE(shards.size() == 32);
  std::vector<StringWriter> writers(2);
  REQUIRE(WriteParity(shards, TestParams(), {&writers[0], &writers[1]}).ok());
  const std::vector<std::optional<std::string>> parity = {writers[0].contents(),
                                                          writers[1].contents()};
  // 42 rows in 32 segments: segments 0-9 hold two rows, 10-31 one, so every
  // segment has a row 0 and a row can lose at most 2 of 34 shard rows.
  // Damage: a burst across the boundary of segments 3 and 4 (their rows 1
  // and 0), a byte of segment 7's row 1, and the last 100 bytes cut off
  // (segment 31, row 0).
  std::string damaged = bundle;
  for (uint64_t at = 8 * kStripe - 300; at < 8 * kStripe + 300; ++at) damaged[at] ^= 0x33;
  damaged[15 * kStripe + 5] ^= 1;
  damaged.resize(size - 100);
  Found found({damaged}, parity);
  REQUIRE(found.Open().ok());
  Result<ParityCheck> check = found.set->Check();
  REQUIRE(check.ok());
  CHECK(check->repairable());
  CHECK(check->data[3].lost == Rows({{1, 1}}));
  CHECK(check->data[4].lost == Rows({{0, 1}}));
  CHECK(check->data[7].lost == Rows({{1, 1}}));
  CHECK(check->data[31].lost == Rows({{0, 1}}));
  for (uint32_t i : {0u, 1u, 2u, 5u, 6u, 8u, 20u, 30u}) CHECK(check->data[i].intact());
  CHECK_THAT(check->Report(), Catch::Contains("volume 1 segment 3 (b.sluice.1): row 1 (bytes "
                                              "28672..32768) damaged"));
  CHECK_THAT(check->Report(), Catch::Contains("b.sluice.1 has 167959 bytes, its shards need "
                                              "168059 (truncated)"));
  Result<std::string> rebuilt = RebuildVolume(*found.set, 1);
  REQUIRE(rebuilt.ok());
  CHECK(*rebuilt == bundle);
  // The same through a reader of the whole file.
  Result<std::unique_ptr<io::PositionalReader>> reader = found.set->NewVolumeReader(1);
  REQUIRE(reader.ok());
  REQUIRE((*reader)->Size() == size);
  std::string all(size, '\0');
  Result<size_t> n =
      (*reader)->ReadAt(0, io::MutableBytes(reinterpret_cast<uint8_t*>(all.data()), size));
  REQUIRE(n.ok());
  CHECK(*n == size);
  CHECK(all == bundle);
}

// ---- I/O failures ----

TEST_CASE("read errors surface as I/O errors, never as damage") {
  io::MemoryFileSystem mem;
  io::FaultInjectionFileSystem fs(&mem);
  const std::vector<std::string> volumes = TestVolumes(kLengths);
  std::vector<std::unique_ptr<io::PositionalReader>> readers;
  std::vector<DataShard> shards;
  for (size_t i = 0; i < volumes.size(); ++i) {
    const std::string path = "/" + VolumeName(i + 1);
    auto w = fs.NewWriter(path);
    REQUIRE(w.ok());
    REQUIRE((*w)->Append(io::AsBytes(volumes[i])).ok());
    REQUIRE((*w)->Close().ok());
    auto r = fs.NewPositionalReader(path);
    REQUIRE(r.ok());
    readers.push_back(std::move(r).value());
    shards.push_back({readers.back().get(), static_cast<uint32_t>(i + 1), 0, volumes[i].size()});
  }
  auto write_parity = [&]() -> Status {
    std::vector<std::unique_ptr<io::SequentialWriter>> owned;
    std::vector<io::SequentialWriter*> outputs;
    for (int p = 0; p < 2; ++p) {
      auto w = fs.NewWriter("/" + ParityName(p));
      if (!w.ok()) return w.status();
      owned.push_back(std::move(w).value());
      outputs.push_back(owned.back().get());
    }
    SLUICE_RETURN_IF_ERROR(WriteParity(shards, TestParams(), outputs));
    for (auto& w : owned) SLUICE_RETURN_IF_ERROR(w->Close());
    return Status::Ok();
  };

  using Op = io::FaultInjectionFileSystem::Op;
  for (uint64_t nth : {1, 7, 13, 14, 26}) {  // 13 reads a pass
    INFO("read " << nth);
    fs.FailNth(Op::kRead, nth);
    CHECK(write_parity().kind() == ErrorKind::kIoError);
    fs.ClearFailures();
  }
  fs.FailWritesAfter(1000);
  CHECK(write_parity().kind() == ErrorKind::kNoSpace);
  fs.ClearFailures();
  REQUIRE(write_parity().ok());

  std::vector<std::unique_ptr<io::PositionalReader>> parity_readers;
  std::vector<const io::PositionalReader*> parity;
  for (int p = 0; p < 2; ++p) {
    auto r = fs.NewPositionalReader("/" + ParityName(p));
    REQUIRE(r.ok());
    parity_readers.push_back(std::move(r).value());
    parity.push_back(parity_readers.back().get());
  }
  fs.FailNth(Op::kRead, 1);
  CHECK(ParitySet::Open(parity).status().kind() == ErrorKind::kIoError);
  fs.ClearFailures();
  Result<std::unique_ptr<ParitySet>> set = ParitySet::Open(parity);
  REQUIRE(set.ok());
  for (uint32_t v = 1; v <= 4; ++v) REQUIRE((*set)->SetVolumeFile(v, readers[v - 1].get()).ok());
  REQUIRE((*set)->SetVolumeFile(2, nullptr).ok());  // so rebuilding reads the parity files too
  for (uint64_t nth : {1, 3, 8}) {                  // rebuilding reads 4 rows for each of 2
    INFO("read " << nth);
    fs.FailNth(Op::kRead, nth);
    CHECK((*set)->Check().status().kind() == ErrorKind::kIoError);
    fs.ClearFailures();
    fs.FailNth(Op::kRead, nth);
    StringWriter out;
    CHECK((*set)->RebuildVolume(2, &out).kind() == ErrorKind::kIoError);
    fs.ClearFailures();
  }
  StringWriter out;
  REQUIRE((*set)->RebuildVolume(2, &out).ok());
  CHECK(out.contents() == volumes[1]);
}

// A file that reads differently after `stable_reads` reads: a volume being
// rewritten while its parity is computed.
class ChangingFile final : public io::PositionalReader {
 public:
  ChangingFile(std::string data, uint64_t stable_reads)
      : data_(std::move(data)), stable_(stable_reads) {}
  Result<size_t> ReadAt(uint64_t offset, io::MutableBytes buf) const override {
    const size_t n = std::min<uint64_t>(buf.size(), data_.size() - offset);
    std::memcpy(buf.data(), data_.data() + offset, n);
    if (++reads_ > stable_ && n > 0) buf[0] ^= 1;
    return n;
  }
  uint64_t Size() const override { return data_.size(); }
  const std::string& name() const override { return name_; }

 private:
  std::string data_;
  uint64_t stable_;
  mutable uint64_t reads_ = 0;
  std::string name_ = "changing";
};

TEST_CASE("a data file that changes between the writer's passes is an error") {
  ChangingFile f(::sluice::testing::RandomBytes(3 * kStripe, 4), 3);  // the first pass reads 3 rows
  StringWriter w;
  Status s = WriteParity({{&f, 1, 0, 3 * kStripe}}, TestParams(), {&w});
  CHECK(s.kind() == ErrorKind::kIoError);
  CHECK_THAT(s.message(), Catch::Contains("row 0 read differently the second time"));
  CHECK_THAT(s.message(), Catch::Contains("write the parity again"));
}

}  // namespace
}  // namespace sluice::format
