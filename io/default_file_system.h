// How DefaultFileSystem() picks an implementation, exposed so it can be
// tested without touching the process environment.
#pragma once

#include "io/file.h"

namespace sluice::io {

// The name of the environment variable that forces an implementation.
inline constexpr const char kIoEnvVar[] = "SLUICE_IO";

// Returns `posix` when `sluice_io` (the value of SLUICE_IO, or null when
// unset) is "posix" or when `uring` is null (io_uring unavailable); otherwise
// `uring`. Any other value, including "io_uring", means "io_uring if it
// works": a typo must not make sluice refuse to run.
FileSystem* ChooseFileSystem(const char* sluice_io, FileSystem* uring, FileSystem* posix);

}  // namespace sluice::io
