#include "registry/retry.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <string>
#include <thread>

namespace sluice::registry {

bool IsTransientStatus(int status) {
  return status == 429 || (status >= 500 && status <= 599 && status != 501 && status != 505);
}

std::optional<int64_t> RetryAfterMs(std::string_view value, std::time_t now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    uint64_t seconds = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (error == std::errc::result_out_of_range) return int64_t{INT32_MAX};
    if (error != std::errc() || end != value.data() + value.size()) return std::nullopt;
    return static_cast<int64_t>(std::min<uint64_t>(seconds, INT32_MAX / 1000) * 1000);
  }
  // An HTTP date, e.g. "Wed, 21 Oct 2015 07:28:00 GMT" (curl reads all three
  // of RFC 9110's forms).
  std::time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when == -1) return std::nullopt;
  return when <= now
             ? 0
             : static_cast<int64_t>(std::min<std::time_t>(when - now, INT32_MAX / 1000)) * 1000;
}

Backoff::Backoff(int max_retries, int initial_ms, SleepFunction sleep)
    : max_retries_(max_retries), next_ms_(std::max(initial_ms, 0)), sleep_(std::move(sleep)) {
  if (!sleep_) {
    sleep_ = [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  }
}

bool Backoff::Retry(std::string_view retry_after) {
  if (retries_ >= max_retries_) return false;
  ++retries_;
  int64_t wait = next_ms_;
  if (auto asked = RetryAfterMs(retry_after, std::time(nullptr))) wait = std::max(wait, *asked);
  sleep_(static_cast<int>(std::min<int64_t>(wait, kMaxBackoffMs)));
  next_ms_ = std::min(next_ms_ * 2, kMaxBackoffMs);
  return true;
}

}  // namespace sluice::registry
