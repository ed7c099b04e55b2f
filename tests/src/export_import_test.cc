// The spine, end to end inside one process: OCI layout -> export (plan,
// ledger dedupe, bundle) -> verify -> import -> OCI layout, on the real file
// system, with the real format and real keys.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "exporter.h"
#include "format/bundle_reader.h"
#include "format/checksum.h"
#include "format/endian.h"
#include "io/fault_injection_file_system.h"
#include "io/range_reader.h"
#include "importer.h"
#include "ledger.h"
#include "signing.h"
#include "sink/oci_layout_sink.h"
#include "source/oci_layout_source.h"
#include "test_support.h"
#include "tests/support/transfer_fixture.h"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr const char* kTar = "application/vnd.oci.image.layer.v1.tar";

struct Fixture : LibraryTransfer {
  std::string layout = tmp / "src";
  std::string ledger = tmp / "ledger.json";
  LayoutBuilder builder{layout};
  BuiltBlob base, middle, top;
  BuiltImage app1, app2;

  Fixture() {
    // A gzip-typed random layer (stored as is) and compressible tar layers.
    base = builder.AddBlob(RandomBytes(3 << 20, 1), kTarGzip);
    middle = builder.AddBlob(std::string(2 << 20, 'm'), kTar);
    top = builder.AddBlob(RandomBytes(1000, 3), kTarGzip);
    app1 = builder.AddImage({base, middle});
    app2 = builder.AddImage({base, middle, top});
    builder.Tag("app:1.0", app1.manifest, app1.manifest_size, kManifestType);
    builder.Tag("app:1.1", app2.manifest, app2.manifest_size, kManifestType);
  }

  Result<ExportReport> ExportRefs(const std::vector<std::string>& tags, const std::string& out) {
    return ExportTags(layout, tags, ledger, out);
  }

  format::TrustPolicy Trust() {
    auto trust = TrustPub();
    REQUIRE(trust.ok());
    return *trust;
  }

  Result<ImportReport> ImportInto(const std::string& bundle, const std::string& dir) {
    return ImportToLayout(bundle, dir);
  }

  // A bundle of app:1.0 with one bit flipped inside its last layer's frames.
  std::string CorruptBundle() {
    std::string bundle = tmp / "corrupt.sluice";
    REQUIRE(ExportRefs({"app:1.0"}, bundle).ok());
    std::string bytes = ReadFile(bundle);
    bytes[bytes.size() - 200000] ^= 0x40;
    WriteFile(bundle, bytes);
    return bundle;
  }

  // Shipped blob digests as recorded in the bundle's catalog.
  std::set<std::string> Shipped(const std::string& bundle) {
    auto shipped = ShippedDigests(bundle);
    REQUIRE(shipped.ok());
    return *shipped;
  }
};

std::string BlobFile(const std::string& dir, const format::Digest& d) {
  return dir + "/blobs/sha256/" + std::string(d.hex());
}

}  // namespace

TEST_CASE("export, verify and import reproduce every blob and the tag with its digest") {
  Fixture f;
  std::string bundle = f.tmp / "b1.sluice";
  auto report = f.ExportRefs({"app:1.0"}, bundle);
  REQUIRE(report.ok());
  CHECK(report->sequence == 1);
  CHECK(report->shipped_blobs == 3);  // config + 2 layers

  auto in = f.fs->NewSequentialReader(bundle);
  REQUIRE(in.ok());
  auto summary = VerifyBundle(in->get(), f.Trust());
  REQUIRE(summary.ok());
  CHECK(summary->shipped_blobs == 3);
  CHECK(summary->signature_verified);

  std::string out = f.tmp / "out";
  auto imported = f.ImportInto(bundle, out);
  REQUIRE(imported.ok());
  CHECK(imported->blobs_written == 3);
  for (const BuiltBlob& b : {f.app1.config, f.base, f.middle}) {
    CHECK(ReadFile(BlobFile(out, b.digest)) == ReadFile(BlobFile(f.layout, b.digest)));
  }
  CHECK(ReadFile(BlobFile(out, f.app1.manifest)) == ReadFile(BlobFile(f.layout, f.app1.manifest)));
  std::string index = ReadFile(out + "/index.json");
  CHECK(index.find(f.app1.manifest.str()) != std::string::npos);
  CHECK(index.find("\"app:1.0\"") != std::string::npos);
  // The mapping names where each image came from, as the exporter read it.
  REQUIRE(imported->refs.size() == 1);
  CHECK(imported->refs[0].source == "oci:" + f.layout + ":app:1.0");
  CHECK(imported->refs[0].destination == "oci:" + out + ":app:1.0");
}

