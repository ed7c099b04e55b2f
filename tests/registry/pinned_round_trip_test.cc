// An image exported by digest (docker://HOST/REPO@sha256:D) arrives pinned:
// through the sluice binary, from a real docker-registry into another one, an
// OCI layout and a registry's storage directory, in one bundle with a tagged
// image; read back with skopeo, the registry and oci-image-tool.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../e2e/e2e_support.h"
#include "registry_fixture.h"

namespace sluice::registry {
namespace {

using e2e::RunResult;
using nlohmann::json;
using testing::TestRegistry;

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::set<std::string> Lines(const std::string& text) {
  std::set<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.insert(line);
  return lines;
}

// A bundle of team/app pinned by digest and team/base:1 by tag, exported
// from a registry (which also holds team/app:1.1, other_digest); and a
// workspace to import it with.
struct PinnedBundle {
  TestRegistry source;
  e2e::Workspace ws;
  std::string bundle = ws.dir / "pinned.sluice";
  std::string app_digest;
  std::string other_digest;  // of team/app:1.1, not in the bundle
  std::string base_digest;

  PinnedBundle() {
    const std::string& samples = e2e::SampleLayout();
    testing::PushImage(source, samples, "app:1.0", "team/app:1.0");
    testing::PushImage(source, samples, "app:1.1", "team/app:1.1");
    testing::PushImage(source, samples, "base:1", "team/base:1");
    app_digest = e2e::Sha256Digest(testing::InspectRaw(source, "team/app:1.0"));
    other_digest = e2e::Sha256Digest(testing::InspectRaw(source, "team/app:1.1"));
    base_digest = e2e::Sha256Digest(testing::InspectRaw(source, "team/base:1"));
    RunResult exported =
        ws.Export({"docker://" + PinnedSource(app_digest), "docker://" + TaggedSource()}, bundle,
                  Concat({"-q"}, source.Flags("src")));
    INFO(exported.Describe());
    REQUIRE(exported.exit_code == 0);
  }

  // sluice import BUNDLE --to `to`, the mapping written to `mapping`.
  RunResult Import(const std::string& to, const std::string& mapping,
                   const std::vector<std::string>& flags = {}) {
    return e2e::Sluice(Concat(
        {"import", bundle, "--trust", ws.keys.public_key, "--to", to, "--mapping", mapping, "-q"},
        flags));
  }
  std::string PinnedSource(const std::string& digest) const {
    return source.host() + "/team/app@" + digest;
  }
  std::string TaggedSource() const { return source.host() + "/team/base:1"; }
};

}  // namespace

TEST_CASE("cli: a digest-pinned image is pushed by digest, untagged, beside a tagged one") {
  PinnedBundle b;
  // The bundle records it without a tag, from the reference as exported.
  json refs = e2e::InspectJson(b.bundle).at("refs");
  std::set<std::string> recorded;
  for (const json& ref : refs) {
    recorded.insert(ref.at("repository").get<std::string>() + "|" +
                    ref.at("tag").get<std::string>() + "|" + ref.at("digest").get<std::string>() +
                    "|" + ref.at("source").get<std::string>());
  }
  CHECK(recorded ==
        std::set<std::string>{"team/app||" + b.app_digest + "|" + b.PinnedSource(b.app_digest),
                              "team/base|1|" + b.base_digest + "|" + b.TaggedSource()});
  RunResult verified = b.ws.Verify(b.bundle);
  INFO(verified.Describe());
  CHECK(verified.exit_code == 0);

  TestRegistry dest;
  std::string mapping = b.ws.dir / "to-registry.map";
  RunResult imported = b.Import("docker://" + dest.host() + "/mirror", mapping, dest.Flags("dest"));
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);

  // The same bytes under the same digest, and no tag in its repository.
  CHECK(e2e::Sha256Digest(testing::InspectRaw(dest, "mirror/team/app@" + b.app_digest)) ==
        b.app_digest);
  CHECK(e2e::Sha256Digest(testing::InspectRaw(dest, "mirror/team/base:1")) == b.base_digest);
  RunResult tags =
      e2e::Run(Concat({"skopeo", "list-tags"},
                      Concat(dest.Flags(""), {"docker://" + dest.host() + "/mirror/team/app"})));
  INFO(tags.Describe());
  if (tags.exit_code == 0) CHECK(e2e::ParseJson(tags.out).at("Tags").empty());

  std::string pinned_dest = dest.host() + "/mirror/team/app@" + b.app_digest;
  CHECK(Lines(e2e::ReadFile(mapping)) ==
        std::set<std::string>{
            b.PinnedSource(b.app_digest) + "=" + pinned_dest,
            b.TaggedSource() + "=" + dest.host() + "/mirror/team/base:1@" + b.base_digest});
  json entries = e2e::ParseJson(e2e::ReadFile(mapping + ".json"));
  std::set<std::string> pinned;
  for (const json& entry : entries) pinned.insert(entry.at("pinned").get<std::string>());
  CHECK(pinned ==
        std::set<std::string>{pinned_dest, dest.host() + "/mirror/team/base@" + b.base_digest});
}

