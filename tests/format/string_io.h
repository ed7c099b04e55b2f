// In-memory test doubles of the io/file.h interfaces, so format tests depend
// on no I/O implementation: a writer that appends to a string, readers over a
// string (optionally handing out few bytes per call, as a pipe does), and a
// reader that fails with an I/O error after some bytes.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>

#include "io/file.h"

namespace sluice::format::testing {

class StringWriter : public io::SequentialWriter {
 public:
  Status Append(io::ByteView data) override {
    out_.append(io::AsChars(data));
    return Status::Ok();
  }
  Status Sync() override { return Status::Ok(); }
  Status Close() override { return Status::Ok(); }
  uint64_t Size() const override { return out_.size(); }

  const std::string& contents() const { return out_; }

 private:
  std::string out_;
};

// Reads `data` front to back. With max_chunk > 0 each Read returns at most
// that many bytes; by the io contract a short read means end of input, so
// only readers tolerant of pipes' partial reads should use it.
class StringReader : public io::SequentialReader {
 public:
  explicit StringReader(std::string data, size_t max_chunk = 0)
      : data_(std::move(data)), max_chunk_(max_chunk) {}

  Result<size_t> Read(io::MutableBytes buf) override {
    size_t n = std::min(buf.size(), data_.size() - pos_);
    if (max_chunk_ > 0) n = std::min(n, max_chunk_);
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  const std::string& name() const override { return name_; }
  size_t position() const { return pos_; }

 private:
  std::string data_;
  size_t max_chunk_;
  size_t pos_ = 0;
  std::string name_ = "<string>";
};

// Hands out the first `good_bytes` of data, then fails with kIoError.
class FailingReader : public io::SequentialReader {
 public:
  FailingReader(std::string data, size_t good_bytes)
      : data_(std::move(data)), good_(std::min(good_bytes, data_.size())) {}

  Result<size_t> Read(io::MutableBytes buf) override {
    if (pos_ >= good_) return Status::IoError("<failing>: injected read error");
    size_t n = std::min(buf.size(), good_ - pos_);
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  const std::string& name() const override { return name_; }

 private:
  std::string data_;
  size_t good_;
  size_t pos_ = 0;
  std::string name_ = "<failing>";
};

class StringPositionalReader : public io::PositionalReader {
 public:
  explicit StringPositionalReader(std::string data) : data_(std::move(data)) {}

  Result<size_t> ReadAt(uint64_t offset, io::MutableBytes buf) const override {
    if (offset >= data_.size()) return size_t{0};
    size_t n = std::min<uint64_t>(buf.size(), data_.size() - offset);
    std::memcpy(buf.data(), data_.data() + offset, n);
    return n;
  }
  uint64_t Size() const override { return data_.size(); }
  const std::string& name() const override { return name_; }

 private:
  std::string data_;
  std::string name_ = "<string>";
};

}  // namespace sluice::format::testing
