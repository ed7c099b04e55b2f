// spine_bench: export, verify and import throughput against the limits that
// bound them, all measured in the same run on the same machine:
//
//   - SHA-256 over the same bytes in memory: every byte is hashed once on
//     export and once on import, so neither can beat it;
//   - sequential write of the same amount through the same I/O layer, with
//     fsync: export writes the bundle and import writes the blobs.
//
// The layers are random bytes typed as gzip, so they are stored, not
// recompressed: what is measured is the pipeline (read, hash, frame,
// checksum, write), not zstd. Reads come from the page cache (a container
// cannot drop caches), so read speed is not a limit here.
//
// usage: spine_bench WORKDIR [SIZE_MIB=1024] [RUNS=3]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "exporter.h"
#include "format/crypto.h"
#include "importer.h"
#include "signing.h"
#include "sink/oci_layout_sink.h"
#include "source/oci_layout_source.h"
#include "tests/src/test_support.h"

using namespace sluice;
namespace fs = std::filesystem;

namespace {

double Seconds(const std::function<void()>& fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Stats {
  double min, median, max;
};

Stats Measure(int runs, const std::function<void()>& setup, const std::function<void()>& fn) {
  std::vector<double> times;
  setup();
  fn();  // warm-up
  for (int i = 0; i < runs; ++i) {
    setup();
    times.push_back(Seconds(fn));
  }
  std::sort(times.begin(), times.end());
  return {times.front(), times[times.size() / 2], times.back()};
}

void Report(const char* what, const Stats& s, double mib, double limit_mib_s) {
  double median = mib / s.median;
  std::printf("%-28s %8.0f MiB/s median (min %.0f, max %.0f)", what, median, mib / s.max,
              mib / s.min);
  if (limit_mib_s > 0) std::printf("  = %3.0f%% of limit", 100.0 * median / limit_mib_s);
  std::printf("\n");
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: spine_bench WORKDIR [SIZE_MIB=1024] [RUNS=3]\n");
    return 2;
  }
  std::string work = argv[1];
  const size_t size_mib = argc > 2 ? std::stoul(argv[2]) : 1024;
  const int runs = argc > 3 ? std::stoi(argv[3]) : 3;
  constexpr size_t kLayerMib = 64;
  io::FileSystem* fsys = io::DefaultFileSystem();
  fs::create_directories(work);
  std::printf("spine_bench: %zu MiB in %zu MiB layers, %d runs, I/O backend %s\n", size_mib,
              kLayerMib, runs, std::string(fsys->name()).c_str());

  // The source layout.
  std::string layout = work + "/layout";
  fs::remove_all(layout);
  testing::LayoutBuilder builder(layout);
  std::vector<testing::BuiltBlob> layers;
  std::string sample;
  for (size_t i = 0; i * kLayerMib < size_mib; ++i) {
    std::string bytes = testing::RandomBytes(kLayerMib << 20, static_cast<uint32_t>(i));
    if (i == 0) sample = bytes;
    layers.push_back(builder.AddBlob(bytes, "application/vnd.oci.image.layer.v1.tar+gzip"));
  }
  testing::BuiltImage image = builder.AddImage(layers);
  builder.Tag("bench", image.manifest, image.manifest_size,
              "application/vnd.oci.image.manifest.v1+json");
  const double mib = static_cast<double>(layers.size() * kLayerMib);

  // Limit 1: SHA-256 in memory over the same amount.
  Stats sha = Measure(runs, [] {}, [&] {
    for (size_t i = 0; i < layers.size(); ++i) {
      format::Sha256 h;
      h.Update(io::AsBytes(sample));
      (void)h.FinishRaw();
    }
  });
  // Limit 2: sequential write + fsync of the same amount.
  std::string scratch = work + "/scratch";
  Stats disk = Measure(runs, [&] { fs::remove(scratch); }, [&] {
    auto w = fsys->NewWriter(scratch);
    Check(w.status(), "open scratch");
    for (size_t i = 0; i < layers.size(); ++i) Check((*w)->Append(io::AsBytes(sample)), "write");
    Check((*w)->Sync(), "sync");
    Check((*w)->Close(), "close");
  });
  fs::remove(scratch);
  const double sha_limit = mib / sha.median;
  const double disk_limit = mib / disk.median;
  const double limit = std::min(sha_limit, disk_limit);
  Report("limit: sha256 (memory)", sha, mib, 0);
  Report("limit: write+fsync", disk, mib, 0);

  std::string key = work + "/key", pub = work + "/key.pub";
  fs::remove(key);
  fs::remove(pub);
  Check(GenerateKeyPair(fsys, key, pub), "keygen");
  auto trusted = LoadTrustedKeys(fsys, {pub});
  Check(trusted.status(), "trust");
  format::TrustPolicy trust{*trusted, false};
  std::string bundle = work + "/bench.sluice";
  std::string ledger = work + "/ledger.json";

  auto source = NewOciLayoutSource(fsys, layout, "bench");
  Stats exp = Measure(runs, [&] { fs::remove(ledger); fs::remove(bundle); }, [&] {
    ExportOptions o;
    o.ledger_path = ledger;
    o.sign_key_path = key;
    o.output_path = bundle;
    Check(Export(fsys, {source.get()}, o).status(), "export");
  });
  Report("export", exp, mib, limit);

  Stats ver = Measure(runs, [] {}, [&] {
    auto in = fsys->NewSequentialReader(bundle);
    Check(in.status(), "open bundle");
    Check(VerifyBundle(in->get(), trust).status(), "verify");
  });
  Report("verify", ver, mib, sha_limit);

  std::string out = work + "/out";
  Stats imp = Measure(runs, [&] { fs::remove_all(out); }, [&] {
    auto in = fsys->NewSequentialReader(bundle);
    Check(in.status(), "open bundle");
    auto sink = NewOciLayoutSink(fsys, out);
    Check(ImportBundle(in->get(), trust, sink.get(), "oci:" + out).status(), "import");
  });
  Report("import", imp, mib, limit);
  fs::remove_all(out);
  return 0;
}
