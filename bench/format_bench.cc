// format_bench: throughput of the bundle writer and reader on in-memory data,
// next to the limits that bound them, measured in the same run.
//
//   format_bench [--size-mib 1024] [--runs 5] [--frame-kib 1024] [--level 3]
//
// Data: --size-mib of blobs of 64 MiB each, alternately
//   random        incompressible, like the gzip/zstd layers that make up most
//                 of a registry; written with Compression::kNone, as the
//                 exporter does for compressed media types;
//   compressible  text-like bytes from a small vocabulary, like uncompressed
//                 tar layers and configs; written with Compression::kZstd.
// Everything stays in memory (the writer appends to a string, the reader
// reads from it), so the numbers are CPU cost, not I/O.
//
// Timed, after one warm-up pass, --runs times each; reported as min / median
// / max MB/s (10^6 bytes of raw blob data per second):
//   sha256            SHA-256 of all the data: both writer and reader must
//                     hash every byte.
//   zstd-compress     ZSTD_compressCCtx of the compressible half, one call per
//                     frame, at --level (MB/s of the compressible half).
//   zstd-decompress   ZSTD_decompressDCtx of those frames.
//   writer            BundleWriter: Start, every blob, Finish.
//   reader            BundleReader: Open, every blob read to its end, Finish.
//   writer-limit      time(sha256) + time(zstd-compress), as MB/s of all
//                     data: what the writer would cost if framing, XXH3 and
//                     copies were free. The writer cannot beat it.
//   reader-limit      time(sha256) + time(zstd-decompress), likewise.
// The gap between writer and writer-limit (reader and reader-limit) is the
// format's own overhead: XXH3 over every stored byte, the frame copies, and
// the signature (negligible at these sizes).
#include <zstd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "format/bundle_reader.h"
#include "format/bundle_writer.h"
#include "format/crypto.h"

namespace sluice::format {
namespace {

constexpr size_t kBlobSize = 64u << 20;

class StringWriter : public io::SequentialWriter {
 public:
  Status Append(io::ByteView data) override {
    out_.append(io::AsChars(data));
    return Status::Ok();
  }
  Status Sync() override { return Status::Ok(); }
  Status Close() override { return Status::Ok(); }
  uint64_t Size() const override { return out_.size(); }
  std::string& contents() { return out_; }

