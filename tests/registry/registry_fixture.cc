#include "registry_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "registry/http.h"
#include "tests/support/files.h"
#include "tests/support/process.h"

namespace sluice::registry::testing {
namespace {

using ::sluice::testing::ReadFileIfExists;
using ::sluice::testing::ShellQuote;
using ::sluice::testing::WriteFile;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

CommandResult Run(const std::string& command, bool merge_stderr) {
  ::sluice::testing::RunResult r =
      ::sluice::testing::RunShell(merge_stderr ? "(" + command + ") 2>&1" : command);
  return {r.exit_code, r.out};
}

std::string MustRun(const std::string& command) {
  CommandResult r = Run(command);
  INFO(command << "\n" << r.output);
  REQUIRE(r.exit_code == 0);
  return r.output;
}

TestRegistry::TestRegistry(RegistryOptions options) : options_(std::move(options)) {
  if (options_.tls) MakeCertificates();
  if (!options_.user.empty()) {
    MustRun("htpasswd -Bbn " + ShellQuote(options_.user) + " " + ShellQuote(options_.password) +
            " > " + ShellQuote(dir_.path() + "/htpasswd"));
  }
  // A port found free may be taken before the registry binds it: try again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (Start(FreePort())) return;
  }
  FAIL("docker-registry did not start; log:\n" << ReadFileIfExists(dir_.path() + "/registry.log"));
}

TestRegistry::~TestRegistry() { Stop(); }

void TestRegistry::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void TestRegistry::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void TestRegistry::Restart() {
  Stop();
  if (Start(port_)) return;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (Start(FreePort())) return;
  }
  FAIL("docker-registry did not restart; log:\n"
       << ReadFileIfExists(dir_.path() + "/registry.log"));
}

void TestRegistry::MakeCertificates() {
  const std::string d = dir_.path();
  std::filesystem::create_directories(d + "/ca");
  // A CA, and a server certificate it signs for IP 127.0.0.1.
  MustRun("cd " + ShellQuote(d) +
          " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
          " -keyout ca.key -out ca/ca.crt -days 2 -subj /CN=sluice-test-ca"
          " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
          " -keyout server.key -out server.csr -subj /CN=127.0.0.1"
          " && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext"
          " && openssl x509 -req -in server.csr -CA ca/ca.crt -CAkey ca.key -CAcreateserial"
          " -out server.crt -days 2 -extfile san.ext");
  if (!options_.client_certs) return;
  // A client certificate from the same CA, in a certs.d-style directory.
  std::filesystem::create_directories(d + "/client");
  MustRun("cd " + ShellQuote(d) +
          " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
          " -keyout client/client.key -out client.csr -subj /CN=sluice-test-client"
          " && printf 'extendedKeyUsage=clientAuth\\n' > client.ext"
          " && openssl x509 -req -in client.csr -CA ca/ca.crt -CAkey ca.key -CAcreateserial"
          " -out client/client.cert -days 2 -extfile client.ext"
          " && cp ca/ca.crt client/ca.crt");
}

