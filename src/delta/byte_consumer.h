// What the delta coders hand their output to, as they produce it.
#pragma once

#include <functional>

#include "io/file.h"
#include "io/status.h"

namespace sluice::delta {

// Receives bytes as a coder produces them; an error stops the coder, which
// returns that error from the call that produced the bytes.
using ByteConsumer = std::function<Status(io::ByteView)>;

// Reads `in` to its end, a chunk at a time, handing every chunk to
// `consumer`: the one copy loop of the delta code (files into coders, blobs
// into scratch files). The first error of either side is returned.
Status Pump(io::SequentialReader& in, const ByteConsumer& consumer);

}  // namespace sluice::delta
