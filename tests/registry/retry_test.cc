#include "registry/retry.h"

#include <catch2/catch.hpp>
#include <vector>

namespace sluice::registry {
namespace {

// A Backoff whose waits are recorded instead of slept.
struct RecordedBackoff {
  std::vector<int> waits;
  Backoff backoff;
  RecordedBackoff(int max_retries, int initial_ms)
      : backoff(max_retries, initial_ms, [this](int ms) { waits.push_back(ms); }) {}
};

TEST_CASE("backoff allows max_retries further attempts, doubling its wait") {
  RecordedBackoff r(4, 250);
  int attempts = 1;
  while (r.backoff.Retry()) ++attempts;
  CHECK(attempts == 5);
  CHECK(r.waits == std::vector<int>{250, 500, 1000, 2000});
  CHECK(r.backoff.retries() == 4);
}

TEST_CASE("backoff never waits longer than its cap") {
  RecordedBackoff r(3, 20000);
  while (r.backoff.Retry()) {
  }
  CHECK(r.waits == std::vector<int>{20000, kMaxBackoffMs, kMaxBackoffMs});
}

TEST_CASE("backoff with no retries allowed refuses at once without waiting") {
  RecordedBackoff r(0, 250);
  CHECK_FALSE(r.backoff.Retry());
  CHECK(r.waits.empty());
}

TEST_CASE("backoff waits what Retry-After asks when that is longer, up to the cap") {
  RecordedBackoff r(3, 100);
  REQUIRE(r.backoff.Retry("2"));
  REQUIRE(r.backoff.Retry("0"));  // shorter than the backoff: the backoff wins
  REQUIRE(r.backoff.Retry("86400"));
  CHECK(r.waits == std::vector<int>{2000, 200, kMaxBackoffMs});
}

TEST_CASE("Retry-After is read as delta seconds or an HTTP date, and junk is ignored") {
  std::time_t now = 1445412480;  // Wed, 21 Oct 2015 07:28:00 GMT
  CHECK(RetryAfterMs("120", now) == 120000);
  CHECK(RetryAfterMs(" 3 ", now) == 3000);
  CHECK(RetryAfterMs("Wed, 21 Oct 2015 07:28:05 GMT", now) == 5000);
  CHECK(RetryAfterMs("Wed, 21 Oct 2015 07:27:00 GMT", now) == 0);  // in the past
  CHECK(RetryAfterMs("", now) == std::nullopt);
  CHECK(RetryAfterMs("soon", now) == std::nullopt);
  CHECK(RetryAfterMs("12abc", now) == std::nullopt);
  CHECK(RetryAfterMs("-5", now) == std::nullopt);
  CHECK(RetryAfterMs("99999999999999999999999", now).value() > 0);  // huge, not a crash
}

TEST_CASE("429 and 5xx are transient, but 501 and 505 and other answers are not") {
  for (int status : {429, 500, 502, 503, 504, 599}) CHECK(IsTransientStatus(status));
  for (int status : {200, 201, 400, 401, 403, 404, 416, 501, 505}) {
    CHECK_FALSE(IsTransientStatus(status));
  }
}

}  // namespace
}  // namespace sluice::registry
