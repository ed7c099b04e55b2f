#include "io/scratch_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <utility>
#include <vector>

#include "io/errno_status.h"

namespace sluice::io {

Result<ScratchDir> ScratchDir::Create(std::string_view prefix, const std::string& parent) {
  std::string where = parent;
  if (where.empty()) {
    const char* tmpdir = ::getenv("TMPDIR");
    where = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  }
  std::string pattern = where + "/" + std::string(prefix) + ".XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  if (::mkdtemp(name.data()) == nullptr) {
    return ErrnoStatus(errno, "make a scratch directory in", where);
  }
  return ScratchDir(std::string(name.data()));
}

ScratchDir::ScratchDir(ScratchDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

ScratchDir& ScratchDir::operator=(ScratchDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

ScratchDir::~ScratchDir() { Remove(); }

void ScratchDir::Remove() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
  path_.clear();
}

}  // namespace sluice::io
