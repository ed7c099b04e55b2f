// RegistryClient against real docker-registry processes (see registry_fixture.h).
#include "format/blob_check.h"
#include "registry/registry_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "io/atomic_file.h"
#include "io/file.h"
#include "registry_fixture.h"
#include "tests/support/files.h"

namespace sluice::registry {
namespace {

using testing::CredentialHelpers;
using testing::Insecure;
using testing::InspectRaw;
using testing::MakeImage;
using testing::PushImage;
using testing::ReadAll;
using testing::RegistryOptions;
using testing::TempDir;
using testing::TestRegistry;

std::unique_ptr<RegistryClient> MustClient(const std::string& host, ClientOptions options) {
  auto client = RegistryClient::Create(host, std::move(options));
  REQUIRE(client.ok());
  return std::move(*client);
}

using ::sluice::testing::RandomBytes;

struct Layer {
  format::Digest digest;
  uint64_t size;
};

Layer FirstLayer(const std::string& manifest) {
  auto doc = nlohmann::json::parse(manifest);
  const auto& layer = doc.at("layers").at(0);
  return {*format::Digest::Parse(layer.at("digest").get<std::string>()),
          layer.at("size").get<uint64_t>()};
}

Status Upload(RegistryClient* client, const std::string& repo, const std::string& bytes,
              size_t piece = 100000) {
  format::Digest digest = format::Sha256::Of(bytes);
  SLUICE_ASSIGN_OR_RETURN(auto upload, client->StartUpload(repo, digest, bytes.size()));
  for (size_t pos = 0; pos < bytes.size(); pos += piece) {
    SLUICE_RETURN_IF_ERROR(upload->Append(io::AsBytes(std::string_view(bytes).substr(pos, piece))));
  }
  return upload->Commit();
}

TEST_CASE("client pings a plain-HTTP registry, falling back from https without tls verify") {
  TestRegistry registry;
  auto client = MustClient(registry.host(), Insecure());
  REQUIRE(client->Ping().ok());
  CHECK(client->base_url() == "http://" + registry.host());
}

// A TCP port on 127.0.0.1 that takes connections (the kernel completes
// them from the backlog) and never says a word: a registry that hangs.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_CASE("a registry that takes the connection and never answers fails within the timeout, "
          "naming the host, without retries") {
  SilentServer server;
  ClientOptions options = Insecure();
  options.timeout = std::chrono::seconds(1);
  auto client = MustClient(server.host(), std::move(options));
  const auto start = std::chrono::steady_clock::now();
  Status s = client->Ping();
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(s.kind() == ErrorKind::kNetwork);
  CHECK_THAT(s.message(), Catch::Contains(server.host() + " did not answer for 1 s"));
  CHECK_THAT(s.message(), Catch::Contains("--timeout"));
  // https, then plain http (tls verify off): one second each, no retries
  // (4 retries with backoff would take 5 s or more).
  CHECK(took < std::chrono::seconds(4));
}

TEST_CASE("manifests by tag and by digest are skopeo's bytes, and blobs stream intact") {
  TestRegistry registry;
  TempDir tmp;
  MakeImage(tmp.path() + "/L", "t", "hello registry\n");
  PushImage(registry, tmp.path() + "/L", "t", "team/app:v1");
  std::string raw = InspectRaw(registry, "team/app:v1");

  auto client = MustClient(registry.host(), Insecure());
  auto by_tag = client->GetManifest("team/app", "v1");
  REQUIRE(by_tag.ok());
  CHECK(by_tag->bytes == raw);
  CHECK(by_tag->digest == format::Sha256::Of(raw));
  CHECK(by_tag->media_type == "application/vnd.oci.image.manifest.v1+json");

  auto by_digest = client->GetManifest("team/app", by_tag->digest.str());
  REQUIRE(by_digest.ok());
  CHECK(by_digest->bytes == raw);

  auto head = client->HeadManifest("team/app", "v1");
  REQUIRE(head.ok());
  REQUIRE(head->has_value());
  CHECK((*head)->digest == by_tag->digest);
  CHECK((*head)->size == raw.size());

  Layer layer = FirstLayer(raw);
  auto blob = client->OpenBlob("team/app", layer.digest);
  REQUIRE(blob.ok());
  auto verified = format::NewVerifyingReader(std::move(*blob), layer.digest, layer.size);
  Status status;
  std::string bytes = ReadAll(verified.get(), 7, &status);
  INFO(status.ToString());
  REQUIRE(status.ok());
  CHECK(bytes.size() == layer.size);
  CHECK(format::Sha256::Of(bytes) == layer.digest);

  auto size = client->HeadBlob("team/app", layer.digest);
  REQUIRE(size.ok());
  REQUIRE(size->has_value());
  CHECK(**size == layer.size);
}

TEST_CASE("the verifying reader rejects a blob read under the wrong digest or size") {
  TestRegistry registry;
  TempDir tmp;
  MakeImage(tmp.path() + "/L", "t", "x");
  PushImage(registry, tmp.path() + "/L", "t", "a:1");
  auto client = MustClient(registry.host(), Insecure());
  Layer layer = FirstLayer(client->GetManifest("a", "1")->bytes);

  format::Digest wrong = format::Sha256::Of(std::string("something else"));
  auto reader = format::NewVerifyingReader(client->OpenBlob("a", layer.digest).value(), wrong, layer.size);
  Status status;
  ReadAll(reader.get(), 4096, &status);
  CHECK(status.IsCorruption());
  CHECK(status.message().find(wrong.str()) != std::string::npos);

  auto short_reader =
      format::NewVerifyingReader(client->OpenBlob("a", layer.digest).value(), layer.digest, layer.size - 1);
  status = Status::Ok();
  ReadAll(short_reader.get(), 4096, &status);
  CHECK(status.IsCorruption());
}

TEST_CASE("a manifest fetched by digest must hash to that digest") {
  TestRegistry registry;
  TempDir tmp;
  MakeImage(tmp.path() + "/L", "t", "x");
  PushImage(registry, tmp.path() + "/L", "t", "a:1");
  auto client = MustClient(registry.host(), Insecure());
  auto m = client->GetManifest("a", "1");
  REQUIRE(m.ok());
  // Swap the manifest's stored bytes for another manifest's on disk: the
  // registry then serves bytes that do not match the digest in the URL.
  MakeImage(tmp.path() + "/L", "u", "y");
  PushImage(registry, tmp.path() + "/L", "u", "a:2");
  auto other = client->GetManifest("a", "2");
  REQUIRE(other.ok());
  std::string blob_dir = registry.dir() + "/storage/docker/registry/v2/blobs/sha256/";
  std::string target = blob_dir + std::string(m->digest.hex().substr(0, 2)) + "/" +
                       std::string(m->digest.hex()) + "/data";
  std::string source = blob_dir + std::string(other->digest.hex().substr(0, 2)) + "/" +
                       std::string(other->digest.hex()) + "/data";
  std::filesystem::copy_file(source, target, std::filesystem::copy_options::overwrite_existing);

  auto bad = client->GetManifest("a", m->digest.str());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().IsCorruption());
  CHECK(bad.status().message().find(other->digest.str()) != std::string::npos);
}

