// Lost and out-of-order bundles, and resynchronising a ledger:
//   sluice inventory --from oci:DIR -o FILE [--sign-key KEY]
//   sluice ledger show --ledger LEDGER [--json]
//   sluice ledger rebuild --ledger LEDGER --from-inventory FILE [--trust PUB]
// and an import that is refused only when a blob it needs is really missing,
// naming the bundle to import first.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

RunResult TakeInventory(const std::string& layout, const std::string& out,
                        const std::string& key = "") {
  std::vector<std::string> args = {"inventory", "--from", "oci:" + layout, "-o", out};
  if (!key.empty()) args.insert(args.end(), {"--sign-key", key});
  return Sluice(args);
}

RunResult Rebuild(const std::string& ledger, const std::string& inventory,
                  const std::string& trust = "") {
  std::vector<std::string> args = {"ledger", "rebuild", "--ledger", ledger, "--from-inventory",
                                   inventory};
  if (!trust.empty()) args.insert(args.end(), {"--trust", trust});
  return Sluice(args);
}

nlohmann::json ShowLedger(const std::string& ledger) {
  RunResult r = Sluice({"ledger", "show", "--ledger", ledger, "--json"});
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  return ParseJson(r.out);
}

std::set<std::string> InventoryBlobs(const nlohmann::json& inventory) {
  std::set<std::string> blobs;
  for (const auto& b : inventory.at("blobs")) blobs.insert(b.at("digest").get<std::string>());
  return blobs;
}

// Blob digest -> size, from the files of a layout named by digest.
std::map<std::string, uint64_t> LayoutBlobs(const std::string& layout) {
  std::map<std::string, uint64_t> blobs;
  for (const std::string& name : ListTree(layout + "/blobs/sha256")) {
    if (name.size() == 64) {
      blobs["sha256:" + name] = ReadFile(layout + "/blobs/sha256/" + name).size();
    }
  }
  return blobs;
}

// Every config and layer of a tagged image (through an index, of each child).
std::set<std::string> BlobsOf(const std::string& layout, const std::string& digest) {
  nlohmann::json doc = ParseJson(ReadFile(BlobPath(layout, digest)));
  if (!doc.contains("manifests")) return ImageBlobs(layout, digest);
  std::set<std::string> blobs;
  for (const auto& child : doc["manifests"]) {
    std::set<std::string> of_child = BlobsOf(layout, child.at("digest"));
    blobs.insert(of_child.begin(), of_child.end());
  }
  return blobs;
}

TEST_CASE("inventory lists every blob and every tag of a layout after imports",
          "[e2e][inventory]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  std::string far = w.dir / "far";
  Require(w.Export({"oci:" + samples + ":base:1"}, w.dir / "b1", {"-q"}));
  Require(w.Export({"oci:" + samples + ":app:1.0", "oci:" + samples + ":multi:1"}, w.dir / "b2",
                   {"-q"}));
  Require(w.Import(w.dir / "b1", far));
  Require(w.Import(w.dir / "b2", far));

  std::string out = w.dir / "inventory.json";
  RunResult r = TakeInventory(far, out);
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(Exists(out + ".sig"));
  nlohmann::json inv = ParseJson(ReadFile(out));
  CHECK(inv.at("format") == "sluice-inventory");
  CHECK(inv.at("version") == 1);
  CHECK(inv.at("destination") == "oci:" + far);
  std::map<std::string, uint64_t> listed;
  for (const auto& b : inv.at("blobs")) listed[b.at("digest")] = b.at("size");
  CHECK(listed == LayoutBlobs(far));
  std::map<std::string, std::string> tags;
  for (const auto& t : inv.at("tags")) {
    tags[t.at("name")] = t.at("digest");
    CHECK(t.at("complete") == true);
  }
  CHECK(tags == std::map<std::string, std::string>{
                    {"base:1", TaggedDigest(samples, "base:1")},
                    {"app:1.0", TaggedDigest(samples, "app:1.0")},
                    {"multi:1", TaggedDigest(samples, "multi:1")}});
  CHECK(inv.at("damaged").empty());
}

