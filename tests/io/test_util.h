// Shared helpers for the io tests: temporary directories, random bytes, and
// the file system backends every behaviour test runs against.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/file.h"
#include "io/memory_file_system.h"
#include "tests/support/temp_dir.h"

namespace sluice::io::testing {

// One TempDir for every test binary (tests/support/temp_dir.h).
using ::sluice::testing::TempDir;

// `size` bytes from a generator seeded with `seed`: reproducible, and
// different from any shifted copy of itself, so misplaced bytes show
// (tests/support/files.h RandomBytes, as a byte vector).
std::vector<uint8_t> RandomBytes(size_t size, uint32_t seed);

// A file system to run behaviour tests against, with a directory to work in.
// The names are "posix", "io_uring" and "memory".
class Backend {
 public:
  explicit Backend(const std::string& name);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // Null only for "io_uring" when the kernel refuses it: skip the test.
  FileSystem* fs() const { return fs_; }
  // An existing, empty directory for the test's files.
  const std::string& root() const { return root_; }
  std::string Path(const std::string& name) const;
  // Permission bits of a file, from the OS or from the memory file system.
  unsigned Mode(const std::string& path) const;

 private:
  std::unique_ptr<TempDir> temp_dir_;
  std::unique_ptr<MemoryFileSystem> memory_;
  FileSystem* fs_ = nullptr;
  std::string root_;
};

// The backends of GENERATE(BackendNames()); see SLUICE_FOR_EACH_BACKEND.
std::vector<std::string> BackendNames();

// Writes `data` to path in pieces of the given sizes (cycled), then closes.
Status WriteInPieces(FileSystem* fs, const std::string& path, const std::vector<uint8_t>& data,
                     const std::vector<size_t>& piece_sizes);
// Reads a whole file through a SequentialReader using reads of `chunk` bytes.
Result<std::vector<uint8_t>> ReadAll(FileSystem* fs, const std::string& path, size_t chunk);
// Writes a whole file (not atomically) and closes it.
Status WriteString(FileSystem* fs, const std::string& path, std::string_view data);
// Reads a whole file as a string; a failure reads as "<error: ...>".
std::string ReadString(FileSystem* fs, const std::string& path);

}  // namespace sluice::io::testing

// Declares `backend`, a Backend for each of posix, io_uring and memory in
// turn (Catch2 GENERATE), and returns early with a warning when io_uring is
// unavailable on this machine.
#define SLUICE_FOR_EACH_BACKEND(backend)                                                          \
  const std::string backend##_name = GENERATE(from_range(::sluice::io::testing::BackendNames())); \
  ::sluice::io::testing::Backend backend(backend##_name);                                         \
  INFO("backend: " << backend##_name);                                                            \
  if (backend.fs() == nullptr) {                                                                  \
    WARN("io_uring is not available here; " << backend##_name << " skipped");                     \
    return;                                                                                       \
  }