TEST_CASE("uploaded blobs and manifest land with the digest skopeo sees") {
  TestRegistry registry;
  ClientOptions options = Insecure();
  options.monolithic_limit = 1 << 20;
  options.chunk_size = 256 << 10;
  auto client = MustClient(registry.host(), options);

  std::string config =
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
  std::string small = RandomBytes(300000, 1);             // one PUT
  std::string large = RandomBytes((3 << 20) + 12345, 2);  // PATCH chunks + PUT
  REQUIRE(Upload(client.get(), "fresh/repo", config).ok());
  REQUIRE(Upload(client.get(), "fresh/repo", small).ok());
  Status s = Upload(client.get(), "fresh/repo", large, 70000);
  INFO(s.ToString());
  REQUIRE(s.ok());

  for (const std::string* blob : {&small, &large}) {
    auto size = client->HeadBlob("fresh/repo", format::Sha256::Of(*blob));
    REQUIRE(size.ok());
    REQUIRE(size->has_value());
    CHECK(**size == blob->size());
    auto reader = client->OpenBlob("fresh/repo", format::Sha256::Of(*blob));
    REQUIRE(reader.ok());
    Status st;
    CHECK(ReadAll(reader->get(), 1 << 16, &st) == *blob);
  }

  auto desc = [](const std::string& mt, const std::string& bytes) {
    return nlohmann::json{
        {"mediaType", mt}, {"digest", format::Sha256::Of(bytes).str()}, {"size", bytes.size()}};
  };
  std::string manifest = nlohmann::json{
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config", desc("application/vnd.oci.image.config.v1+json", config)},
      {"layers",
       {desc("application/vnd.oci.image.layer.v1.tar", small),
        desc("application/vnd.oci.image.layer.v1.tar",
             large)}}}.dump(2);
  format::Digest digest = format::Sha256::Of(manifest);
  auto put = client->PutManifest("fresh/repo", digest.str(),
                                 "application/vnd.oci.image.manifest.v1+json", manifest);
  REQUIRE(put.ok());
  CHECK(*put == digest);
  REQUIRE(
      client
          ->PutManifest("fresh/repo", "v1", "application/vnd.oci.image.manifest.v1+json", manifest)
          .ok());
  std::string raw = InspectRaw(registry, "fresh/repo:v1");
  CHECK(raw == manifest);
  CHECK(format::Sha256::Of(raw) == digest);
}

