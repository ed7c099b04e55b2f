// NewRateLimitedWriter on a simulated clock: nothing here really sleeps.
// The writer below records when each piece reached it, so the tests can
// check the long-run rate, the bound on bursts, and that slowness below
// earns no extra credit.
#include "io/rate_limited_writer.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <vector>

namespace sluice::io {
namespace {

using std::chrono::nanoseconds;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * 1024;

// Time that moves only when slept in, or when a test moves it.
struct SimulatedTime {
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1000);
  nanoseconds slept{0};
  int sleeps = 0;

  PacingClock clock() {
    return {[this] { return now; },
            [this](nanoseconds d) {
              REQUIRE(d > nanoseconds(0));
              now += d;
              slept += d;
              ++sleeps;
            }};
  }
};

// What reached the writer below, and when; it may take time of its own
// (`cost_per_byte`) or stall once (`stall_at_piece`, `stall`).
class RecordingWriter final : public SequentialWriter {
 public:
  struct Piece {
    Clock::time_point at;  // when it was handed over
    uint64_t bytes;
  };

  explicit RecordingWriter(SimulatedTime* time) : time_(time) {}

  Status Append(ByteView data) override {
    pieces.push_back({time_->now, data.size()});
    size_ += data.size();
    time_->now += nanoseconds(static_cast<int64_t>(cost_per_byte_ns * data.size()));
    if (pieces.size() == stall_at_piece) time_->now += stall;
    return fail_next ? Status::IoError("write below: injected") : Status::Ok();
  }
  Status Sync() override { return Status::Ok(); }
  Status Close() override {
    closed = true;
    return Status::Ok();
  }
  uint64_t Size() const override { return size_; }

  std::vector<Piece> pieces;
  double cost_per_byte_ns = 0;
  size_t stall_at_piece = 0;  // 1-based; 0: never
  nanoseconds stall{0};
  bool fail_next = false;
  bool closed = false;

 private:
  SimulatedTime* time_;
  uint64_t size_ = 0;
};

double Seconds(nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// Appends `total` bytes in pieces of the sizes given, round robin.
void WriteAll(SequentialWriter* w, uint64_t total, const std::vector<size_t>& sizes) {
  static const std::vector<uint8_t> kZeros(8 * kMiB);
  uint64_t done = 0;
  for (size_t i = 0; done < total; ++i) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(sizes[i % sizes.size()], total - done));
    REQUIRE(w->Append(ByteView(kZeros.data(), n)).ok());
    done += n;
  }
}

// The most bytes handed below in any window of `window` (a piece counts
// whole at the time it was handed over).
uint64_t MostInAnyWindow(const std::vector<RecordingWriter::Piece>& pieces, nanoseconds window) {
  uint64_t most = 0;
  uint64_t in_window = 0;
  size_t first = 0;
  for (size_t last = 0; last < pieces.size(); ++last) {
    in_window += pieces[last].bytes;
    while (pieces[last].at - pieces[first].at > window) in_window -= pieces[first++].bytes;
    most = std::max(most, in_window);
  }
  return most;
}

TEST_CASE("the default burst is an eighth of a second of the rate, and at least 256 KiB") {
  CHECK(DefaultBurstBytes(1) == 256 * kKiB);
  CHECK(DefaultBurstBytes(2 * kMiB) == 256 * kKiB);
  CHECK(DefaultBurstBytes(10 * kMiB) == 10 * kMiB / 8);
  CHECK(DefaultBurstBytes(1024 * kMiB) == 128 * kMiB);
}

TEST_CASE("N bytes at rate R take N/R seconds, less the burst the bucket starts with") {
  struct Case {
    uint64_t rate;
    uint64_t burst;  // 0: the default
    uint64_t total;
    std::vector<size_t> sizes;
  };
  const Case cases[] = {
      {2 * kMiB, 0, 64 * kMiB, {1 * kMiB}},                  // the bundle writer's frames
      {2 * kMiB, 0, 64 * kMiB, {4 * kMiB, 17, 65536, 999}},  // above the burst, and odd sizes
      {10 * kMiB, 0, 600 * kMiB, {1 * kMiB, 40}},            // a minute at 10M
      {3 * kMiB + 7, 0, 100 * kMiB, {1 * kMiB}},             // n / rate is no whole nanosecond
      {1000, 100, 100000, {3, 7, 1}},                        // tiny appends: nothing may drift
  };
  for (const Case& c : cases) {
    CAPTURE(c.rate, c.burst, c.total, c.sizes.size());
    SimulatedTime time;
    RecordingWriter below(&time);
    auto limited = NewRateLimitedWriter(&below, c.rate, c.burst, time.clock());
    const Clock::time_point start = time.now;
    WriteAll(limited.get(), c.total, c.sizes);
    CHECK(limited->Size() == c.total);
    CHECK(below.Size() == c.total);

    const uint64_t burst = c.burst != 0 ? c.burst : DefaultBurstBytes(c.rate);
    const double elapsed = Seconds(time.now - start);
    const double expected = static_cast<double>(c.total - burst) / static_cast<double>(c.rate);
    // Within 1 %, and in fact exact but for the rounding of the last due
    // time up to the nanosecond.
    CHECK(elapsed >= expected * 0.99);
    CHECK(elapsed <= expected * 1.01);
    CHECK(elapsed >= expected - 2e-9);
    CHECK(elapsed <= expected + 2e-9);
  }
}

