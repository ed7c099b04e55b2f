#include "io/status.h"

namespace sluice {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk: return "ok";
    case ErrorKind::kInvalidArgument: return "invalid argument";
    case ErrorKind::kNotFound: return "not found";
    case ErrorKind::kAlreadyExists: return "already exists";
    case ErrorKind::kCorruption: return "corruption";
    case ErrorKind::kUntrusted: return "untrusted";
    case ErrorKind::kIoError: return "I/O error";
    case ErrorKind::kNoSpace: return "no space";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kNetwork: return "network error";
    case ErrorKind::kAuth: return "authentication failed";
    case ErrorKind::kBusy: return "busy";
    case ErrorKind::kBrokenPipe: return "broken pipe";
  }
  return "unknown error";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(ErrorKindName(kind_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(kind_, std::move(msg));
}

}  // namespace sluice
