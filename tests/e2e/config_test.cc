// `export --config FILE` and `export --keep-going` against a real
// docker-registry (tests/registry/registry_fixture.h) holding the sample
// images pushed by skopeo: a config's tag list, tag pattern and digest pick
// exactly those images (as `sluice inspect --json` lists them), an image's
// own platforms apply to it alone, an authfile reaches a registry that asks
// for a login; and a ref that fails is left out and reported with exit code
// 5, or, without --keep-going, stops the export with no bundle.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "../registry/registry_fixture.h"
#include "e2e_support.h"

namespace sluice::e2e {
namespace {

using registry::testing::RegistryOptions;
using registry::testing::TestRegistry;

constexpr int kExitPartial = 5;

// skopeo copy --all oci:SAMPLE:TAG docker://HOST/REF, with `format` ("v2s2":
// converted to Docker schema 2, so an index becomes a manifest list of
// another digest) when given.
void Push(const TestRegistry& registry, const std::string& tag, const std::string& ref,
          const std::string& format = "") {
  std::vector<std::string> args = {"skopeo", "--insecure-policy", "copy", "--all", "--quiet"};
  if (!format.empty()) args.insert(args.end(), {"--format", format});
  Require(Run(
      Concat(Concat(args, registry.Flags("dest")),
             {"oci:" + SampleLayout() + ":" + tag, "docker://" + registry.host() + "/" + ref})));
}

// The digest of the manifest skopeo reads at docker://HOST/REF.
std::string Digest(const TestRegistry& registry, const std::string& ref) {
  RunResult r =
      Run(Concat({"skopeo", "inspect", "--raw"},
                 Concat(registry.Flags(""), {"docker://" + registry.host() + "/" + ref})));
  Require(r);
  return Sha256Digest(r.out);
}

// The refs of a bundle, "REPOSITORY:TAG@DIGEST" or "REPOSITORY@DIGEST".
std::set<std::string> BundleRefs(const std::string& bundle) {
  std::set<std::string> refs;
  const nlohmann::json inspected = InspectJson(bundle);
  for (const auto& ref : inspected["refs"]) {
    std::string tag = ref["tag"];
    refs.insert(ref["repository"].get<std::string>() + (tag.empty() ? "" : ":" + tag) + "@" +
                ref["digest"].get<std::string>());
  }
  return refs;
}

// A registry whose repository team/app has the tags 1.0, 1.1, 2.0, 2.1
// and edge (the sample images app:1.0, app:1.1, base:1, multi:1, and
// app:1.1 again).
struct TeamApp {
  TestRegistry registry;
  std::string host = registry.host();

  TeamApp() {
    Push(registry, "app:1.0", "team/app:1.0");
    Push(registry, "app:1.1", "team/app:1.1");
    Push(registry, "base:1", "team/app:2.0");
    Push(registry, "multi:1", "team/app:2.1");
    Push(registry, "app:1.1", "team/app:edge");
  }