TEST_CASE("a second export of unchanged images ships no config or layer blob") {
  Fixture f;
  REQUIRE(f.ExportRefs({"app:1.0"}, f.tmp / "b1").ok());
  auto second = f.ExportRefs({"app:1.0"}, f.tmp / "b2");
  REQUIRE(second.ok());
  CHECK(second->shipped_blobs == 0);
  CHECK(second->skipped_blobs == 3);
  CHECK(second->base_sequence == 1);
  CHECK(f.Shipped(f.tmp / "b2").empty());
  // The bundle still carries the manifest, so the far side can retag.
  CHECK(second->manifests == 1);
  CHECK(std::filesystem::file_size(f.tmp / "b2") < 4096);
}

TEST_CASE("adding an image ships exactly its new blobs") {
  Fixture f;
  REQUIRE(f.ExportRefs({"app:1.0"}, f.tmp / "b1").ok());
  REQUIRE(f.ExportRefs({"app:1.1"}, f.tmp / "b2").ok());
  std::set<std::string> expected = {f.app2.config.digest.str(), f.top.digest.str()};
  CHECK(f.Shipped(f.tmp / "b2") == expected);
}

TEST_CASE("import refuses a bundle whose base blobs are missing, and writes nothing") {
  Fixture f;
  REQUIRE(f.ExportRefs({"app:1.0"}, f.tmp / "b1").ok());
  REQUIRE(f.ExportRefs({"app:1.1"}, f.tmp / "b2").ok());
  std::string out = f.tmp / "out";
  auto refused = f.ImportInto(f.tmp / "b2", out);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find(f.base.digest.str()) != std::string::npos);
  CHECK(refused.status().message().find(f.middle.digest.str()) != std::string::npos);
  CHECK(ListTree(out).empty());

  // In order, both import.
  REQUIRE(f.ImportInto(f.tmp / "b1", out).ok());
  auto second = f.ImportInto(f.tmp / "b2", out);
  REQUIRE(second.ok());
  CHECK(second->blobs_written == 2);
  std::string index = ReadFile(out + "/index.json");
  CHECK(index.find("\"app:1.0\"") != std::string::npos);
  CHECK(index.find("\"app:1.1\"") != std::string::npos);
}

TEST_CASE("importing the same bundle twice is a successful no-op") {
  Fixture f;
  REQUIRE(f.ExportRefs({"app:1.0", "app:1.1"}, f.tmp / "b1").ok());
  std::string out = f.tmp / "out";
  REQUIRE(f.ImportInto(f.tmp / "b1", out).ok());
  std::string index = ReadFile(out + "/index.json");
  auto tree = ListTree(out);
  auto again = f.ImportInto(f.tmp / "b1", out);
  REQUIRE(again.ok());
  CHECK(again->blobs_written == 0);
  CHECK(again->manifests_written == 0);
  CHECK(ReadFile(out + "/index.json") == index);
  CHECK(ListTree(out) == tree);
}

