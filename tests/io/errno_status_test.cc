#include "io/errno_status.h"

#include <catch2/catch.hpp>
#include <cerrno>

namespace sluice::io {
namespace {

TEST_CASE("errno values map to the error kinds callers act on") {
  struct Case {
    int err;
    ErrorKind kind;
  };
  const Case cases[] = {
      {ENOSPC, ErrorKind::kNoSpace},   {EDQUOT, ErrorKind::kNoSpace},
      {ENOENT, ErrorKind::kNotFound},  {EEXIST, ErrorKind::kAlreadyExists},
      {EIO, ErrorKind::kIoError},      {EACCES, ErrorKind::kIoError},
      {EISDIR, ErrorKind::kIoError},   {EROFS, ErrorKind::kIoError},
      {EPIPE, ErrorKind::kBrokenPipe},
  };
  for (const Case& c : cases) {
    CAPTURE(c.err);
    CHECK(ErrnoStatus(c.err, "write", "/x").kind() == c.kind);
  }
}

TEST_CASE("an errno message names the operation, the path and the reason") {
  Status s = ErrnoStatus(ENOSPC, "write", "/mnt/out/bundle.sluice");
  CHECK(s.message() == "write /mnt/out/bundle.sluice: No space left on device");
  CHECK(s.ToString() == "no space: write /mnt/out/bundle.sluice: No space left on device");
}

}  // namespace
}  // namespace sluice::io
