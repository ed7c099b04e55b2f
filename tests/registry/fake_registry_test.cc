// RegistryClient against fake_registry.py, for the protocol paths
// docker-registry 2.8 cannot show: Bearer tokens, tags/list pagination,
// redirects to another host, lying digest headers, transient 503s, blob
// transfers that break mid-body.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "format/blob_check.h"
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

std::string Get(const FakeRegistry& fake, const std::string& path) {
  return fake.GetTestEndpoint(path);
}

nlohmann::json Stats(const FakeRegistry& fake) {
  return nlohmann::json::parse(Get(fake, "/stats"));
}

std::string ReadAll(io::SequentialReader* reader, Status* status) {
  return testing::ReadAll(reader, 4096, status);
}

struct BrokenBlob {
  format::Digest digest;
  std::string bytes;
};

BrokenBlob Broken(const FakeRegistry& fake, const std::string& name) {
  auto list = nlohmann::json::parse(Get(fake, "/testblobs"));
  BrokenBlob b{*format::Digest::Parse(list.at(name).get<std::string>()),
               Get(fake, "/testblobs/" + name)};
  REQUIRE(format::Sha256::Of(b.bytes) == b.digest);
  REQUIRE(b.bytes.size() == 300000);
  return b;
}

constexpr uint64_t kCut = 100000;  // fake_registry.py's CUT

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

TEST_CASE("a manifest whose transfer is cut short is fetched again") {
  FakeRegistry fake;
  auto m = Client(fake, "user:pass")->GetManifest("r", "cut");
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  CHECK(m->bytes ==
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})");
}

TEST_CASE("a blob transfer cut mid-body resumes with a Range request, every byte once, "
          "whether or not the server honours Range") {
  // "resume" answers the Range request with 206; "norange" ignores it and
  // sends the whole blob again with 200, so the bytes already delivered are skipped.
  for (const char* name : {"resume", "norange"}) {
    INFO("blob " << name);
    FakeRegistry fake;
    BrokenBlob blob = Broken(fake, name);
    auto client = Client(fake, "user:pass");  // outlives the reader
    auto reader = client->OpenBlob("r", blob.digest);
    REQUIRE(reader.ok());
    auto verified = format::NewVerifyingReader(std::move(*reader), blob.digest, blob.bytes.size());
    Status status;
    std::string got = ReadAll(verified.get(), &status);
    INFO(status.ToString());
    REQUIRE(status.ok());
    CHECK(got == blob.bytes);
    CHECK(format::Sha256::Of(got) == blob.digest);
    CHECK(Stats(fake)["ranges"][name] ==
          nlohmann::json::array({"", "bytes=" + std::to_string(kCut) + "-"}));
  }
}

TEST_CASE("a blob that keeps breaking fails with kNetwork naming the digest and offset") {
  FakeRegistry fake;
  BrokenBlob blob = Broken(fake, "dead");
  ClientOptions options = Options("user:pass");
  options.max_retries = 3;
  auto client = RegistryClient::Create(fake.host(), options).value();
  auto reader = client->OpenBlob("r", blob.digest);
  REQUIRE(reader.ok());
  Status status;
  std::string got = ReadAll(reader->get(), &status);
  REQUIRE_FALSE(status.ok());
  CHECK(status.kind() == ErrorKind::kNetwork);
  CHECK(status.message().find(blob.digest.str()) != std::string::npos);
  CHECK(status.message().find("offset " + std::to_string(kCut)) != std::string::npos);
  // What arrived is the blob's start, once; then three resumes, no more.
  CHECK(got == blob.bytes.substr(0, kCut));
  CHECK(Stats(fake)["ranges"]["dead"].size() == 4);
  // Reading on does not pretend the blob ended.
  auto again = (*reader)->Read(io::MutableBytes(reinterpret_cast<uint8_t*>(got.data()), 1));
  CHECK_FALSE(again.ok());
}

TEST_CASE("a tags/list whose Link leads back to the first page is refused as a loop") {
  FakeRegistry fake;
  auto tags = Client(fake, "user:pass")->ListTags("loop");
  REQUIRE_FALSE(tags.ok());
  CHECK(tags.status().kind() == ErrorKind::kNetwork);
  const std::string message = tags.status().message();
  CHECK(message.find(fake.host() + "/loop") != std::string::npos);
  CHECK(message.find("loop") != std::string::npos);
  CHECK(message.find("page 2 links back to") != std::string::npos);
  // Two pages read, the first not asked for again.
  CHECK(Stats(fake)["pages"]["/v2/loop/tags/list"] == 2);
}

TEST_CASE("a _catalog whose Link leads back to the first page is refused as a loop") {
  FakeRegistry fake;
  auto repositories = Client(fake, "user:pass")->Catalog();
  REQUIRE_FALSE(repositories.ok());
  CHECK(repositories.status().kind() == ErrorKind::kNetwork);
  CHECK(repositories.status().message().find("catalog of " + fake.host()) != std::string::npos);
  CHECK(repositories.status().message().find("links back to") != std::string::npos);
  CHECK(Stats(fake)["pages"]["/v2/_catalog"] == 2);
}

TEST_CASE("a tags/list that never ends stops at the page limit") {
  FakeRegistry fake;
  ClientOptions options = Options("user:pass");
  options.max_list_pages = 5;
  auto tags = RegistryClient::Create(fake.host(), options).value()->ListTags("endless");
  REQUIRE_FALSE(tags.ok());
  CHECK(tags.status().kind() == ErrorKind::kNetwork);
  CHECK(tags.status().message().find(fake.host() + "/endless") != std::string::npos);
  CHECK(tags.status().message().find("5 pages") != std::string::npos);
  CHECK(Stats(fake)["pages"]["/v2/endless/tags/list"] == 5);
}

TEST_CASE("a tags/list that never ends stops at the name limit") {
  FakeRegistry fake;
  ClientOptions options = Options("user:pass");
  options.max_list_entries = 7;  // the fourth page of two names holds the eighth
  auto tags = RegistryClient::Create(fake.host(), options).value()->ListTags("endless");
  REQUIRE_FALSE(tags.ok());
  CHECK(tags.status().kind() == ErrorKind::kNetwork);
  CHECK(tags.status().message().find("more than 7 names") != std::string::npos);
  CHECK(Stats(fake)["pages"]["/v2/endless/tags/list"] == 4);
}

TEST_CASE("a listing within the limits is read whole") {
  FakeRegistry fake;
  ClientOptions options = Options("user:pass");
  options.max_list_entries = 5;
  options.max_list_pages = 3;
  auto tags = RegistryClient::Create(fake.host(), options).value()->ListTags("r", 2);
  INFO(tags.status().ToString());
  REQUIRE(tags.ok());
  CHECK(*tags == std::vector<std::string>{"t0", "t1", "t2", "t3", "t4"});
}

TEST_CASE("a manifest larger than a manifest may be is a failure of the registry, not a usage "
          "error") {
  FakeRegistry fake;
  auto m = Client(fake, "user:pass")->GetManifest("r", "huge");
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().kind() == ErrorKind::kNetwork);
  CHECK(m.status().message().find("manifest " + fake.host() + "/r:huge") != std::string::npos);
  CHECK(m.status().message().find("larger than") != std::string::npos);
}

}  // namespace
}  // namespace sluice::registry
