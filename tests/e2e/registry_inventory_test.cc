// `sluice inventory --from docker://HOST[:PORT][/PREFIX]` against a real
// docker-registry (tests/registry/registry_fixture.h) holding the sample
// images pushed by skopeo. Expected digests are the sha256 of the manifest
// bytes `skopeo inspect --raw` reads, and the descriptors in them; damage is
// made by editing the registry's storage directly.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "../registry/registry_fixture.h"
#include "e2e_support.h"

namespace sluice::e2e {
namespace {

using registry::testing::RegistryOptions;
using registry::testing::TestRegistry;

// skopeo copy --all oci:LAYOUT:TAG docker://HOST/REF
void Push(const TestRegistry& registry, const std::string& tag, const std::string& ref) {
  Require(Run(Concat({"skopeo", "--insecure-policy", "copy", "--all", "--quiet"},
                     Concat(registry.Flags("dest"), {"oci:" + SampleLayout() + ":" + tag,
                                                     "docker://" + registry.host() + "/" + ref}))));
}

// The manifest bytes skopeo reads at docker://HOST/REF.
std::string Raw(const TestRegistry& registry, const std::string& ref) {
  RunResult r =
      Run(Concat({"skopeo", "inspect", "--raw"},
                 Concat(registry.Flags(""), {"docker://" + registry.host() + "/" + ref})));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// Adds digest -> size of every manifest, config and layer of the image at
// REPOSITORY:REFERENCE (or @digest), through an index's children.
void ImageParts(const TestRegistry& registry, const std::string& repository,
                const std::string& reference, std::map<std::string, uint64_t>* parts) {
  bool by_digest = reference.starts_with("sha256:");
  std::string raw = Raw(registry, repository + (by_digest ? "@" : ":") + reference);
  (*parts)[Sha256Digest(raw)] = raw.size();
  nlohmann::json doc = ParseJson(raw);
  if (doc.contains("manifests")) {
    for (const auto& child : doc["manifests"]) {
      ImageParts(registry, repository, child.at("digest"), parts);
    }
    return;
  }
  (*parts)[doc.at("config").at("digest")] = doc["config"].at("size");
  for (const auto& layer : doc.at("layers")) (*parts)[layer.at("digest")] = layer.at("size");
}

std::map<std::string, uint64_t> Parts(const TestRegistry& registry, const std::string& repository,
                                      const std::string& tag) {
  std::map<std::string, uint64_t> parts;
  ImageParts(registry, repository, tag, &parts);
  return parts;
}

std::vector<std::string> LayersOf(const std::string& raw) {
  std::vector<std::string> layers;
  nlohmann::json doc = ParseJson(raw);  // outlives the loop, unlike a temporary
  for (const auto& layer : doc.at("layers")) layers.push_back(layer.at("digest"));
  return layers;
}

// The directory holding a blob's data in the registry's storage.
std::string DataDir(const TestRegistry& registry, const std::string& digest) {
  std::string hex = digest.substr(7);
  return registry.storage() + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex;
}

RunResult TakeInventory(const TestRegistry& registry, const std::string& prefix,
                        const std::string& out, const std::vector<std::string>& extra = {}) {
  std::string from = "docker://" + registry.host() + (prefix.empty() ? "" : "/" + prefix);
  return Sluice(
      Concat(Concat({"inventory", "--from", from, "-o", out}, registry.Flags("dest")), extra));
}

struct Listed {
  explicit Listed(const std::string& path) {
    doc = ParseJson(ReadFile(path));
    for (const auto& b : doc.at("blobs")) blobs[b.at("digest")] = b.at("size");
    for (const auto& t : doc.at("tags")) {
      tags[t.at("name")] = t.at("digest");
      complete[t.at("name")] = t.at("complete");
    }
    for (const auto& d : doc.at("damaged")) damaged.push_back(d);
  }
  nlohmann::json doc;
  std::map<std::string, uint64_t> blobs;
  std::map<std::string, std::string> tags;
  std::map<std::string, bool> complete;
  std::vector<std::string> damaged;
};

bool Mentions(const std::vector<std::string>& lines, const std::string& part) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(part) != std::string::npos; });
}

