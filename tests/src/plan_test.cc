// What an export ships against a ledger (plan.h): the far side holds what
// the ledger says it holds, every blob sent or only those a receipt
// confirmed, less the last bundles' blobs when those are to be sent again.
#include "plan.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "catalog_check.h"
#include "source/oci_layout_source.h"
#include "test_support.h"
#include "tests/support/transfer_fixture.h"

using namespace sluice;
using namespace sluice::testing;

namespace {

format::BundleHeader Bundle(uint64_t sequence) {
  format::BundleHeader header;
  header.sequence = sequence;
  header.bundle_id[0] = static_cast<uint8_t>(sequence);
  return header;
}

Ledger::BlobRecord Record(uint64_t sent, uint64_t delivered) {
  Ledger::BlobRecord r;
  r.sent_sequence = sent;
  r.delivered_sequence = delivered;
  return r;
}

// base, then top, each its own image of a layout; the digests shipped by a
// plan of both.
struct TwoImages {
  TempDir tmp;
  LayoutBuilder builder{tmp / "src"};
  BuiltBlob base = builder.AddBlob(RandomBytes(5000, 1), kTarGzip);
  BuiltBlob top = builder.AddBlob(RandomBytes(3000, 2), kTarGzip);
  BuiltImage first = builder.AddImage({base});
  BuiltImage second = builder.AddImage({base, top});

  TwoImages() {
    builder.Tag("app:1", first.manifest, first.manifest_size, kManifestType);
    builder.Tag("app:2", second.manifest, second.manifest_size, kManifestType);
  }

  ExportPlan Plan(const std::string& tag, const Ledger& ledger, const PlanOptions& options) {
    auto source = NewOciLayoutSource(io::DefaultFileSystem(), tmp / "src", tag);
    auto plan = PlanExport({source.get()}, ledger, options);
    REQUIRE(plan.ok());
    return std::move(plan).value();
  }

  static std::set<format::Digest> Shipped(const ExportPlan& plan) {
    std::set<format::Digest> shipped;
    for (const format::BlobEntry& b : plan.catalog.blobs) {
      if (b.shipped) shipped.insert(b.digest);
    }
    return shipped;
  }
};

}  // namespace

TEST_CASE("by default every blob the ledger records as sent counts as held, confirmed or not") {
  PlanOptions sent;
  CHECK(FarSideHolds(Record(1, 0), 5, sent));
  CHECK(FarSideHolds(Record(5, 0), 5, sent));
  CHECK(FarSideHolds(Record(5, 5), 5, sent));
}

TEST_CASE("based on delivered, only blobs a receipt confirmed count as held") {
  PlanOptions delivered{PlanBase::kDelivered, 0};
  CHECK_FALSE(FarSideHolds(Record(1, 0), 5, delivered));
  CHECK(FarSideHolds(Record(1, 1), 5, delivered));
  CHECK(FarSideHolds(Record(4, 2), 5, delivered));
}

TEST_CASE("resending the last K bundles leaves out only blobs first sent before them") {
  PlanOptions last2{PlanBase::kSent, 2};
  // Ledger at 5: bundles 4 and 5 are the last two.
  CHECK(FarSideHolds(Record(3, 0), 5, last2));
  CHECK_FALSE(FarSideHolds(Record(4, 0), 5, last2));
  CHECK_FALSE(FarSideHolds(Record(5, 0), 5, last2));
  // Whatever the base: a confirmed blob of the window ships again too.
  CHECK_FALSE(FarSideHolds(Record(5, 5), 5, last2));
  // More bundles than the ledger has, even the largest number: all of them.
  CHECK_FALSE(FarSideHolds(Record(1, 0), 5, {PlanBase::kSent, 5}));
  CHECK_FALSE(FarSideHolds(Record(1, 0), 5, {PlanBase::kSent, UINT64_MAX}));
  CHECK(FarSideHolds(Record(1, 0), 5, {PlanBase::kSent, 4}));
  // Combined with delivered: held only if confirmed and outside the window.
  PlanOptions both{PlanBase::kDelivered, 1};
  CHECK(FarSideHolds(Record(3, 3), 5, both));
  CHECK_FALSE(FarSideHolds(Record(3, 0), 5, both));
  CHECK_FALSE(FarSideHolds(Record(5, 5), 5, both));
}

