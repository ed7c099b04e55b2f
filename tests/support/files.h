// File and byte helpers for tests. No Catch2 and no sluice code: failures
// throw std::runtime_error naming the path, which Catch2 reports as a
// failed test.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::testing {

// The whole file; throws when it cannot be read.
std::string ReadFile(const std::string& path);
// The whole file, or "" when it is absent or unreadable (a file another
// process has yet to write, a log that may not exist).
std::string ReadFileIfExists(const std::string& path);
// Replaces the file with `bytes`, making missing parent directories; throws
// when that fails.
void WriteFile(const std::string& path, const std::string& bytes);
// True when something (a dangling link included) exists at path.
bool Exists(const std::string& path);
// Copies the tree at `from` to `to` (which must not exist); throws on failure.
void CopyTree(const std::string& from, const std::string& to);
// Sorted relative paths of every entry below dir, directories ending in "/"
// (empty when dir is absent).
std::vector<std::string> ListTree(const std::string& dir);

// `n` bytes from a generator seeded with `seed`: reproducible, and different
// from any shifted copy of itself, so misplaced bytes show.
std::string RandomBytes(size_t n, uint64_t seed);

}  // namespace sluice::testing