TEST_CASE("an upload whose bytes do not match its digest is refused as corruption") {
  TestRegistry registry;
  auto client = MustClient(registry.host(), Insecure());
  std::string bytes = RandomBytes(5000, 3);
  format::Digest wrong = format::Sha256::Of(std::string("not these bytes"));
  auto upload = client->StartUpload("r", wrong, bytes.size());
  REQUIRE(upload.ok());
  REQUIRE((*upload)->Append(io::AsBytes(bytes)).ok());
  Status s = (*upload)->Commit();
  INFO(s.ToString());
  CHECK(s.IsCorruption());
  auto head = client->HeadBlob("r", wrong);
  REQUIRE(head.ok());
  CHECK_FALSE(head->has_value());
}

TEST_CASE("a manifest the registry refuses is a failure of the remote side naming host, "
          "repository and the registry's error") {
  TestRegistry registry;
  auto client = MustClient(registry.host(), Insecure());
  // Not JSON: docker-registry answers 400 MANIFEST_INVALID.
  std::string manifest = "not a manifest";
  auto put =
      client->PutManifest("bad/repo", "v1", "application/vnd.oci.image.manifest.v1+json", manifest);
  REQUIRE_FALSE(put.ok());
  INFO(put.status().ToString());
  // Not kInvalidArgument, which the command line reports as its own misuse
  // (exit 2).
  CHECK(put.status().kind() == ErrorKind::kNetwork);
  CHECK(put.status().message().find(registry.host() + "/bad/repo:v1") != std::string::npos);
  CHECK(put.status().message().find("HTTP 400") != std::string::npos);
  CHECK(put.status().message().find("MANIFEST_INVALID") != std::string::npos);
}

TEST_CASE("a blob is mounted from another repository of the same registry") {
  TestRegistry registry;
  TempDir tmp;
  MakeImage(tmp.path() + "/L", "t", "mount me");
  PushImage(registry, tmp.path() + "/L", "t", "src/repo:1");
  auto client = MustClient(registry.host(), Insecure());
  Layer layer = FirstLayer(client->GetManifest("src/repo", "1")->bytes);

  auto before = client->HeadBlob("dst/repo", layer.digest);
  REQUIRE(before.ok());
  CHECK_FALSE(before->has_value());
  auto mounted = client->MountBlob("dst/repo", layer.digest, "src/repo");
  REQUIRE(mounted.ok());
  CHECK(*mounted);
  auto after = client->HeadBlob("dst/repo", layer.digest);
  REQUIRE(after.ok());
  REQUIRE(after->has_value());
  CHECK(**after == layer.size);

  format::Digest absent = format::Sha256::Of(std::string("absent"));
  auto not_mounted = client->MountBlob("dst/repo", absent, "src/repo");
  REQUIRE(not_mounted.ok());
  CHECK_FALSE(*not_mounted);
}