TEST_CASE("a plan based on delivered ships again what no receipt confirmed, and counts it") {
  TwoImages images;
  Ledger ledger = Ledger::Create();
  ledger.RecordBundle(Bundle(1), {images.base.digest, images.first.config.digest});
  ledger.RecordBundle(Bundle(2), {images.top.digest, images.second.config.digest});
  ledger.MarkDelivered({images.base.digest}, 1);

  ExportPlan sent = images.Plan("app:2", ledger, {});
  CHECK(TwoImages::Shipped(sent).empty());
  CHECK(sent.resent_blobs == 0);

  ExportPlan delivered = images.Plan("app:2", ledger, {PlanBase::kDelivered, 0});
  CHECK(TwoImages::Shipped(delivered) ==
        std::set<format::Digest>{images.top.digest, images.second.config.digest});
  CHECK(delivered.resent_blobs == 2);
  CHECK(delivered.resent_bytes == images.top.size + images.second.config.size);
  CHECK(delivered.skipped_blobs == 1);
}

TEST_CASE("a plan resending the last bundle ships its blobs again and nothing older") {
  TwoImages images;
  Ledger ledger = Ledger::Create();
  ledger.RecordBundle(Bundle(1), {images.base.digest, images.first.config.digest});
  ledger.RecordBundle(Bundle(2), {images.top.digest, images.second.config.digest});

  ExportPlan last = images.Plan("app:2", ledger, {PlanBase::kSent, 1});
  CHECK(TwoImages::Shipped(last) ==
        std::set<format::Digest>{images.top.digest, images.second.config.digest});
  CHECK(last.resent_blobs == 2);
  ExportPlan both = images.Plan("app:2", ledger, {PlanBase::kSent, 2});
  CHECK(TwoImages::Shipped(both).size() == 3);
  CHECK(both.resent_blobs == 3);
}

namespace {

// multi:1, an index of an amd64 image (base) and an arm64 image (top).
struct TwoPlatforms {
  TempDir tmp;
  LayoutBuilder builder{tmp / "src"};
  BuiltBlob base = builder.AddBlob(RandomBytes(5000, 1), kTarGzip);
  BuiltBlob top = builder.AddBlob(RandomBytes(3000, 2), kTarGzip);
  BuiltImage amd64 = builder.AddImage({base}, "amd64");
  BuiltImage arm64 = builder.AddImage({top}, "arm64");
  format::Digest index;

  TwoPlatforms() {
    uint64_t size = 0;
    index = builder.AddIndex({{amd64, "amd64"}, {arm64, "arm64"}}, &size);
    builder.Tag("multi:1", index, size, "application/vnd.oci.image.index.v1+json");
  }

  Result<ExportPlan> Plan(std::vector<oci::Platform> platforms) {
    auto source = NewOciLayoutSource(io::DefaultFileSystem(), tmp / "src", "multi:1");
    PlanOptions options;
    options.platforms = std::move(platforms);
    return PlanExport({source.get()}, Ledger::Create(), options);
  }
};

}  // namespace

TEST_CASE("a plan for one platform lists the index's other child absent and none of its blobs") {
  TwoPlatforms f;
  auto plan = f.Plan({{"linux", "amd64", ""}});
  REQUIRE(plan.ok());
  std::set<format::Digest> blobs;
  for (const format::BlobEntry& b : plan->catalog.blobs) blobs.insert(b.digest);
  CHECK(blobs == std::set<format::Digest>{f.base.digest, f.amd64.config.digest});
  CHECK(plan->absent_manifests == 1);
  REQUIRE(plan->catalog.manifests.size() == 3);
  const format::ManifestEntry& absent = plan->catalog.manifests.back();
  CHECK(absent.absent);
  CHECK(absent.digest == f.arm64.manifest);
  CHECK(absent.bytes.empty());
  CHECK(absent.media_type == kManifestType);
  for (size_t i = 0; i + 1 < plan->catalog.manifests.size(); ++i) {
    CHECK_FALSE(plan->catalog.manifests[i].absent);
  }
  CHECK(CheckCatalogGraph(plan->catalog).ok());
}

