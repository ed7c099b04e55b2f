// Registry credentials as skopeo takes them, against real docker-registry
// processes with TLS from a test CA and htpasswd (bcrypt) basic auth
// (tests/registry/registry_fixture.h): --src-creds and --dest-creds
// USER[:PASSWORD], the password asked on a terminal (a pseudo-terminal made
// by script(1)) or read by --password-stdin, --src-authfile, --dest-authfile,
// --authfile and $REGISTRY_AUTH_FILE. No password is ever printed: every
// run's stdout and stderr are searched for the passwords it was given.
//
// Each test runs sluice with HOME, XDG_* and DOCKER_CONFIG pointing into a
// temp directory, so no auth file of the machine's user takes part.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../registry/registry_fixture.h"
#include "e2e_support.h"
#include "tests/support/environment.h"

namespace sluice::e2e {
namespace {

using registry::testing::RegistryOptions;
using registry::testing::TestRegistry;
using testing::ScopedEnvironment;
using testing::ShellQuote;

// Passwords with a ':' in them: only the first ':' of USER:PASSWORD splits.
const std::string kAlicePassword = "alice:S3cret-of-the-source";
const std::string kBobPassword = "bob:S3cret-of-the-destination";

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// REQUIREs that nothing `r` printed holds any of `secrets`.
void RequireNotPrinted(const RunResult& r, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    INFO(r.Describe());
    INFO("printed: " << secret);
    REQUIRE_FALSE(Contains(r.out, secret));
    REQUIRE_FALSE(Contains(r.err, secret));
  }
}

// An auth file's text: {"auths": {HOST: {"auth": base64(USER:PASSWORD)}}}.
std::string AuthFile(const std::vector<std::pair<std::string, std::string>>& host_user_pass) {
  nlohmann::json auths = nlohmann::json::object();
  for (const auto& [host, user_pass] : host_user_pass) {
    RunResult b64 = testing::RunShell("printf %s " + ShellQuote(user_pass) + " | base64 -w0");
    Require(b64);
    auths[host] = {{"auth", b64.out}};
  }
  return nlohmann::json{{"auths", auths}}.dump();
}

// The machine's own auth files out of reach: HOME, XDG_RUNTIME_DIR and
// XDG_CONFIG_HOME in a temp dir, no DOCKER_CONFIG, no REGISTRY_AUTH_FILE.
struct IsolatedHome {
  IsolatedHome()
      : env({{"HOME", home.path()},
             {"XDG_RUNTIME_DIR", home / "run"},
             {"XDG_CONFIG_HOME", std::nullopt},
             {"DOCKER_CONFIG", std::nullopt},
             {"REGISTRY_AUTH_FILE", std::nullopt}}) {}
  TempDir home;
  ScopedEnvironment env;
};

// A TLS registry with htpasswd auth holding the sample app:1.0 at
// team/app:1.0, pushed by skopeo.
struct AuthRegistry {
  AuthRegistry(const std::string& user_name, const std::string& user_password)
      : registry(RegistryOptions{true, user_name, user_password}),
        user(user_name),
        password(user_password) {
    Require(Run(Concat({"skopeo", "--insecure-policy", "copy", "--quiet"},
                       Concat(registry.Flags("dest"), {"oci:" + SampleLayout() + ":app:1.0",
                                                       "docker://" + host() + "/team/app:1.0"}))));
  }
  std::string host() const { return registry.host(); }
  std::string image() const { return "docker://" + host() + "/team/app:1.0"; }
  std::string creds() const { return user + ":" + password; }