TEST_CASE("cli: two images of one repository pinned by digest travel in one bundle") {
  PinnedBundle b;
  e2e::Workspace ws;  // a ledger of its own: this bundle ships every blob
  std::string two = ws.dir / "two.sluice";
  RunResult exported = ws.Export(
      {"docker://" + b.PinnedSource(b.app_digest), "docker://" + b.PinnedSource(b.other_digest)},
      two, Concat({"-q"}, b.source.Flags("src")));
  INFO(exported.Describe());
  REQUIRE(exported.exit_code == 0);
  TestRegistry dest;
  RunResult imported =
      e2e::Sluice(Concat({"import", two, "--trust", ws.keys.public_key, "--to",
                          "docker://" + dest.host(), "--mapping", ws.dir / "two.map", "-q"},
                         dest.Flags("dest")));
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);
  for (const std::string& digest : {b.app_digest, b.other_digest}) {
    CHECK(e2e::Sha256Digest(testing::InspectRaw(dest, "team/app@" + digest)) == digest);
  }
  CHECK(Lines(e2e::ReadFile(ws.dir / "two.map")) ==
        std::set<std::string>{
            b.PinnedSource(b.app_digest) + "=" + dest.host() + "/team/app@" + b.app_digest,
            b.PinnedSource(b.other_digest) + "=" + dest.host() + "/team/app@" + b.other_digest});
}

TEST_CASE("cli: a digest-pinned image is kept in an OCI layout's index without a ref name") {
  PinnedBundle b;
  e2e::TempDir out;
  std::string layout = out / "layout";
  std::string mapping = out / "to-oci.map";
  RunResult imported = b.Import("oci:" + layout, mapping);
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);

  json index = e2e::ParseJson(e2e::ReadFile(layout + "/index.json"));
  std::vector<json> pinned;
  for (const json& entry : index.at("manifests")) {
    if (entry.at("digest") == b.app_digest) pinned.push_back(entry);
  }
  REQUIRE(pinned.size() == 1);
  CHECK_FALSE(pinned[0].contains("annotations"));
  std::string blob = e2e::BlobPath(layout, b.app_digest);
  CHECK(e2e::Sha256Digest(e2e::ReadFile(blob)) == b.app_digest);
  RunResult valid = e2e::Run({"oci-image-tool", "validate", "--type", "manifest", blob});
  INFO(valid.Describe());
  CHECK(valid.exit_code == 0);
  CHECK(e2e::TaggedDigest(layout, "team/base:1") == b.base_digest);
  RunResult layout_valid = e2e::Run({"oci-image-tool", "validate", "--type", "image", layout});
  INFO(layout_valid.Describe());
  CHECK(layout_valid.exit_code == 0);
  CHECK(
      Lines(e2e::ReadFile(mapping)) ==
      std::set<std::string>{b.PinnedSource(b.app_digest) + "=oci:" + layout + "@" + b.app_digest,
                            b.TaggedSource() + "=oci:" + layout + ":team/base:1@" + b.base_digest});

  // Importing again changes nothing.
  std::string before = e2e::ReadFile(layout + "/index.json");
  RunResult again = b.Import("oci:" + layout, mapping);
  INFO(again.Describe());
  REQUIRE(again.exit_code == 0);
  CHECK(e2e::ReadFile(layout + "/index.json") == before);
}

TEST_CASE("cli: a digest-pinned image lands in registry storage as a push by digest") {
  PinnedBundle b;
  TestRegistry served;  // serves the storage directory sluice writes
  std::string mapping = b.ws.dir / "to-storage.map";
  RunResult imported = b.Import("registry-storage:" + served.storage(), mapping);
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);

  CHECK(e2e::Sha256Digest(testing::InspectRaw(served, "team/app@" + b.app_digest)) == b.app_digest);
  CHECK(e2e::Sha256Digest(testing::InspectRaw(served, "team/base:1")) == b.base_digest);
  std::string repository = served.storage() + "/docker/registry/v2/repositories/team/app";
  CHECK(e2e::ReadFile(repository + "/_manifests/revisions/sha256/" + b.app_digest.substr(7) +
                      "/link") == b.app_digest);
  CHECK_FALSE(e2e::Exists(repository + "/_manifests/tags"));
  CHECK(Lines(e2e::ReadFile(mapping)) ==
        std::set<std::string>{b.PinnedSource(b.app_digest) + "=registry-storage:" +
                                  served.storage() + ":team/app@" + b.app_digest,
                              b.TaggedSource() + "=registry-storage:" + served.storage() +
                                  ":team/base:1@" + b.base_digest});
}

}  // namespace sluice::registry