TEST_CASE("a plan for every platform of an index lists nothing absent") {
  TwoPlatforms f;
  auto plan = f.Plan({{"linux", "arm64", ""}, {"linux", "amd64", ""}});
  REQUIRE(plan.ok());
  CHECK(plan->absent_manifests == 0);
  CHECK(plan->catalog.blobs.size() == 4);
}

TEST_CASE("a plan for platforms an index lacks is refused, naming the ones it has") {
  TwoPlatforms f;
  auto plan = f.Plan({{"linux", "s390x", ""}, {"windows", "amd64", ""}});
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.status().IsNotFound());
  std::string message = plan.status().message();
  CHECK(message.find("multi:1") != std::string::npos);
  CHECK(message.find(f.index.str()) != std::string::npos);
  CHECK(message.find("linux/s390x, windows/amd64") != std::string::npos);
  CHECK(message.find("it has linux/amd64, linux/arm64") != std::string::npos);
}

TEST_CASE("the catalog check takes an absent child but not one no carried index lists") {
  TwoPlatforms f;
  auto plan = f.Plan({{"linux", "amd64", ""}});
  REQUIRE(plan.ok());
  format::Catalog catalog = plan->catalog;

  // An absent record no index names: a writer bug.
  format::Catalog stray = catalog;
  format::Digest other = format::Sha256::Of(std::string("not a child"));
  stray.manifests.push_back({other, kManifestType, "", true});
  Status s = CheckCatalogGraph(stray);
  CHECK(s.IsCorruption());
  CHECK(s.message().find(other.str()) != std::string::npos);

  // The absent record missing altogether: the index names a child the
  // bundle does not list.
  format::Catalog missing = catalog;
  missing.manifests.pop_back();
  Status m = CheckCatalogGraph(missing);
  CHECK(m.IsCorruption());
  CHECK(m.message().find(f.arm64.manifest.str()) != std::string::npos);
}

namespace {

// multi:1 (TwoPlatforms' index: amd64 over `base`, arm64 over `top`) and
// solo:1, an image over `base` and a layer of its own, in one layout. With
// `break_arm64`, the arm64 manifest is gone from the layout, so multi:1
// fails halfway through its walk, after its amd64 half was planned.
struct IndexAndSolo : TwoPlatforms {
  BuiltBlob own = builder.AddBlob(RandomBytes(2000, 3), kTarGzip);
  BuiltImage solo = builder.AddImage({base, own});

  explicit IndexAndSolo(bool break_arm64) {
    builder.Tag("solo:1", solo.manifest, solo.manifest_size, kManifestType);
    if (break_arm64) {
      std::filesystem::remove(tmp / ("src/blobs/sha256/" + std::string(arm64.manifest.hex())));
    }
  }

  std::unique_ptr<ImageSource> Source(const std::string& tag = "") const {
    return NewOciLayoutSource(io::DefaultFileSystem(), tmp / "src", tag);
  }
};

std::set<format::Digest> Blobs(const ExportPlan& plan) {
  std::set<format::Digest> blobs;
  for (const format::BlobEntry& b : plan.catalog.blobs) blobs.insert(b.digest);
  return blobs;
}

std::set<format::Digest> Manifests(const ExportPlan& plan) {
  std::set<format::Digest> manifests;
  for (const format::ManifestEntry& m : plan.catalog.manifests) manifests.insert(m.digest);
  return manifests;
}

}  // namespace