TEST_CASE("inventory leaves out a blob whose bytes do not match its name and marks its image "
          "incomplete",
          "[e2e][inventory]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  std::string far = w.dir / "far";
  Require(w.Export({"oci:" + samples + ":app:1.0"}, w.dir / "b1", {"-q"}));
  Require(w.Import(w.dir / "b1", far));
  std::string layer =
      *ImageBlobs(far, TaggedDigest(far, "app:1.0")).rbegin();  // some config or layer
  WriteFile(BlobPath(far, layer), "not the layer");
  // A temp file an interrupted import left behind is not a blob.
  WriteFile(far + "/blobs/sha256/" + layer.substr(7) + ".tmp-XYZ", "partial");

  std::string out = w.dir / "inventory.json";
  RunResult r = TakeInventory(far, out);
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find(layer.substr(7)) != std::string::npos);
  nlohmann::json inv = ParseJson(ReadFile(out));
  std::set<std::string> blobs = InventoryBlobs(inv);
  CHECK_FALSE(blobs.contains(layer));
  CHECK(blobs.size() == LayoutBlobs(far).size() - 1);
  REQUIRE(inv.at("damaged").size() == 1);
  CHECK(inv["damaged"][0].get<std::string>().find(layer.substr(7)) != std::string::npos);
  REQUIRE(inv.at("tags").size() == 1);
  CHECK(inv["tags"][0].at("complete") == false);
}

TEST_CASE("inventory refuses a directory that is not an OCI layout, a tag, and sources",
          "[e2e][inventory]") {
  TempDir dir;
  RunResult r = TakeInventory(dir / "nothing", dir / "inv.json");
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK(r.ErrorLine().find("not an OCI layout") != std::string::npos);
  CHECK_FALSE(Exists(dir / "inv.json"));
  for (const std::string& from :
       {"oci:" + SampleLayout() + ":app:1.0", "docker-archive:" + (dir / "images.tar"),
        "oci-archive:" + (dir / "images.tar")}) {
    RunResult d = Sluice({"inventory", "--from", from, "-o", dir / "inv.json"});
    INFO(d.Describe());
    CHECK(d.exit_code == 1);
    CHECK(d.ErrorLine().find("oci:DIR") != std::string::npos);
    CHECK(d.ErrorLine().find("docker://HOST") != std::string::npos);
    CHECK_FALSE(Exists(dir / "inv.json"));
  }
}

TEST_CASE("ledger show prints the id, sequence, blob count and bundles of a ledger",
          "[e2e][inventory]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  Require(w.Export({"oci:" + samples + ":app:1.0"}, w.dir / "b1", {"-q"}));
  Require(w.Export({"oci:" + samples + ":app:1.1"}, w.dir / "b2", {"-q"}));
  nlohmann::json shown = ShowLedger(w.ledger);
  nlohmann::json b1 = InspectJson(w.dir / "b1");
  nlohmann::json b2 = InspectJson(w.dir / "b2");
  CHECK(shown.at("ledger_id") == b1.at("ledger_id"));
  CHECK(shown.at("sequence") == 2);
  size_t shipped = 0;
  for (const auto* b : {&b1, &b2}) {
    for (const auto& blob : b->at("blobs")) shipped += blob.at("shipped").get<bool>() ? 1 : 0;
  }
  CHECK(shown.at("blobs") == shipped);
  REQUIRE(shown.at("bundles").size() == 2);
  CHECK(shown["bundles"][0].at("sequence") == 1);
  CHECK(shown["bundles"][0].at("bundle_id") == b1.at("bundle_id"));
  CHECK(shown["bundles"][1].at("sequence") == 2);
  CHECK(shown["bundles"][1].at("bundle_id") == b2.at("bundle_id"));

  RunResult text = Sluice({"ledger", "show", "--ledger", w.ledger});
  INFO(text.Describe());
  CHECK(text.exit_code == 0);
  CHECK(text.out.find(b1.at("ledger_id").get<std::string>()) != std::string::npos);

  RunResult missing = Sluice({"ledger", "show", "--ledger", w.dir / "none"});
  INFO(missing.Describe());
  CHECK(missing.exit_code == 1);
  CHECK_FALSE(Exists(w.dir / "none"));
  CHECK(Sluice({"ledger", "frobnicate"}).exit_code == 2);
}