 private:
  std::string out_;
};

class StringReader : public io::SequentialReader {
 public:
  explicit StringReader(const std::string& data) : data_(data) {}
  Result<size_t> Read(io::MutableBytes buf) override {
    size_t n = std::min(buf.size(), data_.size() - pos_);
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  const std::string& name() const override { return name_; }

 private:
  const std::string& data_;
  size_t pos_ = 0;
  std::string name_ = "<memory>";
};

struct Blob {
  std::string data;
  bool compressible = false;
};

std::vector<Blob> MakeBlobs(size_t total) {
  std::vector<Blob> blobs;
  std::mt19937_64 rng(42);
  static const char* kWords[] = {"layer ", "usr/lib/", "config ", "\"digest\": ", "0000644 ",
                                 "sha256:", "libc.so.6 ", "\n", "etc/", "root "};
  for (size_t done = 0; done < total; done += kBlobSize) {
    Blob b;
    b.compressible = blobs.size() % 2 == 1;
    size_t size = std::min(kBlobSize, total - done);
    b.data.reserve(size + 16);
    if (b.compressible) {
      while (b.data.size() < size) b.data += kWords[rng() % 10];
      b.data.resize(size);
    } else {
      b.data.resize(size);
      for (size_t i = 0; i + 8 <= size; i += 8) {
        uint64_t v = rng();
        std::memcpy(&b.data[i], &v, 8);
      }
    }
    blobs.push_back(std::move(b));
  }
  return blobs;
}

double Seconds(const std::function<void()>& fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Die(const Status& s) {
  std::fprintf(stderr, "format_bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

struct Series {
  const char* name;
  double bytes;  // raw bytes the rate is counted over
  std::vector<double> seconds;
};

void Report(const Series& s) {
  std::vector<double> rates;
  for (double t : s.seconds) rates.push_back(s.bytes / t / 1e6);
  std::sort(rates.begin(), rates.end());
  std::printf("%-16s %10.1f %10.1f %10.1f\n", s.name, rates.front(), rates[rates.size() / 2],
              rates.back());
}

int Run(int argc, char** argv) {
  namespace po = boost::program_options;
  size_t size_mib = 1024;
  int runs = 5;
  uint32_t frame_kib = 1024;
  int level = 3;
  po::options_description desc("format_bench options");
  desc.add_options()("help", "this text")(
      "size-mib", po::value(&size_mib)->default_value(size_mib), "raw blob data, MiB")(
      "runs", po::value(&runs)->default_value(runs), "timed runs after the warm-up")(
      "frame-kib", po::value(&frame_kib)->default_value(frame_kib), "writer frame size, KiB")(
      "level", po::value(&level)->default_value(level), "zstd level");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, desc), vm);
  po::notify(vm);
  if (vm.count("help") || runs < 1 || size_mib == 0) {
    std::printf("%s", "usage: format_bench [options]\n");
    std::cout << desc;
    return vm.count("help") ? 0 : 2;
  }
  const size_t frame = size_t{frame_kib} << 10;

  std::vector<Blob> blobs = MakeBlobs(size_mib << 20);
  double total = 0, compressible = 0;
  Catalog catalog;
  std::string manifest = "{\"layers\":[";
  for (const Blob& b : blobs) {
    total += b.data.size();
    if (b.compressible) compressible += b.data.size();
    BlobEntry e{Sha256::Of(b.data), b.data.size(), "application/octet-stream", true, std::nullopt};
    manifest += "\"" + e.digest.str() + "\",";
    catalog.blobs.push_back(e);
  }
  manifest += "\"\"]}";
  catalog.manifests.push_back({Sha256::Of(manifest), "application/json", manifest});
  catalog.refs.push_back({"bench", "latest", catalog.manifests[0].digest, "oci:bench:latest"});
  auto key = PrivateKey::Generate();
  if (!key.ok()) Die(key.status());

  BundleWriterOptions options;
  options.frame_size = static_cast<uint32_t>(frame);
  options.zstd_level = level;

  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  std::vector<std::vector<uint8_t>> compressed_frames;
  std::vector<uint8_t> scratch(ZSTD_compressBound(frame));
  std::vector<uint8_t> out(frame);
  std::string bundle;

  Series sha{"sha256", total, {}}, zc{"zstd-compress", compressible, {}},
      zd{"zstd-decompress", compressible, {}}, wr{"writer", total, {}}, rd{"reader", total, {}},
      wl{"writer-limit", total, {}}, rl{"reader-limit", total, {}};

  for (int run = -1; run < runs; ++run) {  // run -1 is the warm-up
    double t_sha = Seconds([&] {
      for (const Blob& b : blobs) (void)Sha256::Of(b.data);
    });
    compressed_frames.clear();
    double t_zc = Seconds([&] {
      for (const Blob& b : blobs) {
        if (!b.compressible) continue;
        for (size_t at = 0; at < b.data.size(); at += frame) {
          size_t n = std::min(frame, b.data.size() - at);
          size_t c = ZSTD_compressCCtx(cctx, scratch.data(), scratch.size(), b.data.data() + at, n,
                                       level);
          compressed_frames.emplace_back(scratch.begin(), scratch.begin() + c);
        }
      }
    });
    double t_zd = Seconds([&] {
      for (const auto& c : compressed_frames) {
        ZSTD_decompressDCtx(dctx, out.data(), out.size(), c.data(), c.size());
      }
    });
    double t_wr = Seconds([&] {
      StringWriter w;
      w.contents().reserve(static_cast<size_t>(total * 0.6) + (1u << 20));
      auto writer = BundleWriter::Start(&w, catalog, *key, options);
      if (!writer.ok()) Die(writer.status());
      for (size_t i = 0; i < blobs.size(); ++i) {
        Status s = (*writer)->BeginBlob(
            i, blobs[i].compressible ? Compression::kZstd : Compression::kNone);
        // 1 MiB appends, as the exporter's copy buffer does.
        for (size_t at = 0; s.ok() && at < blobs[i].data.size(); at += 1u << 20) {
          size_t n = std::min<size_t>(1u << 20, blobs[i].data.size() - at);
          s = (*writer)->Append(io::AsBytes(std::string_view(blobs[i].data).substr(at, n)));
        }
        if (s.ok()) s = (*writer)->EndBlob();
        if (!s.ok()) Die(s);
      }
      Status s = (*writer)->Finish();
      if (!s.ok()) Die(s);
      bundle = std::move(w.contents());
    });
    double t_rd = Seconds([&] {
      StringReader in(bundle);
      auto reader = BundleReader::Open(&in, TrustPolicy{{key->public_key()}, false});
      if (!reader.ok()) Die(reader.status());
      std::vector<uint8_t> buf(1u << 20);
      while (true) {
        auto next = (*reader)->NextBlob();
        if (!next.ok()) Die(next.status());
        if (!*next) break;
        while (true) {
          auto n = (*reader)->Read(buf);
          if (!n.ok()) Die(n.status());
          if (*n == 0) break;
        }
      }
      Status s = (*reader)->Finish();
      if (!s.ok()) Die(s);
    });
    if (run < 0) continue;
    sha.seconds.push_back(t_sha);
    zc.seconds.push_back(t_zc);
    zd.seconds.push_back(t_zd);
    wr.seconds.push_back(t_wr);
    rd.seconds.push_back(t_rd);
    wl.seconds.push_back(t_sha + t_zc);
    rl.seconds.push_back(t_sha + t_zd);
  }
  ZSTD_freeCCtx(cctx);
  ZSTD_freeDCtx(dctx);

  std::printf("%zu MiB in %zu blobs (half random, half compressible), frames of %u KiB, zstd "
              "level %d; bundle %.1f MiB; %d runs\n",
              size_mib, blobs.size(), frame_kib, level, bundle.size() / 1048576.0, runs);
  std::printf("%-16s %10s %10s %10s   (MB/s)\n", "", "min", "median", "max");
  for (const Series* s : {&sha, &zc, &zd, &wr, &wl, &rd, &rl}) Report(*s);
  return 0;
}

}  // namespace
}  // namespace sluice::format

int main(int argc, char** argv) { return sluice::format::Run(argc, argv); }
