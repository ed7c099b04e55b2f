// registry -> bundle -> registry through the sluice binary, against real
// docker-registry processes on 127.0.0.1 (plain HTTP, and TLS from a test CA
// with htpasswd basic auth), with images pushed and checked by skopeo.
//
// Every digest is compared as skopeo sees it: the sha256 of the manifest bytes
// `skopeo inspect --raw` reads at the source and at the destination.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../e2e/e2e_support.h"
#include "registry_fixture.h"
#include "tests/support/process.h"

namespace sluice::registry {
namespace {

namespace fs = std::filesystem;
using e2e::RunResult;
using nlohmann::json;
using testing::RegistryOptions;
using testing::TestRegistry;

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

RunResult Skopeo(const std::vector<std::string>& args) {
  return e2e::Run(Concat({"skopeo", "--insecure-policy"}, args));
}

// The manifest bytes skopeo reads at docker://HOST/ref.
std::string RawManifest(const TestRegistry& registry, const std::string& ref) {
  RunResult r =
      Skopeo(Concat({"inspect", "--raw"},
                    Concat(registry.Flags(""), {"docker://" + registry.host() + "/" + ref})));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  return r.out;
}

std::string ManifestDigest(const TestRegistry& registry, const std::string& ref) {
  return e2e::Sha256Digest(RawManifest(registry, ref));
}

// skopeo copy oci:LAYOUT:TAG docker://HOST/ref (every platform of an index).
void Push(const TestRegistry& registry, const std::string& layout, const std::string& tag,
          const std::string& ref) {
  RunResult r =
      Skopeo(Concat({"copy", "--all", "--quiet"},
                    Concat(registry.Flags("dest"), {"oci:" + layout + ":" + tag,
                                                    "docker://" + registry.host() + "/" + ref})));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
}

// skopeo copy --all docker://HOST/ref oci:DIR:pulled must succeed; returns
// the manifest the layout then holds (skopeo converts Docker manifests to
// OCI ones on the way, so only OCI manifests keep their digest).
std::string Pull(const TestRegistry& registry, const std::string& ref, const std::string& dir) {
  RunResult r =
      Skopeo(Concat({"copy", "--all", "--quiet"},
                    Concat(registry.Flags("src"),
                           {"docker://" + registry.host() + "/" + ref, "oci:" + dir + ":pulled"})));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  std::string digest = e2e::TaggedDigest(dir, "pulled");
  REQUIRE(!digest.empty());
  return e2e::ReadFile(e2e::BlobPath(dir, digest));
}

// The digests a manifest names (config and layers, or an index's manifests).
std::vector<std::string> ChildDigests(const std::string& manifest) {
  json doc = json::parse(manifest);
  std::vector<std::string> digests;
  if (doc.contains("manifests")) {
    for (const auto& m : doc.at("manifests")) digests.push_back(m.at("digest"));
    return digests;
  }
  digests.push_back(doc.at("config").at("digest"));
  for (const auto& l : doc.at("layers")) digests.push_back(l.at("digest"));
  return digests;
}

// refs of `sluice inspect --json` as "REPOSITORY:TAG" (or TAG when the
// repository is empty) -> digest.
std::map<std::string, std::string> BundleRefs(const std::string& bundle) {
  json doc = e2e::InspectJson(bundle);
  std::map<std::string, std::string> refs;
  for (const auto& r : doc.at("refs")) {
    std::string repository = r.value("repository", "");
    std::string tag = r.value("tag", "");
    refs[repository.empty() ? tag : repository + ":" + tag] = r.at("digest");
  }
  return refs;
}

// blobs of `sluice inspect --json`: digest -> shipped.
std::map<std::string, bool> BundleBlobs(const std::string& bundle) {
  json doc = e2e::InspectJson(bundle);
  std::map<std::string, bool> blobs;
  for (const auto& b : doc.at("blobs")) blobs[b.at("digest")] = b.at("shipped");
  return blobs;
}

// refs of `sluice import --json`: destination -> digest.
std::map<std::string, std::string> ImportedRefs(const RunResult& import) {
  json doc = e2e::ParseJson(import.out);
  std::map<std::string, std::string> refs;
  for (const auto& r : doc.at("refs")) refs[r.at("destination")] = r.at("digest");
  return refs;
}

// One side of a transfer: keys and a ledger (e2e::Workspace), with registry
// flags.
struct Transfer {
  RunResult Export(const std::vector<std::string>& sources, const std::string& bundle,
                   const std::vector<std::string>& flags) {
    return ws.Export(sources, bundle, Concat({"-q", "--level", "1"}, flags));
  }
  RunResult Import(const std::string& bundle, const std::string& to,
                   const std::vector<std::string>& flags) {
    return e2e::Sluice(Concat({"import", bundle, "--trust", ws.keys.public_key, "--to", to,
                               "--mapping", MappingPath(), "-q", "--json"},
                              flags));
  }
  // Where Import() has the mapping written (FILE, and FILE.json beside it).
  std::string MappingPath() const { return ws.dir / "mapping.txt"; }
  std::string Path(const std::string& name) const { return ws.dir / name; }

