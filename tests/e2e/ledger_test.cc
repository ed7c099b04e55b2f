// The ledger remembers what the far side holds: a second export ships only
// what is new.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

std::set<std::string> Shipped(const nlohmann::json& info) {
  std::set<std::string> digests;
  for (const auto& blob : info.at("blobs")) {
    if (blob.at("shipped") == true) digests.insert(blob.at("digest").get<std::string>());
  }
  return digests;
}

std::set<std::string> Minus(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> d;
  for (const std::string& x : a) {
    if (!b.count(x)) d.insert(x);
  }
  return d;
}

TEST_CASE("a second export of the same image with the same ledger ships no blob",
          "[e2e][ledger]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  std::string app = "oci:" + samples + ":app:1.0";
  RunResult first = w.Export({app}, w.dir / "bundle1");
  INFO(first.Describe());
  REQUIRE(first.exit_code == 0);
  RunResult second = w.Export({app}, w.dir / "bundle2");
  INFO(second.Describe());
  REQUIRE(second.exit_code == 0);

  nlohmann::json info1 = InspectJson(w.dir / "bundle1");
  nlohmann::json info2 = InspectJson(w.dir / "bundle2");
  INFO(info2.dump(2));
  std::set<std::string> image = ImageBlobs(samples, TaggedDigest(samples, "app:1.0"));
  CHECK(Shipped(info1) == image);
  CHECK(Shipped(info2).empty());
  CHECK(info2.at("raw_bytes") == 0);
  // Still a complete description of app:1.0, so the far side can tag it.
  REQUIRE(info2.at("refs").size() == 1);
  CHECK(info2.at("refs")[0].at("digest") == TaggedDigest(samples, "app:1.0"));
  // Tiny: the catalog and a signature, no layer bytes (app:1.0 is ~4.3 MiB).
  uint64_t size2 = ReadFile(w.dir / "bundle2").size();
  CHECK(size2 < 16 * 1024);
  CHECK(info2.at("ledger_id") == info1.at("ledger_id"));
  CHECK(info2.at("base_sequence") == info1.at("sequence"));
}

TEST_CASE("an export of app:1.1 after app:1.0 ships exactly the new layer and config",
          "[e2e][ledger]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  RunResult first = w.Export({"oci:" + samples + ":app:1.0"}, w.dir / "bundle1");
  INFO(first.Describe());
  REQUIRE(first.exit_code == 0);
  RunResult second = w.Export({"oci:" + samples + ":app:1.1"}, w.dir / "bundle2");
  INFO(second.Describe());
  REQUIRE(second.exit_code == 0);

  std::set<std::string> old_blobs = ImageBlobs(samples, TaggedDigest(samples, "app:1.0"));
  std::set<std::string> new_blobs = ImageBlobs(samples, TaggedDigest(samples, "app:1.1"));
  std::set<std::string> expected = Minus(new_blobs, old_blobs);
  REQUIRE(expected.size() == 2);  // the new config and the new small layer

  nlohmann::json info = InspectJson(w.dir / "bundle2");
  INFO(info.dump(2));
  CHECK(Shipped(info) == expected);
  // The blobs it does not ship are still listed, marked as already delivered.
  std::set<std::string> listed;
  for (const auto& blob : info.at("blobs")) listed.insert(blob.at("digest").get<std::string>());
  CHECK(listed == new_blobs);
  uint64_t expected_raw = 0;
  for (const std::string& d : expected) expected_raw += ReadFile(BlobPath(samples, d)).size();
  CHECK(info.at("raw_bytes").get<uint64_t>() == expected_raw);
  CHECK(ReadFile(w.dir / "bundle2").size() < 64 * 1024);
}

TEST_CASE("a fresh ledger ships everything again", "[e2e][ledger]") {
  const std::string& samples = SampleLayout();
  Workspace w;
  std::string app = "oci:" + samples + ":app:1.0";
  RunResult first = w.Export({app}, w.dir / "bundle1");
  INFO(first.Describe());
  REQUIRE(first.exit_code == 0);
  RunResult other = Sluice({"export", app, "--ledger", w.dir / "other-ledger", "--sign-key",
                            w.keys.private_key, "-o", w.dir / "bundle2"});
  INFO(other.Describe());
  REQUIRE(other.exit_code == 0);
  nlohmann::json info1 = InspectJson(w.dir / "bundle1");
  nlohmann::json info2 = InspectJson(w.dir / "bundle2");
  CHECK(Shipped(info2) == Shipped(info1));
  CHECK(info2.at("ledger_id") != info1.at("ledger_id"));
}

}  // namespace
}  // namespace sluice::e2e
