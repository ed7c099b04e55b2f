// Credential helpers (docker-credential-NAME) run for real: shell scripts
// written here into a directory put first on PATH.
#include <catch2/catch.hpp>

#include "io/atomic_file.h"
#include "io/memory_file_system.h"
#include "registry/auth.h"
#include "registry_fixture.h"

namespace sluice::registry {
namespace {

using testing::CredentialHelpers;

// Answers with the server it was asked about (read from stdin) in the user
// name, so a test sees what it was given.
constexpr const char* kEchoHelper =
    R"(read server
[ "$1" = get ] || { echo "expected get, got $1" >&2; exit 9; }
printf '{"ServerURL":"%s","Username":"u-%s","Secret":"p:w"}\n' "$server" "$server")";

void AddCommonHelpers(CredentialHelpers* helpers) {
  helpers->Add("echo", kEchoHelper);
  helpers->Add("none", "echo 'credentials not found in native keychain'\nexit 1");
  helpers->Add("broken",
               "cat >/dev/null\necho 'first line of trouble' >&2\necho 'second line' >&2\nexit 3");
}

bool Contains(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

TEST_CASE("a credential helper gets the server on stdin and its JSON answer is the credentials") {
  CredentialHelpers helpers;
  AddCommonHelpers(&helpers);
  auto creds = RunCredentialHelper("echo", "127.0.0.1:5000");
  INFO(creds.status().ToString());
  REQUIRE(creds.ok());
  REQUIRE(creds->has_value());
  CHECK((*creds)->username == "u-127.0.0.1:5000");
  CHECK((*creds)->password == "p:w");
}

TEST_CASE("a credential helper that has no credentials means anonymous") {
  CredentialHelpers helpers;
  AddCommonHelpers(&helpers);
  auto creds = RunCredentialHelper("none", "quay.io");
  REQUIRE(creds.ok());
  CHECK_FALSE(creds->has_value());
  // Some helpers say it on stderr.
  helpers.Add("none2", "echo 'credentials not found in native keychain' >&2\nexit 1");
  auto creds2 = RunCredentialHelper("none2", "quay.io");
  REQUIRE(creds2.ok());
  CHECK_FALSE(creds2->has_value());
}

TEST_CASE("a failing credential helper is kAuth naming it, the host and its first error line") {
  CredentialHelpers helpers;
  AddCommonHelpers(&helpers);
  auto creds = RunCredentialHelper("broken", "ghcr.io");
  REQUIRE_FALSE(creds.ok());
  CHECK(creds.status().kind() == ErrorKind::kAuth);
  CHECK(Contains(creds.status(), "docker-credential-broken"));
  CHECK(Contains(creds.status(), "ghcr.io"));
  CHECK(Contains(creds.status(), "exit 3"));
  CHECK(Contains(creds.status(), "first line of trouble"));
  CHECK_FALSE(Contains(creds.status(), "second line"));
}

TEST_CASE("a credential helper that is not on PATH is kAuth saying so") {
  CredentialHelpers helpers;
  auto creds = RunCredentialHelper("sluice-absent-helper", "h:1");
  REQUIRE_FALSE(creds.ok());
  CHECK(creds.status().kind() == ErrorKind::kAuth);
  CHECK(Contains(creds.status(), "docker-credential-sluice-absent-helper is not on PATH"));

  auto path = RunCredentialHelper("../evil", "h:1");
  REQUIRE_FALSE(path.ok());
  CHECK(path.status().kind() == ErrorKind::kInvalidArgument);
}

TEST_CASE("an identity token from a credential helper is refused as unsupported") {
  CredentialHelpers helpers;
  helpers.Add("token", R"(echo '{"ServerURL":"h","Username":"<token>","Secret":"refresh"}')");
  auto creds = RunCredentialHelper("token", "h");
  REQUIRE_FALSE(creds.ok());
  CHECK(creds.status().kind() == ErrorKind::kUnsupported);
  CHECK(Contains(creds.status(), "identity token"));
  CHECK_FALSE(Contains(creds.status(), "refresh"));
}

TEST_CASE("credential helper output that is not the expected JSON is kAuth") {
  CredentialHelpers helpers;
  helpers.Add("garbage", "echo 'not json at all'");
  helpers.Add("partial", R"(echo '{"Username":"u"}')");
  for (const char* name : {"garbage", "partial"}) {
    auto creds = RunCredentialHelper(name, "h");
    REQUIRE_FALSE(creds.ok());
    CHECK(creds.status().kind() == ErrorKind::kAuth);
    CHECK(Contains(creds.status(), std::string("docker-credential-") + name));
  }
}

TEST_CASE("a credential helper is bounded in output and time, and killed with its children") {
  CredentialHelpers helpers;
  helpers.Add("flood", "head -c 3000000 /dev/zero");
  auto flood = RunCredentialHelper("flood", "h");
  REQUIRE_FALSE(flood.ok());
  CHECK(flood.status().kind() == ErrorKind::kAuth);
  CHECK(Contains(flood.status(), "more than 1048576 bytes"));

  // The shell waits on a child: killing only the shell would leave the child
  // holding stdout; the whole process group goes.
  std::string pid_file = helpers.dir() + "/sleeper.pid";
  helpers.Add("hang", "sleep 600 &\necho $! > " + pid_file + "\nwait");
  auto hang = RunCredentialHelper("hang", "h", /*timeout_ms=*/300);
  REQUIRE_FALSE(hang.ok());
  CHECK(hang.status().kind() == ErrorKind::kAuth);
  CHECK(Contains(hang.status(), "timed out"));
  std::string pid = testing::MustRun("cat " + pid_file);
  while (!pid.empty() && pid.back() == '\n') pid.pop_back();
  REQUIRE_FALSE(pid.empty());
  // Gone, or a zombie when nothing reaps orphans here.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = testing::Run("kill -0 " + pid + " 2>/dev/null").exit_code != 0 ||
           testing::Run("grep -q '^State:.*Z' /proc/" + pid + "/status").exit_code == 0;
    if (!gone) testing::Run("sleep 0.05");
  }
  CHECK(gone);
}

// Auth files in memory, helpers on PATH.
struct Files {
  io::MemoryFileSystem fs;
  std::vector<std::string> paths;
  void Add(const std::string& path, const std::string& json) {
    REQUIRE(fs.CreateDirs(io::Dirname(path)).ok());
    REQUIRE(io::WriteFileAtomically(&fs, path, io::AsBytes(json)).ok());
    paths.push_back(path);
  }
  Result<std::optional<Credentials>> Lookup(const std::string& host,
                                            const std::string& repo = "r") {
    return LookupCredentials(&fs, paths, host, repo);
  }
};

std::string Inline(const std::string& user_pass) {
  return "{\"auth\":\"" + Base64Encode(user_pass) + "\"}";
}

TEST_CASE("credHelpers for the host win over an inline auths entry") {
  CredentialHelpers helpers;
  AddCommonHelpers(&helpers);
  Files files;
  files.Add("/a.json", R"({"auths":{"127.0.0.1:5000":)" + Inline("inline:pw") +
                           R"(},"credHelpers":{"127.0.0.1:5000":"echo","other.io":"broken"},)"
                           R"("credsStore":"broken"})");
  auto creds = files.Lookup("127.0.0.1:5000");
  INFO(creds.status().ToString());
  REQUIRE(creds.ok());
  REQUIRE(creds->has_value());
  CHECK((*creds)->username == "u-127.0.0.1:5000");
}

TEST_CASE("an inline auths entry wins over credsStore, which serves hosts without one") {
  CredentialHelpers helpers;
  AddCommonHelpers(&helpers);
  Files files;
  // docker login with a credsStore leaves an empty entry in auths.
  files.Add("/config.json",
            R"({"auths":{"a.io":)" + Inline("inline:pw") + R"(,"b.io":{}},"credsStore":"echo"})");
  CHECK((*files.Lookup("a.io"))->username == "inline");
  CHECK((*files.Lookup("b.io"))->username == "u-b.io");
  CHECK((*files.Lookup("c.io:8443"))->username == "u-c.io:8443");
  // Docker Hub is asked for under docker login's legacy key.
  CHECK((*files.Lookup("docker.io", "library/alpine"))->username ==
        "u-https://index.docker.io/v1/");
}

TEST_CASE("a helper with no credentials lets the search go on to the next auth file") {
  CredentialHelpers helpers;
  AddCommonHelpers(&helpers);
  Files files;
  files.Add("/first.json", R"({"credHelpers":{"h.io":"none"}})");
  files.Add("/second.json", R"({"auths":{"h.io":)" + Inline("second:pw") + "}}");
  auto creds = files.Lookup("h.io");
  REQUIRE(creds.ok());
  REQUIRE(creds->has_value());
  CHECK((*creds)->username == "second");

  Files only_none;
  only_none.Add("/first.json", R"({"credHelpers":{"h.io":"none"},"credsStore":"none"})");
  auto anonymous = only_none.Lookup("h.io");
  REQUIRE(anonymous.ok());
  CHECK_FALSE(anonymous->has_value());
}

TEST_CASE("a failing helper named by an auth file is kAuth naming the file") {
  CredentialHelpers helpers;
  AddCommonHelpers(&helpers);
  Files files;
  files.Add("/run/auth.json", R"({"credHelpers":{"h.io:1":"broken"}})");
  files.Add("/later.json", R"({"auths":{"h.io:1":)" + Inline("later:pw") + "}}");
  auto creds = files.Lookup("h.io:1");
  REQUIRE_FALSE(creds.ok());
  CHECK(creds.status().kind() == ErrorKind::kAuth);
  CHECK(Contains(creds.status(), "credHelpers in /run/auth.json"));
  CHECK(Contains(creds.status(), "docker-credential-broken for h.io:1"));
  CHECK(Contains(creds.status(), "first line of trouble"));
}

}  // namespace
}  // namespace sluice::registry
