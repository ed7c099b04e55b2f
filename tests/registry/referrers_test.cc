// The OCI 1.1 referrers API (GET /v2/<name>/referrers/<digest>) against
// fake_registry.py: docker-registry 2.8 has none, so only the fallback tag
// is seen in tests/e2e/signature_test.cc. The fake's /v2/art holds art:1.0
// and an SBOM artifact whose subject it is, named only by the API.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "../e2e/e2e_support.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "registry/http.h"
#include "registry/registry_client.h"
#include "registry_fixture.h"

namespace sluice::registry {
namespace {

using e2e::Concat;
using e2e::RunResult;
using testing::FakeRegistry;

std::unique_ptr<RegistryClient> Client(const FakeRegistry& fake) {
  ClientOptions o;
  o.tls_verify = false;
  o.use_auth_files = false;
  o.certs_d_roots = {"/nonexistent-certs.d"};
  o.credentials = *ParseCredentials("user:pass");
  o.max_retries = 2;
  o.initial_backoff_ms = 10;
  return RegistryClient::Create(fake.host(), o).value();
}

// An unauthenticated GET of one of the fake's test endpoints, parsed.
nlohmann::json GetJson(const FakeRegistry& fake, const std::string& path) {
  return nlohmann::json::parse(fake.GetTestEndpoint(path));
}

struct Art {
  format::Digest image;     // art:1.0
  format::Digest referrer;  // the SBOM whose subject is image
};

Art Digests(const FakeRegistry& fake) {
  nlohmann::json d = GetJson(fake, "/testreferrers");
  return {*format::Digest::Parse(d.at("image").get<std::string>()),
          *format::Digest::Parse(d.at("referrer").get<std::string>())};
}

// Requests the fake has had for referrers API paths, in all.
int ReferrersRequests(const FakeRegistry& fake) {
  nlohmann::json stats = GetJson(fake, "/stats");  // outlives the loop over it
  int n = 0;
  for (const auto& [path, count] : stats.at("referrers").items()) n += count.get<int>();
  return n;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("referrers API: the index served lists the referrer descriptors") {
  FakeRegistry fake;
  Art art = Digests(fake);
  auto client = Client(fake);
  auto listed = client->GetReferrers("art", art.image);
  INFO(listed.status().ToString());
  REQUIRE(listed.ok());
  REQUIRE(listed->has_value());
  const Manifest& index = **listed;
  CHECK(index.media_type == oci::kOciIndex);
  auto parsed = oci::ParseManifest(index.bytes, index.media_type);
  REQUIRE(parsed.ok());
  CHECK(parsed->kind == oci::ManifestKind::kIndex);
  REQUIRE(parsed->manifests.size() == 1);
  CHECK(parsed->manifests[0].digest == art.referrer);
  CHECK(parsed->manifests[0].media_type == oci::kOciManifest);
  // The bytes as served, artifactType included.
  auto doc = nlohmann::json::parse(index.bytes);
  CHECK(doc.at("manifests").at(0).at("artifactType") == "application/spdx+json");
  CHECK(index.digest == format::Sha256::Of(index.bytes));

  // A digest nothing refers to: an empty index, not "no API".
  auto none = client->GetReferrers("art", art.referrer);
  REQUIRE(none.ok());
  REQUIRE(none->has_value());
  auto empty = oci::ParseManifest((*none)->bytes, (*none)->media_type);
  REQUIRE(empty.ok());
  CHECK(empty->manifests.empty());
}

TEST_CASE("referrers API: a 404 means the registry has no such API") {
  FakeRegistry fake;
  Art art = Digests(fake);
  auto listed = Client(fake)->GetReferrers("r", art.image);
  INFO(listed.status().ToString());
  REQUIRE(listed.ok());
  CHECK_FALSE(listed->has_value());
  CHECK(ReferrersRequests(fake) == 1);
}

TEST_CASE("referrers API: a 500 is a network error naming host, repository and digest") {
  FakeRegistry fake;
  Art art = Digests(fake);
  auto listed = Client(fake)->GetReferrers("broken", art.image);
  REQUIRE_FALSE(listed.ok());
  const Status& s = listed.status();
  INFO(s.ToString());
  CHECK(s.kind() == ErrorKind::kNetwork);
  CHECK(Contains(s.message(), fake.host() + "/broken@" + art.image.str()));
  CHECK(Contains(s.message(), "500"));
  CHECK(ReferrersRequests(fake) == 3);  // the first try and max_retries more
}

TEST_CASE("referrers API: a 401 after auth is an auth error naming host, repository and digest") {
  FakeRegistry fake;
  Art art = Digests(fake);
  auto listed = Client(fake)->GetReferrers("denied", art.image);
  REQUIRE_FALSE(listed.ok());
  const Status& s = listed.status();
  INFO(s.ToString());
  CHECK(s.kind() == ErrorKind::kAuth);
  CHECK(Contains(s.message(), fake.host()));
  CHECK(Contains(s.message(), "denied"));
  CHECK(Contains(s.message(), art.image.str()));
}

std::vector<std::string> SourceFlags() {
  return {"--src-creds", "user:pass", "--src-tls-verify=false"};
}

TEST_CASE(
    "cli: a referrer named only by the referrers API travels pinned by digest into a "
    "layout") {
  FakeRegistry fake;
  Art art = Digests(fake);
  e2e::Workspace w;
  std::string bundle = w.dir / "art.sluice";
  e2e::Require(
      w.Export({"docker://" + fake.host() + "/art:1.0"}, bundle, Concat({"-q"}, SourceFlags())));
  CHECK(ReferrersRequests(fake) >= 1);

  nlohmann::json inspected = e2e::InspectJson(bundle);
  INFO(inspected.dump());
  std::map<std::string, std::string> refs;  // "REPO:TAG" or "REPO@DIGEST" -> digest
  for (const auto& ref : inspected.at("refs")) {
    std::string tag = ref.value("tag", "");
    std::string digest = ref.value("manifest", ref.value("digest", ""));
    refs[tag.empty() ? ref.value("repository", "") + "@" + digest : e2e::RefName(ref)] = digest;
  }
  CHECK(refs.size() == 2);
  CHECK(refs["art:1.0"] == art.image.str());
  CHECK(refs["art@" + art.referrer.str()] == art.referrer.str());  // pinned, no tag

  std::string dst = w.dir / "dst";
  e2e::Require(w.Import(bundle, dst));
  CHECK(e2e::TaggedDigest(dst, "art:1.0") == art.image.str());
  nlohmann::json top = e2e::ParseJson(e2e::ReadFile(dst + "/index.json"));
  bool listed = false;
  for (const auto& m : top.at("manifests")) listed = listed || m.at("digest") == art.referrer.str();
  CHECK(listed);
  std::string bytes = e2e::ReadFile(e2e::BlobPath(dst, art.referrer.str()));
  CHECK(e2e::Sha256Digest(bytes) == art.referrer.str());
  nlohmann::json referrer = e2e::ParseJson(bytes);
  CHECK(referrer.at("subject").at("digest") == art.image.str());
  CHECK(referrer.at("artifactType") == "application/spdx+json");
}

TEST_CASE("cli: export --no-referrers asks nothing of the referrers API") {
  FakeRegistry fake;
  Art art = Digests(fake);
  e2e::Workspace w;
  std::string bundle = w.dir / "art.sluice";
  e2e::Require(w.Export({"docker://" + fake.host() + "/art:1.0"}, bundle,
                        Concat({"-q", "--no-referrers"}, SourceFlags())));
  CHECK(ReferrersRequests(fake) == 0);
  nlohmann::json inspected = e2e::InspectJson(bundle);
  INFO(inspected.dump());
  REQUIRE(inspected.at("refs").size() == 1);
  CHECK(e2e::RefName(inspected.at("refs").at(0)) == "art:1.0");
}

}  // namespace
}  // namespace sluice::registry