  TestRegistry registry;
  std::string user;
  std::string password;
};

// sluice export of one registry image, trusting the registry's CA, quiet.
RunResult ExportFrom(Workspace& w, const AuthRegistry& source, const std::string& bundle,
                     const std::vector<std::string>& flags, const std::string& stdin_path = "") {
  return Sluice(
      Concat({"export", source.image(), "--ledger", w.ledger, "--sign-key", w.keys.private_key,
              "-o", bundle, "-q", "--src-cert-dir", source.registry.ca_dir()},
             flags),
      stdin_path);
}

// sluice import BUNDLE --to docker://HOST/PREFIX, trusting the registry's CA,
// with --json on stdout.
RunResult ImportInto(Workspace& w, const std::string& bundle, const AuthRegistry& destination,
                     const std::vector<std::string>& flags, const std::string& stdin_path = "",
                     const std::string& prefix = "mirror") {
  return Sluice(Concat({"import", bundle, "--trust", w.keys.public_key, "--to",
                        "docker://" + destination.host() + "/" + prefix, "--mapping", "", "-q",
                        "--json", "--dest-cert-dir", destination.registry.ca_dir()},
                       flags),
                stdin_path);
}

// A bundle of the sample app:1.0 exported from the OCI layout (no registry).
std::string LocalBundle(Workspace& w) {
  std::string bundle = w.dir / "local.sluice";
  Require(w.Export({"oci:" + SampleLayout() + ":app:1.0"}, bundle, {"-q"}));
  return bundle;
}

// The digest skopeo reads at docker://HOST/REF with the registry's own
// credentials.
std::string RegistryDigest(const AuthRegistry& r, const std::string& ref) {
  RunResult raw = Run(Concat({"skopeo", "inspect", "--raw"},
                             Concat(r.registry.Flags(""), {"docker://" + r.host() + "/" + ref})));
  Require(raw);
  return Sha256Digest(raw.out);
}

TEST_CASE(
    "export reads a registry with basic auth given --src-creds USER:PASSWORD, and its "
    "--json report holds no password",
    "[e2e][registry][credentials]") {
  IsolatedHome isolated;
  AuthRegistry source("alice", kAlicePassword);
  Workspace w;
  std::string bundle = w.dir / "b.sluice";
  RunResult r = ExportFrom(w, source, bundle, {"--src-creds", source.creds(), "--json"});
  Require(r);
  RequireNotPrinted(r, {kAlicePassword});
  nlohmann::json report = ParseJson(r.out);
  REQUIRE(report.at("refs").size() == 1);
  CHECK(report["refs"][0].at("repository") == "team/app");
  CHECK(report["refs"][0].at("tag") == "1.0");
  CHECK(report.at("manifests") == 1);
}

TEST_CASE("a wrong password exits 4 naming the host, and no password is printed",
          "[e2e][registry][credentials]") {
  IsolatedHome isolated;
  AuthRegistry registry("alice", kAlicePassword);
  const std::string wrong = "Wr0ng-Guess";
  Workspace w;

  SECTION("at the source, with and without --json") {
    for (const std::vector<std::string>& extra :
         {std::vector<std::string>{}, std::vector<std::string>{"--json"}}) {
      RunResult r = ExportFrom(w, registry, w.dir / "b.sluice",
                               Concat({"--src-creds", "alice:" + wrong}, extra));
      INFO(r.Describe());
      CHECK(r.exit_code == 4);
      CHECK(Contains(r.ErrorLine(), registry.host()));
      CHECK(Contains(r.ErrorLine(), "wrong user name or password"));
      RequireNotPrinted(r, {wrong, kAlicePassword});
      CHECK_FALSE(Exists(w.dir / "b.sluice"));
    }
  }
  SECTION("at the destination") {
    std::string bundle = LocalBundle(w);
    RunResult r = ImportInto(w, bundle, registry, {"--dest-creds", "alice:" + wrong});
    INFO(r.Describe());
    CHECK(r.exit_code == 4);
    CHECK(Contains(r.ErrorLine(), registry.host()));
    RequireNotPrinted(r, {wrong, kAlicePassword});
  }
  SECTION("a misspelt option is named without the password given to it") {
    RunResult r = ExportFrom(w, registry, w.dir / "b.sluice", {"--src-cred5=alice:" + wrong});
    INFO(r.Describe());
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.err, "unrecognised option '--src-cred5'"));
    RequireNotPrinted(r, {wrong});
  }
}

