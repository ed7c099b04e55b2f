// The progress meter, driven by a clock the test moves: what a terminal
// and a log get, and when.
#include "progress.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "byte_size.h"
#include "io/memory_file_system.h"

namespace sluice {
namespace {

using namespace std::chrono_literals;
constexpr uint64_t kMiB = 1 << 20;

// A counter and a meter writing into `out`, on a clock that moves only
// when told.
struct Fixture {
  explicit Fixture(bool terminal, size_t width = 100) {
    ProgressMeter::Options options;
    options.terminal = terminal;
    options.width = width;
    options.clock = [this] { return now; };
    options.write = [this](std::string_view text) { out += text; };
    meter = std::make_unique<ProgressMeter>(&counter, std::move(options));
  }
  // Moves the clock on and lets the meter look.
  void Advance(std::chrono::milliseconds d) {
    now += d;
    meter->Tick();
  }
  std::string TakeOutput() { return std::exchange(out, ""); }

  std::chrono::steady_clock::time_point now{};
  ProgressCounter counter{[this] { return now; }};
  std::string out;
  std::unique_ptr<ProgressMeter> meter;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return lines;
}

// The last line drawn on a terminal, without what blanks a longer one.
std::string LastDrawn(const std::string& out) {
  std::string line = out.substr(out.rfind('\r') + 1);
  return line.substr(0, line.find_last_not_of(' ') + 1);
}

TEST_CASE("on a terminal the line is rewritten in place with bytes, total, rate and ETA") {
  Fixture f(/*terminal=*/true);
  f.counter.BeginPhase("exporting", "blobs", 2, 100 * kMiB);
  f.counter.AddBytes(10 * kMiB);
  f.Advance(1000ms);
  std::string out = f.TakeOutput();
  CHECK(out.find('\n') == std::string::npos);
  // 10 MiB in the second since the phase began; 90 MiB to go.
  CHECK(out == "\rexporting: 0/2 blobs, 10.0 MiB of 100.0 MiB (10%), 10.0 MiB/s, ETA 9.0s");

  // Within one blob (no blob ended), the line moves with the bytes.
  f.counter.AddBytes(40 * kMiB);
  f.Advance(1000ms);
  out = f.TakeOutput();
  CHECK(out.starts_with(
      "\rexporting: 0/2 blobs, 50.0 MiB of 100.0 MiB (50%), 25.0 MiB/s, ETA 2.0s"));
  // A link that stalls: the rate falls over the last seconds, and the ETA
  // is unknown once nothing moved for the whole window.
  for (int i = 0; i < 3; ++i) f.Advance(1000ms);
  out = f.TakeOutput();
  CHECK(LastDrawn(out).ends_with(" (50%), 10.0 MiB/s, ETA 5.0s"));
  for (int i = 0; i < 5; ++i) f.Advance(1000ms);
  out = f.TakeOutput();
  CHECK(LastDrawn(out).ends_with(" (50%), 0 B/s, ETA --"));
}

TEST_CASE("a shorter line on a terminal blanks what is left of the longer one before it") {
  Fixture f(/*terminal=*/true);
  f.counter.BeginPhase("verifying", "blobs", 1, 100 * kMiB);
  f.counter.AddBytes(50 * kMiB);
  f.Advance(250ms);
  f.Advance(1000ms);  // with a rate and an ETA now
  const std::string drawn = f.TakeOutput();
  const std::string longer = LastDrawn(drawn);
  f.counter.EndPhase();
  f.Advance(250ms);
  const std::string out = f.TakeOutput();
  REQUIRE(out.starts_with("\rverifying: 0 blobs, 50.0 MiB in "));
  REQUIRE(out.ends_with("\n"));
  const std::string shown = out.substr(1, out.size() - 2);
  const size_t text = shown.find_last_not_of(' ') + 1;
  REQUIRE(text < longer.size());
  CHECK(shown.size() == longer.size());  // every column of the longer text written over
}

TEST_CASE("a terminal line never reaches the last column, so it never wraps") {
  Fixture f(/*terminal=*/true, /*width=*/40);
  f.counter.BeginPhase("importing", "blobs", 1000, 500 * kMiB * 1024);
  for (int i = 0; i < 5; ++i) {
    f.counter.AddBytes(3 * kMiB);
    f.Advance(250ms);
  }
  for (const std::string& piece : Lines(f.TakeOutput())) {
    size_t at = 0;
    while ((at = piece.find('\r', at)) != std::string::npos) {
      const size_t next = std::min(piece.find('\r', at + 1), piece.size());
      CHECK(next - at - 1 <= 39);
      at = next;
    }
  }
}

TEST_CASE("a phase that ends gets its last line, ended by a newline, on a terminal") {
  Fixture f(/*terminal=*/true);
  f.counter.BeginPhase("exporting", "blobs", 2, 4 * kMiB);
  f.Advance(250ms);
  f.counter.AddBytes(4 * kMiB);
  f.counter.AddItem();
  f.counter.AddItem();
  f.now += 1750ms;
  f.counter.EndPhase();
  f.now += 200ms;  // the meter looks a little later: the phase took 2 s
  f.meter->Tick();
  const std::string out = f.TakeOutput();
  const std::string last = "\rexporting: 2 blobs, 4.0 MiB in 2.0s (2.0 MiB/s)";
  REQUIRE(out.find(last) != std::string::npos);
  const std::string rest = out.substr(out.find(last) + last.size());
  CHECK(rest.find_first_not_of(' ') == rest.size() - 1);
  CHECK(rest.back() == '\n');
  f.Advance(250ms);
  CHECK(f.TakeOutput().empty());  // once
}

TEST_CASE(
    "not on a terminal: plain lines at each tenth, at most one a second, no carriage return") {
  Fixture f(/*terminal=*/false);
  f.counter.BeginPhase("exporting", "blobs", 1, 100 * kMiB);
  f.Advance(250ms);
  // Fast: 15 % in half a second is not worth a line yet.
  f.counter.AddBytes(15 * kMiB);
  f.Advance(250ms);
  CHECK(f.TakeOutput().empty());
  f.Advance(500ms);  // a second since the start
  CHECK(f.TakeOutput() ==
        "exporting: 0/1 blobs, 15.0 MiB of 100.0 MiB (15%), 15.0 MiB/s, ETA 5.7s\n");
  // Another tenth, but within the second: nothing; after it: a line.
  f.counter.AddBytes(10 * kMiB);
  f.Advance(500ms);
  CHECK(f.TakeOutput().empty());
  f.Advance(500ms);
  CHECK(Lines(f.TakeOutput()).size() == 1);
  // No tenth more: the next line comes after 5 seconds.
  f.counter.AddBytes(1 * kMiB);
  for (int i = 0; i < 19; ++i) f.Advance(250ms);
  CHECK(f.TakeOutput().empty());
  f.Advance(250ms);
  const std::string periodic = f.TakeOutput();
  CHECK(periodic.starts_with("exporting: 0/1 blobs, 26.0 MiB of 100.0 MiB (26%), "));
  CHECK(periodic.find('\r') == std::string::npos);

  f.counter.AddBytes(74 * kMiB);
  f.counter.AddItem();
  f.counter.EndPhase();
  f.meter->Finish();
  const std::string last = f.TakeOutput();
  CHECK(last.starts_with("exporting: 1 blobs, 100.0 MiB in "));
  CHECK(last.find('\r') == std::string::npos);
  CHECK(Lines(last).size() == 1);
}

TEST_CASE("a phase begun and ended between two looks still gets its last line") {
  Fixture f(/*terminal=*/false);
  f.counter.BeginPhase("checking", "", 0, 10 * kMiB);
  f.counter.AddBytes(10 * kMiB);
  f.counter.BeginPhase("rebuilding", "files", 1, 5 * kMiB);
  f.counter.AddBytes(5 * kMiB);
  f.counter.AddItem();
  f.counter.EndPhase();
  f.Advance(250ms);
  CHECK(f.TakeOutput() == "checking: 10.0 MiB in 0.0s\nrebuilding: 1 files, 5.0 MiB in 0.0s\n");
  f.meter->Finish();
  CHECK(f.TakeOutput().empty());
}

TEST_CASE("Finish ends a line left open by a failed phase, once") {
  Fixture f(/*terminal=*/true);
  f.counter.BeginPhase("importing", "blobs", 3, 30 * kMiB);
  f.counter.AddBytes(kMiB);
  f.Advance(250ms);
  f.TakeOutput();
  f.meter->Finish();
  const std::string out = f.TakeOutput();
  CHECK(out.ends_with("\n"));
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  f.meter->Finish();
  CHECK(f.TakeOutput().empty());
}

TEST_CASE("the counter adds up bytes and items from many threads exactly") {
  ProgressCounter counter;
  counter.BeginPhase("importing", "blobs", 8, 8 * 1000 * 4096);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&counter] {
      for (int i = 0; i < 1000; ++i) counter.AddBytes(4096);
      counter.AddItem();
    });
  }
  for (auto& t : threads) t.join();
  const ProgressCounter::Phase p = counter.Read().current;
  CHECK(p.bytes == 8 * 1000 * 4096);
  CHECK(p.items == 8);
  CHECK_FALSE(p.ended);
}

