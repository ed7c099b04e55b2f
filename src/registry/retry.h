// The one retry policy of the registry client. Every request that may be
// sent again (a connection refused or reset, a 429 or 5xx answer, a body cut
// short, a blob transfer to resume) counts its attempts and waits through a
// Backoff: waits double from ClientOptions::initial_backoff_ms up to
// kMaxBackoffMs, and a server's Retry-After is honoured up to that cap.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <string_view>

namespace sluice::registry {

inline constexpr int kMaxBackoffMs = 30000;

// Answers worth asking again: 429 and 5xx, except 501 and 505, which no
// retry changes.
bool IsTransientStatus(int status);

// The wait a Retry-After header value asks for, in milliseconds: delta
// seconds ("120") or an HTTP date, taken relative to `now` (0 for a date in
// the past). nullopt when the value is empty or neither form.
std::optional<int64_t> RetryAfterMs(std::string_view value, std::time_t now);

class Backoff {
 public:
  using SleepFunction = std::function<void(int ms)>;
  // At most `max_retries` further attempts. `sleep` is for tests; the
  // default sleeps the calling thread.
  Backoff(int max_retries, int initial_ms, SleepFunction sleep = {});

  // Whether one more attempt may be made; if so, first waits the current
  // backoff, or what `retry_after` (a Retry-After header value) asks if that
  // is longer, never more than kMaxBackoffMs.
  bool Retry(std::string_view retry_after = {});

  int retries() const { return retries_; }

 private:
  int max_retries_;
  int next_ms_;
  int retries_ = 0;
  SleepFunction sleep_;
};

}  // namespace sluice::registry