TEST_CASE("tags and the catalog are listed across Link pages") {
  TestRegistry registry;
  TempDir tmp;
  MakeImage(tmp.path() + "/L", "t", "tags");
  for (const char* ref : {"p/one:a", "p/one:b", "p/one:c", "p/two:x", "p/three:y"}) {
    PushImage(registry, tmp.path() + "/L", "t", ref);
  }
  auto client = MustClient(registry.host(), Insecure());
  // docker-registry 2.8 ignores n= for tags (and does not sort them); the
  // catalog below does page, one repository per request.
  auto tags = client->ListTags("p/one", 1);
  REQUIRE(tags.ok());
  std::sort(tags->begin(), tags->end());
  CHECK(*tags == std::vector<std::string>{"a", "b", "c"});
  auto all = client->ListTags("p/one");
  REQUIRE(all.ok());
  CHECK(all->size() == 3);
  auto repos = client->Catalog(1);
  REQUIRE(repos.ok());
  CHECK(*repos == std::vector<std::string>{"p/one", "p/three", "p/two"});
}

TEST_CASE("references that do not exist are kNotFound naming the reference") {
  TestRegistry registry;
  TempDir tmp;
  MakeImage(tmp.path() + "/L", "t", "nf");
  PushImage(registry, tmp.path() + "/L", "t", "here:1");
  auto client = MustClient(registry.host(), Insecure());

  auto tag = client->GetManifest("here", "nope");
  REQUIRE_FALSE(tag.ok());
  CHECK(tag.status().IsNotFound());
  CHECK(tag.status().message().find(registry.host() + "/here:nope") != std::string::npos);

  auto repo = client->GetManifest("not/there", "1");
  REQUIRE_FALSE(repo.ok());
  CHECK(repo.status().IsNotFound());

  auto tags = client->ListTags("not/there");
  REQUIRE_FALSE(tags.ok());
  CHECK(tags.status().IsNotFound());

  format::Digest absent = format::Sha256::Of(std::string("absent"));
  auto blob = client->OpenBlob("here", absent);
  REQUIRE_FALSE(blob.ok());
  CHECK(blob.status().IsNotFound());
  CHECK(blob.status().message().find(absent.str()) != std::string::npos);

  auto head = client->HeadManifest("here", "nope");
  REQUIRE(head.ok());
  CHECK_FALSE(head->has_value());
}

TEST_CASE("a stopped registry is a network error after bounded retries") {
  auto registry = std::make_unique<TestRegistry>();
  std::string host = registry->host();
  registry.reset();
  ClientOptions options = Insecure();
  options.tls_verify = true;  // no fallback probing: straight to the request
  auto client = MustClient(host, options);
  Status s = client->Ping();
  CHECK(s.kind() == ErrorKind::kNetwork);
  CHECK(s.message().find(host) != std::string::npos);
}

// TLS with a CA made by the test, plus htpasswd basic auth.
class SecureRegistry {
 public:
  SecureRegistry() : registry(RegistryOptions{true, "alice", "s3cret"}) {
    MakeImage(tmp.path() + "/L", "t", "secure");
    PushImage(registry, tmp.path() + "/L", "t", "private/app:1");
  }
  ClientOptions Trusted() const {
    ClientOptions o;
    o.use_auth_files = false;
    o.certs_d_roots = {"/nonexistent-certs.d"};
    o.cert_dir = registry.ca_dir();
    o.credentials = Credentials{"alice", "s3cret"};
    o.max_retries = 1;
    o.initial_backoff_ms = 10;
    return o;
  }
  TestRegistry registry;
  TempDir tmp;
};

TEST_CASE("TLS with a trusted CA and the right password works") {
  SecureRegistry s;
  auto client = MustClient(s.registry.host(), s.Trusted());
  REQUIRE(client->Ping().ok());
  CHECK(client->base_url() == "https://" + s.registry.host());
  auto m = client->GetManifest("private/app", "1");
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  CHECK(m->bytes == InspectRaw(s.registry, "private/app:1"));
  std::string blob = RandomBytes(1000, 9);
  CHECK(Upload(client.get(), "private/other", blob).ok());
}

TEST_CASE("a wrong password or none is kAuth naming host and repository") {
  SecureRegistry s;
  ClientOptions wrong = s.Trusted();
  wrong.credentials = Credentials{"alice", "wrong"};
  auto m = MustClient(s.registry.host(), wrong)->GetManifest("private/app", "1");
  REQUIRE_FALSE(m.ok());
  CHECK(m.status().kind() == ErrorKind::kAuth);
  CHECK(m.status().message().find(s.registry.host()) != std::string::npos);
  CHECK(m.status().message().find("private/app") != std::string::npos);

  ClientOptions anonymous = s.Trusted();
  anonymous.credentials.reset();
  auto a = MustClient(s.registry.host(), anonymous)->GetManifest("private/app", "1");
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().kind() == ErrorKind::kAuth);
  CHECK(a.status().message().find("no credentials") != std::string::npos);
}

