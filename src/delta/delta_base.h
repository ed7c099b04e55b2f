// The base of a sub-layer delta: an old layer's uncompressed tar, which the far
// side already holds, read by both the delta encoder and the decoder as the
// history the new content's matches point into (src/delta/patch_codec.h).
//
// The base is mapped read-only (mmap PROT_READ, MAP_PRIVATE) from a file the
// caller wrote, so its bytes are page cache the kernel can drop and reread,
// not heap: a 1 GiB base costs no 1 GiB of memory.
#pragma once

#include <cstdint>
#include <string>

#include "io/file.h"
#include "io/status.h"

namespace sluice::delta {

class DeltaBase {
 public:
  // Maps the file at `path` whole. The caller keeps the file in place while
  // the base lives (it may unlink it: the mapping keeps the bytes) and must
  // not change it, since the mapping would see the change. An empty file is
  // an empty base. A missing file is kNotFound naming `path`; other failures
  // of open, fstat and mmap are kIoError naming `path`.
  static Result<DeltaBase> MapFile(const std::string& path);

  // An empty base (what MapFile of an empty file gives).
  DeltaBase() = default;
  DeltaBase(DeltaBase&& other) noexcept;
  DeltaBase& operator=(DeltaBase&& other) noexcept;
  DeltaBase(const DeltaBase&) = delete;
  DeltaBase& operator=(const DeltaBase&) = delete;
  // Unmaps.
  ~DeltaBase();

  // Valid while this DeltaBase lives.
  io::ByteView bytes() const { return {data_, size_}; }
  uint64_t size() const { return size_; }

 private:
  DeltaBase(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  void Unmap();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sluice::delta
