// Wall-clock time as sluice records it: whole seconds since the epoch, and
// the same instant as people and other tools read it, ISO 8601 in UTC.
#pragma once

#include <cstdint>
#include <string>

namespace sluice {

// Seconds since 1970-01-01T00:00:00Z, now.
uint64_t NowUnix();

// "2024-05-01T12:00:00Z": ISO 8601, UTC, whole seconds. A time the C library
// cannot take apart (beyond year 9999) is written as "@SECONDS".
std::string IsoTimeUtc(uint64_t unix_seconds);

}  // namespace sluice
