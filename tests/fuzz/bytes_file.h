// The fuzzer's input as a file with random access, for the targets whose
// readers seek (a bundle's trailer, a parity file's tables).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "io/file.h"

namespace sluice::fuzz {

class BytesFile final : public io::PositionalReader {
 public:
  BytesFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  Result<size_t> ReadAt(uint64_t offset, io::MutableBytes buf) const override {
    if (offset >= size_) return size_t{0};
    size_t n = std::min<uint64_t>(buf.size(), size_ - offset);
    std::memcpy(buf.data(), data_ + offset, n);
    return n;
  }
  uint64_t Size() const override { return size_; }
  const std::string& name() const override { return name_; }

 private:
  const uint8_t* data_;
  size_t size_;
  std::string name_ = "<fuzz>";
};

}  // namespace sluice::fuzz
