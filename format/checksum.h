// XXH3-64 (seed 0), the checksum of every region of a bundle (SPEC.md
// section 8). Kept behind this header so xxhash.h stays in one .cc file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "io/file.h"

namespace sluice::format {

// XXH3-64 of `data`, seed 0.
uint64_t Xxh3(io::ByteView data);

// "0x" and 16 hex digits, how messages show a checksum.
std::string ChecksumText(uint64_t checksum);

// Streaming XXH3-64: Update(a); Update(b) gives Xxh3(a || b).
class Xxh3Stream {
 public:
  Xxh3Stream();
  ~Xxh3Stream();
  Xxh3Stream(const Xxh3Stream&) = delete;
  Xxh3Stream& operator=(const Xxh3Stream&) = delete;

  void Reset();
  void Update(io::ByteView data);
  uint64_t Digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sluice::format
