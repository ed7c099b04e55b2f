#include "io/default_file_system.h"

#include <cstdlib>
#include <string_view>

#ifdef SLUICE_FAULT_INJECTION
#include "io/crash_file_system.h"
#endif

namespace sluice::io {

FileSystem* ChooseFileSystem(const char* sluice_io, FileSystem* uring, FileSystem* posix) {
  if (sluice_io != nullptr && std::string_view(sluice_io) == "posix") return posix;
  return uring != nullptr ? uring : posix;
}

FileSystem* DefaultFileSystem() {
  // Decided once: every caller in the process sees the same implementation.
  static FileSystem* const fs =
      ChooseFileSystem(std::getenv(kIoEnvVar), UringFileSystem(), PosixFileSystem());
#ifdef SLUICE_FAULT_INJECTION
  // Test builds only (the sluice_crashable binary): crash tests kill the
  // process at a chosen byte or rename; see io/crash_file_system.h.
  static FileSystem* const crashable = WrapForCrashTests(fs);
  return crashable;
#else
  return fs;
#endif
}

}  // namespace sluice::io