// bundle 1 = base:1 (imported), bundle 2 = app:1.0 (lost on the way),
// bundle 3 = app:1.1 (arrives, builds on bundle 2).
struct LostBundle {
  LostBundle() {
    const std::string& samples = SampleLayout();
    Require(w.Export({"oci:" + samples + ":base:1"}, w.dir / "b1", {"-q"}));
    Require(w.Export({"oci:" + samples + ":app:1.0"}, w.dir / "b2", {"-q"}));
    Require(w.Export({"oci:" + samples + ":app:1.1"}, w.dir / "b3", {"-q"}));
    Require(w.Import(w.dir / "b1", far));
  }
  Workspace w;
  std::string far = w.dir / "far";
  KeyPair far_keys = MakeKeys(w.dir, "far");
};

TEST_CASE("an import refused for missing blobs names the bundle to import first",
          "[e2e][inventory]") {
  LostBundle s;
  std::string index_before = ReadFile(s.far + "/index.json");
  RunResult r = s.w.Import(s.w.dir / "b3", s.far);
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK(r.ErrorLine().find("bundle 3 builds on bundle 2") != std::string::npos);
  CHECK(r.ErrorLine().find("import bundle 2 ") != std::string::npos);
  CHECK(ReadFile(s.far + "/index.json") == index_before);
  // Once bundle 2 is there, bundle 3 goes in.
  Require(s.w.Import(s.w.dir / "b2", s.far));
  Require(s.w.Import(s.w.dir / "b3", s.far));
  CHECK(TaggedDigest(s.far, "app:1.1") == TaggedDigest(SampleLayout(), "app:1.1"));
}

TEST_CASE("a bundle whose base was never imported imports when every blob it needs is there",
          "[e2e][inventory]") {
  LostBundle s;
  const std::string& samples = SampleLayout();
  // app:1.0 reaches the far side another way: a bundle of another ledger.
  Workspace other;
  Require(other.Export({"oci:" + samples + ":app:1.0"}, other.dir / "x", {"-q"}));
  // The far side takes it on purpose: it is bound to s.w's ledger.
  std::string others = InspectJson(other.dir / "x").at("ledger_id").get<std::string>();
  Require(Sluice({"import", other.dir / "x", "--trust", other.keys.public_key, "--to",
                  "oci:" + s.far, "--mapping", "", "--accept-ledger", others}));
  // Bundle 2 of s.w's ledger never arrived, yet bundle 3 has all it needs
  // (and the far side goes back to taking s.w's bundles).
  std::string ours = InspectJson(s.w.dir / "b3").at("ledger_id").get<std::string>();
  RunResult r = Sluice({"import", s.w.dir / "b3", "--trust", s.w.keys.public_key, "--to",
                        "oci:" + s.far, "--accept-ledger", ours});
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK(TaggedDigest(s.far, "app:1.1") == TaggedDigest(samples, "app:1.1"));
  CHECK(SkopeoManifestDigest(s.far, "app:1.1") == TaggedDigest(samples, "app:1.1"));
}

