// How much an export or import transfers at once.
#pragma once

#include <cstddef>

namespace sluice {

// Blobs read from a source, or written to a destination, at the same time
// (--parallel-blobs). containers/image (skopeo) also defaults to 6.
inline constexpr size_t kDefaultBlobsInFlight = 6;

// Bytes of one blob buffered between the thread that reads it and the one
// that writes it. Memory for blob data stays under blobs in flight times
// this plus 2 MiB (each side's 1 MiB copy buffer).
inline constexpr size_t kBlobBufferBytes = 4u << 20;

}  // namespace sluice