TEST_CASE("a meter on its own thread looks at least every second while one blob goes on") {
  ProgressCounter counter;
  std::string out;
  std::mutex out_mu;
  ProgressMeter::Options options;
  options.terminal = true;
  options.write = [&](std::string_view text) {
    std::lock_guard<std::mutex> lock(out_mu);
    out += text;
  };
  ProgressMeter meter(&counter, std::move(options));
  counter.BeginPhase("exporting", "blobs", 1, 100);
  meter.Start(20ms);
  for (int i = 0; i < 10; ++i) {
    counter.AddBytes(10);
    std::this_thread::sleep_for(30ms);
  }
  counter.AddItem();
  counter.EndPhase();
  meter.Finish();
  const size_t redraws = std::count(out.begin(), out.end(), '\r');
  CHECK(redraws >= 5);
  CHECK(out.ends_with("\n"));
  CHECK(out.find("exporting: 1 blobs, 100 B in ") != std::string::npos);
}

TEST_CASE("durations and rates read as people write them") {
  CHECK(FormatDuration(std::chrono::milliseconds(300)) == "0.3s");
  CHECK(FormatDuration(std::chrono::seconds(42)) == "42s");
  CHECK(FormatDuration(std::chrono::seconds(125)) == "2m05s");
  CHECK(FormatDuration(std::chrono::seconds(3720)) == "1h02m");
  CHECK(FormatRate(85.2 * kMiB) == "85.2 MiB/s");
  CHECK(FormatRate(-1) == "0 B/s");
  CHECK(HumanBytes(512) == "512 B");
  CHECK(HumanBytes(1536) == "1.5 KiB");
}

