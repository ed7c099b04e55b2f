// Lost and out-of-order bundles, in one process: the importer names the
// bundle it needs, accepts a bundle whose base never arrived when the blobs
// are there anyway, and a ledger rebuilt from an inventory of the far side
// ships exactly what the far side lacks. Also the inventory's signature.
#include <catch2/catch.hpp>

#include <set>

#include "exporter.h"
#include "importer.h"
#include "inventory.h"
#include "ledger.h"
#include "signing.h"
#include "sink/oci_layout_sink.h"
#include "source/oci_layout_source.h"
#include "test_support.h"
#include "tests/support/transfer_fixture.h"

using namespace sluice;
using namespace sluice::testing;

namespace {

struct Site : LibraryTransfer {
  std::string layout = tmp / "src";
  LayoutBuilder builder{layout};
  BuiltBlob base, middle, top;
  BuiltImage app1, app2;

  Site() {
    base = builder.AddBlob(RandomBytes(100000, 1), kTarGzip);
    middle = builder.AddBlob(RandomBytes(50000, 2), kTarGzip);
    top = builder.AddBlob(RandomBytes(1000, 3), kTarGzip);
    app1 = builder.AddImage({base, middle});
    app2 = builder.AddImage({base, middle, top});
    builder.Tag("app:1.0", app1.manifest, app1.manifest_size, kManifestType);
    builder.Tag("app:1.1", app2.manifest, app2.manifest_size, kManifestType);
  }

  Result<ExportReport> ExportRefs(const std::vector<std::string>& tags, const std::string& ledger,
                                  const std::string& out) {
    return ExportTags(layout, tags, ledger, out);
  }

  Result<ImportReport> ImportInto(const std::string& bundle, const std::string& dir) {
    return ImportToLayout(bundle, dir);
  }

  std::set<std::string> Shipped(const std::string& bundle) {
    auto shipped = ShippedDigests(bundle);
    REQUIRE(shipped.ok());
    return *shipped;
  }
};

}  // namespace

TEST_CASE("an import refused for missing blobs names the bundle sequence it needs") {
  Site s;
  std::string ledger = s.tmp / "ledger";
  REQUIRE(s.ExportRefs({"app:1.0"}, ledger, s.tmp / "b1").ok());
  REQUIRE(s.ExportRefs({"app:1.1"}, ledger, s.tmp / "b2").ok());
  auto refused = s.ImportInto(s.tmp / "b2", s.tmp / "out");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().IsNotFound());
  std::string message = refused.status().message();
  INFO(message);
  CHECK(message.find("bundle 2 builds on bundle 1 ") != std::string::npos);
  CHECK(message.find("import bundle 1 ") != std::string::npos);
  CHECK(message.find(s.base.digest.str()) != std::string::npos);
  CHECK(message.find(s.middle.digest.str()) != std::string::npos);
  CHECK(ListTree(s.tmp / "out").empty());
}

TEST_CASE("a bundle whose base was never imported imports when every blob it needs is present") {
  Site s;
  // Ledger A's bundle 1 never reaches the far side; ledger B's carries the
  // same image there.
  std::string ledger_a = s.tmp / "a.ledger";
  REQUIRE(s.ExportRefs({"app:1.0"}, ledger_a, s.tmp / "a1").ok());
  REQUIRE(s.ExportRefs({"app:1.1"}, ledger_a, s.tmp / "a2").ok());
  REQUIRE(s.ExportRefs({"app:1.0"}, s.tmp / "b.ledger", s.tmp / "b1").ok());
  std::string out = s.tmp / "out";
  REQUIRE(s.ImportInto(s.tmp / "b1", out).ok());

  auto imported = s.ImportInto(s.tmp / "a2", out);
  INFO(imported.status().ToString());
  REQUIRE(imported.ok());
  CHECK(imported->bundle.base_sequence == 1);
  CHECK(imported->bundle.sequence == 2);
  CHECK(imported->blobs_written == 2);  // top layer and config; base and middle were there
  REQUIRE(imported->refs.size() == 1);
  CHECK(imported->refs[0].digest == s.app2.manifest.str());
}

TEST_CASE("a ledger rebuilt from an inventory of the far side ships exactly what it lacks") {
  Site s;
  std::string ledger = s.tmp / "ledger";
  REQUIRE(s.ExportRefs({"app:1.0"}, ledger, s.tmp / "b1").ok());  // lost
  auto before = Ledger::Load(s.fs, ledger);
  REQUIRE(before.ok());

  // The far side has only the base layer (from somewhere else).
  std::string far = s.tmp / "far";
  LayoutBuilder far_builder(far);
  far_builder.AddBlob(ReadFile(s.layout + "/blobs/sha256/" + std::string(s.base.digest.hex())),
                      kTarGzip);
  auto inventory = TakeOciLayoutInventory(s.fs, far, "oci:" + far);
  REQUIRE(inventory.ok());
  REQUIRE(inventory->blobs.size() == 1);
  CHECK(inventory->blobs[0].digest == s.base.digest);
  CHECK(inventory->blobs[0].size == s.base.size);

  Ledger rebuilt = *before;
  std::vector<format::Digest> held;
  for (const auto& b : inventory->blobs) held.push_back(b.digest);
  rebuilt.ReplaceBlobs(held);
  CHECK(rebuilt.id() == before->id());
  CHECK(rebuilt.sequence() == before->sequence());
  CHECK(rebuilt.blob_count() == 1);
  CHECK(rebuilt.Contains(s.base.digest));
  CHECK_FALSE(rebuilt.Contains(s.middle.digest));
  REQUIRE(rebuilt.Save(s.fs, ledger).ok());

  REQUIRE(s.ExportRefs({"app:1.1"}, ledger, s.tmp / "b2").ok());
  CHECK(s.Shipped(s.tmp / "b2") ==
        std::set<std::string>{s.middle.digest.str(), s.top.digest.str(),
                              s.app2.config.digest.str()});
}

TEST_CASE("a signed inventory loads with its key and is refused once a byte changes") {
  Site s;
  std::string far = s.tmp / "far";
  LayoutBuilder far_builder(far);
  far_builder.AddBlob(RandomBytes(30, 9), kTarGzip);
  auto inventory = TakeOciLayoutInventory(s.fs, far, "oci:" + far);
  REQUIRE(inventory.ok());
  auto key = LoadPrivateKey(s.fs, s.key);
  REQUIRE(key.ok());
  std::string path = s.tmp / "inventory.json";
  REQUIRE(WriteInventory(s.fs, path, *inventory, &*key).ok());
  auto trusted = LoadTrustedKeys(s.fs, {s.pub});
  REQUIRE(trusted.ok());

  auto loaded = LoadInventory(s.fs, path, &*trusted);
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
  CHECK(loaded->blobs.size() == 1);
  CHECK(loaded->blobs[0].size == 30);
  CHECK(loaded->destination == "oci:" + far);

  std::string text = ReadFile(path);
  text[text.find("\"size\": ") + 8] ^= 1;  // a size digit: still valid JSON
  WriteFile(path, text);
  auto tampered = LoadInventory(s.fs, path, &*trusted);
  REQUIRE_FALSE(tampered.ok());
  CHECK(tampered.status().kind() == ErrorKind::kUntrusted);
  // Without keys the signature is not looked at.
  CHECK(LoadInventory(s.fs, path, nullptr).ok());
}