TEST_CASE("an index with two platforms travels whole") {
  Fixture f;
  BuiltImage arm = f.builder.AddImage({f.top}, "arm64");
  uint64_t index_size = 0;
  format::Digest index = f.builder.AddIndex({{f.app1, "amd64"}, {arm, "arm64"}}, &index_size);
  f.builder.Tag("multi:1", index, index_size, "application/vnd.oci.image.index.v1+json");

  REQUIRE(f.ExportRefs({"multi:1"}, f.tmp / "b1").ok());
  std::string out = f.tmp / "out";
  REQUIRE(f.ImportInto(f.tmp / "b1", out).ok());
  for (const format::Digest& d : {index, f.app1.manifest, arm.manifest, arm.config.digest,
                                  f.top.digest, f.base.digest}) {
    CHECK(ReadFile(BlobFile(out, d)) == ReadFile(BlobFile(f.layout, d)));
  }
  CHECK(ReadFile(out + "/index.json").find(index.str()) != std::string::npos);
}

TEST_CASE("a tampered source blob aborts the export naming blob and image; ledger and output untouched") {
  Fixture f;
  REQUIRE(f.ExportRefs({"app:1.0"}, f.tmp / "b1").ok());
  std::string ledger_before = ReadFile(f.ledger);
  // Same size, different bytes: only the digest check can catch it.
  std::string path = BlobFile(f.layout, f.top.digest);
  std::string bytes = ReadFile(path);
  bytes[500] ^= 0x01;
  WriteFile(path, bytes);

  std::string out = f.tmp / "b2";
  auto report = f.ExportRefs({"app:1.1"}, out);
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().IsCorruption());
  CHECK(report.status().message().find(f.top.digest.str()) != std::string::npos);
  CHECK(report.status().message().find("app:1.1") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK(ReadFile(f.ledger) == ledger_before);
  // No temp file left beside the output either.
  for (const std::string& name : ListTree(f.tmp.path())) {
    CHECK(name.find(".tmp-") == std::string::npos);
  }
}

TEST_CASE("a missing tag is refused listing the tags there are") {
  Fixture f;
  auto report = f.ExportRefs({"nope"}, f.tmp / "b");
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().IsNotFound());
  CHECK(report.status().message().find("app:1.0") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(f.ledger));
}

TEST_CASE("import with the wrong key is refused as untrusted and writes nothing") {
  Fixture f;
  REQUIRE(f.ExportRefs({"app:1.0"}, f.tmp / "b1").ok());
  REQUIRE(GenerateKeyPair(f.fs, f.tmp / "other.pem", f.tmp / "other.pub").ok());
  auto keys = LoadTrustedKeys(f.fs, {f.tmp / "other.pub"});
  REQUIRE(keys.ok());
  auto in = f.fs->NewSequentialReader(f.tmp / "b1");
  REQUIRE(in.ok());
  std::string out = f.tmp / "out";
  auto sink = NewOciLayoutSink(f.fs, out);
  auto result = ImportBundle(in->get(), {*keys, false}, sink.get(), "oci:" + out);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().kind() == ErrorKind::kUntrusted);
  CHECK(ListTree(out).empty());
}

TEST_CASE("a corrupted bundle fails import and publishes no tag") {
  Fixture f;
  std::string bundle = f.CorruptBundle();
  std::string out = f.tmp / "out";
  auto result = f.ImportInto(bundle, out);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().IsCorruption());
  CHECK_FALSE(std::filesystem::exists(out + "/index.json"));
}

