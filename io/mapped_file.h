// A file mapped read-only (mmap PROT_READ, MAP_PRIVATE): its bytes are page
// cache the kernel can drop and read again, not heap, so a 1 GiB file costs
// no 1 GiB of memory. What reads a large file at random does it through this
// (the base of a sub-layer delta, src/delta/patch_codec.h).
#pragma once

#include <cstdint>
#include <string>

#include "io/file.h"
#include "io/status.h"

namespace sluice::io {

class MappedFile {
 public:
  // Maps the file at `path` whole. The caller keeps the file in place while
  // the mapping lives (it may unlink it: the mapping keeps the bytes) and must
  // not change it, since the mapping would see the change. An empty file is
  // an empty base. A missing file is kNotFound naming `path`; other failures
  // of open, fstat and mmap are kIoError naming `path`.
  static Result<MappedFile> MapFile(const std::string& path);

  // An empty base (what MapFile of an empty file gives).
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  // Unmaps.
  ~MappedFile();

  // Valid while this MappedFile lives.
  io::ByteView bytes() const { return {data_, size_}; }
  uint64_t size() const { return size_; }

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  void Unmap();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sluice::io