  e2e::Workspace ws;
};

std::set<std::string> Lines(const std::string& text) {
  std::set<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.insert(line);
  return lines;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A child process that runs while the test acts on the world around it.
using Background = ::sluice::testing::ChildProcess;

// True once the registry has an upload session under its storage (an
// _uploads/<id> directory of any repository).
bool UploadStarted(const std::string& storage) {
  std::error_code ec;
  fs::recursive_directory_iterator it(storage, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() == "_uploads" && !fs::is_empty(it->path(), ec)) return true;
  }
  return false;
}

// An OCI layout with one image, tag "big:1": `layers` uncompressed tar layers
// of `mib` MiB of random bytes each (incompressible, so nothing is quick).
std::string MakeBigImage(const e2e::TempDir& dir, int layers, int mib) {
  std::string layout = dir / "big";
  testing::MustRun("umoci init --layout " + layout + " && umoci new --image " + layout + ":big:1");
  for (int i = 0; i < layers; ++i) {
    std::string n = std::to_string(i);
    std::string content = dir / ("content" + n);
    testing::MustRun(
        "mkdir -p " + content + " && head -c " + std::to_string(mib) + "M /dev/urandom > " +
        content + "/data" + n + " && tar -C " + content + " -cf " + dir / ("layer" + n + ".tar") +
        " data" + n + " && perl " SLUICE_TOOLS_DIR "/lib/oci-edit.pl append-tar-layer " + layout +
        " big:1 " + dir / ("layer" + n + ".tar") + " 2024-01-01T00:00:00Z 'layer " + n + "'");
  }
  return layout;
}

}  // namespace

TEST_CASE("cli: registry to bundle to registry over plain HTTP keeps every manifest digest") {
  const std::string& samples = e2e::SampleLayout();
  TestRegistry a;
  TestRegistry b;
  Push(a, samples, "app:1.0", "team/app:1.0");  // three layers
  Push(a, samples, "multi:1", "team/multi:1");  // an index over amd64 and arm64
  const std::string app = RawManifest(a, "team/app:1.0");
  const std::string multi = RawManifest(a, "team/multi:1");
  REQUIRE(ChildDigests(app).size() == 4);
  REQUIRE(json::parse(multi).at("manifests").size() == 2);

  Transfer t;
  std::string bundle = t.Path("plain.sluice");
  RunResult exported =
      t.Export({"docker://" + a.host() + "/team/app:1.0", "docker://" + a.host() + "/team/multi:1"},
               bundle, a.Flags("src"));
  INFO(exported.Describe());
  REQUIRE(exported.exit_code == 0);
  CHECK(BundleRefs(bundle) ==
        std::map<std::string, std::string>{{"team/app:1.0", e2e::Sha256Digest(app)},
                                           {"team/multi:1", e2e::Sha256Digest(multi)}});

  RunResult imported = t.Import(bundle, "docker://" + b.host() + "/mirror", b.Flags("dest"));
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);
  CHECK(ImportedRefs(imported) ==
        std::map<std::string, std::string>{
            {b.host() + "/mirror/team/app:1.0", e2e::Sha256Digest(app)},
            {b.host() + "/mirror/team/multi:1", e2e::Sha256Digest(multi)}});

