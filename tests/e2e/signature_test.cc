// Signatures, attestations and referrers travel with their image: app:1.0 of
// the sample layout gets a cosign-shaped signature tagged sha256-<hex>.sig, a
// signature of that signature, and an SBOM naming app:1.0 as its OCI 1.1
// subject (in a layout: an untagged index.json entry; in a registry, which
// in Debian 12 has no referrers API: the fallback tag sha256-<hex>, an index
// listing it). Exporting app:1.0 alone carries all of them, and both
// destinations end up with the same digests under the same names.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../registry/registry_fixture.h"
#include "e2e_support.h"

namespace sluice::e2e {
namespace {

using registry::testing::TestRegistry;

struct Stored {
  std::string digest;
  size_t size = 0;
};

Stored StoreBlob(const std::string& layout, const std::string& bytes) {
  std::string digest = Sha256Digest(bytes);
  WriteFile(BlobPath(layout, digest), bytes);
  return {digest, bytes.size()};
}

std::string Hex(const std::string& digest) { return digest.substr(7); }

// Lists the stored manifest `m` in index.json, tagged `ref_name` unless empty.
void List(const std::string& layout, const Stored& m, const std::string& media_type,
          const std::string& ref_name) {
  nlohmann::json top = ParseJson(ReadFile(layout + "/index.json"));
  nlohmann::json entry = {{"mediaType", media_type}, {"digest", m.digest}, {"size", m.size}};
  if (!ref_name.empty()) {
    entry["annotations"] = {{"org.opencontainers.image.ref.name", ref_name}};
  }
  top["manifests"].push_back(entry);
  WriteFile(layout + "/index.json", top.dump());
}

constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kIndexType = "application/vnd.oci.image.index.v1+json";

// A cosign-shaped signature of `subject`: an image manifest whose one layer
// is the simple-signing payload, the signature in its annotation.
Stored AddSignature(const std::string& layout, const std::string& subject) {
  Stored config = StoreBlob(layout, R"({"architecture":"","os":"","config":{},)"
                                    R"("rootfs":{"type":"layers","diff_ids":[]}})");
  Stored payload = StoreBlob(
      layout, R"({"critical":{"identity":{"docker-reference":"example.com/app"},)"
              R"("image":{"docker-manifest-digest":")" +
                  subject + R"("},"type":"cosign container image signature"},"optional":null})");
  nlohmann::json m = {
      {"schemaVersion", 2},
      {"mediaType", kManifestType},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", config.digest},
        {"size", config.size}}},
      {"layers",
       {{{"mediaType", "application/vnd.dev.cosign.simplesigning.v1+json"},
         {"digest", payload.digest},
         {"size", payload.size},
         {"annotations",
          {{"dev.cosignproject.cosign/signature", "MEUCIQDtest" + Hex(subject).substr(0, 8)}}}}}}};
  return StoreBlob(layout, m.dump());
}

// An SPDX SBOM as an OCI 1.1 artifact whose subject is `subject`.
Stored AddSbom(const std::string& layout, const Stored& subject) {
  Stored empty = StoreBlob(layout, "{}");
  Stored sbom = StoreBlob(layout, R"({"spdxVersion":"SPDX-2.3","name":"app"})");
  nlohmann::json m = {
      {"schemaVersion", 2},
      {"mediaType", kManifestType},
      {"artifactType", "application/spdx+json"},
      {"config",
       {{"mediaType", "application/vnd.oci.empty.v1+json"},
        {"digest", empty.digest},
        {"size", empty.size}}},
      {"layers",
       {{{"mediaType", "application/spdx+json"}, {"digest", sbom.digest}, {"size", sbom.size}}}},
      {"subject",
       {{"mediaType", kManifestType}, {"digest", subject.digest}, {"size", subject.size}}}};
  return StoreBlob(layout, m.dump());
}

struct Signed {
  std::string layout;
  Stored app;         // app:1.0
  Stored signature;   // app:sha256-<app>.sig
  Stored signature2;  // app:sha256-<signature>.sig
  Stored sbom;        // subject app; untagged
  Stored fallback;    // app:sha256-<app>, the referrers fallback index (only with_fallback)
};

