#include "progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <optional>
#include <vector>

#include "byte_size.h"

namespace sluice {

void ProgressCounter::BeginPhase(std::string name, std::string item_unit, uint64_t items_total,
                                 uint64_t bytes_total) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_();
  if (phase_.id != 0) {
    previous_ = Current();
    if (!previous_.ended) previous_.ended_at = now;
    previous_.ended = true;
  }
  const uint64_t id = phase_.id + 1;
  phase_ = Phase{id, std::move(name), std::move(item_unit), 0, items_total, 0, bytes_total, false,
                 now, now};
  items_.store(0, std::memory_order_relaxed);
  bytes_.store(0, std::memory_order_relaxed);
}

void ProgressCounter::EndPhase() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!phase_.ended) phase_.ended_at = clock_();
  phase_.ended = true;
}

ProgressCounter::Phase ProgressCounter::Current() const {
  Phase p = phase_;
  p.items = items_.load(std::memory_order_relaxed);
  p.bytes = bytes_.load(std::memory_order_relaxed);
  return p;
}

ProgressCounter::Snapshot ProgressCounter::Read() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {Current(), previous_};
}

namespace {

class CountingPositionalReader : public io::PositionalReader {
 public:
  CountingPositionalReader(std::unique_ptr<io::PositionalReader> reader, ProgressCounter* counter)
      : reader_(std::move(reader)), counter_(counter) {}
  Result<size_t> ReadAt(uint64_t offset, io::MutableBytes buf) const override {
    Result<size_t> n = reader_->ReadAt(offset, buf);
    if (n.ok()) counter_->AddBytes(*n);
    return n;
  }
  uint64_t Size() const override { return reader_->Size(); }
  const std::string& name() const override { return reader_->name(); }

 private:
  std::unique_ptr<io::PositionalReader> reader_;
  ProgressCounter* counter_;
};

class CountingWriter : public io::SequentialWriter {
 public:
  CountingWriter(io::SequentialWriter* writer, ProgressCounter* counter)
      : writer_(writer), counter_(counter) {}
  Status Append(io::ByteView data) override {
    SLUICE_RETURN_IF_ERROR(writer_->Append(data));
    if (counter_ != nullptr) counter_->AddBytes(data.size());
    return Status::Ok();
  }
  Status Sync() override { return writer_->Sync(); }
  Status Close() override { return writer_->Close(); }
  uint64_t Size() const override { return writer_->Size(); }
  void Reserve(uint64_t bytes) override { writer_->Reserve(bytes); }

 private:
  io::SequentialWriter* writer_;
  ProgressCounter* counter_;
};

}  // namespace

std::unique_ptr<io::PositionalReader> CountReads(std::unique_ptr<io::PositionalReader> reader,
                                                 ProgressCounter* counter) {
  if (counter == nullptr) return reader;
  return std::make_unique<CountingPositionalReader>(std::move(reader), counter);
}

std::unique_ptr<io::SequentialWriter> CountWrites(io::SequentialWriter* writer,
                                                  ProgressCounter* counter) {
  return std::make_unique<CountingWriter>(writer, counter);
}

std::string FormatRate(double bytes_per_second) {
  return HumanBytes(static_cast<uint64_t>(std::max(0.0, bytes_per_second))) + "/s";
}

std::string FormatDuration(std::chrono::duration<double> d) {
  const double seconds = std::max(0.0, d.count());
  char buf[32];
  if (seconds < 10) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    return buf;
  }
  const uint64_t whole = static_cast<uint64_t>(std::llround(seconds));
  if (whole < 60) {
    std::snprintf(buf, sizeof buf, "%llus", static_cast<unsigned long long>(whole));
  } else if (whole < 3600) {
    std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(whole / 60),
                  static_cast<unsigned long long>(whole % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lluh%02llum", static_cast<unsigned long long>(whole / 3600),
                  static_cast<unsigned long long>(whole / 60 % 60));
  }
  return buf;
}

namespace {

using TimePoint = std::chrono::steady_clock::time_point;
using Seconds = std::chrono::duration<double>;

// The rate is taken over the last few seconds, so that it follows a link
// that slows down, without jumping with every buffer.
constexpr std::chrono::seconds kRateWindow{5};
// Not on a terminal, no two lines closer than this (a fast phase passes
// every tenth in a blink, and needs its last line only).
constexpr std::chrono::seconds kMinLogGap{1};

// "exporting: 3/10 blobs, 45.0 MiB of 120.0 MiB (37%)"
std::string Counts(const ProgressCounter::Phase& p) {
  std::string line = p.name + ": ";
  if (!p.item_unit.empty()) {
    line += std::to_string(p.items);
    if (p.items_total != 0) line += "/" + std::to_string(p.items_total);
    line += " " + p.item_unit + ", ";
  }
  line += HumanBytes(p.bytes);
  if (p.bytes_total != 0) {
    const uint64_t percent = std::min<uint64_t>(100, p.bytes * 100 / p.bytes_total);
    line += " of " + HumanBytes(p.bytes_total) + " (" + std::to_string(percent) + "%)";
  }
  return line;
}

// Tenths of the phase done, 0 to 10; 0 when its size is unknown.
uint64_t Tenths(const ProgressCounter::Phase& p) {
  if (p.bytes_total == 0) return 0;
  return std::min<uint64_t>(10, p.bytes * 10 / p.bytes_total);
}

}  // namespace

