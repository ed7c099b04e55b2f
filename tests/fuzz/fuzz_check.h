// Shared by the fuzz targets of sluice's JSON readers: how a target states a
// promise the code under test makes (a broken one traps, so libFuzzer keeps
// the input as a crash), and the input as text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::fuzz {

inline void Check(bool condition) {
  if (!condition) __builtin_trap();
}

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace sluice::fuzz