// A copy of the sample layout whose app:1.0 is signed (and its signature
// too) and has an SBOM referrer; with `with_fallback`, also the referrers
// fallback tag a registry without the referrers API needs.
Signed MakeSigned(const std::string& dir, bool with_fallback) {
  CopyTree(SampleLayout(), dir);
  Signed s;
  s.layout = dir;
  s.app.digest = TaggedDigest(dir, "app:1.0");
  s.app.size = ReadFile(BlobPath(dir, s.app.digest)).size();
  s.signature = AddSignature(dir, s.app.digest);
  List(dir, s.signature, kManifestType, "app:sha256-" + Hex(s.app.digest) + ".sig");
  s.signature2 = AddSignature(dir, s.signature.digest);
  List(dir, s.signature2, kManifestType, "app:sha256-" + Hex(s.signature.digest) + ".sig");
  s.sbom = AddSbom(dir, s.app);
  List(dir, s.sbom, kManifestType, "");
  if (with_fallback) {
    nlohmann::json index = {{"schemaVersion", 2},
                            {"mediaType", kIndexType},
                            {"manifests",
                             {{{"mediaType", kManifestType},
                               {"digest", s.sbom.digest},
                               {"size", s.sbom.size},
                               {"artifactType", "application/spdx+json"}}}}};
    s.fallback = StoreBlob(dir, index.dump());
    List(dir, s.fallback, kIndexType, "app:sha256-" + Hex(s.app.digest));
  }
  return s;
}

// The refs of a bundle: "REPOSITORY:TAG" or "REPOSITORY@DIGEST" -> digest.
std::map<std::string, std::string> Refs(const std::string& bundle) {
  std::map<std::string, std::string> out;
  nlohmann::json inspected = InspectJson(bundle);
  for (const auto& ref : inspected["refs"]) {
    std::string tag = ref.value("tag", "");
    std::string digest = ref.value("manifest", ref.value("digest", ""));
    std::string name = tag.empty() ? ref.value("repository", "") + "@" + digest : RefName(ref);
    out[name] = digest;
  }
  return out;
}

bool Listed(const std::string& layout, const std::string& digest) {
  nlohmann::json index = ParseJson(ReadFile(layout + "/index.json"));
  for (const auto& m : index["manifests"]) {
    if (m["digest"] == digest) return true;
  }
  return false;
}

TEST_CASE("export of a signed image from a layout carries its signatures and referrers") {
  Workspace w;
  Signed s = MakeSigned(w.dir / "src", /*with_fallback=*/false);
  std::string sig_tag = "app:sha256-" + Hex(s.app.digest) + ".sig";
  std::string sig2_tag = "app:sha256-" + Hex(s.signature.digest) + ".sig";
  RunResult r = w.Export({"oci:" + s.layout + ":app:1.0"}, w.dir / "b.sluice", {"--json", "-q"});
  Require(r);
  CHECK(ParseJson(r.out)["attached_refs"] == 3);
  std::map<std::string, std::string> refs = Refs(w.dir / "b.sluice");
  INFO(InspectJson(w.dir / "b.sluice").dump());
  CHECK(refs.size() == 4);
  CHECK(refs["app:1.0"] == s.app.digest);
  CHECK(refs[sig_tag] == s.signature.digest);
  CHECK(refs[sig2_tag] == s.signature2.digest);
  CHECK(refs["app@" + s.sbom.digest] == s.sbom.digest);  // named only by its subject field

  std::string dst = w.dir / "dst";
  Require(w.Import(w.dir / "b.sluice", dst));
  CHECK(TaggedDigest(dst, "app:1.0") == s.app.digest);
  CHECK(TaggedDigest(dst, sig_tag) == s.signature.digest);
  CHECK(TaggedDigest(dst, sig2_tag) == s.signature2.digest);
  CHECK(Listed(dst, s.sbom.digest));
  CHECK(Sha256Digest(ReadFile(BlobPath(dst, s.sbom.digest))) == s.sbom.digest);
  // skopeo reads the signature where cosign would look for it.
  CHECK(SkopeoManifestDigest(dst, sig_tag) == s.signature.digest);

  // The layout written is itself a source whose signatures travel on.
  Workspace again;
  Require(again.Export({"oci:" + dst + ":app:1.0"}, again.dir / "c.sluice", {"-q"}));
  CHECK(Refs(again.dir / "c.sluice") == refs);
}