  // The mapping names each image at both ends, pinned by digest; the pinned
  // references resolve at the destination.
  const std::string app_digest = e2e::Sha256Digest(app);
  const std::string multi_digest = e2e::Sha256Digest(multi);
  CHECK(Lines(e2e::ReadFile(t.MappingPath())) ==
        std::set<std::string>{
            a.host() + "/team/app:1.0=" + b.host() + "/mirror/team/app:1.0@" + app_digest,
            a.host() + "/team/multi:1=" + b.host() + "/mirror/team/multi:1@" + multi_digest});
  json mapping = e2e::ParseJson(e2e::ReadFile(t.ws.dir / "mapping.txt.json"));
  std::set<std::string> pinned;
  for (const auto& entry : mapping) pinned.insert(entry.at("pinned").get<std::string>());
  CHECK(pinned == std::set<std::string>{b.host() + "/mirror/team/app@" + app_digest,
                                        b.host() + "/mirror/team/multi@" + multi_digest});
  for (const std::string& ref : pinned) {
    CHECK(e2e::Sha256Digest(RawManifest(b, ref.substr(b.host().size() + 1))) ==
          ref.substr(ref.find('@') + 1));
  }

  // Byte for byte, hence the same digests, for the tags and the index's children.
  CHECK(RawManifest(b, "mirror/team/app:1.0") == app);
  CHECK(RawManifest(b, "mirror/team/multi:1") == multi);
  for (const std::string& child : ChildDigests(multi)) {
    CHECK(RawManifest(b, "mirror/team/multi@" + child) == RawManifest(a, "team/multi@" + child));
  }
  e2e::TempDir pulled;
  CHECK(e2e::Sha256Digest(Pull(b, "mirror/team/app:1.0", pulled / "app")) ==
        e2e::Sha256Digest(app));
  CHECK(e2e::Sha256Digest(Pull(b, "mirror/team/multi:1", pulled / "multi")) ==
        e2e::Sha256Digest(multi));
}

TEST_CASE("cli: exporting a repository ships all its tags and --all every repository") {
  const std::string& samples = e2e::SampleLayout();
  TestRegistry a;
  TestRegistry b;
  Push(a, samples, "app:1.0", "team/app:1.0");
  Push(a, samples, "app:1.1", "team/app:1.1");
  Push(a, samples, "base:1", "base:1");
  const std::map<std::string, std::string> app_tags = {
      {"team/app:1.0", ManifestDigest(a, "team/app:1.0")},
      {"team/app:1.1", ManifestDigest(a, "team/app:1.1")}};
  std::map<std::string, std::string> every_tag = app_tags;
  every_tag["base:1"] = ManifestDigest(a, "base:1");

  Transfer t;
  std::string repo_bundle = t.Path("repo.sluice");
  RunResult repo = t.Export({"docker://" + a.host() + "/team/app"}, repo_bundle, a.Flags("src"));
  INFO(repo.Describe());
  REQUIRE(repo.exit_code == 0);
  CHECK(BundleRefs(repo_bundle) == app_tags);

  // A whole registry is exported only when asked for with --all.
  RunResult unasked = t.Export({"docker://" + a.host()}, t.Path("unasked.sluice"), a.Flags("src"));
  INFO(unasked.Describe());
  CHECK(unasked.exit_code == 2);
  CHECK(Contains(unasked.ErrorLine(), "--all"));
  CHECK_FALSE(e2e::Exists(t.Path("unasked.sluice")));

  Transfer whole;
  std::string all_bundle = whole.Path("all.sluice");
  RunResult all =
      whole.Export({"docker://" + a.host()}, all_bundle, Concat({"--all"}, a.Flags("src")));
  INFO(all.Describe());
  REQUIRE(all.exit_code == 0);
  CHECK(BundleRefs(all_bundle) == every_tag);

  RunResult imported = whole.Import(all_bundle, "docker://" + b.host(), b.Flags("dest"));
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);
  for (const auto& [ref, digest] : every_tag) {
    CHECK(ManifestDigest(b, ref) == digest);
  }
  RunResult tags =
      Skopeo(Concat({"list-tags"}, Concat(b.Flags(""), {"docker://" + b.host() + "/team/app"})));
  INFO(tags.Describe());
  REQUIRE(tags.exit_code == 0);
  std::set<std::string> listed = json::parse(tags.out).at("Tags");
  CHECK(listed == std::set<std::string>{"1.0", "1.1"});
}