bool TestRegistry::Start(int port) {
  port_ = port;
  const std::string d = dir_.path();
  std::string config =
      "version: 0.1\nlog:\n  level: warn\n"
      "storage:\n  filesystem:\n    rootdirectory: " +
      d +
      "/storage\n"
      "  delete:\n    enabled: true\n"
      "http:\n  addr: 127.0.0.1:" +
      std::to_string(port_) + "\n";
  if (options_.tls) {
    config += "  tls:\n    certificate: " + d + "/server.crt\n    key: " + d + "/server.key\n";
    if (options_.client_certs) config += "    clientcas:\n      - " + d + "/ca/ca.crt\n";
  }
  if (!options_.user.empty()) {
    config += "auth:\n  htpasswd:\n    realm: sluice-test\n    path: " + d + "/htpasswd\n";
  }
  WriteFile(d + "/config.yml", config);

  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int log = open((d + "/registry.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    execl("/usr/bin/docker-registry", "docker-registry", "serve", (d + "/config.yml").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;

  // Ready when /v2/ answers anything over HTTP.
  TlsSettings tls;
  tls.verify = false;
  if (options_.client_certs) {
    tls.client_cert = client_dir() + "/client.cert";
    tls.client_key = client_dir() + "/client.key";
  }
  HttpSession session(tls, "sluice-test");
  HttpRequest ping;
  ping.url = std::string(options_.tls ? "https" : "http") + "://" + host() + "/v2/";
  for (int i = 0; i < 300; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    auto stream = session.Open(ping);
    if (stream.ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Stop();
  return false;
}

std::vector<std::string> TestRegistry::Flags(const std::string& side) const {
  std::string prefix = side.empty() ? "--" : "--" + side + "-";
  std::vector<std::string> flags;
  if (options_.tls) {
    flags.insert(flags.end(),
                 {prefix + "cert-dir", options_.client_certs ? client_dir() : ca_dir()});
  } else {
    flags.push_back(prefix + "tls-verify=false");
  }
  if (!options_.user.empty()) {
    flags.insert(flags.end(), {prefix + "creds", options_.user + ":" + options_.password});
  }
  return flags;
}

std::string TestRegistry::SkopeoFlags(const std::string& side) const {
  std::string flags;
  for (const std::string& flag : Flags(side)) flags += " " + ShellQuote(flag);
  return flags;
}

CredentialHelpers::CredentialHelpers() {
  const char* path = std::getenv("PATH");
  had_path_ = path != nullptr;
  if (path != nullptr) old_path_ = path;
  std::string next = dir_.path() + (had_path_ ? ":" + old_path_ : std::string());
  REQUIRE(setenv("PATH", next.c_str(), 1) == 0);
}

CredentialHelpers::~CredentialHelpers() {
  if (had_path_) {
    setenv("PATH", old_path_.c_str(), 1);
  } else {
    unsetenv("PATH");
  }
}

void CredentialHelpers::Add(const std::string& name, const std::string& body) {
  std::string path = dir_.path() + "/docker-credential-" + name;
  WriteFile(path, "#!/bin/sh\n" + body + "\n");
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
}

FakeRegistry::FakeRegistry() {
  std::string port_file = dir_.path() + "/port";
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    execl("/usr/bin/python3", "python3", SLUICE_FAKE_REGISTRY, port_file.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  for (int i = 0; i < 300 && port_ == 0; ++i) {
    std::string text = ReadFileIfExists(port_file);
    if (!text.empty()) {
      port_ = std::stoi(text);
      break;
    }
    int status = 0;
    REQUIRE(waitpid(pid_, &status, WNOHANG) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(port_ != 0);
}

FakeRegistry::~FakeRegistry() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
}

std::string FakeRegistry::GetTestEndpoint(const std::string& path) const {
  HttpSession session(TlsSettings{}, "test");
  HttpRequest request;
  request.url = "http://" + host() + path;
  auto stream = session.Open(request);
  REQUIRE(stream.ok());
  REQUIRE((*stream)->status() == 200);
  auto body = (*stream)->ReadAll(1 << 20);
  REQUIRE(body.ok());
  return std::move(body).value();
}

ClientOptions Insecure() {
  ClientOptions o;
  o.tls_verify = false;
  o.use_auth_files = false;
  o.certs_d_roots = {"/nonexistent-certs.d"};
  o.max_retries = 1;
  o.initial_backoff_ms = 10;
  return o;
}

std::string ReadAll(io::SequentialReader* reader, size_t chunk, Status* status) {
  std::string out;
  std::string buf(chunk, '\0');
  while (true) {
    auto n = reader->Read(io::MutableBytes(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    if (!n.ok()) {
      *status = n.status();
      return out;
    }
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

void MakeImage(const std::string& layout, const std::string& tag, const std::string& content) {
  std::string bundle = layout + ".bundle-" + tag;
  if (!std::filesystem::exists(layout)) MustRun("umoci init --layout " + ShellQuote(layout));
  MustRun("umoci new --image " + ShellQuote(layout + ":" + tag));
  MustRun("umoci unpack --rootless --image " + ShellQuote(layout + ":" + tag) + " " +
          ShellQuote(bundle));
  WriteFile(bundle + "/rootfs/f", content);
  MustRun("umoci repack --image " + ShellQuote(layout + ":" + tag) + " " + ShellQuote(bundle));
  std::filesystem::remove_all(bundle);
}

void PushImage(const TestRegistry& registry, const std::string& layout, const std::string& tag,
               const std::string& ref) {
  MustRun("skopeo copy --quiet" + registry.SkopeoFlags("dest") + " " +
          ShellQuote("oci:" + layout + ":" + tag) + " " +
          ShellQuote("docker://" + registry.host() + "/" + ref));
}

std::string InspectRaw(const TestRegistry& registry, const std::string& ref) {
  std::string command = "skopeo inspect --raw" + registry.SkopeoFlags("") + " " +
                        ShellQuote("docker://" + registry.host() + "/" + ref);
  CommandResult r = Run(command, /*merge_stderr=*/false);
  INFO(command << "\n" << r.output);
  REQUIRE(r.exit_code == 0);
  return r.output;
}

}  // namespace sluice::registry::testing