TEST_CASE("counted readers and writers add what passes through them") {
  io::MemoryFileSystem fs;
  {
    auto w = fs.NewWriter("f");
    REQUIRE(w.ok());
    REQUIRE((*w)->Append(io::AsBytes(std::string(1000, 'x'))).ok());
    REQUIRE((*w)->Close().ok());
  }
  ProgressCounter counter;
  counter.BeginPhase("checking", "", 0, 1000);
  auto reader = fs.NewPositionalReader("f");
  REQUIRE(reader.ok());
  auto counted = CountReads(std::move(reader).value(), &counter);
  std::vector<uint8_t> buf(600);
  REQUIRE(counted->ReadAt(0, io::MutableBytes(buf.data(), buf.size())).ok());
  REQUIRE(counted->ReadAt(600, io::MutableBytes(buf.data(), buf.size())).ok());  // 400 left
  CHECK(counter.Read().current.bytes == 1000);

  auto out = fs.NewWriter("g");
  REQUIRE(out.ok());
  auto counted_out = CountWrites(out->get(), &counter);
  REQUIRE(counted_out->Append(io::AsBytes(std::string(24, 'y'))).ok());
  CHECK(counter.Read().current.bytes == 1024);
  CHECK(counted_out->Size() == 24);
}

}  // namespace
}  // namespace sluice
