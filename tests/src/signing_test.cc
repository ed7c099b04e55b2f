#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>

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

TEST_CASE("a private key file that group or others may read is refused, naming it, its mode "
          "and chmod 600") {
  TempDir tmp;
  io::FileSystem* fs = io::DefaultFileSystem();
  const std::string key = tmp / "k";
  REQUIRE(GenerateKeyPair(fs, key, tmp / "k.pub").ok());
  for (mode_t mode : {0644, 0640, 0604, 0660, 0666}) {
    REQUIRE(::chmod(key.c_str(), mode) == 0);
    Status s = CheckPrivateKeyPermissions(fs, key);
    INFO(s.ToString());
    REQUIRE_FALSE(s.ok());
    CHECK(s.kind() == ErrorKind::kInvalidArgument);
    char octal[16];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    CHECK(s.message().find(key + " has mode " + octal) != std::string::npos);
    CHECK(s.message().find("chmod 600 " + key) != std::string::npos);
  }
}

TEST_CASE("a private key file only its owner may read passes the permission check") {
  TempDir tmp;
  io::FileSystem* fs = io::DefaultFileSystem();
  const std::string key = tmp / "k";
  REQUIRE(GenerateKeyPair(fs, key, tmp / "k.pub").ok());
  for (mode_t mode : {0600, 0400}) {
    REQUIRE(::chmod(key.c_str(), mode) == 0);
    CHECK(CheckPrivateKeyPermissions(fs, key).ok());
  }
  Status missing = CheckPrivateKeyPermissions(fs, tmp / "absent");
  CHECK(missing.kind() == ErrorKind::kNotFound);
  CHECK(missing.message().find(tmp / "absent") != std::string::npos);
}

// An Ed25519 key encrypted with `openssl pkey -aes256` (PKCS#8), and an EC key
// encrypted the traditional way (`openssl ec -aes256`); both with passphrase
// "secret". OpenSSL, given no passphrase callback, would prompt for it.
constexpr const char* kEncryptedPkcs8 = R"(-----BEGIN ENCRYPTED PRIVATE KEY-----
MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjSIrQCZb3+EwICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEHc1hImuXlgsEDQQaQZNZpYEQJtU
rXbsT0xpV6w21k3e3167LJCEZjTvrSTEgpFJK/rY8q2shh6dYb+KyzoAiJtoXMG6
roLEf01x0yQUkJk1+gA=
-----END ENCRYPTED PRIVATE KEY-----
)";
constexpr const char* kEncryptedTraditional = R"(-----BEGIN EC PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-256-CBC,CF8D0A4A4B38E5A815425CC88AA22E96

aQUzXD/LMicF4NUtEJGMr7Li4dmZv6ZSPHUEblLOkoHTZhin/fnE9T0Z3UVxuMIR
YmoXWk29vY+csKp7njCkCCCdAWY/ChksndcF41aQWVir4gk3wI7qm5Lpr/ARp4OV
HSW1zKPuwcPOM7nerwsBn/P1bHEry3avBmbJxqDMc8U=
-----END EC PRIVATE KEY-----
)";

TEST_CASE("an encrypted PEM private key is refused as encrypted, with how to decrypt a copy, "
          "never asking for a passphrase") {
  TempDir tmp;
  for (const char* pem : {kEncryptedPkcs8, kEncryptedTraditional}) {
    const std::string key = tmp / "encrypted.key";
    testing::WriteFile(key, pem);
    auto loaded = LoadPrivateKey(io::DefaultFileSystem(), key);
    REQUIRE_FALSE(loaded.ok());
    const std::string message = loaded.status().message();
    INFO(message);
    CHECK(loaded.status().kind() == ErrorKind::kInvalidArgument);
    CHECK(message.find(key + " is encrypted") != std::string::npos);
    CHECK(message.find("openssl pkey -in " + key + " -out ") != std::string::npos);
  }
}