TEST_CASE("an untrusted certificate names the host and the certs.d path that would trust it") {
  SecureRegistry s;
  ClientOptions untrusted = s.Trusted();
  untrusted.cert_dir.clear();
  untrusted.cert_dir_flag = "--src-cert-dir";
  Status st = MustClient(s.registry.host(), untrusted)->Ping();
  REQUIRE_FALSE(st.ok());
  CHECK(st.kind() == ErrorKind::kAuth);
  CHECK(st.message().find(s.registry.host()) != std::string::npos);
  CHECK(st.message().find("/etc/containers/certs.d/" + s.registry.host() + "/ca.crt") !=
        std::string::npos);
  CHECK(st.message().find("--src-cert-dir") != std::string::npos);

  // tls_verify=false accepts the certificate (and stays on https).
  ClientOptions insecure = untrusted;
  insecure.tls_verify = false;
  auto client = MustClient(s.registry.host(), insecure);
  REQUIRE(client->GetManifest("private/app", "1").ok());
  CHECK(client->base_url() == "https://" + s.registry.host());
}

TEST_CASE("a certs.d root directory and an auth file are found by host") {
  SecureRegistry s;
  TempDir conf;
  std::string certs_d = conf.path() + "/certs.d/" + s.registry.host();
  std::filesystem::create_directories(certs_d);
  std::filesystem::copy_file(s.registry.ca_dir() + "/ca.crt", certs_d + "/ca.crt");
  std::string auth_file = conf.path() + "/auth.json";
  REQUIRE(
      io::WriteFileAtomically(io::DefaultFileSystem(), auth_file,
                              io::AsBytes(R"({"auths":{")" + s.registry.host() + R"(":{"auth":")" +
                                          Base64Encode("alice:s3cret") + "\"}}}"))
          .ok());
  ClientOptions o;
  o.certs_d_roots = {conf.path() + "/certs.d"};
  o.auth_files = {auth_file};
  o.max_retries = 1;
  auto client = MustClient(s.registry.host(), o);
  auto m = client->GetManifest("private/app", "1");
  INFO(m.status().ToString());
  CHECK(m.ok());
}

TEST_CASE("a TLS registry is reached with credentials only a credHelpers entry provides") {
  SecureRegistry s;
  CredentialHelpers helpers;
  TempDir conf;
  std::string log = conf.path() + "/helper.log";
  // Answers only for this registry, and logs what it was asked.
  helpers.Add("sluicetest", "read server\necho \"$server\" >> " + log + "\n" +
                                "[ \"$server\" = \"" + s.registry.host() +
                                "\" ] || { echo \"credentials not found in native keychain\";"
                                " exit 1; }\n"
                                R"(echo '{"ServerURL":"x","Username":"alice","Secret":"s3cret"}')");
  helpers.Add("wrong", R"(cat >/dev/null; echo '{"Username":"alice","Secret":"wrong"}')");
  std::string auth_file = conf.path() + "/auth.json";
  REQUIRE(io::WriteFileAtomically(io::DefaultFileSystem(), auth_file,
                                  io::AsBytes(R"({"credsStore":"wrong","credHelpers":{")" +
                                              s.registry.host() + R"(":"sluicetest"}})"))
              .ok());
  ClientOptions o = s.Trusted();
  o.credentials.reset();
  o.use_auth_files = true;
  o.auth_files = {auth_file};
  auto client = MustClient(s.registry.host(), o);
  REQUIRE(client->Ping().ok());
  auto m = client->GetManifest("private/app", "1");
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  CHECK(m->bytes == InspectRaw(s.registry, "private/app:1"));
  std::string blob = RandomBytes(2000, 11);
  Status up = Upload(client.get(), "private/helped", blob);
  INFO(up.ToString());
  REQUIRE(up.ok());
  auto size = client->HeadBlob("private/helped", format::Sha256::Of(blob));
  REQUIRE(size.ok());
  CHECK(*size == std::optional<uint64_t>(blob.size()));
  // Asked about this host only, at most once per repository.
  std::string asked = testing::MustRun("cat " + log);
  CHECK(asked.find(s.registry.host()) != std::string::npos);
  size_t lines = std::count(asked.begin(), asked.end(), '\n');
  CHECK(lines >= 1);
  CHECK(lines <= 3);

  // Without the helper entry the credsStore's wrong password is used: kAuth.
  REQUIRE(io::WriteFileAtomically(io::DefaultFileSystem(), auth_file,
                                  io::AsBytes(R"({"credsStore":"wrong"})"))
              .ok());
  auto refused = MustClient(s.registry.host(), o)->GetManifest("private/app", "1");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().kind() == ErrorKind::kAuth);

  // Explicit credentials win over any helper.
  ClientOptions explicit_creds = o;
  explicit_creds.credentials = Credentials{"alice", "s3cret"};
  CHECK(MustClient(s.registry.host(), explicit_creds)->GetManifest("private/app", "1").ok());
}