TEST_CASE("a ledger rebuilt from the far side's inventory makes the next export ship exactly "
          "what the far side lacks",
          "[e2e][inventory]") {
  LostBundle s;
  const std::string& samples = SampleLayout();
  nlohmann::json before = ShowLedger(s.w.ledger);
  std::string inv_path = s.w.dir / "far.inventory";
  Require(TakeInventory(s.far, inv_path, s.far_keys.private_key));
  REQUIRE(Exists(inv_path + ".sig"));
  nlohmann::json inv = ParseJson(ReadFile(inv_path));
  std::set<std::string> held = InventoryBlobs(inv);

  RunResult rebuilt = Rebuild(s.w.ledger, inv_path, s.far_keys.public_key);
  INFO(rebuilt.Describe());
  REQUIRE(rebuilt.exit_code == 0);
  nlohmann::json after = ShowLedger(s.w.ledger);
  CHECK(after.at("ledger_id") == before.at("ledger_id"));
  CHECK(after.at("sequence") == before.at("sequence"));
  CHECK(after.at("blobs") == held.size());
  CHECK(after.at("bundles") == before.at("bundles"));

  std::string next = s.w.dir / "b4";
  Require(s.w.Export({"oci:" + samples + ":app:1.0", "oci:" + samples + ":app:1.1"}, next,
                     {"-q"}));
  std::set<std::string> needed = BlobsOf(samples, TaggedDigest(samples, "app:1.0"));
  for (const std::string& b : BlobsOf(samples, TaggedDigest(samples, "app:1.1"))) needed.insert(b);
  std::set<std::string> lacking;
  for (const std::string& b : needed) {
    if (!held.contains(b)) lacking.insert(b);
  }
  REQUIRE_FALSE(lacking.empty());
  std::set<std::string> shipped, assumed;
  nlohmann::json inspected = InspectJson(next);
  CHECK(inspected.at("base_sequence") == before.at("sequence"));
  for (const auto& blob : inspected.at("blobs")) {
    (blob.at("shipped").get<bool>() ? shipped : assumed).insert(blob.at("digest"));
  }
  CHECK(shipped == lacking);
  for (const std::string& a : assumed) CHECK(held.contains(a));

  RunResult imported = s.w.Import(next, s.far);
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);
  for (const char* tag : {"base:1", "app:1.0", "app:1.1"}) {
    INFO("tag " << tag);
    CHECK(TaggedDigest(s.far, tag) == TaggedDigest(samples, tag));
  }
}

TEST_CASE("ledger rebuild refuses an inventory changed after signing, signed by another key, "
          "or not signed, and leaves the ledger as it was",
          "[e2e][inventory]") {
  LostBundle s;
  std::string inv_path = s.w.dir / "far.inventory";
  Require(TakeInventory(s.far, inv_path, s.far_keys.private_key));
  const std::string ledger_before = ReadFile(s.w.ledger);
  const std::string signed_text = ReadFile(inv_path);

  SECTION("a blob taken out of the list") {
    nlohmann::json inv = ParseJson(signed_text);
    std::string first = inv.at("blobs").at(0).at("digest");
    std::string tampered = signed_text;
    // Claim a different blob: the exporter would then skip it.
    size_t at = tampered.find(first);
    REQUIRE(at != std::string::npos);
    tampered[at + 7] = tampered[at + 7] == '0' ? '1' : '0';
    WriteFile(inv_path, tampered);
    RunResult r = Rebuild(s.w.ledger, inv_path, s.far_keys.public_key);
    INFO(r.Describe());
    CHECK(r.exit_code == 3);
    CHECK(r.ErrorLine().find(inv_path) != std::string::npos);
    CHECK(r.ErrorLine().find("changed after signing") != std::string::npos);
  }
  SECTION("a key that is not trusted") {
    KeyPair stranger = MakeKeys(s.w.dir, "stranger");
    RunResult r = Rebuild(s.w.ledger, inv_path, stranger.public_key);
    INFO(r.Describe());
    CHECK(r.exit_code == 3);
    CHECK(r.ErrorLine().find("not a trusted key") != std::string::npos);
  }
  SECTION("no signature file") {
    REQUIRE(Run({"rm", inv_path + ".sig"}).exit_code == 0);
    RunResult r = Rebuild(s.w.ledger, inv_path, s.far_keys.public_key);
    INFO(r.Describe());
    CHECK(r.exit_code == 3);
    CHECK(r.ErrorLine().find("not signed") != std::string::npos);
  }
  SECTION("without --trust, accepted with a warning") {
    RunResult r = Rebuild(s.w.ledger, inv_path);
    INFO(r.Describe());
    CHECK(r.exit_code == 0);
    CHECK(r.err.find("NOT checked") != std::string::npos);
    CHECK(ReadFile(s.w.ledger) != ledger_before);
    return;
  }
  CHECK(ReadFile(s.w.ledger) == ledger_before);
}

}  // namespace
}  // namespace sluice::e2e