TEST_CASE(
    "export with --src-creds USER and --password-stdin takes the password from the first "
    "line of standard input",
    "[e2e][registry][credentials]") {
  IsolatedHome isolated;
  AuthRegistry source("alice", kAlicePassword);
  Workspace w;
  std::string bundle = w.dir / "b.sluice";
  const std::vector<std::string> flags = {"--src-creds", "alice", "--password-stdin"};

  SECTION("the first line is the password; what follows is not read") {
    WriteFile(w.dir / "stdin", kAlicePassword + "\nnot a password\n");
    RunResult r = ExportFrom(w, source, bundle, flags, w.dir / "stdin");
    Require(r);
    RequireNotPrinted(r, {kAlicePassword});
    CHECK(Exists(bundle));
  }
  SECTION("a wrong line is sent, and refused") {
    WriteFile(w.dir / "stdin", "Wr0ng-Guess\n" + kAlicePassword + "\n");
    RunResult r = ExportFrom(w, source, bundle, flags, w.dir / "stdin");
    INFO(r.Describe());
    CHECK(r.exit_code == 4);
    CHECK(Contains(r.ErrorLine(), source.host()));
    RequireNotPrinted(r, {"Wr0ng-Guess", kAlicePassword});
  }
  SECTION("an empty standard input is a usage error") {
    WriteFile(w.dir / "stdin", "");
    RunResult r = ExportFrom(w, source, bundle, flags, w.dir / "stdin");
    INFO(r.Describe());
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.ErrorLine(), "--password-stdin: standard input is empty"));
  }
}

TEST_CASE("import --to docker:// takes --dest-creds USER with the password on --password-stdin",
          "[e2e][registry][credentials]") {
  IsolatedHome isolated;
  AuthRegistry destination("bob", kBobPassword);
  Workspace w;
  std::string bundle = LocalBundle(w);
  WriteFile(w.dir / "stdin", kBobPassword + "\n");
  RunResult r = ImportInto(w, bundle, destination, {"--dest-creds", "bob", "--password-stdin"},
                           w.dir / "stdin");
  Require(r);
  RequireNotPrinted(r, {kBobPassword});
  nlohmann::json report = ParseJson(r.out);
  REQUIRE(report.at("refs").size() == 1);
  const std::string digest = TaggedDigest(SampleLayout(), "app:1.0");
  CHECK(report["refs"][0].at("digest") == digest);
  CHECK(RegistryDigest(destination, "mirror/app:1.0") == digest);
}

TEST_CASE("import refuses --password-stdin when standard input is the bundle",
          "[e2e][registry][credentials]") {
  Workspace w;
  std::string bundle = LocalBundle(w);
  for (const char* stdin_name : {"-", "/dev/stdin"}) {
    RunResult r = Sluice({"import", stdin_name, "--trust", w.keys.public_key, "--to",
                          "docker://127.0.0.1:9/mirror", "--dest-creds", "bob", "--password-stdin"},
                         bundle);
    INFO(r.Describe());
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.ErrorLine(), "--password-stdin: standard input is the bundle"));
  }
}

TEST_CASE(
    "export with --src-creds USER, no terminal and no --password-stdin fails at once "
    "with exit 2, saying to use --password-stdin",
    "[e2e][registry][credentials]") {
  IsolatedHome isolated;
  AuthRegistry source("alice", kAlicePassword);
  Workspace w;
  std::string bundle = w.dir / "b.sluice";
  // setsid: a session of its own, with no controlling terminal to open.
  RunResult r = Run({"setsid", "--wait", SLUICE_BINARY, "export", source.image(), "--ledger",
                     w.ledger, "--sign-key", w.keys.private_key, "-o", bundle, "--src-cert-dir",
                     source.registry.ca_dir(), "--src-creds", "alice"});
  INFO(r.Describe());
  CHECK(r.exit_code == 2);
  CHECK(Contains(r.ErrorLine(), "--src-creds alice gives no password, and there is no terminal"));
  CHECK(Contains(r.ErrorLine(), "pass --password-stdin"));
  CHECK_FALSE(Exists(bundle));
  CHECK_FALSE(Exists(w.ledger));
}