TEST_CASE(
    "inventory of a registry lists exactly the manifests, configs and layers of the tags "
    "below its prefix",
    "[e2e][inventory][registry]") {
  TestRegistry registry;
  Push(registry, "app:1.0", "mirror/app:1.0");
  Push(registry, "app:1.1", "mirror/app:1.1");
  Push(registry, "multi:1", "mirror/multi:1");  // an index over two platforms
  Push(registry, "app:1.0", "mirror:top");      // the prefix itself is a repository
  Push(registry, "base:1", "other/base:1");     // outside the prefix
  std::map<std::string, uint64_t> expected;
  for (const auto& [repository, tag] :
       std::vector<std::pair<std::string, std::string>>{{"mirror/app", "1.0"},
                                                        {"mirror/app", "1.1"},
                                                        {"mirror/multi", "1"},
                                                        {"mirror", "top"}}) {
    auto parts = Parts(registry, repository, tag);
    expected.insert(parts.begin(), parts.end());
  }
  const std::string base = Sha256Digest(Raw(registry, "other/base:1"));
  REQUIRE_FALSE(expected.contains(base));

  TempDir dir;
  RunResult r = TakeInventory(registry, "mirror", dir / "inv.json");
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(Exists(dir / "inv.json.sig"));
  Listed inv(dir / "inv.json");
  CHECK(inv.doc.at("format") == "sluice-inventory");
  CHECK(inv.doc.at("destination") == "docker://" + registry.host() + "/mirror");
  CHECK(inv.blobs == expected);
  CHECK(inv.tags == std::map<std::string, std::string>{
                        {"app:1.0", Sha256Digest(Raw(registry, "mirror/app:1.0"))},
                        {"app:1.1", Sha256Digest(Raw(registry, "mirror/app:1.1"))},
                        {"multi:1", Sha256Digest(Raw(registry, "mirror/multi:1"))},
                        {"top", Sha256Digest(Raw(registry, "mirror:top"))}});
  for (const auto& [name, complete] : inv.complete) {
    INFO("tag " << name);
    CHECK(complete);
  }
  CHECK(inv.damaged.empty());
  CHECK(r.out.find(std::to_string(expected.size()) + " blobs") != std::string::npos);

  // Without a prefix: every repository, tags named with their full repository.
  RunResult all = TakeInventory(registry, "", dir / "all.json");
  INFO(all.Describe());
  REQUIRE(all.exit_code == 0);
  Listed everything(dir / "all.json");
  std::set<std::string> names;
  for (const auto& [name, digest] : everything.tags) names.insert(name);
  CHECK(names == std::set<std::string>{"mirror/app:1.0", "mirror/app:1.1", "mirror/multi:1",
                                       "mirror:top", "other/base:1"});
  CHECK(everything.tags.at("other/base:1") == base);
  CHECK(everything.blobs.contains(base));
}

