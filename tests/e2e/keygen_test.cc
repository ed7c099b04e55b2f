// sluice keygen: PEM files, a private key only its owner can read, and never
// an overwritten key.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

unsigned Mode(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

TEST_CASE("keygen writes a PEM key pair with a private key of mode 0600", "[e2e][keygen]") {
  TempDir dir;
  RunResult r = Sluice({"keygen", "--private", dir / "k.key", "--public", dir / "k.pub"});
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  std::string private_pem = ReadFile(dir / "k.key");
  std::string public_pem = ReadFile(dir / "k.pub");
  CHECK(StartsWith(private_pem, "-----BEGIN PRIVATE KEY-----\n"));
  CHECK(private_pem.find("-----END PRIVATE KEY-----") != std::string::npos);
  CHECK(StartsWith(public_pem, "-----BEGIN PUBLIC KEY-----\n"));
  CHECK(public_pem.find("-----END PUBLIC KEY-----") != std::string::npos);
  CHECK(public_pem.find("PRIVATE") == std::string::npos);
  CHECK(Mode(dir / "k.key") == 0600);
}

TEST_CASE("keygen into a directory that does not exist says so and writes nothing",
          "[e2e][keygen]") {
  TempDir dir;
  RunResult r = Sluice({"keygen", "--private", dir / "keys/k.key", "--public", dir / "k.pub"});
  INFO(r.Describe());
  CHECK(r.exit_code != 0);
  CHECK(r.ErrorLine().find("directory " + dir / "keys" + " does not exist") != std::string::npos);
  CHECK(r.ErrorLine().find(".tmp-") == std::string::npos);  // no temp-file path in the message
  CHECK(ListTree(dir.path()).empty());
}

TEST_CASE("keygen makes a different key each time", "[e2e][keygen]") {
  TempDir dir;
  KeyPair a = MakeKeys(dir, "a");
  KeyPair b = MakeKeys(dir, "b");
  CHECK(ReadFile(a.public_key) != ReadFile(b.public_key));
  CHECK(ReadFile(a.private_key) != ReadFile(b.private_key));
}

TEST_CASE("keygen refuses to overwrite an existing key pair and names the file",
          "[e2e][keygen]") {
  TempDir dir;
  KeyPair keys = MakeKeys(dir, "k");
  std::string private_before = ReadFile(keys.private_key);
  std::string public_before = ReadFile(keys.public_key);

  RunResult r = Sluice({"keygen", "--private", keys.private_key, "--public", keys.public_key});
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK_FALSE(r.ErrorLine().empty());
  CHECK(r.ErrorLine().find(keys.private_key) != std::string::npos);
  CHECK(ReadFile(keys.private_key) == private_before);
  CHECK(ReadFile(keys.public_key) == public_before);
}

TEST_CASE("keygen refuses an existing public key file and leaves no half key pair",
          "[e2e][keygen]") {
  TempDir dir;
  WriteFile(dir / "k.pub", "someone else's key\n");
  RunResult r = Sluice({"keygen", "--private", dir / "k.key", "--public", dir / "k.pub"});
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK_FALSE(r.ErrorLine().empty());
  CHECK(r.ErrorLine().find(dir / "k.pub") != std::string::npos);
  CHECK(ReadFile(dir / "k.pub") == "someone else's key\n");
  CHECK_FALSE(Exists(dir / "k.key"));
}

TEST_CASE("keygen without --public is a usage error", "[e2e][keygen][usage]") {
  TempDir dir;
  RunResult r = Sluice({"keygen", "--private", dir / "k.key"});
  INFO(r.Describe());
  CHECK(r.exit_code == 2);
  CHECK_FALSE(Exists(dir / "k.key"));
}

TEST_CASE("export and inventory refuse a private key that group or others may read, unless "
          "--allow-insecure-key-permissions",
          "[e2e][keygen]") {
  Workspace ws;
  REQUIRE(::chmod(ws.keys.private_key.c_str(), 0644) == 0);
  const std::string source = "oci:" + SampleLayout() + ":app:1.0";
  const std::string bundle = ws.dir / "b.sluice";
  const std::string inventory = ws.dir / "inventory.json";
  const std::vector<std::string> take_inventory = {"inventory", "--from", "oci:" + SampleLayout(),
                                                   "-o", inventory, "--sign-key",
                                                   ws.keys.private_key};

  RunResult exported = ws.Export({source}, bundle);
  RunResult listed = Sluice(take_inventory);
  for (const RunResult* r : {&exported, &listed}) {
    INFO(r->Describe());
    CHECK(r->exit_code == 2);
    CHECK(r->ErrorLine().find(ws.keys.private_key + " has mode 0644") != std::string::npos);
    CHECK(r->ErrorLine().find("chmod 600 " + ws.keys.private_key) != std::string::npos);
    CHECK(r->ErrorLine().find("--allow-insecure-key-permissions") != std::string::npos);
  }
  CHECK_FALSE(Exists(bundle));
  CHECK_FALSE(Exists(ws.ledger));
  CHECK_FALSE(Exists(inventory));

  // Allowed, it is used, with a warning.
  exported = ws.Export({source}, bundle, {"--allow-insecure-key-permissions"});
  std::vector<std::string> allowed = take_inventory;
  allowed.push_back("--allow-insecure-key-permissions");
  listed = Sluice(allowed);
  for (const RunResult* r : {&exported, &listed}) {
    INFO(r->Describe());
    CHECK(r->exit_code == 0);
    CHECK(r->err.find("WARNING") != std::string::npos);
    CHECK(r->err.find("mode 0644") != std::string::npos);
  }
  CHECK(Exists(bundle));
  CHECK(Exists(inventory));
}

TEST_CASE("an encrypted private key is refused as encrypted, and no passphrase is asked for even "
          "with one waiting on stdin",
          "[e2e][keygen]") {
  Workspace ws;
  const std::string encrypted = ws.dir / "encrypted.key";
  RunResult made = Run({"openssl", "pkey", "-in", ws.keys.private_key, "-aes256", "-passout",
                        "pass:secret", "-out", encrypted});
  INFO(made.Describe());
  REQUIRE(made.exit_code == 0);
  REQUIRE(::chmod(encrypted.c_str(), 0600) == 0);
  // OpenSSL's own prompt reads the terminal, or stdin when there is none.
  WriteFile(ws.dir / "passphrase", "secret\n");
  const std::string bundle = ws.dir / "b.sluice";

  RunResult r = Sluice({"export", "oci:" + SampleLayout() + ":app:1.0", "--ledger", ws.ledger,
                        "--sign-key", encrypted, "-o", bundle},
                       ws.dir / "passphrase");
  INFO(r.Describe());
  CHECK(r.exit_code == 2);
  CHECK(r.ErrorLine().find(encrypted + " is encrypted") != std::string::npos);
  CHECK(r.ErrorLine().find("openssl pkey -in " + encrypted + " -out ") != std::string::npos);
  CHECK(r.err.find("pass phrase") == std::string::npos);
  CHECK_FALSE(Exists(bundle));
  CHECK_FALSE(Exists(ws.ledger));
}

}  // namespace
}  // namespace sluice::e2e
