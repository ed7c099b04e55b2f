#include "io/default_file_system.h"

#include <cstdlib>
#include <string_view>

namespace sluice::io {

FileSystem* ChooseFileSystem(const char* sluice_io, FileSystem* uring, FileSystem* posix) {
  if (sluice_io != nullptr && std::string_view(sluice_io) == "posix") return posix;
  return uring != nullptr ? uring : posix;
}

FileSystem* DefaultFileSystem() {
  // Decided once: every caller in the process sees the same implementation.
  static FileSystem* const fs =
      ChooseFileSystem(std::getenv(kIoEnvVar), UringFileSystem(), PosixFileSystem());
  return fs;
}

}  // namespace sluice::io