TEST_CASE(
    "a blob deleted from a registry's storage is reported missing, and a ledger rebuilt "
    "from the inventory ships exactly that blob",
    "[e2e][inventory][registry]") {
  TestRegistry registry;
  const std::string to = "docker://" + registry.host() + "/mirror";
  // The far registry was filled by an earlier transfer (skopeo would
  // recompress the layout's uncompressed layer; sluice keeps every digest).
  Workspace earlier;
  Require(
      earlier.Export({"oci:" + SampleLayout() + ":base:1", "oci:" + SampleLayout() + ":app:1.0"},
                     earlier.dir / "b1", {"-q"}));
  Require(Sluice(Concat({"import", earlier.dir / "b1", "--trust", earlier.keys.public_key, "--to",
                         to, "--mapping", "", "-q"},
                        registry.Flags("dest"))));
  REQUIRE(Sha256Digest(Raw(registry, "mirror/app:1.0")) == TaggedDigest(SampleLayout(), "app:1.0"));
  std::map<std::string, uint64_t> all = Parts(registry, "mirror/base", "1");
  for (const auto& part : Parts(registry, "mirror/app", "1.0")) all.insert(part);
  // A layer of app:1.0 that base:1 does not have.
  std::vector<std::string> base_layers = LayersOf(Raw(registry, "mirror/base:1"));
  std::string lost;
  for (const std::string& layer : LayersOf(Raw(registry, "mirror/app:1.0"))) {
    if (std::find(base_layers.begin(), base_layers.end(), layer) == base_layers.end()) lost = layer;
  }
  REQUIRE(!lost.empty());
  REQUIRE(std::filesystem::remove_all(DataDir(registry, lost)) > 0);

  Workspace w;
  KeyPair far = MakeKeys(w.dir, "far");
  std::string inv_path = w.dir / "far.inventory";
  RunResult r = TakeInventory(registry, "mirror", inv_path, {"--sign-key", far.private_key});
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find(lost) != std::string::npos);
  Listed inv(inv_path);
  std::map<std::string, uint64_t> held = all;
  held.erase(lost);
  CHECK(inv.blobs == held);
  REQUIRE(inv.damaged.size() == 1);
  CHECK(inv.damaged[0].find(lost) != std::string::npos);
  CHECK(inv.damaged[0].find("missing") != std::string::npos);
  CHECK(inv.damaged[0].find(registry.host() + "/mirror/app") != std::string::npos);
  CHECK(inv.complete == std::map<std::string, bool>{{"app:1.0", false}, {"base:1", true}});

  // The connected side: a ledger that believes exactly the inventory.
  RunResult rebuilt = Sluice({"ledger", "rebuild", "--ledger", w.ledger, "--from-inventory",
                              inv_path, "--trust", far.public_key});
  INFO(rebuilt.Describe());
  REQUIRE(rebuilt.exit_code == 0);
  std::string bundle = w.dir / "resync.sluice";
  Require(w.Export({"oci:" + SampleLayout() + ":base:1", "oci:" + SampleLayout() + ":app:1.0"},
                   bundle, {"-q"}));
  std::set<std::string> shipped;
  nlohmann::json inspected = InspectJson(bundle);  // outlives the loop
  for (const auto& blob : inspected.at("blobs")) {
    if (blob.at("shipped").get<bool>()) shipped.insert(blob.at("digest"));
  }
  CHECK(shipped == std::set<std::string>{lost});

  // Imported, the registry is whole again. It took the earlier exporter's
  // bundles, so this ledger's bundle goes in on purpose only.
  std::string ledger_id = inspected.at("ledger_id").get<std::string>();
  RunResult refused = Sluice(
      Concat({"import", bundle, "--trust", w.keys.public_key, "--to", to, "--mapping", "", "-q"},
             registry.Flags("dest")));
  CHECK(refused.exit_code == 3);
  Require(Sluice(Concat({"import", bundle, "--trust", w.keys.public_key, "--to", to, "--mapping",
                         "", "-q", "--accept-ledger", ledger_id},
                        registry.Flags("dest"))));
  Require(TakeInventory(registry, "mirror", w.dir / "after.inventory"));
  Listed after(w.dir / "after.inventory");
  CHECK(after.blobs == all);
  CHECK(after.damaged.empty());
  CHECK(after.complete == std::map<std::string, bool>{{"app:1.0", true}, {"base:1", true}});
}

