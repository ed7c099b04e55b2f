// sluice plan and export --dry-run: what the next bundle would hold, against
// an OCI layout and a docker-registry, before the first export, after it,
// and after a tag moved; the exact blob bytes, the estimate against the
// bundle export then writes, its volumes; and that nothing is written, the
// ledger's bytes least of all. ledger show: ISO 8601 dates and the images
// of each bundle, also of a ledger written before bundles recorded them.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "../registry/registry_fixture.h"
#include "e2e_support.h"
#include "tests/support/layout_builder.h"

namespace sluice::e2e {
namespace {

using registry::testing::TestRegistry;
using ::sluice::testing::BuiltBlob;
using ::sluice::testing::BuiltImage;
using ::sluice::testing::LayoutBuilder;
using ::sluice::testing::RandomBytes;

constexpr const char* kTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";

// A layout of two images sharing a base layer: app:1 (base, a) and db:1
// (base, d), random layers that zstd cannot shrink, so that the plan's
// estimate of the bundle is exact.
struct Images {
  explicit Images(const std::string& dir) : layout(dir), builder(dir) {
    base = builder.AddBlob(RandomBytes(300 * 1024, 1), kTarGzip);
    BuiltBlob a = builder.AddBlob(RandomBytes(100 * 1024, 2), kTarGzip);
    BuiltBlob d = builder.AddBlob(RandomBytes(50 * 1024, 3), kTarGzip);
    app = builder.AddImage({base, a});
    db = builder.AddImage({base, d}, "arm64");
    builder.Tag("app:1", app.manifest, app.manifest_size, kManifestType);
    builder.Tag("db:1", db.manifest, db.manifest_size, kManifestType);
  }
  // Moves app:1 to a new image: the base layer, and a new layer of `size`.
  BuiltImage Repoint(size_t size) {
    BuiltBlob layer = builder.AddBlob(RandomBytes(size, 4), kTarGzip);
    BuiltImage moved = builder.AddImage({base, layer});
    builder.Tag("app:1", moved.manifest, moved.manifest_size, kManifestType);
    return moved;
  }
  std::string layout;
  LayoutBuilder builder;
  BuiltBlob base;
  BuiltImage app, db;
};

uint64_t BlobBytes(const BuiltImage& image) {
  uint64_t n = image.config.size;
  for (const BuiltBlob& l : image.layers) n += l.size;
  return n;
}

nlohmann::json PlanJson(const std::vector<std::string>& args) {
  RunResult r = Sluice(Concat({"plan", "--json"}, args));
  Require(r);
  return ParseJson(r.out);
}

// The images of a plan, by ref as given: "change" and "digest".
std::map<std::string, nlohmann::json> ImagesByRef(const nlohmann::json& plan) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& i : plan.at("images")) out[i.at("source").get<std::string>()] = i;
  return out;
}

TEST_CASE("plan before the first export: every image added, every blob new, and nothing written",
          "[e2e][plan]") {
  Workspace w;
  Images images(w.dir / "src");
  const std::vector<std::string> before = ListTree(w.dir.path());
  nlohmann::json plan = PlanJson({"oci:" + images.layout, "--ledger", w.ledger});
  INFO(plan.dump(2));
  CHECK(plan.at("ledger_exists") == false);
  CHECK(plan.at("base_sequence") == 0);
  CHECK(plan.at("sequence") == 1);
  CHECK(plan.at("changes").at("since").is_null());
  std::map<std::string, nlohmann::json> by_ref = ImagesByRef(plan);
  REQUIRE(by_ref.size() == 2);
  const std::string app_ref = "oci:" + images.layout + ":app:1";
  CHECK(by_ref[app_ref].at("change") == "added");
  CHECK(by_ref[app_ref].at("digest") == images.app.manifest.str());
  CHECK(by_ref["oci:" + images.layout + ":db:1"].at("digest") == images.db.manifest.str());
  // base, a, d and two configs; the shared base counted once.
  CHECK(plan.at("new_blobs") == 5);
  CHECK(plan.at("new_bytes") == BlobBytes(images.app) + BlobBytes(images.db) - images.base.size);
  CHECK(plan.at("held_blobs") == 0);
  CHECK(plan.at("held_bytes") == 0);
  CHECK(plan.at("manifests") == 2);
  CHECK(plan.at("written") == false);
  // No ledger, no lock, no temp file: the directory is as it was.
  CHECK(ListTree(w.dir.path()) == before);
  CHECK_FALSE(Exists(w.ledger));
}