TEST_CASE("cli: round trip over TLS with basic auth on both sides with CAs from cert dirs") {
  const std::string& samples = e2e::SampleLayout();
  TestRegistry a(RegistryOptions{true, "alice", "source-secret"});
  TestRegistry b(RegistryOptions{true, "bob", "destination-secret"});
  Push(a, samples, "app:1.0", "team/app:1.0");
  Push(a, samples, "multi:1", "team/multi:1");
  const std::string app = ManifestDigest(a, "team/app:1.0");
  const std::string multi = ManifestDigest(a, "team/multi:1");

  Transfer t;
  std::string bundle = t.Path("tls.sluice");
  RunResult exported =
      t.Export({"docker://" + a.host() + "/team/app:1.0", "docker://" + a.host() + "/team/multi:1"},
               bundle, a.Flags("src"));
  INFO(exported.Describe());
  REQUIRE(exported.exit_code == 0);

  RunResult imported = t.Import(bundle, "docker://" + b.host() + "/mirror", b.Flags("dest"));
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);
  CHECK(ManifestDigest(b, "mirror/team/app:1.0") == app);
  CHECK(ManifestDigest(b, "mirror/team/multi:1") == multi);
  e2e::TempDir pulled;
  CHECK(e2e::Sha256Digest(Pull(b, "mirror/team/app:1.0", pulled / "app")) == app);
  CHECK(e2e::Sha256Digest(Pull(b, "mirror/team/multi:1", pulled / "multi")) == multi);
}

