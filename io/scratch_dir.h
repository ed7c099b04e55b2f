// A private directory for scratch files that only one run needs (a decoded
// layer while a delta is made or applied), removed with everything in it
// when the object goes, whatever path the run took out.
#pragma once

#include <string>
#include <string_view>

#include "io/status.h"

namespace sluice::io {

class ScratchDir {
 public:
  // Makes a new directory, mode 0700, named PREFIX.XXXXXX under `parent`,
  // or under $TMPDIR (else /tmp) when `parent` is empty. kIoError naming the
  // place when it cannot be made.
  static Result<ScratchDir> Create(std::string_view prefix, const std::string& parent = "");

  ScratchDir(ScratchDir&& other) noexcept;
  ScratchDir& operator=(ScratchDir&& other) noexcept;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  // Removes the directory and what is in it; errors are ignored (nothing
  // there is needed any more, and a destructor cannot report them).
  ~ScratchDir();

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  void Remove();

  std::string path_;
};

}  // namespace sluice::io