// An OCI layout sink that takes several blobs at once, as a registry does,
// so the importer's parallel path runs here on real files.
class ConcurrentLayoutSink final : public ImageSink {
 public:
  explicit ConcurrentLayoutSink(std::unique_ptr<ImageSink> base) : base_(std::move(base)) {}
  size_t MaxBlobsInFlight() const override { return 4; }
  Status CheckRef(const std::string& r, const std::string& t) override {
    return base_->CheckRef(r, t);
  }
  std::string Describe(const std::string& r, const std::string& t,
                       const format::Digest& d) override {
    return base_->Describe(r, t, d);
  }
  Result<bool> HasBlob(const std::string& r, const format::Digest& d) override {
    return base_->HasBlob(r, d);
  }
  Result<bool> HasIntactBlob(const std::string& r, const format::Digest& d) override {
    return base_->HasIntactBlob(r, d);
  }
  Result<std::optional<format::Digest>> TagDigest(const std::string& r,
                                                  const std::string& t) override {
    return base_->TagDigest(r, t);
  }
  Result<std::unique_ptr<BlobWriter>> NewBlob(const std::string& r, const format::Digest& d,
                                              uint64_t size) override {
    std::lock_guard<std::mutex> lock(mu_);  // the layout sink is used from one thread at a time
    return base_->NewBlob(r, d, size);
  }
  Status PutManifest(const std::string& r, const format::Digest& d, const std::string& type,
                     const std::string& bytes) override {
    return base_->PutManifest(r, d, type, bytes);
  }
  Status AddTag(const std::string& r, const std::string& t, const format::Digest& d,
                const std::string& type, uint64_t size) override {
    return base_->AddTag(r, t, d, type, size);
  }
  Status Commit() override { return base_->Commit(); }
  Result<uint64_t> FreeSpace() override { return base_->FreeSpace(); }

 private:
  std::unique_ptr<ImageSink> base_;
  std::mutex mu_;
};

TEST_CASE("an import with several blobs in flight writes exactly what a serial one does") {
  Fixture f;
  std::string bundle = f.tmp / "b1";
  REQUIRE(f.ExportRefs({"app:1.0", "app:1.1"}, bundle).ok());
  auto in = f.fs->NewSequentialReader(bundle);
  REQUIRE(in.ok());
  std::string out = f.tmp / "out";
  ConcurrentLayoutSink sink(NewOciLayoutSink(f.fs, out));
  auto report = ImportBundle(in->get(), f.Trust(), &sink, "oci:" + out, {}, 4);
  REQUIRE(report.ok());
  CHECK(report->blobs_written == 5);  // base, middle, top and two configs
  std::string serial = f.tmp / "serial";
  REQUIRE(f.ImportInto(bundle, serial).ok());
  CHECK(ListTree(out) == ListTree(serial));
  for (const std::string& file : ListTree(serial)) {
    CHECK(ReadFile(out + "/" + file) == ReadFile(serial + "/" + file));
  }
}

TEST_CASE("an import with several blobs in flight stops at a corrupt blob and commits nothing of it") {
  Fixture f;
  std::string bundle = f.CorruptBundle();
  auto in = f.fs->NewSequentialReader(bundle);
  REQUIRE(in.ok());
  std::string out = f.tmp / "out";
  ConcurrentLayoutSink sink(NewOciLayoutSink(f.fs, out));
  auto report = ImportBundle(in->get(), f.Trust(), &sink, "oci:" + out, {}, 4);
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().IsCorruption());
  CHECK_FALSE(std::filesystem::exists(out + "/index.json"));
  INFO(report.status().ToString());
  CHECK(report.status().message().find("sha256:") != std::string::npos);
  // Whatever landed hashes to its name: the corrupt blob is not among it.
  for (const std::string& name : ListTree(out + "/blobs/sha256")) {
    CHECK(format::Sha256::Of(ReadFile(out + "/blobs/sha256/" + name)).str() == "sha256:" + name);
  }
}

