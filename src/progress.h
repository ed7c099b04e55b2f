// Progress of long work (export, import, verify, repair): counted where the
// bytes flow, shown by a meter at its own pace.
//
// The work holds a ProgressCounter and adds to it as bytes pass (from any
// thread: blobs are read and written by several at once); it never prints.
// A ProgressMeter, run by the command line, looks at the counter on a
// clock of its own (injectable, so tests drive time) and writes:
//   - on a terminal, one line per phase, rewritten in place ('\r') with the
//     bytes done, the total, the rate and the time left;
//   - elsewhere (a log, a pipe), a plain line every 5 seconds or every
//     10 % of the phase, and one when the phase ends; never a '\r'.
// A quiet command has no meter; the counting costs two atomic additions.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "io/file.h"

namespace sluice {

// The time, for the counter's stamps and the meter's looks alike: the
// steady clock, unless a test drives its own.
using ProgressClock = std::function<std::chrono::steady_clock::time_point()>;

// The counts of the phase under way. Every method is safe from any thread.
class ProgressCounter {
 public:
  // What a meter sees of one phase.
  struct Phase {
    uint64_t id = 0;        // 0: no phase begun yet
    std::string name;       // "exporting"
    std::string item_unit;  // "blobs", or "" when items are not counted
    uint64_t items = 0;
    uint64_t items_total = 0;
    uint64_t bytes = 0;
    uint64_t bytes_total = 0;  // 0: unknown
    bool ended = false;
    std::chrono::steady_clock::time_point begun;
    std::chrono::steady_clock::time_point ended_at;  // when `ended`
  };

  explicit ProgressCounter(ProgressClock clock = [] { return std::chrono::steady_clock::now(); })
      : clock_(std::move(clock)) {}
  ProgressCounter(const ProgressCounter&) = delete;
  ProgressCounter& operator=(const ProgressCounter&) = delete;

  // Starts a phase (ending the one under way): `bytes_total` bytes in
  // `items_total` items called `item_unit` ("" to count no items).
  void BeginPhase(std::string name, std::string item_unit, uint64_t items_total,
                  uint64_t bytes_total);
  // Bytes of the phase done: called as they pass, a buffer at a time.
  void AddBytes(uint64_t n) { bytes_.fetch_add(n, std::memory_order_relaxed); }
  // One item (a blob, a file) of the phase done.
  void AddItem() { items_.fetch_add(1, std::memory_order_relaxed); }
  // The phase is done; its counts stay as they are.
  void EndPhase();

  // The phase under way (or the last, ended), and the one ended before it
  // with its final counts, so that a meter that looked too late for the
  // end of a phase still shows where it ended.
  struct Snapshot {
    Phase current;
    Phase previous;
  };
  Snapshot Read() const;

 private:
  Phase Current() const;  // with mu_ held

  const ProgressClock clock_;
  mutable std::mutex mu_;  // guards everything but the two counts
  Phase phase_;            // name, totals, id; counts are below
  Phase previous_;
  std::atomic<uint64_t> items_{0};
  std::atomic<uint64_t> bytes_{0};
};

// Reads through `reader`, adding every byte read to `counter` (null: none).
std::unique_ptr<io::PositionalReader> CountReads(std::unique_ptr<io::PositionalReader> reader,
                                                 ProgressCounter* counter);
// Writes through `writer` (not owned), adding every byte written to
// `counter`.
std::unique_ptr<io::SequentialWriter> CountWrites(io::SequentialWriter* writer,
                                                  ProgressCounter* counter);

// "85.2 MiB/s"
std::string FormatRate(double bytes_per_second);
// "7s", "2m05s", "1h02m"
std::string FormatDuration(std::chrono::duration<double> d);

// Shows a ProgressCounter. Tick() and Finish() may be called from any
// thread (they take a lock); Start() calls Tick() from a thread of its own.
class ProgressMeter {
 public:
  struct Options {
    bool terminal = false;  // rewrite one line in place, else plain lines
    size_t width = 80;      // a terminal's columns: the line never wraps
    ProgressClock clock = [] { return std::chrono::steady_clock::now(); };
    // Not on a terminal: a line at least this often, and at every tenth.
    std::chrono::milliseconds log_interval{5000};
    // Where the text goes: stderr unless told.
    std::function<void(std::string_view)> write;
  };

  ProgressMeter(const ProgressCounter* counter, Options options);
  ~ProgressMeter();  // Finish()
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  // Calls Tick() every `interval` on a thread until Finish().
  void Start(std::chrono::milliseconds interval = std::chrono::milliseconds(250));
  // Writes what is due now: the line of the phase under way (a terminal),
  // a periodic line (a log), the last line of a phase that ended.
  void Tick();
  // Once: stops the thread, writes the last line of a phase that ended and ends
  // a line left open on a terminal, so that other output starts on a line
  // of its own.
  void Finish();

 private:
  struct Shown;
  void TickLocked(std::chrono::steady_clock::time_point now);
  void Draw(const std::string& line);
  void EndPhaseLine(const ProgressCounter::Phase& final);

  const ProgressCounter* counter_;
  Options options_;
  std::mutex mu_;
  std::unique_ptr<Shown> shown_;  // the phase being shown, if any
  size_t drawn_ = 0;              // columns of the line open on a terminal
  uint64_t finished_id_ = 0;      // the last phase whose last line is written
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sluice
