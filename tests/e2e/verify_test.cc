// sluice verify (and import) catch damaged bytes and untrusted signers, and
// say where: an offset or a blob for damage, a key fingerprint for a signer.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool NamesAPlace(const std::string& message) {
  return message.find("offset") != std::string::npos ||
         message.find("sha256:") != std::string::npos;
}

// A bundle of app:1.0, and a copy of it with one byte changed at `at`.
struct DamagedBundle {
  explicit DamagedBundle(double where) {
    RunResult e = w.Export({"oci:" + SampleLayout() + ":app:1.0"}, good);
    if (e.exit_code != 0) FAIL(e.Describe());
    std::string bytes = ReadFile(good);
    at = static_cast<size_t>(static_cast<double>(bytes.size()) * where);
    bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
    WriteFile(bad, bytes);
  }
  Workspace w;
  std::string good = w.dir / "good";
  std::string bad = w.dir / "bad";
  size_t at = 0;
};

TEST_CASE("verify accepts an intact bundle", "[e2e][verify]") {
  DamagedBundle b(0.5);
  RunResult r = b.w.Verify(b.good);
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
}

TEST_CASE("verify rejects a bundle with a flipped byte in the middle and says where",
          "[e2e][verify]") {
  DamagedBundle b(0.5);
  RunResult r = b.w.Verify(b.bad);
  INFO("flipped byte at offset " << b.at << "\n" << r.Describe());
  CHECK(r.exit_code == 3);
  CHECK_FALSE(r.ErrorLine().empty());
  CHECK(NamesAPlace(r.ErrorLine()));
}

TEST_CASE("verify rejects a bundle with a flipped byte in the header", "[e2e][verify]") {
  DamagedBundle b(0.0);
  b.at = 30;  // inside bundle_id, covered by the header checksum
  std::string bytes = ReadFile(b.good);
  bytes[b.at] = static_cast<char>(bytes[b.at] ^ 1);
  WriteFile(b.bad, bytes);
  RunResult r = b.w.Verify(b.bad);
  INFO(r.Describe());
  CHECK(r.exit_code == 3);
  CHECK_FALSE(r.ErrorLine().empty());
}

TEST_CASE("verify rejects a truncated bundle", "[e2e][verify]") {
  DamagedBundle b(0.5);
  std::string bytes = ReadFile(b.good);
  WriteFile(b.bad, bytes.substr(0, bytes.size() - 100));
  RunResult r = b.w.Verify(b.bad);
  INFO(r.Describe());
  CHECK(r.exit_code == 3);
  CHECK_FALSE(r.ErrorLine().empty());
}

TEST_CASE("import of a damaged bundle fails as corrupt and tags nothing", "[e2e][verify][import]") {
  DamagedBundle b(0.5);
  std::string out = b.w.dir / "out";
  RunResult r = b.w.Import(b.bad, out);
  INFO("flipped byte at offset " << b.at << "\n" << r.Describe());
  CHECK(r.exit_code == 3);
  CHECK_FALSE(r.ErrorLine().empty());
  CHECK(TaggedDigest(out, "app:1.0").empty());
}

TEST_CASE("verify with a key that did not sign the bundle fails and names the signer",
          "[e2e][verify]") {
  DamagedBundle b(0.5);
  KeyPair stranger = MakeKeys(b.w.dir, "stranger");
  std::string signer = InspectJson(b.good).at("signer");
  REQUIRE(StartsWith(signer, "sha256:"));
  std::string signer_hex = signer.substr(7);

  RunResult r = Sluice({"verify", b.good, "--trust", stranger.public_key});
  INFO(r.Describe());
  CHECK(r.exit_code == 3);
  CHECK_FALSE(r.ErrorLine().empty());
  CHECK(r.ErrorLine().find(signer_hex) != std::string::npos);

  RunResult i = Sluice({"import", b.good, "--trust", stranger.public_key, "--to",
                        "oci:" + (b.w.dir / "out")});
  INFO(i.Describe());
  CHECK(i.exit_code == 3);
  CHECK(TaggedDigest(b.w.dir / "out", "app:1.0").empty());
}

TEST_CASE("verify accepts a bundle when one of several trusted keys signed it",
          "[e2e][verify]") {
  DamagedBundle b(0.5);
  KeyPair stranger = MakeKeys(b.w.dir, "stranger");
  RunResult r = Sluice({"verify", b.good, "--trust", stranger.public_key, "--trust",
                        b.w.keys.public_key});
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
}

}  // namespace
}  // namespace sluice::e2e