TEST_CASE("compression follows the bytes, not the media type") {
  Fixture f;
  // Plain text mislabelled as gzip (as skopeo labels docker-archive layers),
  // and gzip-magic random bytes labelled as a plain tar.
  BuiltBlob text = f.builder.AddBlob(std::string(1 << 20, 't'), kTarGzip);
  BuiltBlob gz = f.builder.AddBlob("\x1f\x8b" + RandomBytes(1 << 20, 9), kTar);
  BuiltImage image = f.builder.AddImage({text, gz});
  f.builder.Tag("mixed", image.manifest, image.manifest_size, kManifestType);
  std::string bundle = f.tmp / "b";
  REQUIRE(f.ExportRefs({"mixed"}, bundle).ok());

  auto file = f.fs->NewPositionalReader(bundle);
  REQUIRE(file.ok());
  auto locations = format::ReadBlobLocations(**file);
  REQUIRE(locations.ok());
  auto in = f.fs->NewSequentialReader(bundle);
  REQUIRE(in.ok());
  auto reader = format::BundleReader::Open(in->get(), f.Trust());
  REQUIRE(reader.ok());
  std::map<std::string, uint64_t> stored;
  for (const auto& l : *locations) {
    stored[(*reader)->catalog().blobs[l.blob_index].digest.str()] = l.stored_size;
  }
  CHECK(stored.at(text.digest.str()) < text.size / 100);  // zstd ran
  CHECK(stored.at(gz.digest.str()) >= gz.size);           // stored as is
}

// Publishing a bundle takes three atomic steps (ledger.h): ledger with the
// bundle pending, the bundle's rename, ledger with the bundle recorded. These
// put the ledger and the output path in each state a crash between the steps
// can leave, and check that LoadLedger settles the ledger to match the output.
// Two exports (app:1.0 to 1.sluice, app:1.1 to 2.sluice), and the ledger
// as it was before the second: what a crash after 2.sluice's rename and
// before the last ledger save leaves, once the second bundle is set pending.
struct SecondExport {
  ExportReport second;
  Ledger recorded;           // the ledger the uninterrupted export left
  Ledger before;             // the ledger before the second export
  Ledger::BundleRecord last;  // the second bundle's record
  std::vector<format::Digest> shipped;
};

SecondExport ExportTwiceKeepingTheFirstLedger(Fixture& f) {
  REQUIRE(f.ExportRefs({"app:1.0"}, f.tmp / "1.sluice").ok());
  testing::WriteFile(f.tmp / "old.json", ReadFile(f.ledger));
  auto second = f.ExportRefs({"app:1.1"}, f.tmp / "2.sluice");
  REQUIRE(second.ok());
  auto recorded = Ledger::Load(f.fs, f.ledger);
  REQUIRE(recorded.ok());
  auto before = Ledger::Load(f.fs, f.tmp / "old.json");
  REQUIRE(before.ok());
  std::vector<format::Digest> shipped;
  for (const std::string& d : f.Shipped(f.tmp / "2.sluice")) {
    shipped.push_back(*format::Digest::Parse(d));
  }
  Ledger::BundleRecord last = recorded->bundles().back();
  return {std::move(second).value(), std::move(recorded).value(), std::move(before).value(),
          std::move(last), std::move(shipped)};
}

TEST_CASE("a pending bundle that reached its output path is recorded when the ledger loads") {
  Fixture f;
  SecondExport run = ExportTwiceKeepingTheFirstLedger(f);
  const std::vector<format::Digest>& shipped = run.shipped;

  // Killed after the rename, before the last ledger save: the old ledger with
  // the bundle pending.
  Ledger pending_ledger = std::move(run.before);
  pending_ledger.SetPending({run.last, f.tmp / "2.sluice", shipped});
  REQUIRE(pending_ledger.Save(f.fs, f.ledger).ok());
  CHECK(ReadFile(f.ledger).find("\"pending\"") != std::string::npos);

  auto settled = LoadLedger(f.fs, f.ledger);
  REQUIRE(settled.ok());
  CHECK_FALSE(settled->pending());
  CHECK(settled->sequence() == run.second.sequence);
  CHECK(settled->bundles().back().bundle_id == run.second.bundle_id);
  for (const format::Digest& d : shipped) CHECK(settled->Contains(d));
  // Settled on disk too, and the same as an export that was never interrupted.
  auto reloaded = Ledger::Load(f.fs, f.ledger);
  REQUIRE(reloaded.ok());
  CHECK_FALSE(reloaded->pending());
  CHECK(reloaded->sequence() == run.recorded.sequence());
  CHECK(reloaded->blob_count() == run.recorded.blob_count());
}