TEST_CASE("plan after an export finds nothing new, every image unchanged, 0 bytes to ship",
          "[e2e][plan]") {
  Workspace w;
  Images images(w.dir / "src");
  Require(w.Export({"oci:" + images.layout}, w.dir / "1.sluice", {"-q"}));
  const std::string ledger_bytes = ReadFile(w.ledger);
  const std::vector<std::string> before = ListTree(w.dir.path());

  nlohmann::json plan = PlanJson({"oci:" + images.layout, "--ledger", w.ledger});
  INFO(plan.dump(2));
  CHECK(plan.at("ledger_exists") == true);
  CHECK(plan.at("sequence") == 2);
  CHECK(plan.at("changes").at("since").at("sequence") == 1);
  CHECK(plan.at("changes").at("unchanged") == 2);
  CHECK(plan.at("changes").at("added") == 0);
  CHECK(plan.at("changes").at("repointed") == 0);
  CHECK(plan.at("changes").at("removed") == 0);
  for (const auto& i : plan.at("images")) CHECK(i.at("change") == "unchanged");
  CHECK(plan.at("new_blobs") == 0);
  CHECK(plan.at("new_bytes") == 0);
  CHECK(plan.at("estimate").at("raw_bytes") == 0);
  CHECK(plan.at("held_blobs") == 5);

  // Neither plan nor export --dry-run changes a byte of the ledger, or
  // leaves anything behind (the bundle of the dry run least of all).
  RunResult dry = w.Export({"oci:" + images.layout}, w.dir / "2.sluice", {"--dry-run"});
  Require(dry);
  CHECK(dry.out.find("nothing written") != std::string::npos);
  CHECK(ReadFile(w.ledger) == ledger_bytes);
  CHECK(ListTree(w.dir.path()) == before);
  CHECK_FALSE(Exists(w.dir / "2.sluice"));
}

TEST_CASE(
    "plan after a tag moved: one re-pointed, old -> new, only its new blobs, byte for byte, "
    "the estimate is the bundle export writes, on as many volumes",
    "[e2e][plan]") {
  Workspace w;
  Images images(w.dir / "src");
  Require(w.Export({"oci:" + images.layout}, w.dir / "1.sluice", {"-q"}));
  const BuiltImage moved = images.Repoint(700 * 1024);
  const std::string ledger_bytes = ReadFile(w.ledger);
  // Small volumes of small frames, so that the bundle spans several.
  const std::vector<std::string> volumes = {"--volume-size", "200K", "--frame-size", "16384"};

  nlohmann::json plan = PlanJson(Concat({"oci:" + images.layout, "--ledger", w.ledger}, volumes));
  INFO(plan.dump(2));
  std::map<std::string, nlohmann::json> by_ref = ImagesByRef(plan);
  const nlohmann::json& app = by_ref["oci:" + images.layout + ":app:1"];
  CHECK(app.at("change") == "re-pointed");
  CHECK(app.at("previous") == images.app.manifest.str());
  CHECK(app.at("digest") == moved.manifest.str());
  CHECK(by_ref["oci:" + images.layout + ":db:1"].at("change") == "unchanged");
  CHECK(plan.at("changes").at("repointed") == 1);
  CHECK(plan.at("changes").at("unchanged") == 1);
  // The new layer and the new config; the base is held.
  CHECK(plan.at("new_blobs") == 2);
  CHECK(plan.at("new_bytes") == moved.config.size + moved.layers[1].size);
  CHECK(plan.at("held_blobs") == 3);
  CHECK(plan.at("held_bytes") ==
        images.base.size + images.db.layers[1].size + images.db.config.size);
  CHECK(ReadFile(w.ledger) == ledger_bytes);

  RunResult text = Sluice(Concat({"plan", "oci:" + images.layout, "--ledger", w.ledger}, volumes));
  Require(text);
  INFO(text.out);
  CHECK(text.out.find("re-pointed  oci:" + images.layout + ":app:1 -> " + moved.manifest.str() +
                      " (was " + images.app.manifest.str() + ")") != std::string::npos);
  CHECK(text.out.find("unchanged   oci:" + images.layout + ":db:1 -> ") != std::string::npos);

  // The export of that plan: the bundle it estimated, byte for byte (its
  // layers are incompressible and the config is sampled whole), cut into
  // the volumes it said.
  RunResult exported =
      w.Export({"oci:" + images.layout}, w.dir / "2.sluice", Concat({"--json", "-q"}, volumes));
  Require(exported);
  nlohmann::json report = ParseJson(exported.out);
  CHECK(report.at("shipped_bytes") == plan.at("new_bytes"));
  CHECK(report.at("bundle_bytes") == plan.at("estimate").at("bundle_bytes"));
  CHECK(report.at("files").size() == plan.at("estimate").at("volumes").get<size_t>());
  CHECK(report.at("files").size() >= 4);
  CHECK(report.at("bundle_bytes").get<uint64_t>() <=
        plan.at("estimate").at("max_bundle_bytes").get<uint64_t>());
}