TEST_CASE("a registry requiring client certificates is reached with client.cert and client.key") {
  RegistryOptions options;
  options.tls = true;
  options.client_certs = true;
  TestRegistry registry(options);
  TempDir tmp;
  MakeImage(tmp.path() + "/L", "t", "mutual tls");
  PushImage(registry, tmp.path() + "/L", "t", "mtls/app:1");  // skopeo with the same dir

  ClientOptions o;
  o.use_auth_files = false;
  o.certs_d_roots = {"/nonexistent-certs.d"};
  o.cert_dir = registry.client_dir();
  o.max_retries = 1;
  o.initial_backoff_ms = 10;
  auto client = MustClient(registry.host(), o);
  REQUIRE(client->Ping().ok());
  auto m = client->GetManifest("mtls/app", "1");
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  CHECK(m->bytes == InspectRaw(registry, "mtls/app:1"));
  Layer layer = FirstLayer(m->bytes);
  auto blob = client->OpenBlob("mtls/app", layer.digest);
  REQUIRE(blob.ok());
  auto verified = format::NewVerifyingReader(std::move(*blob), layer.digest, layer.size);
  Status status;
  ReadAll(verified.get(), 4096, &status);
  CHECK(status.ok());
  std::string bytes = RandomBytes(3000, 21);
  Status up = Upload(client.get(), "mtls/pushed", bytes);
  INFO(up.ToString());
  REQUIRE(up.ok());
  auto back = client->OpenBlob("mtls/pushed", format::Sha256::Of(bytes));
  REQUIRE(back.ok());
  CHECK(ReadAll(back->get(), 4096, &status) == bytes);

  // The CA alone: the registry's demand for a certificate is named.
  ClientOptions no_cert = o;
  no_cert.cert_dir = registry.ca_dir();
  Status refused = MustClient(registry.host(), no_cert)->Ping();
  INFO(refused.ToString());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.kind() == ErrorKind::kAuth);
  CHECK(refused.message().find(registry.host()) != std::string::npos);
  CHECK(refused.message().find("client certificate") != std::string::npos);
  CHECK(refused.message().find("client.cert") != std::string::npos);
  CHECK(refused.message().find(registry.ca_dir()) != std::string::npos);

  // A client certificate from a CA the registry does not trust is refused.
  std::string other = tmp.path() + "/other";
  std::filesystem::create_directories(other);
  testing::MustRun("cd " + tmp.path() +
                   " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                   " -keyout rogue-ca.key -out rogue-ca.crt -days 2 -subj /CN=rogue-ca"
                   " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                   " -keyout other/client.key -out rogue.csr -subj /CN=rogue"
                   " && openssl x509 -req -in rogue.csr -CA rogue-ca.crt -CAkey rogue-ca.key"
                   " -CAcreateserial -out other/client.cert -days 2");
  std::filesystem::copy_file(registry.ca_dir() + "/ca.crt", other + "/ca.crt");
  ClientOptions rogue = o;
  rogue.cert_dir = other;
  Status bad = MustClient(registry.host(), rogue)->Ping();
  INFO(bad.ToString());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.kind() == ErrorKind::kAuth);
  CHECK(bad.message().find("refused the TLS client certificate " + other + "/client.cert") !=
        std::string::npos);
}

}  // namespace
}  // namespace sluice::registry
