// Export and import onto a full disk: a real tmpfs of a few MiB through the
// command line (skipped with a warning where mounting is not allowed), and
// the same failures injected at the io layer. Either way the command fails
// with a "no space" error naming the path, leaves no temporary file, and
// changes nothing else: the ledger keeps its bytes, no tag appears.
#include <catch2/catch.hpp>

#include <filesystem>

#include "exporter.h"
#include "hostile_support.h"
#include "importer.h"
#include "io/fault_injection_file_system.h"
#include "signing.h"
#include "sink/oci_layout_sink.h"
#include "source/oci_layout_source.h"
#include "test_support.h"
#include "tests/support/transfer_fixture.h"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr uint64_t kDiskSize = 4u << 20;

bool HasTempFiles(const std::string& dir) {
  for (const std::string& f : ListTree(dir)) {
    if (f.find(".tmp") != std::string::npos) return true;
  }
  return false;
}

// A source layout with a small image (small:1) and one of `big_size`
// incompressible bytes (big:1), a key pair and a ledger path.
struct Site : LibraryTransfer {
  std::string layout = tmp / "src";
  std::string ledger = tmp / "ledger";
  LayoutBuilder builder{layout};

  explicit Site(uint64_t big_size) {
    BuiltImage small = builder.AddImage({builder.AddBlob(RandomBytes(1000, 1), kTarGzip)});
    builder.Tag("small:1", small.manifest, small.manifest_size, kManifestType);
    BuiltImage big = builder.AddImage({builder.AddBlob(RandomBytes(big_size, 2), kTarGzip)});
    builder.Tag("big:1", big.manifest, big.manifest_size, kManifestType);
  }

  CliResult Export(const std::string& tag, const std::string& out) {
    return RunSluice({"export", "oci:" + layout + ":" + tag, "--ledger", ledger, "--sign-key", key,
                      "-o", out, "-q"});
  }
  CliResult Import(const std::string& bundle, const std::string& dir) {
    return RunSluice({"import", bundle, "--trust", pub, "--to", "oci:" + dir, "-q", "--mapping",
                      ""});
  }

  Result<ExportReport> ExportVia(io::FileSystem* through, const std::string& tag,
                                 const std::string& out) {
    return ExportTags(layout, {tag}, ledger, out, through);
  }
  Result<ImportReport> ImportVia(io::FileSystem* through, const std::string& bundle,
                                 const std::string& dir) {
    return ImportToLayout(bundle, dir, through);
  }
};

std::string ErrorLine(const CliResult& r) {
  size_t at = r.err.find("sluice: error: ");
  return at == std::string::npos ? "" : r.err.substr(at);
}

}  // namespace

TEST_CASE("cli: export onto a full filesystem fails with no space, naming it; ledger unchanged") {
  Site site(6u << 20);
  REQUIRE(site.Export("small:1", site.tmp / "first.sluice").exit_code == 0);
  std::string ledger_before = ReadFile(site.ledger);
  Tmpfs disk(site.tmp / "disk", kDiskSize);
  if (!disk.mounted()) {
    WARN("cannot mount a tmpfs (" << disk.error() << "): full-disk export test skipped");
    return;
  }
  CliResult r = site.Export("big:1", site.tmp / "disk/big.sluice");
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK(ErrorLine(r).find("no space") != std::string::npos);
  CHECK(ErrorLine(r).find(site.tmp / "disk") != std::string::npos);
  CHECK(ListTree(site.tmp / "disk").empty());
  CHECK(ReadFile(site.ledger) == ledger_before);
}

TEST_CASE("cli: import onto a full filesystem fails with no space, naming it; nothing written") {
  Site site(6u << 20);
  REQUIRE(site.Export("big:1", site.tmp / "big.sluice").exit_code == 0);
  Tmpfs disk(site.tmp / "disk", kDiskSize);
  if (!disk.mounted()) {
    WARN("cannot mount a tmpfs (" << disk.error() << "): full-disk import test skipped");
    return;
  }
  CliResult r = site.Import(site.tmp / "big.sluice", site.tmp / "disk/dest");
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK(ErrorLine(r).find("no space") != std::string::npos);
  CHECK(ErrorLine(r).find(site.tmp / "disk/dest") != std::string::npos);
  CHECK(ListTree(site.tmp / "disk").empty());
}