TEST_CASE("plan lists an image of the last bundle it no longer carries as removed", "[e2e][plan]") {
  Workspace w;
  Images images(w.dir / "src");
  Require(w.Export({"oci:" + images.layout}, w.dir / "1.sluice", {"-q"}));
  nlohmann::json plan = PlanJson({"oci:" + images.layout + ":db:1", "--ledger", w.ledger});
  INFO(plan.dump(2));
  CHECK(plan.at("changes").at("removed") == 1);
  REQUIRE(plan.at("removed").size() == 1);
  CHECK(plan.at("removed")[0].at("source") == "oci:" + images.layout + ":app:1");
  CHECK(plan.at("removed")[0].at("digest") == images.app.manifest.str());
  CHECK(plan.at("images").size() == 1);
}

TEST_CASE("plan and export --dry-run print the same plan", "[e2e][plan]") {
  Workspace w;
  Images images(w.dir / "src");
  Require(w.Export({"oci:" + images.layout + ":app:1"}, w.dir / "1.sluice", {"-q"}));
  images.Repoint(10 * 1024);
  nlohmann::json plan = PlanJson({"oci:" + images.layout, "--ledger", w.ledger});
  RunResult dry = w.Export({"oci:" + images.layout}, w.dir / "2.sluice", {"--dry-run", "--json"});
  Require(dry);
  CHECK(ParseJson(dry.out) == plan);
  CHECK_FALSE(Exists(w.dir / "2.sluice"));
}

TEST_CASE("plan refuses what export refuses, with its exit codes", "[e2e][plan]") {
  Workspace w;
  Images images(w.dir / "src");
  RunResult none = Sluice({"plan", "--ledger", w.ledger});
  CHECK(none.exit_code == 2);
  RunResult base = Sluice({"plan", "oci:" + images.layout, "--ledger", w.ledger, "--base", "x"});
  CHECK(base.exit_code == 2);
  RunResult tiny =
      Sluice({"plan", "oci:" + images.layout, "--ledger", w.ledger, "--volume-size", "4K"});
  INFO(tiny.Describe());
  CHECK(tiny.exit_code == 2);
  CHECK(tiny.err.find("is too small") != std::string::npos);
  RunResult missing = Sluice({"plan", "oci:" + images.layout + ":nope", "--ledger", w.ledger});
  CHECK(missing.exit_code == 1);
  CHECK_FALSE(Exists(w.ledger));
  // export --dry-run is export's command line: its bundle and key still named.
  RunResult dry = Sluice({"export", "oci:" + images.layout, "--ledger", w.ledger, "--dry-run"});
  CHECK(dry.exit_code == 2);
}