// A plan (exporter.h PreviewExport) settles the same way, in memory only:
// it plans on the ledger the next export will see, and writes nothing.
TEST_CASE("a plan settles an interrupted export's pending bundle in memory, leaving the file as it was") {
  Fixture f;
  SecondExport run = ExportTwiceKeepingTheFirstLedger(f);
  Ledger pending_ledger = std::move(run.before);
  Ledger::BundleRecord last = run.last;
  REQUIRE(last.images.has_value());
  const std::vector<format::Digest>& shipped = run.shipped;
  uint64_t expected_sequence = 2;
  SECTION("the bundle is at its output path: counted") {}
  SECTION("nothing is there: dropped") {
    last.bundle_id = std::string(32, 'a');
    expected_sequence = 1;
  }
  pending_ledger.SetPending({last, f.tmp / "2.sluice", shipped});
  REQUIRE(pending_ledger.Save(f.fs, f.ledger).ok());
  const std::string pending_bytes = ReadFile(f.ledger);

  auto source = NewOciLayoutSource(f.fs, f.layout, "app:1.1");
  ExportOptions options;
  options.ledger_path = f.ledger;
  auto preview = PreviewExport(f.fs, {source.get()}, options);
  REQUIRE(preview.ok());
  CHECK(preview->base_sequence == expected_sequence);
  CHECK(preview->sequence == expected_sequence + 1);
  CHECK(preview->changes.since_sequence == expected_sequence);
  if (expected_sequence == 2) {
    CHECK(preview->changes.Count(ImageChange::Kind::kUnchanged) == 1);
    CHECK(preview->plan.shipped_blobs == 0);
  } else {
    CHECK(preview->changes.Count(ImageChange::Kind::kAdded) == 1);
    CHECK(preview->changes.Count(ImageChange::Kind::kRemoved) == 1);
    CHECK(preview->plan.shipped_blobs == shipped.size());
  }
  CHECK(ReadFile(f.ledger) == pending_bytes);
}

TEST_CASE("a pending bundle that never reached its output path is dropped when the ledger loads") {
  Fixture f;
  REQUIRE(f.ExportRefs({"app:1.0"}, f.tmp / "1.sluice").ok());
  const std::string before = ReadFile(f.ledger);
  auto ledger = Ledger::Load(f.fs, f.ledger);
  REQUIRE(ledger.ok());
  Ledger::BundleRecord record{ledger->sequence() + 1, std::string(32, 'a'), 1700000000, 1};
  format::Digest extra = format::Sha256::Of(std::string("not delivered"));

  SECTION("nothing at the output path") {
    ledger->SetPending({record, f.tmp / "2.sluice", {extra}});
  }
  SECTION("another bundle at the output path") {
    ledger->SetPending({record, f.tmp / "1.sluice", {extra}});
  }
  SECTION("a damaged file at the output path") {
    testing::WriteFile(f.tmp / "2.sluice", "SLUICE not really a bundle");
    ledger->SetPending({record, f.tmp / "2.sluice", {extra}});
  }
  REQUIRE(ledger->Save(f.fs, f.ledger).ok());
  auto settled = LoadLedger(f.fs, f.ledger);
  REQUIRE(settled.ok());
  CHECK_FALSE(settled->pending());
  CHECK_FALSE(settled->Contains(extra));
  // Byte for byte the ledger from before the interrupted export.
  CHECK(ReadFile(f.ledger) == before);
}

