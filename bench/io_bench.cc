// io_bench: sequential write and read throughput of the posix and io_uring
// FileSystems, the way sluice uses them (export writes a bundle front to
// back; import and verify read one front to back).
//
//   io_bench DIR [--size-mib 1024] [--runs 5] [--append-kib 256]
//
// For each backend: one warm-up, then --runs timed runs of
//   write       Append() a file of --size-mib in --append-kib pieces, Sync(),
//               Close(): the time includes the fsync, so the data is on the
//               device, as it must be before sluice publishes a bundle;
//   read-cached read the file back while it is still in the page cache;
//   read-cold   read it again after posix_fadvise(DONTNEED) evicted it, so
//               the bytes come from the device;
//   cold+work   the same, with a CPU pass over every byte read (Work(), a
//               stand-in for sha256/zstd), where overlapping I/O with
//               computation should pay.
// Reported as min / median / max MB/s (10^6 bytes per second). The limits
// measured in the same run: memcpy of the same volume in the same pieces
// (what any cached path must at least pay) and Work() alone.
//
// Why the numbers look as they do. One run on the development VM (2 vCPUs,
// virtio disk with read_ahead_kb = 8192, other builds running: load 14),
// 256 MiB, medians in MB/s:
//     limit memcpy 6180, work 802
//     posix    write+fsync 240  read-cached 2294  read-cold 1121  cold+work 507
//     io_uring write+fsync 170  read-cached 1261  read-cold  866  cold+work 395
//   - write+fsync is bounded by the device: both backends copy into the page
//     cache and the final fsync waits for writeback. Buffered io_uring writes
//     of cached pages complete at submission, so the in-flight writes buy
//     little here; the spread between runs is larger than the difference.
//   - read-cached is memory bandwidth. posix read(2)s straight into the
//     caller's 256 KiB buffer, which stays in L2. io_uring reads ahead into
//     four 1 MiB buffers of its own and copies out of them: every byte
//     crosses memory twice, which halves the rate on a busy machine.
//   - read-cold: with an 8 MiB kernel readahead, plain read(2) already keeps
//     the virtio queue full, so io_uring's 4 MiB of requests in flight add
//     nothing and its extra copy still costs. io_uring should win where the
//     kernel readahead is small or the device wants a deeper queue (NVMe,
//     network block devices); measure there before drawing conclusions.
//   - cold+work sits near 1 / (1/read + 1/work) for both: the kernel's own
//     readahead already overlaps the device with the computation.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "io/atomic_file.h"
#include "io/file.h"

namespace {

using sluice::Status;
using sluice::io::FileSystem;

struct Options {
  std::string dir;
  uint64_t size_mib = 1024;
  int runs = 5;
  size_t append_kib = 256;
};

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "io_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

// Times `body` and returns MB/s for `bytes`.
double Measure(uint64_t bytes, const std::function<void()>& body) {
  auto start = std::chrono::steady_clock::now();
  body();
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return static_cast<double>(bytes) / 1e6 / elapsed.count();
}

void Report(const std::string& backend, const std::string& test, std::vector<double> rates) {
  std::sort(rates.begin(), rates.end());
  std::printf("%-9s %-12s min %8.0f  median %8.0f  max %8.0f MB/s\n", backend.c_str(), test.c_str(),
              rates.front(), rates[rates.size() / 2], rates.back());
  std::fflush(stdout);
}

void WriteFile(FileSystem* fs, const std::string& path, const std::vector<uint8_t>& chunk,
               uint64_t size) {
  auto writer = fs->NewWriter(path);
  if (!writer.ok()) Die("open " + path, writer.status());
  for (uint64_t done = 0; done < size; done += chunk.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - done));
    Status s = (*writer)->Append({chunk.data(), n});
    if (!s.ok()) Die("write", s);
  }
  if (Status s = (*writer)->Sync(); !s.ok()) Die("sync", s);
  if (Status s = (*writer)->Close(); !s.ok()) Die("close", s);
}

// Stands in for what sluice does with every byte it reads (sha256, zstd): a
// pass over the data that costs CPU time.
uint64_t Work(const uint8_t* data, size_t size) {
  uint64_t h = 0x9e3779b97f4a7c15;
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    h = (h ^ word) * 0xff51afd7ed558ccd;
    h ^= h >> 29;
  }
  return h;
}