TEST_CASE(
    "export with --src-creds USER on a terminal asks for the password with echo off, and "
    "succeeds",
    "[e2e][registry][credentials]") {
  IsolatedHome isolated;
  AuthRegistry source("alice", kAlicePassword);
  Workspace w;
  std::string bundle = w.dir / "b.sluice";
  std::string export_line = ShellQuote(
      std::vector<std::string>{SLUICE_BINARY, "export", source.image(), "--ledger", w.ledger,
                               "--sign-key", w.keys.private_key, "-o", bundle, "-q",
                               "--src-cert-dir", source.registry.ca_dir(), "--src-creds", "alice"});
  WriteFile(w.dir / "password", kAlicePassword + "\n");
  // script(1) runs sluice on a pseudo-terminal and copies its own stdin, a
  // FIFO, to it. The password goes in only once the prompt is out, so a
  // password echoed by the terminal would be in the transcript.
  std::string driver =
      "set -e; cd " + ShellQuote(w.dir.path()) + "; mkfifo keys; script -qfec " +
      ShellQuote(export_line) +
      " /dev/null < keys > transcript 2>&1 & exec 3> keys; "
      "for i in $(seq 600); do grep -q 'Password for alice on' transcript && break; "
      "sleep 0.1; done; cat password >&3; exec 3>&-; wait $!";
  RunResult r = testing::RunShell(driver);
  std::string transcript = ReadFile(w.dir / "transcript");
  INFO(r.Describe() << "\ntranscript:\n" << transcript);
  CHECK(r.exit_code == 0);
  CHECK(Contains(transcript, "Password for alice on " + source.host() + ": "));
  CHECK_FALSE(Contains(transcript, kAlicePassword));
  CHECK(Exists(bundle));
}

TEST_CASE(
    "the auth files of --src-authfile and --dest-authfile each serve their own side over "
    "--authfile, which serves both, and --src-creds and --dest-creds win over any auth file",
    "[e2e][registry][credentials]") {
  IsolatedHome isolated;
  AuthRegistry a("alice", kAlicePassword);
  AuthRegistry b("bob", kBobPassword);
  Workspace w;
  const std::string a_json = w.dir / "a.json";
  const std::string b_json = w.dir / "b.json";
  const std::string both_json = w.dir / "both.json";
  const std::string wrong_json = w.dir / "wrong.json";
  WriteFile(a_json, AuthFile({{a.host(), a.creds()}}));
  WriteFile(b_json, AuthFile({{b.host(), b.creds()}}));
  WriteFile(both_json, AuthFile({{a.host(), a.creds()}, {b.host(), b.creds()}}));
  WriteFile(wrong_json, AuthFile({{a.host(), "alice:Wr0ng-Guess"}, {b.host(), "bob:Wr0ng"}}));
  const std::string digest = RegistryDigest(a, "team/app:1.0");
  // Every import goes to a prefix of its own: each one talks to the registry.
  auto import_into_b = [&](const std::string& bundle, const std::string& prefix,
                           const std::vector<std::string>& flags) {
    return ImportInto(w, bundle, b, flags, "", prefix);
  };

  // Each side's file for its own registry, over --authfile.
  std::string side_files = w.dir / "side-files.sluice";
  Require(ExportFrom(w, a, side_files, {"--src-authfile", a_json, "--authfile", b_json}));
  RunResult imported =
      import_into_b(side_files, "side-files", {"--dest-authfile", b_json, "--authfile", a_json});
  Require(imported);
  CHECK(ParseJson(imported.out).at("refs")[0].at("digest") == digest);
  CHECK(RegistryDigest(b, "side-files/team/app:1.0") == digest);

  // A side's file with no entry for its registry: 4, naming the host and the
  // file, whatever --authfile holds.
  RunResult from =
      ExportFrom(w, a, w.dir / "no.sluice", {"--src-authfile", b_json, "--authfile", a_json});
  INFO(from.Describe());
  CHECK(from.exit_code == 4);
  CHECK(Contains(from.ErrorLine(), a.host()));
  CHECK(Contains(from.ErrorLine(), "no credentials found in " + b_json));
  RequireNotPrinted(from, {kAlicePassword, kBobPassword});
  RunResult into =
      import_into_b(side_files, "refused", {"--dest-authfile", a_json, "--authfile", b_json});
  INFO(into.Describe());
  CHECK(into.exit_code == 4);
  CHECK(Contains(into.ErrorLine(), b.host()));
  CHECK(Contains(into.ErrorLine(), "no credentials found in " + a_json +
                                       "; pass --dest-creds USER[:PASSWORD] or --dest-authfile "
                                       "FILE"));
  RequireNotPrinted(into, {kAlicePassword, kBobPassword});

  // --authfile alone serves both sides.
  std::string one_file = w.dir / "one-file.sluice";
  Require(ExportFrom(w, a, one_file, {"--authfile", both_json}));
  Require(import_into_b(one_file, "one-file", {"--authfile", both_json}));
  CHECK(RegistryDigest(b, "one-file/team/app:1.0") == digest);

  // $REGISTRY_AUTH_FILE is the default --authfile, and the only file
  // searched: a right entry in ~/.docker/config.json is not read beside it.
  WriteFile(isolated.home / ".docker/config.json", AuthFile({{b.host(), b.creds()}}));
  {
    ScopedEnvironment env({{"REGISTRY_AUTH_FILE", a_json}});
    std::string from_env = w.dir / "env.sluice";
    Require(ExportFrom(w, a, from_env, {}));
    RunResult env_only = import_into_b(from_env, "env", {});
    INFO(env_only.Describe());
    CHECK(env_only.exit_code == 4);
    CHECK(Contains(env_only.ErrorLine(), "no credentials found in " + a_json));
    Require(import_into_b(from_env, "env", {"--authfile", b_json}));
  }
  // Without it, the default search reaches ~/.docker/config.json.
  Require(import_into_b(side_files, "docker-config", {}));
  CHECK(RegistryDigest(b, "docker-config/team/app:1.0") == digest);

  // --src-creds and --dest-creds win over wrong entries of an auth file.
  std::string creds = w.dir / "creds.sluice";
  Require(ExportFrom(w, a, creds, {"--authfile", wrong_json, "--src-creds", a.creds()}));
  Require(
      import_into_b(creds, "creds", {"--dest-authfile", wrong_json, "--dest-creds", b.creds()}));
  RunResult wrong = import_into_b(creds, "wrong", {"--dest-authfile", wrong_json});
  INFO(wrong.Describe());
  CHECK(wrong.exit_code == 4);
  CHECK(Contains(wrong.ErrorLine(), "wrong user name or password"));
  RequireNotPrinted(wrong, {"Wr0ng", kBobPassword});
}

