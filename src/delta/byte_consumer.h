// What the delta coders hand their output to, as they produce it.
#pragma once

#include <functional>

#include "io/file.h"
#include "io/status.h"

namespace sluice::delta {

// Receives bytes as a coder produces them; an error stops the coder, which
// returns that error from the call that produced the bytes.
using ByteConsumer = std::function<Status(io::ByteView)>;

}  // namespace sluice::delta
