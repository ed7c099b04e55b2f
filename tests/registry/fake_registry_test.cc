// RegistryClient against fake_registry.py, for the protocol paths
// docker-registry 2.8 cannot show: Bearer tokens, tags/list pagination,
// redirects to another host, lying digest headers, transient 503s.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "registry/http.h"
#include "registry/registry_client.h"
#include "registry_fixture.h"

namespace sluice::registry {
namespace {

using testing::FakeRegistry;

ClientOptions Options(const std::string& user_pass) {
  ClientOptions o;
  o.tls_verify = false;
  o.use_auth_files = false;
  o.certs_d_roots = {"/nonexistent-certs.d"};
  o.credentials = *ParseCredentials(user_pass);
  o.max_retries = 2;
  o.initial_backoff_ms = 10;
  return o;
}

std::unique_ptr<RegistryClient> Client(const FakeRegistry& fake, const std::string& creds) {
  return RegistryClient::Create(fake.host(), Options(creds)).value();
}

nlohmann::json Stats(const FakeRegistry& fake) {
  HttpSession session(TlsSettings{}, "test");
  HttpRequest request;
  request.url = "http://" + fake.host() + "/stats";
  auto stream = session.Open(request);
  REQUIRE(stream.ok());
  return nlohmann::json::parse((*stream)->ReadAll(1 << 20).value());
}

TEST_CASE("bearer tokens are fetched with the credentials and cached per scope") {
  FakeRegistry fake;
  auto client = Client(fake, "user:pass");
  REQUIRE(client->Ping().ok());
  auto tags = client->ListTags("r", 2);  // three pages
  INFO(tags.status().ToString());
  REQUIRE(tags.ok());
  CHECK(*tags == std::vector<std::string>{"t0", "t1", "t2", "t3", "t4"});
  auto m = client->GetManifest("r", "good");
  REQUIRE(m.ok());
  CHECK(m->media_type == "application/vnd.oci.image.manifest.v1+json");
  // One token request for the repository, whatever the number of calls.
  CHECK(Stats(fake).value("repository:r:pull", 0) == 1);
}

TEST_CASE("a token server refusing the credentials is kAuth") {
  FakeRegistry fake;
  auto m = Client(fake, "user:wrong")->GetManifest("r", "good");
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().kind() == ErrorKind::kAuth);
  CHECK(m.status().message().find("user") != std::string::npos);
  CHECK(m.status().message().find("r") != std::string::npos);
}

TEST_CASE("a blob redirect to another host is followed without the Authorization header") {
  FakeRegistry fake;
  auto client = Client(fake, "user:pass");
  std::string blob = "blob bytes behind a redirect\n";
  auto reader = client->OpenBlob("r", format::Sha256::Of(blob));
  INFO(reader.status().ToString());
  REQUIRE(reader.ok());
  std::string got(100, '\0');
  auto n = (*reader)->Read(io::MutableBytes(reinterpret_cast<uint8_t*>(got.data()), got.size()));
  REQUIRE(n.ok());
  got.resize(*n);
  // The fake blob store answers 400 if Authorization reaches it.
  CHECK(got == blob);
}

TEST_CASE("a Docker-Content-Digest header that disagrees with the bytes is corruption") {
  FakeRegistry fake;
  auto m = Client(fake, "user:pass")->GetManifest("r", "lying");
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().IsCorruption());
  CHECK(m.status().message().find("Docker-Content-Digest") != std::string::npos);
}

TEST_CASE("a transient 503 is retried") {
  FakeRegistry fake;
  auto m = Client(fake, "user:pass")->GetManifest("r", "flaky");
  INFO(m.status().ToString());
  CHECK(m.ok());
}

}  // namespace
}  // namespace sluice::registry
