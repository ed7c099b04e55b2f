// Private to io/: the one place an errno value becomes a Status.
#pragma once

#include <string_view>

#include "io/status.h"

namespace sluice::io {

// Maps `err` (an errno value) to a Status whose message names the operation
// and the path: "open /a/b: No such file or directory".
//   ENOSPC, EDQUOT -> kNoSpace
//   ENOENT         -> kNotFound
//   EEXIST         -> kAlreadyExists
//   EPIPE          -> kBrokenPipe (the reader went away)
//   anything else  -> kIoError
Status ErrnoStatus(int err, std::string_view op, std::string_view path);

}  // namespace sluice::io
