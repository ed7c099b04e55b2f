#include "io/rate_limited_writer.h"

#include <algorithm>
#include <thread>
#include <utility>

namespace sluice::io {
namespace {

// n * 1e9 overflows 64 bits from n = 18 GB on: pieces of a burst at a
// terabyte a second are that large.
__extension__ using Wide = unsigned __int128;

constexpr uint64_t kNanosPerSecond = 1'000'000'000;
constexpr uint64_t kMinBurstBytes = 256 * 1024;

using Nanos = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Nanos>;

class RateLimitedWriter final : public SequentialWriter {
 public:
  RateLimitedWriter(SequentialWriter* out, uint64_t rate, uint64_t burst, PacingClock clock)
      : out_(out),
        rate_(rate),
        burst_(burst),
        burst_time_(static_cast<Nanos::rep>(Wide{burst} * kNanosPerSecond / rate)),
        clock_(std::move(clock)) {}

  Status Append(ByteView data) override {
    if (!status_.ok()) return status_;
    while (!data.empty()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(data.size(), burst_));
      WaitForCredit(n);
      if (Status s = out_->Append(data.first(n)); !s.ok()) {
        status_ = s;
        return s;
      }
      passed_ += n;
      data = data.subspan(n);
    }
    return Status::Ok();
  }

  Status Sync() override { return status_.ok() ? out_->Sync() : status_; }
  Status Close() override { return out_->Close(); }
  uint64_t Size() const override { return passed_; }
  void Reserve(uint64_t bytes) override { out_->Reserve(bytes); }

 private:
  // The bucket is kept as the time it was, or will be, empty: its credit at
  // time t is rate * (t - empty_at_), capped at burst. Spending n bytes moves
  // empty_at_ n / rate later, and the piece may go once t >= empty_at_.
  // Keeping a time rather than a count of tokens makes the schedule
  // absolute: however long the caller or the writer below took, a piece is
  // due when the schedule says, never a full n / rate after the last one.
  void WaitForCredit(size_t n) {
    TimePoint now = std::chrono::time_point_cast<Nanos>(clock_.now());
    // Credit beyond the burst is not kept; the bucket starts full.
    if (!started_ || empty_at_ < now - burst_time_) {
      empty_at_ = now - burst_time_;
      remainder_ = 0;
      started_ = true;
    }
    // n / rate seconds, in nanoseconds; what is left over, less than a
    // nanosecond, is carried to the next piece.
    Wide total = Wide{n} * kNanosPerSecond + remainder_;
    empty_at_ += Nanos(static_cast<Nanos::rep>(total / rate_));
    remainder_ = static_cast<uint64_t>(total % rate_);
    // The due time rounded up, so that no piece goes early.
    TimePoint due = empty_at_ + Nanos(remainder_ > 0 ? 1 : 0);
    if (now < due) clock_.sleep_for(due - now);
  }

  SequentialWriter* const out_;
  const uint64_t rate_;     // bytes per second
  const uint64_t burst_;    // bytes
  const Nanos burst_time_;  // burst / rate
  const PacingClock clock_;
  bool started_ = false;
  TimePoint empty_at_;
  uint64_t remainder_ = 0;  // in units of 1 / rate nanoseconds
  uint64_t passed_ = 0;
  Status status_;
};

}  // namespace

PacingClock SteadyPacingClock() {
  return {[] { return std::chrono::steady_clock::now(); },
          [](std::chrono::nanoseconds duration) { std::this_thread::sleep_for(duration); }};
}

uint64_t DefaultBurstBytes(uint64_t bytes_per_second) {
  return std::max(bytes_per_second / 8, kMinBurstBytes);
}

std::unique_ptr<SequentialWriter> NewRateLimitedWriter(SequentialWriter* out,
                                                       uint64_t bytes_per_second,
                                                       uint64_t burst_bytes, PacingClock clock) {
  return std::make_unique<RateLimitedWriter>(
      out, std::max<uint64_t>(bytes_per_second, 1),
      burst_bytes != 0 ? burst_bytes : DefaultBurstBytes(bytes_per_second), std::move(clock));
}

}  // namespace sluice::io
