// `export --platform`: of the sample index multi:1 (linux/amd64 and
// linux/arm64, tools/make-sample-images) only the asked platform ships; the
// bundle lists the other child as absent, the index travels byte for byte,
// and each destination does what README.md says: an OCI layout keeps the
// index (skopeo reads it, and the kept platform's image), a real
// docker-registry refuses an index whose child is missing, so the one kept
// platform's manifest is tagged instead and the report says so.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "../registry/registry_fixture.h"
#include "e2e_support.h"

namespace sluice::e2e {
namespace {

using registry::testing::TestRegistry;

// The children of the sample index multi:1: platform ("linux/amd64") -> digest.
std::map<std::string, std::string> MultiChildren() {
  nlohmann::json index =
      ParseJson(ReadFile(BlobPath(SampleLayout(), TaggedDigest(SampleLayout(), "multi:1"))));
  std::map<std::string, std::string> children;
  for (const auto& child : index.at("manifests")) {
    const auto& p = child.at("platform");
    children[p.at("os").get<std::string>() + "/" + p.at("architecture").get<std::string>()] =
        child.at("digest");
  }
  return children;
}

// A copy of the sample layout at `dir` with "multi:3": multi:1's index plus
// a third child, app:1.0's manifest declared unknown/unknown as BuildKit
// declares attestation manifests. Returns the new index's digest.
std::string WithThreeChildren(const std::string& dir) {
  CopyTree(SampleLayout(), dir);
  std::string app = TaggedDigest(dir, "app:1.0");
  nlohmann::json index = ParseJson(ReadFile(BlobPath(dir, TaggedDigest(dir, "multi:1"))));
  index["manifests"].push_back({{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                {"digest", app},
                                {"size", ReadFile(BlobPath(dir, app)).size()},
                                {"platform", {{"os", "unknown"}, {"architecture", "unknown"}}}});
  std::string bytes = index.dump();
  std::string digest = Sha256Digest(bytes);
  WriteFile(BlobPath(dir, digest), bytes);
  nlohmann::json top = ParseJson(ReadFile(dir + "/index.json"));
  top["manifests"].push_back({{"mediaType", "application/vnd.oci.image.index.v1+json"},
                              {"digest", digest},
                              {"size", bytes.size()},
                              {"annotations", {{"org.opencontainers.image.ref.name", "multi:3"}}}});
  WriteFile(dir + "/index.json", top.dump());
  return digest;
}

// `export --json` of multi:1 with `extra` flags, parsed.
nlohmann::json ExportMulti(Workspace& w, const std::string& bundle,
                           const std::vector<std::string>& extra) {
  RunResult r =
      w.Export({"oci:" + SampleLayout() + ":multi:1"}, bundle, Concat({"--json", "-q"}, extra));
  Require(r);
  return ParseJson(r.out);
}

TEST_CASE("export --platform ships only that platform's blobs and lists the other child absent") {
  std::map<std::string, std::string> children = MultiChildren();
  REQUIRE(children.size() == 2);
  Workspace all_ws, one_ws;
  nlohmann::json all = ExportMulti(all_ws, all_ws.dir / "all.sluice", {});
  nlohmann::json one =
      ExportMulti(one_ws, one_ws.dir / "one.sluice", {"--platform", "linux/amd64"});
  INFO(all.dump() << "\n" << one.dump());
  CHECK(one["absent_manifests"] == 1);
  CHECK(one["manifests"] == 2);  // the index and the amd64 manifest
  CHECK(all["manifests"] == 3);
  CHECK(one["shipped_blobs"].get<uint64_t>() < all["shipped_blobs"].get<uint64_t>());
  CHECK(one["shipped_bytes"].get<uint64_t>() < all["shipped_bytes"].get<uint64_t>());
  // The byte saving, for whoever reads the test log.
  WARN("multi:1 full: " << all["shipped_blobs"] << " blobs, " << all["shipped_bytes"]
                        << " bytes, bundle " << all["bundle_bytes"]
                        << "; --platform linux/amd64: " << one["shipped_blobs"] << " blobs, "
                        << one["shipped_bytes"] << " bytes, bundle " << one["bundle_bytes"]);

  // Exactly the blobs of the amd64 image ship (the two images share none
  // but what the sample builds identically).
  std::set<std::string> amd64 = ImageBlobs(SampleLayout(), children["linux/amd64"]);
  nlohmann::json inspected = InspectJson(one_ws.dir / "one.sluice");
  std::set<std::string> listed;
  for (const auto& b : inspected["blobs"]) listed.insert(b["digest"].get<std::string>());
  CHECK(listed == amd64);

  std::string index = TaggedDigest(SampleLayout(), "multi:1");
  bool seen_index = false;
  for (const auto& m : inspected["manifests"]) {
    if (m["digest"] == children["linux/arm64"]) {
      CHECK(m["absent"] == true);
      CHECK(m["size"] == 0);
    }
    if (m["digest"] != index) continue;
    seen_index = true;
    REQUIRE(m["children"].size() == 2);
    for (const auto& c : m["children"]) {
      CHECK(c["carried"] == (c["platform"] == "linux/amd64"));
    }
  }
  CHECK(seen_index);
  RunResult text = Sluice({"inspect", one_ws.dir / "one.sluice"});
  Require(text);
  CHECK(text.out.find("linux/arm64  " + children["linux/arm64"] + "  absent") != std::string::npos);
  CHECK(text.out.find("linux/amd64  " + children["linux/amd64"] + "  carried") !=
        std::string::npos);
  Require(one_ws.Verify(one_ws.dir / "one.sluice"));
}

TEST_CASE("export --platform without a variant matches the variant of any child, and repeats") {
  Workspace w;
  nlohmann::json both = ExportMulti(w, w.dir / "both.sluice",
                                    {"--platform", "linux/amd64", "--platform", "linux/arm64"});
  CHECK(both["absent_manifests"] == 0);
  CHECK(both["manifests"] == 3);
}

TEST_CASE("export --platform leaves an image that is not an index as it is") {
  Workspace plain, filtered;
  RunResult a = plain.Export({"oci:" + SampleLayout() + ":app:1.0"}, plain.dir / "a.sluice",
                             {"--json", "-q"});
  RunResult b = filtered.Export({"oci:" + SampleLayout() + ":app:1.0"}, filtered.dir / "b.sluice",
                                {"--json", "-q", "--platform", "linux/s390x"});
  Require(a);
  Require(b);
  CHECK(ParseJson(a.out)["shipped_bytes"] == ParseJson(b.out)["shipped_bytes"]);
  CHECK(ParseJson(b.out)["absent_manifests"] == 0);
}

TEST_CASE("export --platform refuses a malformed platform with exit 2, naming the flag") {
  for (const std::string bad :
       {"linux", "linux/", "/amd64", "linux//v8", "linux/arm64/v8/x", "linux/amd 64", ""}) {
    Workspace w;
    RunResult r =
        w.Export({"oci:" + SampleLayout() + ":multi:1"}, w.dir / "b.sluice", {"--platform", bad});
    INFO(bad << "\n" << r.Describe());
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--platform") != std::string::npos);
    CHECK(r.err.find("os/architecture") != std::string::npos);
    CHECK_FALSE(Exists(w.dir / "b.sluice"));
  }
}

TEST_CASE("export --platform refuses an index with no such child, naming the platforms it has") {
  Workspace w;
  RunResult r = w.Export({"oci:" + SampleLayout() + ":multi:1"}, w.dir / "b.sluice",
                         {"-q", "--platform", "linux/s390x", "--platform", "linux/arm64/v7"});
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("multi:1") != std::string::npos);
  CHECK(r.err.find("linux/s390x, linux/arm64/v7") != std::string::npos);
  CHECK(r.err.find("it has linux/amd64, linux/arm64") != std::string::npos);
  CHECK_FALSE(r.ErrorLine().empty());
  CHECK_FALSE(Exists(w.dir / "b.sluice"));
}

TEST_CASE("import of a one-platform bundle into oci: keeps the index, which skopeo reads") {
  std::map<std::string, std::string> children = MultiChildren();
  std::string index = TaggedDigest(SampleLayout(), "multi:1");
  Workspace w;
  ExportMulti(w, w.dir / "one.sluice", {"--platform", "linux/amd64"});
  std::string layout = w.dir / "dest";
  Require(w.Import(w.dir / "one.sluice", layout));
  CHECK(TaggedDigest(layout, "multi:1") == index);
  CHECK(ReadFile(BlobPath(layout, index)) == ReadFile(BlobPath(SampleLayout(), index)));
  CHECK(Exists(BlobPath(layout, children["linux/amd64"])));
  for (const std::string& blob : ImageBlobs(SampleLayout(), children["linux/amd64"])) {
    CHECK(Exists(BlobPath(layout, blob)));
  }
  CHECK_FALSE(Exists(BlobPath(layout, children["linux/arm64"])));
  CHECK(SkopeoManifestDigest(layout, "multi:1") == index);

  // The kept platform's image can be read and copied out by skopeo; the
  // other one is simply not there.
  RunResult amd64 = Run({"skopeo", "--insecure-policy", "--override-os", "linux", "--override-arch",
                         "amd64", "copy", "--quiet", "oci:" + layout + ":multi:1",
                         "oci:" + std::string(w.dir / "amd64") + ":x"});
  Require(amd64);
  CHECK(TaggedDigest(w.dir / "amd64", "x") == children["linux/amd64"]);
  RunResult arm64 = Run({"skopeo", "--insecure-policy", "--override-os", "linux", "--override-arch",
                         "arm64", "copy", "--quiet", "oci:" + layout + ":multi:1",
                         "oci:" + std::string(w.dir / "arm64") + ":x"});
  CHECK(arm64.exit_code != 0);

  // Exported again from there: with the platform asked for, the absent
  // child is never looked for; without, the export names it.
  Workspace again;
  Require(again.Export({"oci:" + layout + ":multi:1"}, again.dir / "again.sluice",
                       {"-q", "--platform", "linux/amd64"}));
  RunResult whole =
      again.Export({"oci:" + layout + ":multi:1"}, again.dir / "whole.sluice", {"-q"});
  INFO(whole.Describe());
  CHECK(whole.exit_code != 0);
  CHECK(whole.err.find(children["linux/arm64"]) != std::string::npos);
  CHECK(whole.err.find("the linux/arm64 manifest of an index") != std::string::npos);
  CHECK(whole.err.find("--platform") != std::string::npos);

  // An inventory of the layout says the tag's image is not whole (one
  // child is not there) and still lists the kept platform's blobs as held,
  // so a ledger rebuilt from it ships only what is missing.
  RunResult inventory = Sluice({"inventory", "--from", "oci:" + layout, "-o", w.dir / "inv.json"});
  Require(inventory);
  nlohmann::json inv = ParseJson(ReadFile(w.dir / "inv.json"));
  std::set<std::string> held;
  for (const auto& b : inv["blobs"]) held.insert(b["digest"].get<std::string>());
  for (const std::string& blob : ImageBlobs(SampleLayout(), children["linux/amd64"])) {
    CHECK(held.contains(blob));
  }
  CHECK(held.contains(index));
  REQUIRE(inv["tags"].size() == 1);
  CHECK(inv["tags"][0]["complete"] == false);
}

TEST_CASE(
    "import of a one-platform bundle into docker-registry tags the kept platform's manifest") {
  std::map<std::string, std::string> children = MultiChildren();
  std::string index = TaggedDigest(SampleLayout(), "multi:1");
  TestRegistry registry;
  Workspace w;
  ExportMulti(w, w.dir / "one.sluice", {"--platform", "linux/amd64"});
  std::string mapping = w.dir / "mapping.txt";
  RunResult r = Sluice(
      Concat({"import", w.dir / "one.sluice", "--trust", w.keys.public_key, "--to",
              "docker://" + registry.host() + "/mirror", "--mapping", mapping, "-q", "--json"},
             registry.Flags("dest")));
  Require(r);
  nlohmann::json report = ParseJson(r.out);
  REQUIRE(report["refs"].size() == 1);
  const nlohmann::json& ref = report["refs"][0];
  CHECK(ref["digest"] == children["linux/amd64"]);
  CHECK(ref["index"] == index);
  CHECK(ref["platform"] == "linux/amd64");

  // The registry really has that manifest under the tag.
  RunResult raw =
      Run(Concat({"skopeo", "inspect", "--raw"},
                 Concat(registry.Flags(""), {"docker://" + registry.host() + "/mirror/multi:1"})));
  Require(raw);
  CHECK(Sha256Digest(raw.out) == children["linux/amd64"]);

  std::string text = ReadFile(mapping);
  CHECK(text.find("=" + registry.host() + "/mirror/multi:1@" + children["linux/amd64"]) !=
        std::string::npos);
  nlohmann::json entries = ParseJson(ReadFile(mapping + ".json"));
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["digest"] == children["linux/amd64"]);
  CHECK(entries[0]["index"] == index);
}

TEST_CASE("import of a one-platform bundle into registry-storage: stores the index, served as is") {
  std::map<std::string, std::string> children = MultiChildren();
  std::string index = TaggedDigest(SampleLayout(), "multi:1");
  TestRegistry served;  // serves the storage directory sluice writes
  Workspace w;
  ExportMulti(w, w.dir / "one.sluice", {"--platform", "linux/amd64"});
  RunResult r = Sluice({"import", w.dir / "one.sluice", "--trust", w.keys.public_key, "--to",
                        "registry-storage:" + served.storage() + ":mirror", "--mapping",
                        w.dir / "m.txt", "-q", "--json"});
  Require(r);
  CHECK(ParseJson(r.out)["refs"][0]["digest"] == index);
  std::string repository = served.storage() + "/docker/registry/v2/repositories/mirror/multi";
  CHECK_FALSE(
      Exists(repository + "/_manifests/revisions/sha256/" + children["linux/arm64"].substr(7)));

  RunResult raw =
      Run(Concat({"skopeo", "inspect", "--raw"},
                 Concat(served.Flags(""), {"docker://" + served.host() + "/mirror/multi:1"})));
  Require(raw);
  CHECK(Sha256Digest(raw.out) == index);
  RunResult amd64 = Run(Concat(Concat({"skopeo", "--insecure-policy", "--override-os", "linux",
                                       "--override-arch", "amd64", "copy", "--quiet"},
                                      served.Flags("src")),
                               {"docker://" + served.host() + "/mirror/multi:1",
                                "oci:" + std::string(w.dir / "amd64") + ":x"}));
  Require(amd64);
  CHECK(TaggedDigest(w.dir / "amd64", "x") == children["linux/amd64"]);
}

TEST_CASE("export --platform leaves unknown/unknown children out unless asked for") {
  Workspace w;
  std::string layout = w.dir / "three";
  WithThreeChildren(layout);
  RunResult two =
      w.Export({"oci:" + layout + ":multi:3"}, w.dir / "two.sluice",
               {"--json", "-q", "--platform", "linux/amd64", "--platform", "linux/arm64"});
  Require(two);
  CHECK(ParseJson(two.out)["absent_manifests"] == 1);
  Workspace v;
  RunResult asked =
      v.Export({"oci:" + layout + ":multi:3"}, v.dir / "three.sluice",
               {"--json", "-q", "--platform", "linux/amd64", "--platform", "unknown/unknown"});
  Require(asked);
  CHECK(ParseJson(asked.out)["absent_manifests"] == 1);  // only arm64
  CHECK(ParseJson(asked.out)["manifests"] == 3);
}

TEST_CASE(
    "import into docker-registry of an index keeping two of three children fails naming the "
    "registry's answer") {
  Workspace w;
  std::string layout = w.dir / "three";
  std::string index = WithThreeChildren(layout);
  Require(w.Export({"oci:" + layout + ":multi:3"}, w.dir / "two.sluice",
                   {"-q", "--platform", "linux/amd64", "--platform", "linux/arm64"}));
  TestRegistry registry;
  RunResult r =
      Sluice(Concat({"import", w.dir / "two.sluice", "--trust", w.keys.public_key, "--to",
                     "docker://" + registry.host() + "/mirror", "--mapping", w.dir / "m.txt", "-q"},
                    registry.Flags("dest")));
  INFO(r.Describe());
  CHECK(r.exit_code == 4);
  std::string line = r.ErrorLine();
  CHECK(line.find("refused index " + index) != std::string::npos);
  CHECK(line.find("keeps 2 children") != std::string::npos);
  CHECK(line.find("MANIFEST_BLOB_UNKNOWN") != std::string::npos);
  RunResult raw =
      Run(Concat({"skopeo", "inspect", "--raw"},
                 Concat(registry.Flags(""), {"docker://" + registry.host() + "/mirror/multi:3"})));
  CHECK(raw.exit_code != 0);  // no tag
}

TEST_CASE("import of a two-platform bundle into docker-registry pushes the index as it is") {
  std::string index = TaggedDigest(SampleLayout(), "multi:1");
  TestRegistry registry;
  Workspace w;
  ExportMulti(w, w.dir / "all.sluice", {});
  RunResult r = Sluice(Concat(
      {"import", w.dir / "all.sluice", "--trust", w.keys.public_key, "--to",
       "docker://" + registry.host() + "/mirror", "--mapping", w.dir / "m.txt", "-q", "--json"},
      registry.Flags("dest")));
  Require(r);
  nlohmann::json report = ParseJson(r.out);
  CHECK(report["refs"][0]["digest"] == index);
  CHECK_FALSE(report["refs"][0].contains("index"));
}

}  // namespace
}  // namespace sluice::e2e
