// Real servers and tools for registry tests: a docker-registry process on
// 127.0.0.1 at a free port with its own storage (optionally TLS from a CA made
// here, and htpasswd auth), images built with umoci and pushed with skopeo.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "io/file.h"
#include "registry/registry_client.h"
#include "tests/support/temp_dir.h"

namespace sluice::registry::testing {

// One TempDir for every test binary (tests/support/temp_dir.h).
using ::sluice::testing::TempDir;

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` with /bin/sh (tests/support/process.h RunShell); output is
// stdout, plus stderr when merge_stderr.
CommandResult Run(const std::string& command, bool merge_stderr = true);
// Runs it and fails the test (showing the output) unless it exits 0.
std::string MustRun(const std::string& command);

struct RegistryOptions {
  bool tls = false;  // serve HTTPS with a certificate from a CA made by the test
  std::string user;  // with a user: htpasswd (bcrypt) basic auth
  std::string password;
  // With tls: require a client certificate signed by the test's CA
  // (http.tls.clientcas); client_dir() holds one.
  bool client_certs = false;
};

class TestRegistry {
 public:
  explicit TestRegistry(RegistryOptions options = {});
  ~TestRegistry();
  TestRegistry(const TestRegistry&) = delete;
  TestRegistry& operator=(const TestRegistry&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  // A directory holding only ca.crt (TLS registries): a --cert-dir.
  std::string ca_dir() const { return dir_.path() + "/ca"; }
  // With client_certs: ca.crt plus client.cert and client.key the registry
  // accepts, a certs.d-style directory.
  std::string client_dir() const { return dir_.path() + "/client"; }
  const std::string& dir() const { return dir_.path(); }
  // Flags that reach this registry, for "dest" or "src" (or "" for inspect),
  // one argument each; skopeo and sluice spell them alike.
  std::vector<std::string> Flags(const std::string& side) const;
  // The same, quoted for a shell command line, with a leading space.
  std::string SkopeoFlags(const std::string& side) const;
  // The registry's storage root (rootdirectory of its filesystem driver).
  std::string storage() const { return dir_.path() + "/storage"; }
  // Stops the process (SIGTERM, then waits).
  void Stop();
  // Kills the process at once (SIGKILL, then waits): a registry that dies
  // with requests in flight.
  void Kill();
  // Starts it again on the same storage, credentials and certificate, on the
  // same port when that is still free (else another; host() follows).
  void Restart();

 private:
  void MakeCertificates();
  bool Start(int port);

  RegistryOptions options_;
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A directory of docker-credential-NAME shell scripts put first on PATH for
// the object's lifetime (PATH is restored by the destructor). Not for tests
// that run threads while it is created or destroyed.
class CredentialHelpers {
 public:
  CredentialHelpers();
  ~CredentialHelpers();
  CredentialHelpers(const CredentialHelpers&) = delete;
  CredentialHelpers& operator=(const CredentialHelpers&) = delete;
  // Writes docker-credential-NAME, an executable /bin/sh script with `body`.
  void Add(const std::string& name, const std::string& body);
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  std::string old_path_;
  bool had_path_ = false;
};

// fake_registry.py (python3): Bearer tokens, tags pagination, a blob redirect
// to another host name, a lying digest header, a transient 503, a manifest
// cut short once, blobs whose transfer breaks mid-body, an OCI 1.1 referrers
// API (see its docstring).
class FakeRegistry {
 public:
  FakeRegistry();
  ~FakeRegistry();
  FakeRegistry(const FakeRegistry&) = delete;
  FakeRegistry& operator=(const FakeRegistry&) = delete;
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // The body of an unauthenticated GET of one of the fake's test endpoints
  // (/stats, /testblobs, /testreferrers); REQUIREs a 200.
  std::string GetTestEndpoint(const std::string& path) const;

 private:
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Client options for the test registries: TLS unverified, no auth files,
// no certs.d, one retry after 10 ms.
ClientOptions Insecure();
// Reads `reader` to its end in reads of `chunk` bytes. A failed read stops
// it: *status gets the failure and the bytes read before come back.
std::string ReadAll(io::SequentialReader* reader, size_t chunk, Status* status);

// Builds a one-layer OCI image in `layout` tagged `tag` whose only file holds
// `content` (distinct contents give distinct layers).
void MakeImage(const std::string& layout, const std::string& tag, const std::string& content);
// skopeo copy oci:LAYOUT:TAG docker://HOST/REF.
void PushImage(const TestRegistry& registry, const std::string& layout, const std::string& tag,
               const std::string& ref);
// skopeo inspect --raw docker://HOST/REF.
std::string InspectRaw(const TestRegistry& registry, const std::string& ref);

}  // namespace sluice::registry::testing