TEST_CASE(
    "inventory of a registry finds a blob of the wrong size by HEAD, and one whose bytes "
    "changed only with --verify-blobs",
    "[e2e][inventory][registry]") {
  TestRegistry registry;
  Push(registry, "app:1.0", "mirror/app:1.0");
  nlohmann::json manifest = ParseJson(Raw(registry, "mirror/app:1.0"));
  const std::string config = manifest.at("config").at("digest");
  const std::string layer = manifest.at("layers").at(0).at("digest");
  // The config grows by a byte; the layer keeps its size with one byte changed.
  std::string config_data = DataDir(registry, config) + "/data";
  WriteFile(config_data, ReadFile(config_data) + " ");
  std::string layer_data = DataDir(registry, layer) + "/data";
  std::string bytes = ReadFile(layer_data);
  REQUIRE(!bytes.empty());
  bytes[bytes.size() / 2] ^= 0x01;
  WriteFile(layer_data, bytes);

  TempDir dir;
  RunResult head = TakeInventory(registry, "mirror", dir / "head.json");
  INFO(head.Describe());
  REQUIRE(head.exit_code == 0);
  Listed by_head(dir / "head.json");
  CHECK_FALSE(by_head.blobs.contains(config));
  CHECK(by_head.blobs.contains(layer));  // HEAD cannot see it: the size is right
  REQUIRE(by_head.damaged.size() == 1);
  CHECK(by_head.damaged[0].find(config) != std::string::npos);
  CHECK(by_head.damaged[0].find(std::to_string(manifest["config"].at("size").get<uint64_t>() + 1) +
                                " bytes") != std::string::npos);
  CHECK(by_head.complete.at("app:1.0") == false);

  RunResult hashed = TakeInventory(registry, "mirror", dir / "hashed.json", {"--verify-blobs"});
  INFO(hashed.Describe());
  REQUIRE(hashed.exit_code == 0);
  Listed by_hash(dir / "hashed.json");
  CHECK_FALSE(by_hash.blobs.contains(config));
  CHECK_FALSE(by_hash.blobs.contains(layer));
  CHECK(by_hash.damaged.size() == 2);
  CHECK(Mentions(by_hash.damaged, layer));
  CHECK(Mentions(by_hash.damaged, config));
  std::map<std::string, uint64_t> rest = Parts(registry, "mirror/app", "1.0");
  rest.erase(config);
  rest.erase(layer);
  CHECK(by_hash.blobs == rest);
}

TEST_CASE("inventory of a TLS registry with basic auth takes the --dest-* options import takes",
          "[e2e][inventory][registry]") {
  RegistryOptions options;
  options.tls = true;
  options.user = "far";
  options.password = "side";
  TestRegistry registry(options);
  Push(registry, "base:1", "mirror/base:1");
  TempDir dir;

  RunResult ok = TakeInventory(registry, "mirror", dir / "inv.json");
  INFO(ok.Describe());
  REQUIRE(ok.exit_code == 0);
  Listed inv(dir / "inv.json");
  CHECK(inv.tags == std::map<std::string, std::string>{
                        {"base:1", Sha256Digest(Raw(registry, "mirror/base:1"))}});
  CHECK(inv.blobs == Parts(registry, "mirror/base", "1"));

  RunResult refused = Sluice({"inventory", "--from", "docker://" + registry.host() + "/mirror",
                              "-o", dir / "refused.json", "--dest-cert-dir", registry.ca_dir(),
                              "--dest-creds", "far:wrong"});
  INFO(refused.Describe());
  CHECK(refused.exit_code == 4);
  CHECK(refused.ErrorLine().find(registry.host() + " refused access") != std::string::npos);
  CHECK(refused.ErrorLine().find("wrong user name or password") != std::string::npos);
  CHECK_FALSE(Exists(dir / "refused.json"));

  RunResult untrusted = Sluice({"inventory", "--from", "docker://" + registry.host() + "/mirror",
                                "-o", dir / "untrusted.json", "--dest-creds", "far:side"});
  INFO(untrusted.Describe());
  CHECK(untrusted.exit_code != 0);
  CHECK(untrusted.ErrorLine().find("--dest-cert-dir") != std::string::npos);
  CHECK_FALSE(Exists(dir / "untrusted.json"));
}

}  // namespace
}  // namespace sluice::e2e
