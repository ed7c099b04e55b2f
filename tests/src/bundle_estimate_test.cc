// The estimate of a plan's bundle: what it reads of each blob (nothing of a
// layer labelled compressed, at most the first 1 MiB of any other), and how
// it compares with the bundle an export then writes from the same plan.
#include "bundle_estimate.h"

#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <random>

#include "exporter.h"
#include "source/oci_layout_source.h"
#include "test_support.h"
#include "tests/support/transfer_fixture.h"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr const char* kPlainTar = "application/vnd.oci.image.layer.v1.tar";

// Text-like bytes zstd shrinks, the same throughout.
std::string Words(size_t n, uint64_t seed) {
  static const char* kWords[] = {"usr/lib/", "0000644 ", "libc.so.6 ", "\n", "etc/", "root "};
  std::mt19937_64 rng(seed);
  std::string out;
  while (out.size() < n) out += kWords[rng() % 6];
  out.resize(n);
  return out;
}

// A real layout source that counts the bytes read of each blob.
class CountingSource final : public ImageSource {
 public:
  explicit CountingSource(std::unique_ptr<ImageSource> base) : base_(std::move(base)) {}
  Result<std::vector<SourceImage>> ListImages() override { return base_->ListImages(); }
  Result<ManifestBytes> FetchManifest(const std::string& repository,
                                      const format::Digest& digest) override {
    return base_->FetchManifest(repository, digest);
  }
  Result<std::unique_ptr<io::SequentialReader>> OpenBlob(const std::string& repository,
                                                         const format::Digest& digest,
                                                         uint64_t size) override {
    SLUICE_ASSIGN_OR_RETURN(auto reader, base_->OpenBlob(repository, digest, size));
    return std::unique_ptr<io::SequentialReader>(
        new CountingReader(std::move(reader), this, digest.str()));
  }
  uint64_t BytesRead(const std::string& digest) {
    std::lock_guard<std::mutex> lock(mu_);
    return read_[digest];
  }

 private:
  class CountingReader final : public io::SequentialReader {
   public:
    CountingReader(std::unique_ptr<io::SequentialReader> base, CountingSource* owner,
                   std::string digest)
        : base_(std::move(base)), owner_(owner), digest_(std::move(digest)) {}
    Result<size_t> Read(io::MutableBytes buf) override {
      SLUICE_ASSIGN_OR_RETURN(size_t n, base_->Read(buf));
      std::lock_guard<std::mutex> lock(owner_->mu_);
      owner_->read_[digest_] += n;
      return n;
    }
    const std::string& name() const override { return base_->name(); }

   private:
    std::unique_ptr<io::SequentialReader> base_;
    CountingSource* owner_;
    std::string digest_;
  };

  std::unique_ptr<ImageSource> base_;
  std::mutex mu_;
  std::map<std::string, uint64_t> read_;
};

struct Fixture : LibraryTransfer {
  std::string layout = tmp / "src";
  LayoutBuilder builder{layout};
  BuiltBlob labelled_gzip, plain, gzip_unlabelled;
  BuiltImage image;

  Fixture() {
    // Random bytes labelled gzip: counted as they are, unread.
    labelled_gzip = builder.AddBlob(RandomBytes(3 << 20, 1), kTarGzip);
    // 2.5 MiB of text in a plain tar's media type: sampled.
    plain = builder.AddBlob(Words((5 << 20) / 2, 2), kPlainTar);
    // gzip's magic under a plain media type: found compressed by its bytes.
    gzip_unlabelled = builder.AddBlob("\x1f\x8b" + RandomBytes(200000, 3), kPlainTar);
    image = builder.AddImage({labelled_gzip, plain, gzip_unlabelled});
    builder.Tag("app:1", image.manifest, image.manifest_size, kManifestType);
  }
};

}  // namespace

