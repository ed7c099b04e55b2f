#include "io/file.h"

namespace sluice::io {

// Placeholder until the io_uring implementation lands: report it unavailable
// so DefaultFileSystem() falls back to posix.
FileSystem* UringFileSystem() { return nullptr; }

}  // namespace sluice::io
