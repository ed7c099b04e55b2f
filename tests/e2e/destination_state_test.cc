// What a destination remembers (destination_state.h) and what it protects:
// old media cannot move tags back, another site's media cannot slip in, two
// imports at once take turns, and damaged blobs are replaced by the bundle's
// verified bytes.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

using ::sluice::testing::RunShell;
using ::sluice::testing::ShellQuote;

// app:latest moved month by month: bundle1 tags it to the sample app:1.0,
// bundle2 to app:1.1, planned against the same ledger.
struct MovingTag {
  MovingTag() {
    const std::string& samples = SampleLayout();
    Copy(samples + ":app:1.0");
    v1 = TaggedDigest(source, "app:latest");
    Check(w.Export({"oci:" + source + ":app:latest"}, bundle1));
    Copy(samples + ":app:1.1");
    v2 = TaggedDigest(source, "app:latest");
    Check(w.Export({"oci:" + source + ":app:latest"}, bundle2));
    REQUIRE(v1 != v2);
  }
  void Copy(const std::string& from) {
    RunResult r = Run({"skopeo", "copy", "-q", "oci:" + from, "oci:" + source + ":app:latest"});
    if (r.exit_code != 0) FAIL(r.Describe());
  }
  static void Check(const RunResult& r) {
    if (r.exit_code != 0) FAIL(r.Describe());
  }
  RunResult Import(const std::string& bundle, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"import", bundle,    "--trust", w.keys.public_key,
                                     "--to",   "oci:" + out, "--mapping", w.dir / "map"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Sluice(args);
  }

  Workspace w;
  std::string source = w.dir / "source";
  std::string out = w.dir / "out";
  std::string bundle1 = w.dir / "bundle1";
  std::string bundle2 = w.dir / "bundle2";
  std::string v1, v2;
};

TEST_CASE("replaying an older bundle leaves the tags newer bundles moved, and says which",
          "[e2e][import][trust]") {
  MovingTag m;
  for (const std::string& bundle : {m.bundle1, m.bundle2}) {
    RunResult r = m.Import(bundle);
    INFO(r.Describe());
    REQUIRE(r.exit_code == 0);
  }
  REQUIRE(TaggedDigest(m.out, "app:latest") == m.v2);
  std::string index_before = ReadFile(m.out + "/index.json");

  RunResult replay = m.Import(m.bundle1);
  INFO(replay.Describe());
  CHECK(replay.exit_code == 0);
  CHECK(TaggedDigest(m.out, "app:latest") == m.v2);
  CHECK(ReadFile(m.out + "/index.json") == index_before);
  CHECK(replay.out.find("left alone: oci:" + m.out + ":app:latest keeps " + m.v2) !=
        std::string::npos);

  // The newest bundle again changes nothing.
  RunResult again = m.Import(m.bundle2);
  INFO(again.Describe());
  CHECK(again.exit_code == 0);
  CHECK(ReadFile(m.out + "/index.json") == index_before);
  CHECK(again.out.find("left alone") == std::string::npos);

  // On purpose, it moves.
  RunResult rollback = m.Import(m.bundle1, {"--allow-rollback"});
  INFO(rollback.Describe());
  CHECK(rollback.exit_code == 0);
  CHECK(TaggedDigest(m.out, "app:latest") == m.v1);
}

TEST_CASE("a bundle of another ledger is refused naming both ledgers, until accepted",
          "[e2e][import][trust]") {
  MovingTag m;
  RunResult first = m.Import(m.bundle1);
  INFO(first.Describe());
  REQUIRE(first.exit_code == 0);
  std::string ours = InspectJson(m.bundle1).at("ledger_id").get<std::string>();

  // Another site: its own ledger, the same key (a shared signing key is
  // exactly when the binding matters).
  std::string other_ledger = m.w.dir / "other.ledger";
  std::string other = m.w.dir / "other.sluice";
  RunResult e = Sluice({"export", "oci:" + SampleLayout() + ":multi:1", "--ledger", other_ledger,
                        "--sign-key", m.w.keys.private_key, "-o", other, "-q"});
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  std::string theirs = InspectJson(other).at("ledger_id").get<std::string>();
  REQUIRE(ours != theirs);

  std::string index_before = ReadFile(m.out + "/index.json");
  RunResult refused = m.Import(other);
  INFO(refused.Describe());
  CHECK(refused.exit_code == 3);
  CHECK(refused.ErrorLine().find(ours) != std::string::npos);
  CHECK(refused.ErrorLine().find(theirs) != std::string::npos);
  CHECK(refused.ErrorLine().find("--accept-ledger " + theirs) != std::string::npos);
  CHECK(ReadFile(m.out + "/index.json") == index_before);
  CHECK(TaggedDigest(m.out, "multi:1").empty());

  RunResult accepted = m.Import(other, {"--accept-ledger", theirs});
  INFO(accepted.Describe());
  CHECK(accepted.exit_code == 0);
  CHECK_FALSE(TaggedDigest(m.out, "multi:1").empty());
  // And now the first ledger's bundles are the foreign ones.
  RunResult old_site = m.Import(m.bundle2);
  INFO(old_site.Describe());
  CHECK(old_site.exit_code == 3);
}