TEST_CASE("cli: registry failures name the host or reference and leave nothing behind") {
  const std::string& samples = e2e::SampleLayout();
  TestRegistry a(RegistryOptions{true, "alice", "source-secret"});
  TestRegistry b(RegistryOptions{true, "bob", "destination-secret"});
  Push(a, samples, "base:1", "team/base:1");
  const std::string source = "docker://" + a.host() + "/team/base:1";
  const std::string cert_dir_a = a.ca_dir();
  const std::string cert_dir_b = b.ca_dir();

  Transfer t;
  std::string bundle = t.Path("failed.sluice");
  auto failed_export = [&](const std::vector<std::string>& sources,
                           const std::vector<std::string>& flags, int exit_code) {
    RunResult r = t.Export(sources, bundle, flags);
    INFO(r.Describe());
    CHECK(r.exit_code == exit_code);
    CHECK_FALSE(e2e::Exists(bundle));
    CHECK_FALSE(e2e::Exists(t.ws.ledger));
    return r.ErrorLine();
  };

  SECTION("a wrong password at the source") {
    std::string error =
        failed_export({source}, {"--src-cert-dir", cert_dir_a, "--src-creds", "alice:wrong"}, 4);
    CAPTURE(error);
    CHECK(Contains(Lower(error), "authentication"));
    CHECK(Contains(error, a.host()));
  }
  SECTION("no credentials for the source: the message names the flag that passes them") {
    std::string error = failed_export({source}, {"--src-cert-dir", cert_dir_a}, 4);
    CAPTURE(error);
    CHECK(Contains(error, a.host()));
    CHECK(Contains(error, "pass --src-creds USER[:PASSWORD]"));
  }
  SECTION("a source certificate nobody trusts") {
    // The registry's fault, not a bundle's: 4, not bad data (3).
    std::string error = failed_export({source}, {"--src-creds", "alice:source-secret"}, 4);
    CAPTURE(error);
    CHECK(Contains(error, a.host()));
    CHECK(Contains(error, "certs.d/" + a.host()));
  }
  SECTION("a tag, a repository and a digest that do not exist") {
    for (const std::string& missing : {a.host() + "/team/base:2", a.host() + "/team/nothing:1",
                                       a.host() + "/team/base@sha256:" + std::string(64, '0')}) {
      std::string error = failed_export({"docker://" + missing}, a.Flags("src"), 1);
      CAPTURE(error);
      CHECK(Contains(error, missing));
    }
  }

  SECTION("at the destination") {
    RunResult exported = t.Export({source}, bundle, a.Flags("src"));
    INFO(exported.Describe());
    REQUIRE(exported.exit_code == 0);
    const std::string to = "docker://" + b.host() + "/mirror";

    RunResult wrong =
        t.Import(bundle, to, {"--dest-cert-dir", cert_dir_b, "--dest-creds", "bob:wrong"});
    INFO(wrong.Describe());
    CHECK(wrong.exit_code == 4);
    CHECK(Contains(Lower(wrong.ErrorLine()), "authentication"));
    CHECK(Contains(wrong.ErrorLine(), b.host()));

    RunResult anonymous = t.Import(bundle, to, {"--dest-cert-dir", cert_dir_b});
    INFO(anonymous.Describe());
    CHECK(anonymous.exit_code == 4);
    CHECK(Contains(anonymous.ErrorLine(), "pass --dest-creds USER[:PASSWORD]"));

    RunResult untrusted = t.Import(bundle, to, {"--dest-creds", "bob:destination-secret"});
    INFO(untrusted.Describe());
    CHECK(untrusted.exit_code == 4);
    CHECK(Contains(untrusted.ErrorLine(), b.host()));
    CHECK(Contains(untrusted.ErrorLine(), "certs.d/" + b.host()));

    // Neither left a tag behind, nor a mapping claiming the image is there.
    CHECK_FALSE(e2e::Exists(t.MappingPath()));
    RunResult tag =
        Skopeo(Concat({"inspect", "--raw"}, Concat(b.Flags(""), {to + "/team/base:1"})));
    INFO(tag.Describe());
    CHECK(tag.exit_code != 0);
  }
}

TEST_CASE("cli: a registry's bad answer exits 4, naming host and repository, never the usage "
          "code 2") {
  testing::FakeRegistry fake;  // serves r:huge, one byte larger than a manifest may be
  Transfer t;
  std::string bundle = t.Path("huge.sluice");
  RunResult r = t.Export({"docker://" + fake.host() + "/r:huge"}, bundle,
                         {"--src-creds", "user:pass", "--src-tls-verify=false"});
  INFO(r.Describe());
  CHECK(r.exit_code == 4);
  CHECK(Contains(r.ErrorLine(), fake.host() + "/r:huge"));
  CHECK(Contains(r.ErrorLine(), "larger than"));
  CHECK_FALSE(e2e::Exists(bundle));
}

TEST_CASE("cli: a docker-archive made by skopeo goes through a bundle into a registry") {
  const std::string& samples = e2e::SampleLayout();
  TestRegistry b;
  e2e::TempDir dir;
  const std::string archive = dir / "app.tar";
  RunResult saved = Skopeo({"copy", "--quiet", "oci:" + samples + ":app:1.0",
                            "docker-archive:" + archive + ":example.com/team/app:1.0"});
  INFO(saved.Describe());
  REQUIRE(saved.exit_code == 0);
  // skopeo's own reading of the archive: the config and layers it names.
  RunResult raw = Skopeo({"inspect", "--raw", "docker-archive:" + archive});
  INFO(raw.Describe());
  REQUIRE(raw.exit_code == 0);
  const std::vector<std::string> skopeo_blobs = ChildDigests(raw.out);
  REQUIRE(skopeo_blobs.size() == 4);

  Transfer t;
  std::string bundle = t.Path("archive.sluice");
  RunResult exported = t.Export({"docker-archive:" + archive}, bundle, {});
  INFO(exported.Describe());
  REQUIRE(exported.exit_code == 0);
  std::map<std::string, std::string> refs = BundleRefs(bundle);
  REQUIRE(refs.size() == 1);
  const std::string digest = refs.begin()->second;

  RunResult imported = t.Import(bundle, "docker://" + b.host() + "/mirror", b.Flags("dest"));
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);
  // The host of the archive's name is dropped, as for registry sources.
  CHECK(ImportedRefs(imported) ==
        std::map<std::string, std::string>{{b.host() + "/mirror/team/app:1.0", digest}});

  const std::string manifest = RawManifest(b, "mirror/team/app:1.0");
  CHECK(e2e::Sha256Digest(manifest) == digest);
  CHECK(ChildDigests(manifest) == skopeo_blobs);
  // skopeo converts it to OCI on the way (new config, compressed layers):
  // that it can pull the image at all is what is checked here.
  Pull(b, "mirror/team/app:1.0", dir / "pulled");
}