TEST_CASE(
    "plan takes export's --config, and with --keep-going lists what export would leave "
    "out and exits 5 as it would, writing nothing",
    "[e2e][plan]") {
  Workspace w;
  Images images(w.dir / "src");
  const std::string config = w.dir / "mirror.yaml";
  WriteFile(config, "images:\n  - name: oci:src\n    tags: [\"app:1\", \"gone:1\"]\n");
  const std::vector<std::string> before = ListTree(w.dir.path());

  // Without --keep-going, the missing tag stops the plan as it stops export.
  RunResult stopped = Sluice({"plan", "--config", config, "--ledger", w.ledger});
  INFO(stopped.Describe());
  CHECK(stopped.exit_code == 1);
  CHECK(stopped.err.find("gone:1") != std::string::npos);

  RunResult r =
      Sluice({"plan", "--config", config, "--ledger", w.ledger, "--keep-going", "--json"});
  INFO(r.Describe());
  CHECK(r.exit_code == 5);
  nlohmann::json plan = ParseJson(r.out);
  REQUIRE(plan.at("images").size() == 1);
  CHECK(plan.at("images")[0].at("digest") == images.app.manifest.str());
  CHECK(plan.at("new_bytes") == BlobBytes(images.app));
  REQUIRE(plan.at("skipped").size() == 1);
  CHECK(plan.at("skipped")[0].at("ref").get<std::string>().find("gone:1") != std::string::npos);
  CHECK(plan.at("skipped")[0].at("origin").get<std::string>().find("mirror.yaml:") !=
        std::string::npos);
  RunResult text = Sluice({"plan", "--config", config, "--ledger", w.ledger, "--keep-going"});
  CHECK(text.exit_code == 5);
  CHECK(text.out.find("left out as failed (--keep-going, exit code 5): 1") != std::string::npos);
  CHECK(ListTree(w.dir.path()) == before);
}

TEST_CASE(
    "plan reads a docker-registry as export does: all new, then nothing, then the moved "
    "tag's new blobs",
    "[e2e][plan][registry]") {
  TestRegistry registry;
  Workspace w;
  const std::string layout = w.dir / "src";
  registry::testing::MakeImage(layout, "one", "first content");
  registry::testing::MakeImage(layout, "two", "second content, longer than the first");
  registry::testing::PushImage(registry, layout, "one", "team/app:1");
  const std::string source = "docker://" + registry.host() + "/team/app:1";
  auto plan = [&]() {
    return PlanJson(Concat({source, "--ledger", w.ledger}, registry.Flags("src")));
  };
  auto bytes_of = [&](const std::set<std::string>& digests) {
    uint64_t n = 0;
    for (const std::string& d : digests) n += ReadFile(BlobPath(layout, d)).size();
    return n;
  };
  const std::string one = TaggedDigest(layout, "one");
  const std::string two = TaggedDigest(layout, "two");
  const std::set<std::string> one_blobs = ImageBlobs(layout, one);
  const std::set<std::string> two_blobs = ImageBlobs(layout, two);

  nlohmann::json first = plan();
  INFO(first.dump(2));
  REQUIRE(first.at("images").size() == 1);
  CHECK(first.at("images")[0].at("source") == registry.host() + "/team/app:1");
  CHECK(first.at("images")[0].at("repository") == "team/app");
  CHECK(first.at("images")[0].at("tag") == "1");
  CHECK(first.at("images")[0].at("digest") == one);
  CHECK(first.at("images")[0].at("change") == "added");
  CHECK(first.at("new_blobs") == one_blobs.size());
  CHECK(first.at("new_bytes") == bytes_of(one_blobs));
  CHECK_FALSE(Exists(w.ledger));

  Require(Sluice(Concat({"export", source, "--ledger", w.ledger, "--sign-key", w.keys.private_key,
                         "-o", w.dir / "1.sluice", "-q"},
                        registry.Flags("src"))));
  const std::string ledger_bytes = ReadFile(w.ledger);
  nlohmann::json second = plan();
  INFO(second.dump(2));
  CHECK(second.at("images")[0].at("change") == "unchanged");
  CHECK(second.at("new_blobs") == 0);
  CHECK(second.at("new_bytes") == 0);

  registry::testing::PushImage(registry, layout, "two", "team/app:1");
  nlohmann::json third = plan();
  INFO(third.dump(2));
  CHECK(third.at("images")[0].at("change") == "re-pointed");
  CHECK(third.at("images")[0].at("previous") == one);
  CHECK(third.at("images")[0].at("digest") == two);
  std::set<std::string> fresh;
  for (const std::string& d : two_blobs) {
    if (!one_blobs.contains(d)) fresh.insert(d);
  }
  CHECK(third.at("new_blobs") == fresh.size());
  CHECK(third.at("new_bytes") == bytes_of(fresh));
  CHECK(ReadFile(w.ledger) == ledger_bytes);
}