TEST_CASE(
    "registry credential flags that do not go together are usage errors, printing no "
    "password",
    "[e2e][credentials]") {
  Workspace w;
  std::string bundle = w.dir / "b.sluice";
  struct Case {
    std::vector<std::string> flags;
    std::string says;
  };
  const Case cases[] = {
      {{"--password-stdin"}, "--password-stdin reads the password of --src-creds USER"},
      {{"--src-creds", "alice:Pa55-given", "--password-stdin"},
       "--password-stdin, and a password in --src-creds USER:PASSWORD too"},
      {{"--src-creds", ""}, "--src-creds is empty"},
      {{"--src-creds", ":Pa55-given"}, "--src-creds names no user"},
      {{"--src-authfile", w.dir / "missing.json"},
       "--src-authfile " + w.dir / "missing.json" + " does not exist"},
      {{"--authfile", w.dir / "missing.json"}, "--authfile " + w.dir / "missing.json"},
  };
  for (const Case& c : cases) {
    RunResult r = w.Export({"docker://127.0.0.1:9/team/app:1.0"}, bundle, c.flags);
    INFO(r.Describe());
    CHECK(r.exit_code == 2);
    CHECK(Contains(r.ErrorLine(), c.says));
    RequireNotPrinted(r, {"Pa55-given"});
  }
  // The password of --src-creds belongs to one registry, never sent to two.
  RunResult two = w.Export({"docker://127.0.0.1:9/team/app:1.0", "docker://127.0.0.2:9/app:1"},
                           bundle, {"--src-creds", "alice:Pa55-given"});
  INFO(two.Describe());
  CHECK(two.exit_code == 2);
  CHECK(Contains(two.ErrorLine(),
                 "--src-creds is for one registry, and 127.0.0.1:9 and "
                 "127.0.0.2:9 are two"));
  RequireNotPrinted(two, {"Pa55-given"});
  CHECK_FALSE(Exists(bundle));
}

}  // namespace
}  // namespace sluice::e2e