TEST_CASE("keep_going leaves out an image that fails halfway, and everything only it needed") {
  IndexAndSolo broken(/*break_arm64=*/true);
  auto source = broken.Source();
  Ledger ledger = Ledger::Create();

  // Without keep_going the export fails, naming what is missing.
  auto stopped = PlanExport({source.get()}, ledger, {});
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.status().IsNotFound());
  CHECK(stopped.status().message().find(broken.arm64.manifest.str()) != std::string::npos);

  PlanOptions options;
  options.keep_going = true;
  auto plan = PlanExport({source.get()}, ledger, options);
  INFO(plan.status().ToString());
  REQUIRE(plan.ok());
  REQUIRE(plan->skipped.size() == 1);
  CHECK(plan->skipped[0].source == 0);
  CHECK(plan->skipped[0].image.find("multi:1") != std::string::npos);
  CHECK(plan->skipped[0].reason.IsNotFound());
  // Exactly solo:1, as if multi:1 had never been asked for: its amd64 half
  // (manifest and config) is gone again, the layer solo shares stays.
  REQUIRE(plan->catalog.refs.size() == 1);
  CHECK(plan->catalog.refs[0].repository == "solo");
  CHECK(plan->catalog.refs[0].tag == "1");
  CHECK(Blobs(*plan) == std::set<format::Digest>{broken.base.digest, broken.own.digest,
                                                 broken.solo.config.digest});
  CHECK(Manifests(*plan) == std::set<format::Digest>{broken.solo.manifest});
  CHECK(plan->origins.size() == plan->catalog.blobs.size());
  CHECK(plan->shipped_blobs == 3);
  CHECK(plan->shipped_bytes == broken.base.size + broken.own.size + broken.solo.config.size);
  CHECK(plan->manifest_bytes == broken.solo.manifest_size);
  CHECK(CheckCatalogGraph(plan->catalog).ok());

  // The same plan as of solo:1 alone.
  IndexAndSolo whole(/*break_arm64=*/false);
  auto solo_only = PlanExport({whole.Source("solo:1").get()}, ledger, {});
  REQUIRE(solo_only.ok());
  CHECK(solo_only->shipped_bytes == plan->shipped_bytes);
}

TEST_CASE("keep_going leaves out a source that cannot list its images, and fails if all fail") {
  IndexAndSolo images(/*break_arm64=*/true);
  auto good = images.Source("solo:1");
  auto missing_tag = images.Source("nope:1");
  auto broken = images.Source("multi:1");
  PlanOptions options;
  options.keep_going = true;
  auto plan = PlanExport({missing_tag.get(), good.get()}, Ledger::Create(), options);
  REQUIRE(plan.ok());
  REQUIRE(plan->skipped.size() == 1);
  CHECK(plan->skipped[0].source == 0);
  CHECK(plan->skipped[0].image.empty());
  CHECK(plan->skipped[0].reason.IsNotFound());
  CHECK(plan->catalog.refs.size() == 1);

  auto none = PlanExport({missing_tag.get(), broken.get()}, Ledger::Create(), options);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().IsNotFound());
  CHECK(none.status().message().find("nothing to export: every image asked for failed (2)") !=
        std::string::npos);
  CHECK(none.status().message().find("nope:1") != std::string::npos);
  CHECK(none.status().message().find(images.arm64.manifest.str()) != std::string::npos);
}

TEST_CASE("a source's own platforms replace the export's, and one image named twice keeps both") {
  TwoPlatforms f;
  auto a = NewOciLayoutSource(io::DefaultFileSystem(), f.tmp / "src", "multi:1");
  auto b = NewOciLayoutSource(io::DefaultFileSystem(), f.tmp / "src", "multi:1");
  const oci::Platform amd64{"linux", "amd64", ""};
  const oci::Platform arm64{"linux", "arm64", ""};
  PlanOptions options;
  options.platforms = {arm64};

  auto own = PlanExport({ExportSource(a.get(), {amd64})}, Ledger::Create(), options);
  REQUIRE(own.ok());
  CHECK(Blobs(*own) == std::set<format::Digest>{f.base.digest, f.amd64.config.digest});
  CHECK(own->absent_manifests == 1);

  auto defaulted = PlanExport({a.get()}, Ledger::Create(), options);
  REQUIRE(defaulted.ok());
  CHECK(Blobs(*defaulted) == std::set<format::Digest>{f.top.digest, f.arm64.config.digest});

  auto both = PlanExport({ExportSource(a.get(), {amd64}), ExportSource(b.get(), {arm64})},
                         Ledger::Create(), {});
  REQUIRE(both.ok());
  CHECK(both->absent_manifests == 0);
  CHECK(Blobs(*both).size() == 4);
  CHECK(both->catalog.refs.size() == 1);

  // Every child, when either source asks for every child.
  auto all = PlanExport({ExportSource(a.get(), {amd64}), b.get()}, Ledger::Create(), {});
  REQUIRE(all.ok());
  CHECK(all->absent_manifests == 0);
}