TEST_CASE("ledger show lists each bundle's date in ISO 8601 UTC and the images it carried",
          "[e2e][plan][ledger]") {
  Workspace w;
  Images images(w.dir / "src");
  Require(w.Export({"oci:" + images.layout + ":app:1"}, w.dir / "1.sluice", {"-q"}));
  Require(w.Export({"oci:" + images.layout}, w.dir / "2.sluice", {"-q"}));

  RunResult text = Sluice({"ledger", "show", "--ledger", w.ledger});
  Require(text);
  INFO(text.out);
  const std::regex bundle_line(
      R"(\n    2  [0-9a-f]{32}  created \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  )");
  CHECK(std::regex_search(text.out, bundle_line));
  const std::string app_line =
      "\n        oci:" + images.layout + ":app:1 -> " + images.app.manifest.str();
  const std::string db_line =
      "\n        oci:" + images.layout + ":db:1 -> " + images.db.manifest.str();
  // Bundle 1 carried app:1; bundle 2 both.
  const size_t second = text.out.find("\n    2  ");
  REQUIRE(second != std::string::npos);
  CHECK(text.out.find(app_line) < second);
  CHECK(text.out.find(db_line) > second);
  CHECK(text.out.find(app_line, second) != std::string::npos);

  RunResult json = Sluice({"ledger", "show", "--ledger", w.ledger, "--json"});
  Require(json);
  nlohmann::json shown = ParseJson(json.out);
  REQUIRE(shown.at("bundles").size() == 2);
  const std::regex iso(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)");
  for (const auto& b : shown.at("bundles")) {
    CHECK(std::regex_match(b.at("created").get<std::string>(), iso));
  }
  const nlohmann::json& carried = shown.at("bundles")[0].at("images");
  REQUIRE(carried.size() == 1);
  CHECK(carried[0].at("source") == "oci:" + images.layout + ":app:1");
  CHECK(carried[0].at("repository") == "app");
  CHECK(carried[0].at("tag") == "1");
  CHECK(carried[0].at("digest") == images.app.manifest.str());
  CHECK(shown.at("bundles")[1].at("images").size() == 2);
}

TEST_CASE("a ledger written before bundles recorded their images shows, plans and exports on",
          "[e2e][plan][ledger]") {
  Workspace w;
  // Written by sluice export before this change (tests/src/golden).
  WriteFile(w.ledger, ReadFile(SLUICE_GOLDEN_LEDGER_NO_IMAGES));
  const std::string old_bytes = ReadFile(w.ledger);

  RunResult shown = Sluice({"ledger", "show", "--ledger", w.ledger, "--json"});
  Require(shown);
  nlohmann::json before = ParseJson(shown.out);
  CHECK(before.at("sequence") == 2);
  REQUIRE(before.at("bundles").size() == 2);
  CHECK(before.at("bundles")[0].at("created") == "2026-12-03T11:18:10Z");
  CHECK(before.at("bundles")[0].at("images").is_null());
  RunResult text = Sluice({"ledger", "show", "--ledger", w.ledger});
  Require(text);
  CHECK(text.out.find("images not recorded") != std::string::npos);

  Images images(w.dir / "src");
  nlohmann::json plan = PlanJson({"oci:" + images.layout, "--ledger", w.ledger});
  INFO(plan.dump(2));
  CHECK(plan.at("changes").at("comparable") == false);
  CHECK(plan.at("changes").at("since").at("sequence") == 2);
  CHECK(plan.at("changes").at("since").at("images_recorded") == false);
  CHECK(plan.at("images").size() == 2);
  CHECK(plan.at("sequence") == 3);
  RunResult plan_text = Sluice({"plan", "oci:" + images.layout, "--ledger", w.ledger});
  Require(plan_text);
  CHECK(plan_text.out.find("did not record its images") != std::string::npos);
  CHECK(ReadFile(w.ledger) == old_bytes);

  Require(w.Export({"oci:" + images.layout}, w.dir / "3.sluice", {"-q"}));
  nlohmann::json after = ParseJson(Sluice({"ledger", "show", "--ledger", w.ledger, "--json"}).out);
  REQUIRE(after.at("bundles").size() == 3);
  CHECK(after.at("bundles")[0].at("bundle_id") == "0dad679260cf2098e6b80025d8839257");
  CHECK(after.at("bundles")[1].at("images").is_null());
  CHECK(after.at("bundles")[2].at("images").size() == 2);
  nlohmann::json next = PlanJson({"oci:" + images.layout, "--ledger", w.ledger});
  CHECK(next.at("changes").at("unchanged") == 2);
}

}  // namespace
}  // namespace sluice::e2e
