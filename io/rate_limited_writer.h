// A SequentialWriter that passes bytes on to another no faster than a set
// rate: for a link that must not be overrun (a data diode's sender, a shared
// line) or a disk that others use too.
//
// A token bucket: credit for `burst` bytes at most, earned at `rate` bytes a
// second. An Append waits (sleeps) until the credit covers it, in pieces of at
// most `burst` bytes, and each piece is passed on as soon as it is covered.
// So, from the first Append on:
//   - over any interval of length t, at most burst + rate * t bytes go out;
//   - the schedule is kept on a monotonic clock, not as a sleep per piece:
//     time spent elsewhere (compressing, reading sources, a slow writer below)
//     counts towards the next piece, so the long-run rate is `rate` itself,
//     not `rate` minus that overhead;
//   - idle time earns no more than `burst` bytes of credit: a writer below
//     that was slow for a minute is not then sent a minute's worth at once.
// The arithmetic is exact (integer nanoseconds, remainders carried), so
// the average does not drift however small the appends.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "io/file.h"

namespace sluice::io {

// The time a rate limiter keeps: a monotonic now() and a way to wait.
// SteadyPacingClock() is std::chrono::steady_clock and
// std::this_thread::sleep_for; tests pass a simulated one.
struct PacingClock {
  std::function<std::chrono::steady_clock::time_point()> now;
  // Waits at least `duration`.
  std::function<void(std::chrono::nanoseconds)> sleep_for;
};
PacingClock SteadyPacingClock();

// The burst the rate limiter allows when none is given: an eighth of a
// second at `bytes_per_second`, and at least 256 KiB, so that the writer
// below still gets pieces worth a syscall.
uint64_t DefaultBurstBytes(uint64_t bytes_per_second);

// Writes into `out`, which must outlive the returned writer, at most
// `bytes_per_second` (> 0) on average with bursts of `burst_bytes` (0: the
// default above). Sync and Close pass straight through (Close closes `out`);
// Size is the bytes passed on, which are all the bytes accepted. Errors are
// those of `out`. Not thread-safe, like every SequentialWriter.
std::unique_ptr<SequentialWriter> NewRateLimitedWriter(SequentialWriter* out,
                                                       uint64_t bytes_per_second,
                                                       uint64_t burst_bytes = 0,
                                                       PacingClock clock = SteadyPacingClock());

}  // namespace sluice::io
