#include "io/errno_status.h"

#include <cerrno>
#include <string>
#include <system_error>

namespace sluice::io {

Status ErrnoStatus(int err, std::string_view op, std::string_view path) {
  std::string msg(op);
  msg += ' ';
  msg += path;
  msg += ": ";
  // std::system_category().message() is thread-safe, unlike strerror().
  msg += std::system_category().message(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return Status::NoSpace(std::move(msg));
    case ENOENT:
      return Status::NotFound(std::move(msg));
    case EEXIST:
      return Status::AlreadyExists(std::move(msg));
    case EPIPE:
      return Status::BrokenPipe(std::move(msg));
    default:
      return Status::IoError(std::move(msg));
  }
}

}  // namespace sluice::io
