#include "unix_time.h"

#include <chrono>
#include <ctime>

namespace sluice {

uint64_t NowUnix() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string IsoTimeUtc(uint64_t unix_seconds) {
  // Year 9999 ends here; what is later has no four-digit year.
  constexpr uint64_t kLastIsoSecond = 253402300799;
  std::tm utc{};
  const auto when = static_cast<std::time_t>(unix_seconds);
  char text[32];
  if (unix_seconds > kLastIsoSecond || ::gmtime_r(&when, &utc) == nullptr ||
      std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) {
    return "@" + std::to_string(unix_seconds);
  }
  return text;
}

}  // namespace sluice
