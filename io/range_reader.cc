#include "io/range_reader.h"

#include <algorithm>

namespace sluice::io {
namespace {

class RangeReader final : public SequentialReader {
 public:
  RangeReader(const PositionalReader* file, uint64_t offset, uint64_t end)
      : file_(file), offset_(offset), end_(std::max(offset, end)) {}
  Result<size_t> Read(MutableBytes buf) override {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), end_ - offset_));
    if (want == 0) return size_t{0};
    SLUICE_ASSIGN_OR_RETURN(size_t n, file_->ReadAt(offset_, buf.first(want)));
    offset_ += n;
    return n;
  }
  const std::string& name() const override { return file_->name(); }

 private:
  const PositionalReader* file_;
  uint64_t offset_;
  const uint64_t end_;
};

}  // namespace

std::unique_ptr<SequentialReader> NewRangeReader(const PositionalReader* file, uint64_t offset,
                                                 uint64_t end) {
  return std::make_unique<RangeReader>(file, offset, end);
}

}  // namespace sluice::io
