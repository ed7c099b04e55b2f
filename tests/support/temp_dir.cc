#include "tests/support/temp_dir.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace sluice::testing {

std::string MakeTempDir(std::string_view prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" +
                        std::string(prefix) + ".XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  return pattern;
}

bool KeepTempDirs() {
  return std::getenv("SLUICE_TEST_KEEP") != nullptr || std::getenv("SLUICE_E2E_KEEP") != nullptr;
}

TempDir::TempDir() : path_(MakeTempDir("sluice-test")) {}

TempDir::~TempDir() {
  if (KeepTempDirs()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace sluice::testing
