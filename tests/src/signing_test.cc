#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "signing.h"
#include "test_support.h"

using namespace sluice;
using sluice::testing::TempDir;

TEST_CASE("keygen writes a PEM pair with a 0600 private key") {
  TempDir tmp;
  REQUIRE(GenerateKeyPair(io::DefaultFileSystem(), tmp / "k", tmp / "k.pub").ok());
  struct stat st {};
  REQUIRE(stat((tmp / "k").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto priv = LoadPrivateKey(io::DefaultFileSystem(), tmp / "k");
  auto pub = LoadPublicKey(io::DefaultFileSystem(), tmp / "k.pub");
  REQUIRE(priv.ok());
  REQUIRE(pub.ok());
  CHECK(priv->public_key() == *pub);
}

TEST_CASE("keygen refuses to overwrite either file") {
  TempDir tmp;
  testing::WriteFile(tmp / "k.pub", "keep me");
  Status s = GenerateKeyPair(io::DefaultFileSystem(), tmp / "k", tmp / "k.pub");
  REQUIRE_FALSE(s.ok());
  CHECK(s.kind() == ErrorKind::kAlreadyExists);
  CHECK(s.message().find("k.pub") != std::string::npos);
  CHECK(testing::ReadFile(tmp / "k.pub") == "keep me");
  CHECK_FALSE(io::DefaultFileSystem()->Exists(tmp / "k"));
}

TEST_CASE("a trust directory trusts every key in it") {
  TempDir tmp;
  io::FileSystem* fs = io::DefaultFileSystem();
  REQUIRE(fs->CreateDirs(tmp / "trust").ok());
  REQUIRE(GenerateKeyPair(fs, tmp / "a", tmp / "trust/a.pub").ok());
  REQUIRE(GenerateKeyPair(fs, tmp / "b", tmp / "trust/b.pem").ok());
  testing::WriteFile(tmp / "trust/README", "not a key");
  auto keys = LoadTrustedKeys(fs, {tmp / "trust"});
  REQUIRE(keys.ok());
  CHECK(keys->size() == 2);
}

TEST_CASE("a file that is not a key is refused naming it") {
  TempDir tmp;
  testing::WriteFile(tmp / "bad.pub", "hello");
  auto keys = LoadTrustedKeys(io::DefaultFileSystem(), {tmp / "bad.pub"});
  REQUIRE_FALSE(keys.ok());
  CHECK(keys.status().message().find("bad.pub") != std::string::npos);
}
