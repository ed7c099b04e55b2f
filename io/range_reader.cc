#include "io/range_reader.h"

#include <algorithm>
#include <cstring>

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

// Fills each buffer across part boundaries: a short read means the end.
class ConcatenatedReader final : public SequentialReader {
 public:
  explicit ConcatenatedReader(std::vector<std::unique_ptr<SequentialReader>> parts)
      : parts_(std::move(parts)) {}
  Result<size_t> Read(MutableBytes buf) override {
    size_t done = 0;
    while (done < buf.size() && current_ < parts_.size()) {
      SLUICE_ASSIGN_OR_RETURN(size_t n, parts_[current_]->Read(buf.subspan(done)));
      if (n == 0) {
        ++current_;
        continue;
      }
      done += n;
    }
    return done;
  }
  const std::string& name() const override {
    static const std::string kNone = "no input";
    return parts_.empty() ? kNone : parts_.front()->name();
  }

 private:
  std::vector<std::unique_ptr<SequentialReader>> parts_;
  size_t current_ = 0;
};

class BytesReader final : public SequentialReader {
 public:
  BytesReader(std::vector<uint8_t> bytes, std::string name)
      : bytes_(std::move(bytes)), name_(std::move(name)) {}
  Result<size_t> Read(MutableBytes buf) override {
    const size_t n = std::min(buf.size(), bytes_.size() - pos_);
    if (n > 0) std::memcpy(buf.data(), bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  const std::string& name() const override { return name_; }

 private:
  std::vector<uint8_t> bytes_;
  std::string name_;
  size_t pos_ = 0;
};

}  // namespace

std::unique_ptr<SequentialReader> NewBytesReader(std::vector<uint8_t> bytes, std::string name) {
  return std::make_unique<BytesReader>(std::move(bytes), std::move(name));
}

std::unique_ptr<SequentialReader> NewConcatenatedReader(
    std::vector<std::unique_ptr<SequentialReader>> parts) {
  return std::make_unique<ConcatenatedReader>(std::move(parts));
}

std::unique_ptr<SequentialReader> NewRangeReader(const PositionalReader* file, uint64_t offset,
                                                 uint64_t end) {
  return std::make_unique<RangeReader>(file, offset, end);
}

}  // namespace sluice::io