TEST_CASE("two imports into one layout at once keep both tags", "[e2e][import][trust]") {
  Workspace w;
  const std::string& samples = SampleLayout();
  std::string a = w.dir / "a.sluice";
  std::string b = w.dir / "b.sluice";
  REQUIRE(w.Export({"oci:" + samples + ":app:1.0"}, a).exit_code == 0);
  REQUIRE(w.Export({"oci:" + samples + ":multi:1"}, b).exit_code == 0);
  for (int round = 0; round < 10; ++round) {
    INFO("round " << round);
    std::string out = w.dir / ("out" + std::to_string(round));
    auto import = [&](const std::string& bundle, const std::string& map) {
      return ShellQuote(SLUICE_BINARY) + " import " + ShellQuote(bundle) + " --trust " +
             ShellQuote(w.keys.public_key) + " --to " + ShellQuote("oci:" + out) +
             " --mapping " + ShellQuote(w.dir / map) + " -q";
    };
    // Both start on an empty destination; one waits for the other's commit.
    RunResult both = RunShell(import(a, "a.map") + " & first=$!; " + import(b, "b.map") +
                              " & second=$!; wait $first && wait $second");
    INFO(both.Describe());
    REQUIRE(both.exit_code == 0);
    CHECK(TaggedDigest(out, "app:1.0") == TaggedDigest(samples, "app:1.0"));
    CHECK(TaggedDigest(out, "multi:1") == TaggedDigest(samples, "multi:1"));
  }
}

TEST_CASE("an import waits for the destination's lock and gives up naming it",
          "[e2e][import][trust]") {
  MovingTag m;
  RunResult first = m.Import(m.bundle1);
  INFO(first.Describe());
  REQUIRE(first.exit_code == 0);
  std::string lock = m.out + "/.sluice/state.json.lock";
  REQUIRE(Exists(lock));
  std::string index_before = ReadFile(m.out + "/index.json");
  // Another holder of the lock, as a second import would be.
  ::sluice::testing::ChildProcess holder({"flock", lock, "sleep", "30"});
  for (int tries = 0; Run({"flock", "-n", lock, "true"}).exit_code == 0; ++tries) {
    REQUIRE(tries < 500);  // flock has not taken it yet
  }
  RunResult r = m.Import(m.bundle2, {"--lock-timeout", "1"});
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK(r.ErrorLine().find(lock + " is locked by") != std::string::npos);
  CHECK(r.ErrorLine().find("another import into the same destination") != std::string::npos);
  CHECK(ReadFile(m.out + "/index.json") == index_before);
}

// The first layer of the image `tag` of the sample layout.
std::string FirstLayer(const std::string& tag) {
  const std::string& samples = SampleLayout();
  auto manifest = nlohmann::json::parse(ReadFile(BlobPath(samples, TaggedDigest(samples, tag))));
  return manifest.at("layers").at(0).at("digest").get<std::string>();
}

TEST_CASE("a damaged blob at the destination is replaced by the bundle's verified bytes",
          "[e2e][import][trust]") {
  Workspace w;
  std::string bundle = w.dir / "b.sluice";
  REQUIRE(w.Export({"oci:" + SampleLayout() + ":app:1.0"}, bundle).exit_code == 0);
  std::string layer = FirstLayer("app:1.0");
  std::string config = nlohmann::json::parse(ReadFile(BlobPath(
                           SampleLayout(), TaggedDigest(SampleLayout(), "app:1.0"))))
                           .at("config")
                           .at("digest")
                           .get<std::string>();

  SECTION("in an OCI layout") {
    std::string out = w.dir / "out";
    REQUIRE(w.Import(bundle, out).exit_code == 0);
    for (const std::string& digest : {layer, config}) {
      std::string bytes = ReadFile(BlobPath(out, digest));
      bytes[bytes.size() / 2] ^= 0x20;
      WriteFile(BlobPath(out, digest), bytes);
    }
    RunResult again = w.Import(bundle, out);
    INFO(again.Describe());
    CHECK(again.exit_code == 0);
    for (const std::string& digest : {layer, config}) {
      CHECK(Sha256Digest(ReadFile(BlobPath(out, digest))) == digest);
      CHECK(again.out.find("repaired: " + digest) != std::string::npos);
    }
  }
  SECTION("in registry storage") {
    std::string dir = w.dir / "storage";
    auto import = [&] {
      return Sluice({"import", bundle, "--trust", w.keys.public_key, "--to",
                     "registry-storage:" + dir + ":mirror", "--mapping", ""});
    };
    REQUIRE(import().exit_code == 0);
    std::string hex = layer.substr(7);
    std::string data = dir + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex +
                       "/data";
    WriteFile(data, "rotten");
    RunResult again = import();
    INFO(again.Describe());
    CHECK(again.exit_code == 0);
    CHECK(Sha256Digest(ReadFile(data)) == layer);
    CHECK(again.out.find("repaired: " + layer) != std::string::npos);
  }
}

}  // namespace
}  // namespace sluice::e2e