TEST_CASE("an export whose bundle cannot be renamed into place leaves the ledger as it was") {
  Fixture f;
  REQUIRE(f.ExportRefs({"app:1.0"}, f.tmp / "1.sluice").ok());
  const std::string before = ReadFile(f.ledger);
  io::FaultInjectionFileSystem faulty(f.fs);
  // Renames: the ledger with the bundle pending (1st), the bundle (2nd).
  faulty.FailNth(io::FaultInjectionFileSystem::Op::kRename, 2);
  auto source = NewOciLayoutSource(&faulty, f.layout, "app:1.1");
  ExportOptions options;
  options.ledger_path = f.ledger;
  options.sign_key_path = f.key;
  options.output_path = f.tmp / "2.sluice";
  auto report = Export(&faulty, {source.get()}, options);
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().message().find("publishing " + f.tmp / "2.sluice") != std::string::npos);
  CHECK(ReadFile(f.ledger) == before);
  CHECK_FALSE(f.fs->Exists(f.tmp / "2.sluice"));
  for (const std::string& file : ListTree(f.tmp.path())) {
    CHECK(file.find(".tmp-") == std::string::npos);  // no temp file left behind
  }
}

TEST_CASE("an import into a layout fsyncs blobs/sha256 once for all its blobs, before any "
          "manifest, and once for all its manifests, before index.json") {
  Fixture f;
  std::string bundle = f.tmp / "b.sluice";
  REQUIRE(f.ExportRefs({"app:1.0", "app:1.1"}, bundle).ok());
  // base, middle, top, two configs; then two manifests.
  io::FaultInjectionFileSystem counting(f.fs);
  auto clean = f.ImportToLayout(bundle, f.tmp / "clean", &counting);
  REQUIRE(clean.ok());
  REQUIRE(clean->blobs_written == 5);
  REQUIRE(clean->manifests_written == 2);
  // oci-layout, the blobs once, the manifests once, index.json: not one per
  // blob or manifest.
  CHECK(counting.Count(io::FaultInjectionFileSystem::Op::kSyncDir) == 1 + 1 + 1 + 1);

  // The import into `out` when its nth directory sync fails: it fails
  // saying so, with no index.json, and a rerun completes the layout.
  auto import_failing_sync = [&](int nth, const std::string& out) {
    io::FaultInjectionFileSystem faulty(f.fs);
    faulty.FailNth(io::FaultInjectionFileSystem::Op::kSyncDir, nth);
    auto failed = f.ImportToLayout(bundle, out, &faulty);
    REQUIRE_FALSE(failed.ok());
    INFO(failed.status().ToString());
    CHECK(failed.status().message().find("making the blobs of oci:" + out + " durable") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out + "/index.json"));
    std::vector<std::string> before_rerun = ListTree(out);
    auto rerun = f.ImportToLayout(bundle, out);
    REQUIRE(rerun.ok());
    CHECK(ListTree(out) == ListTree(f.tmp / "clean"));
    return before_rerun;
  };

  // The sync that covers the blobs fails: no manifest may be there, since a
  // crash could take the blobs it names away.
  std::string out = f.tmp / "out";
  std::vector<std::string> left = import_failing_sync(2, out);
  const std::vector<std::string> complete = ListTree(f.tmp / "clean");
  for (const ImportReport::Ref& ref : clean->refs) {
    auto digest = format::Digest::Parse(ref.digest);
    REQUIRE(digest.ok());
    const std::string manifest = "blobs/sha256/" + std::string(digest->hex());
    REQUIRE(std::find(complete.begin(), complete.end(), manifest) != complete.end());
    CHECK(std::find(left.begin(), left.end(), manifest) == left.end());
  }
  // The sync that covers the manifests fails: index.json, which names them,
  // is not written.
  import_failing_sync(3, f.tmp / "out2");
}

