// libFuzzer target: arbitrary bytes read as a parity file (format/PARITY.md),
// alone and as the only parity file of a set whose data files are all
// missing: ReadParityFile, ParitySet::Open, Check and its report, and a
// rebuild of every data shard.
//
// Beyond "no crash, no leak, no UB" it checks the reader's promises: tables
// of the sizes the header gives, damage reported as damage (the bytes are in
// memory, so no I/O error can happen), and a rebuilt shard that is exactly
// its table's length whenever the rebuild succeeds.
//
// Seeds (corpus/parity_reader_fuzz/), made by format::WriteParity: the worked
// example of PARITY.md section 11; a one-shard set (its parity is a copy, so
// the rebuild succeeds from the parity file alone); parity 1 of a 3 + 2
// volume set; a single file in three segments.
#include <cstdint>
#include <cstring>
#include <string>

#include "format/parity.h"
#include "bytes_file.h"
#include "fuzz_check.h"

namespace {

using namespace sluice;
using fuzz::BytesFile;
using fuzz::Check;

// Counts what it is given.
class CountingWriter final : public io::SequentialWriter {
 public:
  Status Append(io::ByteView data) override {
    size_ += data.size();
    return Status::Ok();
  }
  Status Sync() override { return Status::Ok(); }
  Status Close() override { return Status::Ok(); }
  uint64_t Size() const override { return size_; }

 private:
  uint64_t size_ = 0;
};

bool Damage(const Status& s) {
  return s.kind() == ErrorKind::kCorruption || s.kind() == ErrorKind::kUnsupported;
}

// A rebuild holds k + m rows by design (PARITY.md section 7: up to 4 GiB at
// the format's limits); the fuzzer's memory limit is lower.
constexpr uint64_t kRebuildMemoryLimit = 256u << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  BytesFile file(data, size);
  Result<format::ParitySetInfo> info = format::ReadParityFile(file);
  if (info.ok()) {
    const format::ParityHeader& h = info->header;
    Check(info->shards.size() == h.data_count);
    Check(info->row_checksums.size() == (h.data_count + h.parity_count) * h.rows());
    Check(h.file_size() == size);
    for (const format::ShardEntry& e : info->shards) Check(e.length <= h.shard_size);
  } else {
    Check(Damage(info.status()));
  }

  Result<std::unique_ptr<format::ParitySet>> set = format::ParitySet::Open({&file});
  if (!set.ok()) {
    Check(Damage(set.status()));
    return 0;
  }
  const format::ParitySetInfo& s = (*set)->info();
  Result<format::ParityCheck> check = (*set)->Check();
  Check(check.ok());
  Check(check->data.size() == s.data_count() && check->parity.size() == s.parity_count());
  (void)check->Report();

  const uint64_t rebuild_memory =
      uint64_t{s.data_count() + s.parity_count()} * s.header.row_length(0);
  if (rebuild_memory > kRebuildMemoryLimit) return 0;
  for (uint32_t i = 0; i < s.data_count() && i < 4; ++i) {
    CountingWriter out;
    Status rebuilt = (*set)->RebuildDataShard(i, &out);
    Check(rebuilt.ok() ? out.Size() == s.shards[i].length : Damage(rebuilt));
  }
  return 0;
}
