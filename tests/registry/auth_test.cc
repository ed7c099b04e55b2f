#include "registry/auth.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <optional>

#include "io/atomic_file.h"
#include "io/memory_file_system.h"
#include "tests/support/environment.h"

namespace sluice::registry {
namespace {

std::string AuthEntry(const std::string& user_pass) {
  return "{\"auth\":\"" + Base64Encode(user_pass) + "\"}";
}

TEST_CASE("base64 round-trips every length through OpenSSL") {
  std::string data;
  for (int i = 0; i < 40; ++i) {
    auto decoded = Base64Decode(Base64Encode(data));
    REQUIRE(decoded.ok());
    CHECK(*decoded == data);
    data.push_back(static_cast<char>(i * 37));
  }
  CHECK(Base64Encode("user:pass") == "dXNlcjpwYXNz");
  CHECK(*Base64Decode("dXNlcjpwYXNz") == "user:pass");
  CHECK(*Base64Decode("YQ==") == "a");
  CHECK(*Base64Decode("YWI=") == "ab");
}

TEST_CASE("base64 decoding rejects malformed text") {
  CHECK_FALSE(Base64Decode("abc").ok());
  CHECK_FALSE(Base64Decode("a$c=").ok());
}

TEST_CASE("credentials split at the first colon") {
  auto c = ParseCredentials("alice:pa:ss");
  REQUIRE(c.ok());
  CHECK(c->username == "alice");
  CHECK(c->password == "pa:ss");
  CHECK(ParseCredentials("bob:")->password.empty());
  CHECK_FALSE(ParseCredentials("nocolon").ok());
  CHECK_FALSE(ParseCredentials(":pass").ok());
}

TEST_CASE("a bearer challenge yields realm, service and scope") {
  auto c = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
      R"(scope="repository:library/alpine:pull")");
  REQUIRE(c.ok());
  REQUIRE(c->size() == 1);
  CHECK((*c)[0].scheme == "bearer");
  CHECK((*c)[0].Param("realm") == "https://auth.docker.io/token");
  CHECK((*c)[0].Param("service") == "registry.docker.io");
  CHECK((*c)[0].Param("scope") == "repository:library/alpine:pull");
  CHECK((*c)[0].Param("error").empty());
}

TEST_CASE("challenge parsing handles case, spaces, escapes and unquoted values") {
  auto c = ParseWwwAuthenticate(
      R"(BEARER  Realm = "https://x/token" , Service=reg,scope="a \"b\" c",error="insufficient_scope")");
  REQUIRE(c.ok());
  REQUIRE(c->size() == 1);
  CHECK((*c)[0].scheme == "bearer");
  CHECK((*c)[0].Param("realm") == "https://x/token");
  CHECK((*c)[0].Param("service") == "reg");
  CHECK((*c)[0].Param("scope") == "a \"b\" c");
  CHECK((*c)[0].Param("error") == "insufficient_scope");
}

TEST_CASE("several challenges in one header are told apart") {
  auto c =
      ParseWwwAuthenticate(R"(Basic realm="Registry Realm", Bearer realm="https://t",service="s")");
  REQUIRE(c.ok());
  REQUIRE(c->size() == 2);
  CHECK((*c)[0].scheme == "basic");
  CHECK((*c)[0].Param("realm") == "Registry Realm");
  CHECK((*c)[1].scheme == "bearer");
  CHECK((*c)[1].Param("service") == "s");

  auto bare = ParseWwwAuthenticate("Negotiate, Basic realm=x");
  REQUIRE(bare.ok());
  REQUIRE(bare->size() == 2);
  CHECK((*bare)[0].scheme == "negotiate");
  CHECK((*bare)[1].Param("realm") == "x");
}

TEST_CASE("malformed challenges are refused") {
  CHECK_FALSE(ParseWwwAuthenticate("").ok());
  CHECK_FALSE(ParseWwwAuthenticate(R"(Bearer realm="unterminated)").ok());
  CHECK_FALSE(ParseWwwAuthenticate(R"(="x")").ok());
}

TEST_CASE("auth files give the entry for the host") {
  std::string json = R"({"auths":{"quay.io":)" + AuthEntry("q:1") + R"(,"127.0.0.1:5000":)" +
                     AuthEntry("local:2") + "}}";
  auto c = FindCredentialsInAuthFile(json, "auth.json", "127.0.0.1:5000", "repo");
  REQUIRE(c.ok());
  REQUIRE(c->has_value());
  CHECK((*c)->username == "local");
  CHECK((*c)->password == "2");
  auto none = FindCredentialsInAuthFile(json, "auth.json", "ghcr.io", "x");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
}

TEST_CASE("auth files prefer the most specific namespace") {
  std::string json = R"({"auths":{"quay.io":)" + AuthEntry("host:1") + R"(,"quay.io/team":)" +
                     AuthEntry("team:2") + R"(,"quay.io/team/app":)" + AuthEntry("app:3") + "}}";
  CHECK((*FindCredentialsInAuthFile(json, "f", "quay.io", "team/app"))->username == "app");
  CHECK((*FindCredentialsInAuthFile(json, "f", "quay.io", "team/other"))->username == "team");
  CHECK((*FindCredentialsInAuthFile(json, "f", "quay.io", "else/x"))->username == "host");
  CHECK((*FindCredentialsInAuthFile(json, "f", "quay.io", ""))->username == "host");
}

TEST_CASE("docker's legacy Hub key matches docker.io") {
  std::string json = R"({"auths":{"https://index.docker.io/v1/":)" + AuthEntry("hub:pw") +
                     R"(},"credsStore":"desktop"})";
  auto c = FindCredentialsInAuthFile(json, "config.json", "docker.io", "library/alpine");
  REQUIRE(c.ok());
  REQUIRE(c->has_value());
  CHECK((*c)->username == "hub");
  auto other = FindCredentialsInAuthFile(
      R"({"auths":{"https://registry.example:8443":)" + AuthEntry("r:s") + "}}", "f",
      "registry.example:8443", "a");
  REQUIRE(other.ok());
  CHECK((*other)->username == "r");
}

TEST_CASE("entries without auth are skipped; bad files name themselves") {
  auto empty = FindCredentialsInAuthFile(R"({"auths":{"h":{}}})", "f", "h", "r");
  REQUIRE(empty.ok());
  CHECK_FALSE(empty->has_value());
  auto no_auths = FindCredentialsInAuthFile(R"({"credHelpers":{}})", "f", "h", "r");
  REQUIRE(no_auths.ok());
  CHECK_FALSE(no_auths->has_value());

  auto bad_json = FindCredentialsInAuthFile("{nope", "/run/auth.json", "h", "r");
  REQUIRE_FALSE(bad_json.ok());
  CHECK(bad_json.status().message().find("/run/auth.json") != std::string::npos);

  auto bad_b64 = FindCredentialsInAuthFile(R"({"auths":{"h":{"auth":"***"}}})", "/a.json", "h", "");
  REQUIRE_FALSE(bad_b64.ok());
  CHECK(bad_b64.status().message().find("/a.json") != std::string::npos);
  CHECK(bad_b64.status().message().find("'h'") != std::string::npos);

  auto no_colon = FindCredentialsInAuthFile(
      R"({"auths":{"h":{"auth":")" + Base64Encode("justuser") + "\"}}}", "/a.json", "h", "");
  REQUIRE_FALSE(no_colon.ok());
}

TEST_CASE("credential lookup takes the first auth file with an entry") {
  io::MemoryFileSystem fs;
  REQUIRE(fs.CreateDirs("/run/containers").ok());
  REQUIRE(fs.CreateDirs("/home/u/.docker").ok());
  REQUIRE(io::WriteFileAtomically(&fs, "/run/containers/auth.json",
                                  io::AsBytes(R"({"auths":{"a.io":)" + AuthEntry("first:1") + "}}"))
              .ok());
  REQUIRE(io::WriteFileAtomically(&fs, "/home/u/.docker/config.json",
                                  io::AsBytes(R"({"auths":{"a.io":)" + AuthEntry("second:2") +
                                              R"(,"b.io":)" + AuthEntry("bee:3") + "}}"))
              .ok());
  std::vector<std::string> files = {"/missing/auth.json", "/run/containers/auth.json",
                                    "/home/u/.docker/config.json"};
  CHECK((*LookupCredentials(&fs, files, "a.io", "r"))->username == "first");
  CHECK((*LookupCredentials(&fs, files, "b.io", "r"))->username == "bee");
  CHECK_FALSE(LookupCredentials(&fs, files, "c.io", "r")->has_value());
}

TEST_CASE("docker's legacy .dockercfg is read by its name: entries at the root, no helpers") {
  io::MemoryFileSystem fs;
  REQUIRE(fs.CreateDirs("/home/u").ok());
  // As docker before 1.7 wrote it: the index URL as key, entries at the root.
  REQUIRE(io::WriteFileAtomically(
              &fs, "/home/u/.dockercfg",
              io::AsBytes(R"({"https://index.docker.io/v1/":)" + AuthEntry("hubuser:hub") +
                          R"(,"a.io":)" + AuthEntry("old:a") + "}"))
              .ok());
  CHECK((*LookupCredentials(&fs, {"/home/u/.dockercfg"}, "docker.io", "library/x"))->username ==
        "hubuser");
  CHECK((*LookupCredentials(&fs, {"/home/u/.dockercfg"}, "a.io", "r"))->password == "a");
  CHECK_FALSE(LookupCredentials(&fs, {"/home/u/.dockercfg"}, "b.io", "r")->has_value());
  // The same text under another name is a config.json without "auths".
  REQUIRE(io::WriteFileAtomically(&fs, "/home/u/config.json",
                                  io::AsBytes(R"({"a.io":)" + AuthEntry("old:a") + "}"))
              .ok());
  CHECK_FALSE(LookupCredentials(&fs, {"/home/u/config.json"}, "a.io", "r")->has_value());
}

TEST_CASE("the default auth files are containers-auth.json's, in its order") {
  using ::sluice::testing::ScopedEnvironment;
  SECTION("with every variable set") {
    ScopedEnvironment env({{"REGISTRY_AUTH_FILE", std::nullopt},
                           {"XDG_RUNTIME_DIR", "/run/user/7"},
                           {"XDG_CONFIG_HOME", "/cfg"},
                           {"DOCKER_CONFIG", "/dockercfgdir"},
                           {"HOME", "/home/u"}});
    CHECK(DefaultAuthFiles() ==
          std::vector<std::string>{"/run/user/7/containers/auth.json", "/cfg/containers/auth.json",
                                   "/dockercfgdir/config.json", "/home/u/.dockercfg"});
  }
  SECTION("with only HOME: the per-user file under /run, then the files of HOME") {
    ScopedEnvironment env({{"REGISTRY_AUTH_FILE", std::nullopt},
                           {"XDG_RUNTIME_DIR", std::nullopt},
                           {"XDG_CONFIG_HOME", std::nullopt},
                           {"DOCKER_CONFIG", std::nullopt},
                           {"HOME", "/home/u"}});
    CHECK(DefaultAuthFiles() ==
          std::vector<std::string>{"/run/containers/" + std::to_string(getuid()) + "/auth.json",
                                   "/home/u/.config/containers/auth.json",
                                   "/home/u/.docker/config.json", "/home/u/.dockercfg"});
  }
  SECTION("REGISTRY_AUTH_FILE, skopeo's default --authfile, is then the only one") {
    ScopedEnvironment env({{"REGISTRY_AUTH_FILE", "/etc/sluice/auth.json"},
                           {"XDG_RUNTIME_DIR", "/run/user/7"},
                           {"HOME", "/home/u"}});
    CHECK(DefaultAuthFiles() == std::vector<std::string>{"/etc/sluice/auth.json"});
  }
}

}  // namespace
}  // namespace sluice::registry