// Reads the whole file, with `work` on each piece or not; returns a value
// that depends on the bytes, so nothing is optimised away. A short file
// ends the program.
uint64_t ReadFile(FileSystem* fs, const std::string& path, std::vector<uint8_t>& buf,
                  uint64_t expected, bool work = false) {
  auto reader = fs->NewSequentialReader(path);
  if (!reader.ok()) Die("open " + path, reader.status());
  uint64_t total = 0, mix = 0;
  for (;;) {
    auto n = (*reader)->Read(buf);
    if (!n.ok()) Die("read", n.status());
    total += *n;
    if (*n > 0) mix += work ? Work(buf.data(), *n) : buf[0] + buf[*n - 1];
    if (*n < buf.size()) break;
  }
  if (total != expected) {
    std::fprintf(stderr, "io_bench: read %llu bytes, expected %llu\n",
                 static_cast<unsigned long long>(total), static_cast<unsigned long long>(expected));
    std::exit(1);
  }
  return mix;
}

// Asks the kernel to drop the file's clean pages, so the next read goes to
// the device. The benchmark, not the library, does this: sluice never needs to.
void EvictFromCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

bool ParseOptions(int argc, char** argv, Options* options) {
  namespace po = boost::program_options;
  po::options_description visible("Options");
  visible.add_options()("help,h", "show this help")(
      "size-mib", po::value(&options->size_mib)->default_value(options->size_mib),
      "file size in MiB")("runs", po::value(&options->runs)->default_value(options->runs),
                          "timed runs per test (after one warm-up)")(
      "append-kib", po::value(&options->append_kib)->default_value(options->append_kib),
      "size of each Append and Read in KiB");
  po::options_description all;
  all.add(visible).add_options()("dir", po::value(&options->dir));
  po::positional_options_description positional;
  positional.add("dir", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::fprintf(stderr, "io_bench: %s\n", e.what());
    return false;
  }
  if (vm.count("help") != 0 || options->dir.empty() || options->runs < 1 ||
      options->append_kib == 0 || options->size_mib == 0) {
    std::cerr << "usage: io_bench DIR [options]\n"
                 "Writes and reads a temporary file in DIR with each I/O backend.\n"
              << visible;
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, &options)) return 2;
  const uint64_t size = options.size_mib << 20;
  std::vector<uint8_t> chunk(options.append_kib << 10);
  std::mt19937_64 rng(42);
  for (auto& b : chunk) b = static_cast<uint8_t>(rng());
  std::vector<uint8_t> buf(chunk.size());

  std::printf("file %llu MiB, appends and reads of %zu KiB, %d runs after a warm-up\n",
              static_cast<unsigned long long>(options.size_mib), options.append_kib, options.runs);

  // The limit: copying the same volume in the same pieces.
  {
    std::vector<uint8_t> target(chunk.size());
    std::vector<double> rates;
    for (int run = 0; run <= options.runs; ++run) {
      double rate = Measure(size, [&] {
        for (uint64_t done = 0; done < size; done += chunk.size()) {
          std::memcpy(target.data(), chunk.data(), chunk.size());
          asm volatile("" : : "r"(target.data()) : "memory");
        }
      });
      if (run > 0) rates.push_back(rate);
    }
    Report("limit", "memcpy", rates);
  }
  // The limit of read+work: the work alone, on bytes already in memory.
  {
    std::vector<double> rates;
    uint64_t mix = 0;
    for (int run = 0; run <= options.runs; ++run) {
      double rate = Measure(size, [&] {
        for (uint64_t done = 0; done < size; done += chunk.size()) {
          mix += Work(chunk.data(), chunk.size());
        }
      });
      if (run > 0) rates.push_back(rate);
    }
    if (mix == 42) std::printf(" ");
    Report("limit", "work", rates);
  }

  uint64_t sink = 0;
  for (FileSystem* fs : {sluice::io::PosixFileSystem(), sluice::io::UringFileSystem()}) {
    if (fs == nullptr) {
      std::printf("io_uring  unavailable here: skipped\n");
      continue;
    }
    const std::string backend(fs->name());
    const std::string path = sluice::io::JoinPath(options.dir, "io_bench-" + backend + ".tmp");
    std::vector<double> write_rates, cached_rates, cold_rates, work_rates;
    for (int run = 0; run <= options.runs; ++run) {
      double w = Measure(size, [&] { WriteFile(fs, path, chunk, size); });
      double c = Measure(size, [&] { sink += ReadFile(fs, path, buf, size); });
      EvictFromCache(path);
      double d = Measure(size, [&] { sink += ReadFile(fs, path, buf, size); });
      EvictFromCache(path);
      double k = Measure(size, [&] { sink += ReadFile(fs, path, buf, size, /*work=*/true); });
      if (run == 0) continue;  // warm-up
      write_rates.push_back(w);
      cached_rates.push_back(c);
      cold_rates.push_back(d);
      work_rates.push_back(k);
    }
    (void)fs->Remove(path);
    Report(backend, "write+fsync", write_rates);
    Report(backend, "read-cached", cached_rates);
    Report(backend, "read-cold", cold_rates);
    Report(backend, "cold+work", work_rates);
  }
  return sink == 42 ? 3 : 0;  // never: keeps `sink` alive
}