TEST_CASE("cli: a destination that dies mid-import shows no tag and a rerun completes") {
  e2e::TempDir dir;
  const std::string layout = MakeBigImage(dir, 3, 40);
  Transfer t;
  std::string bundle = t.Path("big.sluice");
  RunResult exported = t.Export({"oci:" + layout + ":big:1"}, bundle, {});
  INFO(exported.Describe());
  REQUIRE(exported.exit_code == 0);
  const std::string digest = BundleRefs(bundle).at("big:1");

  TestRegistry b;
  const std::string to = "docker://" + b.host() + "/mirror";
  {
    Background import({SLUICE_BINARY, "import", bundle, "--trust", t.ws.keys.public_key, "--to", to,
                       "--mapping", t.MappingPath(), "-q", "--dest-tls-verify=false"});
    // Kill the registry as soon as it holds an upload session.
    bool started = false;
    while (!started && import.Running()) {
      started = UploadStarted(b.storage());
      if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (started) b.Kill();
    RunResult r = import.Wait();
    INFO(r.Describe());
    REQUIRE(started);  // else the import finished before any upload was seen
    CHECK(r.exit_code == 4);
    CHECK(Contains(r.ErrorLine(), b.host()));
  }

  b.Restart();
  const std::string tag_dir =
      b.storage() + "/docker/registry/v2/repositories/mirror/big/_manifests/tags/1";
  CHECK_FALSE(e2e::Exists(tag_dir));
  RunResult inspect =
      Skopeo({"inspect", "--raw", "--tls-verify=false", "docker://" + b.host() + "/mirror/big:1"});
  INFO(inspect.Describe());
  CHECK(inspect.exit_code != 0);

  RunResult rerun = t.Import(bundle, "docker://" + b.host() + "/mirror", b.Flags("dest"));
  INFO(rerun.Describe());
  REQUIRE(rerun.exit_code == 0);
  CHECK(ManifestDigest(b, "mirror/big:1") == digest);
  CHECK(e2e::Exists(tag_dir));
}

// The first delivery of the delta tests: app:1.0 pushed to `from` as
// team/app:1.0, exported with t's ledger, imported into `to` below mirror/.
void DeliverAppToMirror(const std::string& samples, const TestRegistry& from,
                        const TestRegistry& to, Transfer* t) {
  Push(from, samples, "app:1.0", "team/app:1.0");
  std::string bundle = t->Path("v1.sluice");
  RunResult exported =
      t->Export({"docker://" + from.host() + "/team/app:1.0"}, bundle, from.Flags("src"));
  INFO(exported.Describe());
  REQUIRE(exported.exit_code == 0);
  RunResult imported = t->Import(bundle, "docker://" + to.host() + "/mirror", to.Flags("dest"));
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);
}