struct ProgressMeter::Shown {
  uint64_t id = 0;
  // (time, bytes) seen over the last kRateWindow, oldest first.
  std::deque<std::pair<TimePoint, uint64_t>> samples;
  std::optional<TimePoint> last_line;  // not on a terminal
  uint64_t last_tenths = 0;
};

ProgressMeter::ProgressMeter(const ProgressCounter* counter, Options options)
    : counter_(counter), options_(std::move(options)) {
  if (!options_.write) {
    options_.write = [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stderr);
      std::fflush(stderr);
    };
  }
  if (options_.width < 2) options_.width = 2;
}

ProgressMeter::~ProgressMeter() { Finish(); }

void ProgressMeter::Start(std::chrono::milliseconds interval) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, interval, [this] { return stop_; })) Tick();
  });
}

void ProgressMeter::Tick() {
  std::lock_guard<std::mutex> lock(mu_);
  TickLocked(options_.clock());
}

void ProgressMeter::Finish() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stop_) return;
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  TickLocked(options_.clock());
  if (drawn_ > 0) options_.write("\n");
  drawn_ = 0;
  shown_.reset();
}

void ProgressMeter::Draw(const std::string& line) {
  // Never as wide as the terminal: a line that wraps could not be
  // rewritten in place.
  std::string text = line.substr(0, options_.width - 1);
  const size_t columns = text.size();
  if (columns < drawn_) text.append(drawn_ - columns, ' ');  // what is left of a longer line
  options_.write("\r" + text);
  drawn_ = columns;
}

void ProgressMeter::EndPhaseLine(const ProgressCounter::Phase& final) {
  std::string line = final.name + ": ";
  if (!final.item_unit.empty()) line += std::to_string(final.items) + " " + final.item_unit + ", ";
  line += HumanBytes(final.bytes);
  const Seconds took = final.ended_at - final.begun;
  line += " in " + FormatDuration(took);
  if (took.count() > 0) line += " (" + FormatRate(final.bytes / took.count()) + ")";
  if (options_.terminal) {
    Draw(line);
    options_.write("\n");
    drawn_ = 0;
  } else {
    options_.write(line + "\n");
  }
  finished_id_ = final.id;
  if (shown_ && shown_->id == final.id) shown_.reset();
}

void ProgressMeter::TickLocked(TimePoint now) {
  const ProgressCounter::Snapshot snap = counter_->Read();
  // A phase that ended since the last look, perhaps before it was seen.
  if (snap.previous.id > finished_id_) EndPhaseLine(snap.previous);
  const ProgressCounter::Phase& p = snap.current;
  if (p.id == 0 || p.id <= finished_id_) return;
  if (shown_ && shown_->id != p.id) shown_.reset();
  if (p.ended) {
    EndPhaseLine(p);
    return;
  }
  if (!shown_) {
    shown_ = std::make_unique<Shown>();
    shown_->id = p.id;
    shown_->samples.emplace_back(p.begun, 0);
  }
  Shown& s = *shown_;
  s.samples.emplace_back(now, p.bytes);
  while (s.samples.size() > 2 && now - s.samples[1].first >= kRateWindow) s.samples.pop_front();
  const Seconds window = now - s.samples.front().first;
  std::string line = Counts(p);
  if (window.count() > 0) {
    const double rate = static_cast<double>(p.bytes - s.samples.front().second) / window.count();
    line += ", " + FormatRate(rate);
    if (p.bytes_total != 0) {
      const uint64_t left = p.bytes_total - std::min(p.bytes, p.bytes_total);
      line += rate >= 1 ? ", ETA " + FormatDuration(Seconds(left / rate)) : ", ETA --";
    }
  }
  if (options_.terminal) {
    Draw(line);
    return;
  }
  const uint64_t tenths = Tenths(p);
  const bool due = !s.last_line ? now - p.begun >= options_.log_interval ||
                                      (tenths > 0 && now - p.begun >= kMinLogGap)
                                : now - *s.last_line >= options_.log_interval ||
                                      (tenths > s.last_tenths && now - *s.last_line >= kMinLogGap);
  if (!due) return;
  options_.write(line + "\n");
  s.last_line = now;
  s.last_tenths = tenths;
}

}  // namespace sluice
