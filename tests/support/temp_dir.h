// Temporary directories for tests. No Catch2 and no sluice code, so every
// test binary (the end-to-end ones included) can use it.
#pragma once

#include <string>
#include <string_view>

namespace sluice::testing {

// Makes a fresh directory "$TMPDIR/PREFIX.XXXXXX" (TMPDIR unset or empty:
// /tmp) and returns its path; the caller removes it. Throws
// std::runtime_error naming the pattern when mkdtemp fails.
std::string MakeTempDir(std::string_view prefix);

// True when SLUICE_TEST_KEEP (or the older SLUICE_E2E_KEEP) is set: temp
// directories are then left behind for a look after the test.
bool KeepTempDirs();

// A fresh directory under $TMPDIR, removed with everything in it when this
// goes (unless KeepTempDirs()). Throws std::runtime_error when it cannot be
// made.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace sluice::testing