TEST_CASE("no window of time sees more than the burst plus the rate times its length") {
  SimulatedTime time;
  RecordingWriter below(&time);
  const uint64_t rate = 4 * kMiB;
  const uint64_t burst = 512 * kKiB;
  auto limited = NewRateLimitedWriter(&below, rate, burst, time.clock());
  WriteAll(limited.get(), 40 * kMiB, {3 * kMiB, 100, 700 * kKiB, 1});

  for (nanoseconds window : {nanoseconds(0), nanoseconds(1'000'000), nanoseconds(125'000'000),
                             nanoseconds(1'000'000'000), nanoseconds(3'000'000'000)}) {
    CAPTURE(window.count());
    const double bound = static_cast<double>(burst) + static_cast<double>(rate) * Seconds(window);
    CHECK(static_cast<double>(MostInAnyWindow(below.pieces, window)) <= bound + 1);
  }
  // And pieces larger than the burst were cut to it.
  for (const auto& piece : below.pieces) CHECK(piece.bytes <= burst);
}

TEST_CASE("time the writer below takes is part of the schedule, not added to it") {
  // The writer below takes half of each piece's share of time: the rate is
  // still the rate, not the rate minus that overhead.
  SimulatedTime time;
  RecordingWriter below(&time);
  const uint64_t rate = 2 * kMiB;
  below.cost_per_byte_ns = 0.5e9 / static_cast<double>(rate);
  auto limited = NewRateLimitedWriter(&below, rate, 0, time.clock());
  const Clock::time_point start = time.now;
  WriteAll(limited.get(), 120 * kMiB, {1 * kMiB});
  const double elapsed = Seconds(time.now - start);
  const double exact = static_cast<double>(120 * kMiB) / static_cast<double>(rate);  // 60 s
  CHECK(elapsed >= exact * 0.99);
  CHECK(elapsed <= exact * 1.01);
}

TEST_CASE("a writer below that stalls earns no credit beyond the burst") {
  SimulatedTime time;
  RecordingWriter below(&time);
  const uint64_t rate = 1 * kMiB;
  const uint64_t burst = 256 * kKiB;
  // Stalls for ten seconds on its 20th piece: ten seconds' worth of bytes
  // must not follow at once.
  below.stall_at_piece = 20;
  below.stall = std::chrono::seconds(10);
  auto limited = NewRateLimitedWriter(&below, rate, burst, time.clock());
  WriteAll(limited.get(), 40 * kMiB, {64 * kKiB});

  REQUIRE(below.pieces.size() > 20);
  const Clock::time_point resumed = below.pieces[20].at;
  uint64_t without_waiting = 0;
  for (size_t i = 20; i < below.pieces.size() && below.pieces[i].at == resumed; ++i) {
    without_waiting += below.pieces[i].bytes;
  }
  CHECK(without_waiting <= burst);
  // From then on, the rate again.
  for (nanoseconds window :
       {nanoseconds(0), nanoseconds(500'000'000), nanoseconds(2'000'000'000)}) {
    std::vector<RecordingWriter::Piece> after(below.pieces.begin() + 20, below.pieces.end());
    const double bound = static_cast<double>(burst) + static_cast<double>(rate) * Seconds(window);
    CHECK(static_cast<double>(MostInAnyWindow(after, window)) <= bound + 1);
  }
}

TEST_CASE("idle time before the first byte earns no more than the burst") {
  SimulatedTime time;
  RecordingWriter below(&time);
  const uint64_t rate = 1 * kMiB;
  auto limited = NewRateLimitedWriter(&below, rate, 0, time.clock());
  time.now += std::chrono::minutes(5);  // planning, reading sources
  WriteAll(limited.get(), 4 * kMiB, {1 * kMiB});
  // 256 KiB go at once; the rest at 1 MiB/s.
  CHECK(Seconds(time.slept) >= 3.75 - 1e-6);
  CHECK(Seconds(time.slept) <= 3.75 + 1e-6);
}

TEST_CASE("a rate-limited writer passes errors, Sync and Close through") {
  SimulatedTime time;
  RecordingWriter below(&time);
  auto limited = NewRateLimitedWriter(&below, 1 * kMiB, 0, time.clock());
  REQUIRE(limited->Append(AsBytes("abc")).ok());
  CHECK(limited->Append(ByteView()).ok());
  CHECK(limited->Sync().ok());
  below.fail_next = true;
  Status s = limited->Append(AsBytes("def"));
  CHECK(s.kind() == ErrorKind::kIoError);
  CHECK(s.message() == "write below: injected");
  // Broken from then on, without writing more.
  below.fail_next = false;
  CHECK(limited->Append(AsBytes("ghi")).message() == "write below: injected");
  CHECK(below.Size() == 6);
  CHECK(limited->Size() == 3);
  CHECK(limited->Close().ok());
  CHECK(below.closed);
}

}  // namespace
}  // namespace sluice::io