TEST_CASE("the estimate reads nothing of a layer labelled compressed and 1 MiB at most of others") {
  Fixture f;
  CountingSource source(NewOciLayoutSource(f.fs, f.layout, "app:1"));
  auto plan = PlanExport({&source}, Ledger::Create());
  REQUIRE(plan.ok());
  auto estimate = EstimateBundle(*plan, {});
  REQUIRE(estimate.ok());

  CHECK(source.BytesRead(f.labelled_gzip.digest.str()) == 0);
  CHECK(source.BytesRead(f.plain.digest.str()) == kSampleBytesPerBlob);
  CHECK(source.BytesRead(f.gzip_unlabelled.digest.str()) <= kSampleBytesPerBlob);
  CHECK(source.BytesRead(f.image.config.digest.str()) == f.image.config.size);

  CHECK(estimate->raw_bytes == plan->shipped_bytes);
  CHECK(estimate->as_is_blobs == 2);
  CHECK(estimate->as_is_bytes == f.labelled_gzip.size + f.gzip_unlabelled.size);
  CHECK(estimate->sampled_blobs == 2);  // the plain layer and the config
  CHECK(estimate->sampled_bytes == f.plain.size + f.image.config.size);
  CHECK(estimate->extrapolated_blobs == 0);
  CHECK(estimate->sample_bytes == kSampleBytesPerBlob + f.image.config.size);
  CHECK(estimate->bundle_bytes < estimate->max_bundle_bytes);
  CHECK(estimate->max_bundle_bytes > estimate->raw_bytes);
}

TEST_CASE(
    "the bundle an export writes is near the estimate, within its bound, on as many volumes") {
  Fixture f;
  for (uint64_t volume_size : {uint64_t{0}, uint64_t{1536} << 10}) {
    INFO("volume size " << volume_size);
    auto source = NewOciLayoutSource(f.fs, f.layout, "app:1");
    auto plan = PlanExport({source.get()}, Ledger::Create());
    REQUIRE(plan.ok());
    auto estimate = EstimateBundle(*plan, {.volume_size = volume_size});
    REQUIRE(estimate.ok());

    ExportOptions options;
    options.ledger_path = f.tmp / ("ledger" + std::to_string(volume_size));
    options.sign_key_path = f.key;
    options.output_path = f.tmp / ("out" + std::to_string(volume_size) + ".sluice");
    options.volume_size = volume_size;
    auto report = Export(f.fs, {source.get()}, options);
    REQUIRE(report.ok());
    INFO("estimated " << estimate->bundle_bytes << ", written " << report->bundle_bytes);
    CHECK(report->bundle_bytes <= estimate->max_bundle_bytes);
    // The text compresses the same throughout: its first MiB tells the rest.
    const double error = std::abs(static_cast<double>(report->bundle_bytes) -
                                  static_cast<double>(estimate->bundle_bytes)) /
                         static_cast<double>(report->bundle_bytes);
    CHECK(error < 0.01);
    CHECK(estimate->volumes == std::max<size_t>(report->files.size(), 1));
  }
}

TEST_CASE("past the sampling budget, blobs are estimated at the ratio of those sampled") {
  TempDir tmp;
  LayoutBuilder builder(tmp / "src");
  std::vector<BuiltBlob> layers;
  // 70 plain layers of 1 MiB of text: 64 sampled whole, 6 past the budget.
  for (uint64_t i = 0; i < 70; ++i)
    layers.push_back(builder.AddBlob(Words(1 << 20, 10 + i), kPlainTar));
  BuiltImage image = builder.AddImage(layers);
  builder.Tag("big:1", image.manifest, image.manifest_size, kManifestType);
  CountingSource source(NewOciLayoutSource(io::DefaultFileSystem(), tmp / "src", "big:1"));
  auto plan = PlanExport({&source}, Ledger::Create());
  REQUIRE(plan.ok());
  auto estimate = EstimateBundle(*plan, {});
  REQUIRE(estimate.ok());
  CHECK(estimate->sample_bytes == kMaxSampleBytes);
  CHECK(estimate->extrapolated_blobs >= 6);
  CHECK(estimate->sampled_blobs + estimate->extrapolated_blobs == 71);
  uint64_t read = 0;
  for (const BuiltBlob& l : layers) read += source.BytesRead(l.digest.str());
  read += source.BytesRead(image.config.digest.str());
  CHECK(read == kMaxSampleBytes);
  // Every layer compresses alike: the extrapolated ones as the sampled.
  CHECK(estimate->bundle_bytes < estimate->raw_bytes / 2);
}