  std::string Ref(const std::string& tag) {
    return "team/app:" + tag + "@" + Digest(registry, "team/app:" + tag);
  }
};

// Writes `yaml` to DIR/mirror.yaml; returns its path.
std::string WriteConfig(const Workspace& w, const std::string& yaml) {
  std::string path = w.dir / "mirror.yaml";
  WriteFile(path, yaml);
  return path;
}

TEST_CASE("export --config takes exactly the images of a tag list, a tag pattern and a digest") {
  TeamApp app;
  Workspace w;
  std::string edge = Digest(app.registry, "team/app:edge");
  std::string config = WriteConfig(w,
                                   "images:\n"
                                   "  - name: " +
                                       app.host +
                                       "/team/app\n"
                                       "    tags: [\"1.0\"]\n"
                                       "    tagPattern: '2\\.[0-9]+'\n"
                                       "    digests: [" +
                                       edge + "]\n");
  RunResult r = w.Export({}, w.dir / "b.sluice",
                         Concat({"--config", config, "-q", "--json"}, app.registry.Flags("src")));
  Require(r);
  CHECK(ParseJson(r.out)["skipped"].empty());
  CHECK(BundleRefs(w.dir / "b.sluice") ==
        std::set<std::string>{app.Ref("1.0"), app.Ref("2.0"), app.Ref("2.1"), "team/app@" + edge});
  Require(w.Verify(w.dir / "b.sluice"));

  // A pattern that matches no tag is an error naming the tags there are.
  Workspace none;
  std::string nothing = WriteConfig(none,
                                    "images:\n"
                                    "  - name: " +
                                        app.host +
                                        "/team/app\n"
                                        "    tagPattern: '3\\..*'\n");
  RunResult n = none.Export({}, none.dir / "n.sluice",
                            Concat({"--config", nothing, "-q"}, app.registry.Flags("src")));
  INFO(n.Describe());
  CHECK(n.exit_code == 1);
  CHECK(n.err.find("matches the pattern '3\\..*'") != std::string::npos);
  CHECK(n.err.find("it has 1.0, 1.1, 2.0, 2.1, edge") != std::string::npos);
  CHECK_FALSE(Exists(none.dir / "n.sluice"));
}

TEST_CASE("export --config combines with refs on the command line and with --list") {
  TeamApp app;
  Workspace w;
  std::string config = WriteConfig(w, "images:\n  - " + app.host + "/team/app:1.0\n");
  WriteFile(w.dir / "list.txt", "docker://" + app.host + "/team/app:2.0\n");
  Require(w.Export(
      {"docker://" + app.host + "/team/app:1.1"}, w.dir / "b.sluice",
      Concat({"--config", config, "--list", w.dir / "list.txt", "-q"}, app.registry.Flags("src"))));
  CHECK(BundleRefs(w.dir / "b.sluice") ==
        std::set<std::string>{app.Ref("1.0"), app.Ref("1.1"), app.Ref("2.0")});
}

// The children of the index `digest` in `inspect --json`: platform -> carried.
std::map<std::string, bool> Carried(const nlohmann::json& inspected, const std::string& digest) {
  std::map<std::string, bool> carried;
  for (const auto& m : inspected["manifests"]) {
    if (m["digest"] != digest) continue;
    for (const auto& c : m["children"]) carried[c["platform"]] = c["carried"];
  }
  return carried;
}

TEST_CASE("export --config keeps the platforms an image asks for, and --platform for the others") {
  TestRegistry registry;
  // Two indexes of the same two platforms, of different digests: the OCI
  // index as it is, and skopeo's Docker manifest list of it.
  Push(registry, "multi:1", "multi/oci:1");
  Push(registry, "multi:1", "multi/docker:1", "v2s2");
  std::string oci = Digest(registry, "multi/oci:1");
  std::string docker = Digest(registry, "multi/docker:1");
  REQUIRE(oci != docker);
  Workspace w;
  std::string config = WriteConfig(w,
                                   "images:\n"
                                   "  - name: " +
                                       registry.host() +
                                       "/multi/oci:1\n"
                                       "    platforms: [linux/amd64]\n"
                                       "  - " +
                                       registry.host() + "/multi/docker:1\n");
  RunResult r = w.Export({}, w.dir / "b.sluice",
                         Concat({"--config", config, "--platform", "linux/arm64", "-q", "--json"},
                                registry.Flags("src")));
  Require(r);
  CHECK(ParseJson(r.out)["absent_manifests"] == 2);
  nlohmann::json inspected = InspectJson(w.dir / "b.sluice");
  CHECK(Carried(inspected, oci) ==
        std::map<std::string, bool>{{"linux/amd64", true}, {"linux/arm64", false}});
  CHECK(Carried(inspected, docker) ==
        std::map<std::string, bool>{{"linux/amd64", false}, {"linux/arm64", true}});
  Require(w.Verify(w.dir / "b.sluice"));
}

TEST_CASE("export --keep-going leaves out a missing tag, exits 5, and the rest imports") {
  TeamApp app;
  Workspace w;
  std::string config = WriteConfig(w,
                                   "images:\n"
                                   "  - name: " +
                                       app.host +
                                       "/team/app\n"
                                       "    tags: [\"1.0\", \"9.9\"]\n");
  RunResult r = w.Export(
      {}, w.dir / "b.sluice",
      Concat({"--config", config, "--keep-going", "-q", "--json"}, app.registry.Flags("src")));
  INFO(r.Describe());
  REQUIRE(r.exit_code == kExitPartial);
  nlohmann::json report = ParseJson(r.out);
  REQUIRE(report["skipped"].size() == 1);
  const nlohmann::json& skipped = report["skipped"][0];
  CHECK(skipped["ref"] == "docker://" + app.host + "/team/app:9.9");
  CHECK(skipped["origin"] == config + ":3:19");
  CHECK(skipped["error"] == "not found");
  CHECK(skipped["reason"].get<std::string>().find("9.9") != std::string::npos);
  CHECK(report["refs"].size() == 1);

  // The bundle holds the rest, verifies and imports.
  CHECK(BundleRefs(w.dir / "b.sluice") == std::set<std::string>{app.Ref("1.0")});
  Require(w.Verify(w.dir / "b.sluice"));
  std::string layout = w.dir / "dest";
  Require(w.Import(w.dir / "b.sluice", layout));
  CHECK(TaggedDigest(layout, "team/app:1.0") == Digest(app.registry, "team/app:1.0"));
  CHECK(TaggedDigest(layout, "team/app:9.9").empty());

  // The ledger records the bundle with what it shipped, nothing more.
  RunResult ledger = Sluice({"ledger", "show", "--ledger", w.ledger, "--json"});
  Require(ledger);
  nlohmann::json shown = ParseJson(ledger.out);
  CHECK(shown["sequence"] == 1);
  CHECK(shown["blobs"] == report["shipped_blobs"]);
  REQUIRE(shown["bundles"].size() == 1);
  CHECK(shown["bundles"][0]["blobs"] == report["shipped_blobs"]);

  // For people: the report names the ref left out, where it was given, and why.
  Workspace text;
  std::string again = WriteConfig(text, ReadFile(config));
  RunResult t =
      text.Export({}, text.dir / "t.sluice",
                  Concat({"--config", again, "--keep-going", "-q"}, app.registry.Flags("src")));
  INFO(t.Describe());
  CHECK(t.exit_code == kExitPartial);
  CHECK(t.out.find("1 left out as failed (--keep-going, exit code 5)") != std::string::npos);
  CHECK(t.out.find("docker://" + app.host + "/team/app:9.9 (" + again + ":3:19): not found:") !=
        std::string::npos);
  CHECK(Exists(text.dir / "t.sluice"));
}

TEST_CASE("export without --keep-going stops at a missing tag with no bundle and no ledger entry") {
  TeamApp app;
  Workspace w;
  std::string config = WriteConfig(w,
                                   "images:\n"
                                   "  - name: " +
                                       app.host +
                                       "/team/app\n"
                                       "    tags: [\"1.0\", \"9.9\"]\n");
  RunResult r = w.Export({}, w.dir / "b.sluice",
                         Concat({"--config", config, "-q"}, app.registry.Flags("src")));
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK(r.ErrorLine().find("9.9") != std::string::npos);
  CHECK_FALSE(Exists(w.dir / "b.sluice"));
  RunResult ledger = Sluice({"ledger", "show", "--ledger", w.ledger, "--json"});
  if (ledger.exit_code == 0) CHECK(ParseJson(ledger.out)["sequence"] == 0);
}

TEST_CASE("export --keep-going with every ref failing writes nothing and exits with their code") {
  TeamApp app;
  TestRegistry gone;
  std::string gone_host = gone.host();
  gone.Stop();  // nothing listens there any more

  // A missing tag alone: not found, 1.
  Workspace missing;
  RunResult m = missing.Export({"docker://" + app.host + "/team/app:9.9"}, missing.dir / "m.sluice",
                               Concat({"--keep-going", "-q"}, app.registry.Flags("src")));
  INFO(m.Describe());
  CHECK(m.exit_code == 1);
  CHECK(m.ErrorLine().find("nothing to export: every image asked for failed (1)") !=
        std::string::npos);
  CHECK_FALSE(Exists(missing.dir / "m.sluice"));

  // A registry that cannot be reached alone: 4.
  Workspace unreachable;
  RunResult u =
      unreachable.Export({"docker://" + gone_host + "/team/app:1.0"}, unreachable.dir / "u.sluice",
                         {"--keep-going", "-q", "--src-tls-verify=false"});
  INFO(u.Describe());
  CHECK(u.exit_code == 4);
  CHECK_FALSE(Exists(unreachable.dir / "u.sluice"));

  // With one that works: partly done, the unreachable one reported.
  Workspace partly;
  RunResult p = partly.Export(
      {"docker://" + gone_host + "/team/app:1.0", "docker://" + app.host + "/team/app:1.1"},
      partly.dir / "p.sluice", {"--keep-going", "-q", "--json", "--src-tls-verify=false"});
  INFO(p.Describe());
  REQUIRE(p.exit_code == kExitPartial);
  nlohmann::json report = ParseJson(p.out);
  REQUIRE(report["skipped"].size() == 1);
  CHECK(report["skipped"][0]["ref"] == "docker://" + gone_host + "/team/app:1.0");
  CHECK(report["skipped"][0]["origin"] == "");
  CHECK(report["skipped"][0]["error"] == "network error");
  CHECK(BundleRefs(partly.dir / "p.sluice") == std::set<std::string>{app.Ref("1.1")});
}

TEST_CASE("export --config reaches a registry that asks for a login with the config's authfile") {
  RegistryOptions options;
  options.user = "mirror";
  options.password = "s3cret";
  TestRegistry registry(options);
  Push(registry, "app:1.0", "team/app:1.0");
  Workspace w;
  // base64("mirror:s3cret"), as docker login writes it; relative to the
  // config's directory, not the working directory.
  WriteFile(w.dir / "auth.json",
            "{\"auths\": {\"" + registry.host() + "\": {\"auth\": \"bWlycm9yOnMzY3JldA==\"}}}");
  std::string with = WriteConfig(w,
                                 "authfile: auth.json\n"
                                 "images: [" +
                                     registry.host() + "/team/app:1.0]\n");
  RunResult r =
      w.Export({}, w.dir / "b.sluice", {"--config", with, "-q", "--src-tls-verify=false"});
  Require(r);
  CHECK(BundleRefs(w.dir / "b.sluice").size() == 1);

  Workspace without;
  std::string plain = WriteConfig(without, "images: [" + registry.host() + "/team/app:1.0]\n");
  RunResult u = without.Export({}, without.dir / "b.sluice",
                               {"--config", plain, "-q", "--src-tls-verify=false"});
  INFO(u.Describe());
  CHECK(u.exit_code == 4);
  CHECK_FALSE(Exists(without.dir / "b.sluice"));
}

TEST_CASE("export --config refuses a mistake in the file with exit 2, naming FILE:LINE:COLUMN") {
  Workspace w;
  std::string config = WriteConfig(w, "images:\n  - name: quay.io/team/app\n    tag: [\"1\"]\n");
  RunResult r = w.Export({}, w.dir / "b.sluice", {"--config", config});
  INFO(r.Describe());
  CHECK(r.exit_code == 2);
  CHECK(r.ErrorLine().find(config + ":3:5: unknown key 'tag'") != std::string::npos);
  CHECK_FALSE(Exists(w.dir / "b.sluice"));
}

}  // namespace
}  // namespace sluice::e2e