TEST_CASE("export --no-signatures and --no-referrers leave each out") {
  Workspace w;
  Signed s = MakeSigned(w.dir / "src", /*with_fallback=*/false);
  std::string source = "oci:" + s.layout + ":app:1.0";
  Require(w.Export({source}, w.dir / "nosig.sluice", {"-q", "--no-signatures"}));
  std::map<std::string, std::string> refs = Refs(w.dir / "nosig.sluice");
  CHECK(refs.size() == 2);
  CHECK(refs["app@" + s.sbom.digest] == s.sbom.digest);

  Workspace w2;
  Require(w2.Export({source}, w2.dir / "noref.sluice", {"-q", "--no-referrers"}));
  refs = Refs(w2.dir / "noref.sluice");
  CHECK(refs.size() == 3);
  CHECK(refs.count("app@" + s.sbom.digest) == 0);
}

TEST_CASE("export of images without signatures has the catalog it had without the lookups") {
  Workspace with, without;
  std::string source = "oci:" + SampleLayout();  // every tag, none signed
  Require(with.Export({source}, with.dir / "a.sluice", {"-q"}));
  Require(without.Export({source}, without.dir / "b.sluice",
                         {"-q", "--no-signatures", "--no-referrers"}));
  nlohmann::json a = InspectJson(with.dir / "a.sluice");
  nlohmann::json b = InspectJson(without.dir / "b.sluice");
  CHECK(a["refs"] == b["refs"]);
  CHECK(a["manifests"] == b["manifests"]);
  CHECK(a["blobs"] == b["blobs"]);
}

TEST_CASE("signatures and the referrers fallback tag travel from docker-registry to another") {
  TestRegistry source, destination;
  Workspace w;
  Signed s = MakeSigned(w.dir / "src", /*with_fallback=*/true);
  // The source registry gets the whole layout, by sluice.
  Require(w.Export({"oci:" + s.layout}, w.dir / "all.sluice", {"-q"}));
  Require(Sluice(Concat({"import", w.dir / "all.sluice", "--trust", w.keys.public_key, "--to",
                         "docker://" + source.host() + "/src", "-q"},
                        source.Flags("dest"))));
  std::string stem = "sha256-" + Hex(s.app.digest);
  auto raw = [](const TestRegistry& r, const std::string& ref) {
    RunResult got = Run(Concat({"skopeo", "inspect", "--raw"},
                               Concat(r.Flags(""), {"docker://" + r.host() + "/" + ref})));
    INFO(got.Describe());
    REQUIRE(got.exit_code == 0);
    return Sha256Digest(got.out);
  };
  REQUIRE(raw(source, "src/app:" + stem + ".sig") == s.signature.digest);
  REQUIRE(raw(source, "src/app:" + stem) == s.fallback.digest);

  // Only app:1.0 is asked for.
  Workspace x;
  RunResult r =
      Sluice(Concat({"export", "docker://" + source.host() + "/src/app:1.0", "--ledger", x.ledger,
                     "--sign-key", x.keys.private_key, "-o", x.dir / "one.sluice", "-q", "--json"},
                    source.Flags("src")));
  Require(r);
  std::map<std::string, std::string> refs = Refs(x.dir / "one.sluice");
  INFO(InspectJson(x.dir / "one.sluice").dump());
  CHECK(refs.size() == 4);
  CHECK(refs["src/app:" + stem + ".sig"] == s.signature.digest);
  CHECK(refs["src/app:sha256-" + Hex(s.signature.digest) + ".sig"] == s.signature2.digest);
  CHECK(refs["src/app:" + stem] == s.fallback.digest);

  Require(Sluice(Concat({"import", x.dir / "one.sluice", "--trust", x.keys.public_key, "--to",
                         "docker://" + destination.host(), "-q"},
                        destination.Flags("dest"))));
  CHECK(raw(destination, "src/app:1.0") == s.app.digest);
  CHECK(raw(destination, "src/app:" + stem + ".sig") == s.signature.digest);
  CHECK(raw(destination, "src/app:sha256-" + Hex(s.signature.digest) + ".sig") ==
        s.signature2.digest);
  CHECK(raw(destination, "src/app:" + stem) == s.fallback.digest);
  CHECK(raw(destination, "src/app@" + s.sbom.digest) == s.sbom.digest);

  std::string dst = x.dir / "dst";
  Require(x.Import(x.dir / "one.sluice", dst));
  CHECK(TaggedDigest(dst, "src/app:" + stem + ".sig") == s.signature.digest);
  CHECK(TaggedDigest(dst, "src/app:" + stem) == s.fallback.digest);
  CHECK(Sha256Digest(ReadFile(BlobPath(dst, s.sbom.digest))) == s.sbom.digest);
}

}  // namespace
}  // namespace sluice::e2e