TEST_CASE("cli: a delta bundle from a registry imports onto the earlier one and nowhere else") {
  const std::string& samples = e2e::SampleLayout();
  TestRegistry a;
  TestRegistry b;
  TestRegistry c;
  Transfer t;
  DeliverAppToMirror(samples, a, b, &t);

  // v2 = v1 + one layer (and a new config).
  Push(a, samples, "app:1.1", "team/app:1.1");
  const std::vector<std::string> v1 = ChildDigests(RawManifest(a, "team/app:1.0"));
  const std::vector<std::string> v2 = ChildDigests(RawManifest(a, "team/app:1.1"));
  std::set<std::string> v1_set(v1.begin(), v1.end());
  std::map<std::string, bool> expected;  // v2's blobs: shipped unless v1 delivered them
  for (const std::string& d : v2) expected[d] = v1_set.count(d) == 0;
  REQUIRE(std::count(v2.begin(), v2.end(), v2.back()) == 1);
  REQUIRE(expected.at(v2.back()));
  REQUIRE(std::count_if(expected.begin(), expected.end(), [](auto& e) { return e.second; }) == 2);

  std::string second = t.Path("v2.sluice");
  RunResult e2 = t.Export({"docker://" + a.host() + "/team/app:1.1"}, second, a.Flags("src"));
  INFO(e2.Describe());
  REQUIRE(e2.exit_code == 0);
  CHECK(BundleBlobs(second) == expected);
  const std::string digest = ManifestDigest(a, "team/app:1.1");
  CHECK(BundleRefs(second) == std::map<std::string, std::string>{{"team/app:1.1", digest}});

  RunResult i2 = t.Import(second, "docker://" + b.host() + "/mirror", b.Flags("dest"));
  INFO(i2.Describe());
  REQUIRE(i2.exit_code == 0);
  CHECK(ManifestDigest(b, "mirror/team/app:1.1") == digest);
  e2e::TempDir pulled;
  CHECK(e2e::Sha256Digest(Pull(b, "mirror/team/app:1.1", pulled / "app")) == digest);

  // A registry that never saw v1 lacks what the delta builds on.
  RunResult refused = t.Import(second, "docker://" + c.host() + "/mirror", c.Flags("dest"));
  INFO(refused.Describe());
  CHECK(refused.exit_code == 1);
  for (const auto& [blob, shipped] : expected) {
    if (!shipped) CHECK(Contains(refused.err, blob));
  }
  RunResult tag =
      Skopeo(Concat({"inspect", "--raw"},
                    Concat(c.Flags(""), {"docker://" + c.host() + "/mirror/team/app:1.1"})));
  INFO(tag.Describe());
  CHECK(tag.exit_code != 0);
}

TEST_CASE("cli: a delta bundle for a new repository mounts the layers an earlier bundle delivered "
          "to another") {
  const std::string& samples = e2e::SampleLayout();
  TestRegistry a;
  TestRegistry b;
  Transfer t;
  DeliverAppToMirror(samples, a, b, &t);

  // The same layers under another repository name: the ledger says they were
  // delivered, so the bundle does not carry them, but mirror/team/other has
  // never held them.
  Push(a, samples, "app:1.1", "team/other:1.1");
  std::string second = t.Path("other.sluice");
  RunResult e2 = t.Export({"docker://" + a.host() + "/team/other:1.1"}, second, a.Flags("src"));
  INFO(e2.Describe());
  REQUIRE(e2.exit_code == 0);
  const std::vector<std::string> v1 = ChildDigests(RawManifest(a, "team/app:1.0"));
  std::map<std::string, bool> blobs = BundleBlobs(second);
  size_t assumed = 0;
  for (const std::string& d : v1) {
    if (blobs.count(d) && !blobs.at(d)) ++assumed;
  }
  REQUIRE(assumed >= 1);

  RunResult i2 = t.Import(second, "docker://" + b.host() + "/mirror", b.Flags("dest"));
  INFO(i2.Describe());
  REQUIRE(i2.exit_code == 0);
  const std::string digest = ManifestDigest(a, "team/other:1.1");
  CHECK(ManifestDigest(b, "mirror/team/other:1.1") == digest);
  // skopeo fetches every blob through the new repository: the mounts are real.
  e2e::TempDir pulled;
  CHECK(e2e::Sha256Digest(Pull(b, "mirror/team/other:1.1", pulled / "other")) == digest);
}

}  // namespace sluice::registry