TEST_CASE("cli: an import that runs out of space mid-write removes its temp file, tags nothing") {
  TempDir probe;
  uint64_t free_bytes = 0;
  {
    Tmpfs disk(probe / "disk", kDiskSize);
    if (!disk.mounted()) {
      WARN("cannot mount a tmpfs (" << disk.error() << "): mid-write no-space test skipped");
      return;
    }
    auto free = io::DefaultFileSystem()->FreeSpace(probe / "disk");
    REQUIRE(free.ok());
    free_bytes = *free;
  }
  // The blobs and the manifest fit the free-space check, but tmpfs gives
  // whole pages to every file (oci-layout, config, manifest), so the
  // filesystem fills while a blob is written.
  Site site(free_bytes - 4096 - 100);
  REQUIRE(site.Export("big:1", site.tmp / "big.sluice").exit_code == 0);
  Tmpfs disk(site.tmp / "disk", kDiskSize);
  REQUIRE(disk.mounted());
  std::string dest = site.tmp / "disk/dest";
  CliResult r = site.Import(site.tmp / "big.sluice", dest);
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK(ErrorLine(r).find("no space") != std::string::npos);
  CHECK(ErrorLine(r).find(dest) != std::string::npos);
  CHECK_FALSE(HasTempFiles(site.tmp / "disk"));
  CHECK_FALSE(io::DefaultFileSystem()->Exists(dest + "/index.json"));
  // Whatever blob was published is whole: its bytes hash to its name.
  for (const std::string& f : ListTree(dest + "/blobs/sha256")) {
    CHECK(format::Sha256::Of(ReadFile(dest + "/blobs/sha256/" + f)).hex() == f);
  }
}

TEST_CASE("export that runs out of space mid-write leaves no bundle, no temp file, the ledger") {
  Site site(3u << 20);
  REQUIRE(site.ExportVia(io::DefaultFileSystem(), "small:1", site.tmp / "first.sluice").ok());
  std::string ledger_before = ReadFile(site.ledger);
  std::filesystem::create_directory(site.tmp / "out");
  for (uint64_t nth : {1, 2, 3, 5}) {
    INFO("append " << nth << " fails");
    io::FaultInjectionFileSystem faulty(io::DefaultFileSystem());
    faulty.FailNth(io::FaultInjectionFileSystem::Op::kAppend, nth, ErrorKind::kNoSpace);
    auto report = site.ExportVia(&faulty, "big:1", site.tmp / "out/big.sluice");
    REQUIRE_FALSE(report.ok());
    CHECK(report.status().IsNoSpace());
    CHECK(report.status().message().find(site.tmp / "out") != std::string::npos);
    CHECK(ListTree(site.tmp / "out").empty());
    CHECK(ReadFile(site.ledger) == ledger_before);
  }
  // A disk that is simply too small is refused before anything is written.
  io::FaultInjectionFileSystem small_disk(io::DefaultFileSystem());
  small_disk.FailWritesAfter(1u << 20);
  auto refused = site.ExportVia(&small_disk, "big:1", site.tmp / "out/big.sluice");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().IsNoSpace());
  CHECK(small_disk.BytesWritten() == 0);
  CHECK(ListTree(site.tmp / "out").empty());
  CHECK(ReadFile(site.ledger) == ledger_before);
}

TEST_CASE("import that runs out of space mid-write leaves no temp file and no tag") {
  Site site(3u << 20);
  REQUIRE(site.ExportVia(io::DefaultFileSystem(), "big:1", site.tmp / "big.sluice").ok());
  for (uint64_t nth : {1, 2, 3, 4}) {
    INFO("append " << nth << " fails");
    std::string dest = site.tmp / ("dest" + std::to_string(nth));
    io::FaultInjectionFileSystem faulty(io::DefaultFileSystem());
    faulty.FailNth(io::FaultInjectionFileSystem::Op::kAppend, nth, ErrorKind::kNoSpace);
    auto report = site.ImportVia(&faulty, site.tmp / "big.sluice", dest);
    REQUIRE_FALSE(report.ok());
    CHECK(report.status().IsNoSpace());
    CHECK(report.status().message().find(dest) != std::string::npos);
    CHECK_FALSE(HasTempFiles(dest));
    CHECK_FALSE(io::DefaultFileSystem()->Exists(dest + "/index.json"));
  }
  io::FaultInjectionFileSystem small_disk(io::DefaultFileSystem());
  small_disk.FailWritesAfter(1u << 20);
  auto refused = site.ImportVia(&small_disk, site.tmp / "big.sluice", site.tmp / "dest-small");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().IsNoSpace());
  CHECK(refused.status().message().find(site.tmp / "dest-small") != std::string::npos);
  CHECK(small_disk.BytesWritten() == 0);
  CHECK(ListTree(site.tmp / "dest-small").empty());
}