namespace {

// Imports `bundle` into the layout `dir`, streamed or, with a bundle file,
// several blobs at once at their offsets.
Result<ImportReport> ImportBundleFile(const Fixture& f, const std::string& bundle,
                                      const std::string& dir, bool random_access) {
  SLUICE_ASSIGN_OR_RETURN(auto file, f.fs->NewPositionalReader(bundle));
  auto stream = io::NewRangeReader(file.get(), 0, file->Size());
  auto sink = NewOciLayoutSink(f.fs, dir);
  SLUICE_ASSIGN_OR_RETURN(format::TrustPolicy trust, f.TrustPub());
  ImportOptions options;
  options.blobs_in_flight = 4;
  if (random_access) options.bundle_file = file.get();
  return ImportBundle(stream.get(), trust, sink.get(), "oci:" + dir, options);
}

// The bundle with one payload byte of `digest`'s first frame flipped and
// that frame's checksum recomputed: damage only the blob's sha256 shows.
std::string DamageBlobKeepingChecksums(const Fixture& f, const std::string& bundle,
                                       const format::Digest& digest) {
  std::string bytes = ReadFile(bundle);
  auto file = f.fs->NewPositionalReader(bundle);
  REQUIRE(file.ok());
  auto head = io::NewRangeReader(file->get(), 0, (*file)->Size());
  auto reader = format::BundleReader::Open(head.get(), *f.TrustPub());
  REQUIRE(reader.ok());
  auto locations = format::LocateShippedBlobs(**file, (*reader)->catalog());
  REQUIRE(locations.ok());
  for (const format::BlobLocation& l : *locations) {
    if ((*reader)->catalog().blobs[l.blob_index].digest != digest) continue;
    const size_t frame = l.offset;
    const uint32_t stored = format::LoadU32(reinterpret_cast<const uint8_t*>(&bytes[frame + 20]));
    bytes[frame + 40 + stored / 2] ^= 0x40;
    format::Xxh3Stream sum;
    sum.Update(io::AsBytes(std::string_view(bytes).substr(frame, 32)));
    sum.Update(io::AsBytes(std::string_view(bytes).substr(frame + 40, stored)));
    uint64_t checksum = sum.Digest();
    for (int i = 0; i < 8; ++i) bytes[frame + 32 + i] = static_cast<char>(checksum >> (8 * i));
    return bytes;
  }
  FAIL("blob " << digest.str() << " is not shipped");
  return bytes;
}

}  // namespace

TEST_CASE("an import of a bundle file read at random access writes exactly what a streamed one does") {
  Fixture f;
  std::string bundle = f.tmp / "b1";
  REQUIRE(f.ExportRefs({"app:1.0", "app:1.1"}, bundle).ok());
  std::string at = f.tmp / "at", streamed = f.tmp / "streamed";
  auto report = ImportBundleFile(f, bundle, at, /*random_access=*/true);
  REQUIRE(report.ok());
  CHECK(report->blobs_written == 5);
  CHECK(report->bytes_written == report->bundle.shipped_bytes);
  REQUIRE(ImportBundleFile(f, bundle, streamed, /*random_access=*/false).ok());
  CHECK(ListTree(at) == ListTree(streamed));
  for (const std::string& file : ListTree(streamed)) {
    CHECK(ReadFile(at + "/" + file) == ReadFile(streamed + "/" + file));
  }
}

TEST_CASE("a damaged blob the destination already holds still fails the import, either way") {
  Fixture f;
  std::string bundle = f.tmp / "b1";
  REQUIRE(f.ExportRefs({"app:1.0"}, bundle).ok());
  for (bool random_access : {false, true}) {
    INFO("random access: " << random_access);
    std::string out = f.tmp / (random_access ? "at" : "streamed");
    REQUIRE(ImportBundleFile(f, bundle, out, random_access).ok());
    // Every blob is there now, so none is written: the damage must still be
    // found, by hashing what is read and not written. The frame's checksum
    // is made to match, so only the blob's sha256 can tell.
    std::string damaged = f.tmp / "damaged";
    WriteFile(damaged, DamageBlobKeepingChecksums(f, bundle, f.base.digest));
    auto again = ImportBundleFile(f, damaged, out, random_access);
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().IsCorruption());
    CHECK(again.status().message().find(f.base.digest.str()) != std::string::npos);
  }
}
