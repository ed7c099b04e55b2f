// sluice import: applies bundles in order, refuses a delta whose base is
// missing without touching the destination, and is idempotent.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

// bundle1 = app:1.0, bundle2 = app:1.1 planned against the same ledger.
struct MonthlyBundles {
  MonthlyBundles() {
    const std::string& samples = SampleLayout();
    RunResult first = w.Export({"oci:" + samples + ":app:1.0"}, bundle1);
    if (first.exit_code != 0) FAIL(first.Describe());
    RunResult second = w.Export({"oci:" + samples + ":app:1.1"}, bundle2);
    if (second.exit_code != 0) FAIL(second.Describe());
  }
  Workspace w;
  std::string bundle1 = w.dir / "bundle1";
  std::string bundle2 = w.dir / "bundle2";
};

TEST_CASE("import refuses a delta bundle whose base blobs are missing and writes nothing",
          "[e2e][import]") {
  MonthlyBundles m;
  const std::string& samples = SampleLayout();
  std::string out = m.w.dir / "out";
  REQUIRE(Run({"mkdir", out}).exit_code == 0);

  RunResult r = m.w.Import(m.bundle2, out);
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK_FALSE(r.ErrorLine().empty());
  // Names every blob it lacks: the three layers app:1.1 shares with app:1.0.
  std::set<std::string> missing = ImageBlobs(samples, TaggedDigest(samples, "app:1.0"));
  missing.erase(nlohmann::json::parse(ReadFile(BlobPath(samples, TaggedDigest(samples, "app:1.0"))))
                    .at("config")
                    .at("digest")
                    .get<std::string>());
  REQUIRE(missing.size() == 3);
  // (the list may follow the error line, one digest a line)
  for (const std::string& d : missing) {
    INFO("missing " << d);
    CHECK(r.err.find(d) != std::string::npos);
  }
  CHECK(ListTree(out).empty());
}

TEST_CASE("import applies a first bundle and then its delta", "[e2e][import]") {
  MonthlyBundles m;
  const std::string& samples = SampleLayout();
  std::string out = m.w.dir / "out";
  RunResult r1 = m.w.Import(m.bundle1, out);
  INFO(r1.Describe());
  REQUIRE(r1.exit_code == 0);
  RunResult r2 = m.w.Import(m.bundle2, out);
  INFO(r2.Describe());
  REQUIRE(r2.exit_code == 0);
  for (const char* tag : {"app:1.0", "app:1.1"}) {
    INFO("tag " << tag);
    CHECK(TaggedDigest(out, tag) == TaggedDigest(samples, tag));
    CHECK(SkopeoManifestDigest(out, tag) == TaggedDigest(samples, tag));
  }
  RunResult v = Run({"oci-image-tool", "validate", "--type", "image", out});
  INFO(v.Describe());
  CHECK(v.exit_code == 0);
}

TEST_CASE("importing the same bundle twice changes nothing the second time", "[e2e][import]") {
  MonthlyBundles m;
  std::string out = m.w.dir / "out";
  RunResult r1 = m.w.Import(m.bundle1, out);
  INFO(r1.Describe());
  REQUIRE(r1.exit_code == 0);
  std::string index_before = ReadFile(out + "/index.json");
  std::vector<std::string> files_before = ListTree(out);

  RunResult r2 = m.w.Import(m.bundle1, out);
  INFO(r2.Describe());
  CHECK(r2.exit_code == 0);
  CHECK(ReadFile(out + "/index.json") == index_before);
  CHECK(ListTree(out) == files_before);

  // The delta, applied twice, is no different.
  REQUIRE(m.w.Import(m.bundle2, out).exit_code == 0);
  index_before = ReadFile(out + "/index.json");
  RunResult r3 = m.w.Import(m.bundle2, out);
  INFO(r3.Describe());
  CHECK(r3.exit_code == 0);
  CHECK(ReadFile(out + "/index.json") == index_before);
}

TEST_CASE("import reads a bundle from standard input", "[e2e][import]") {
  MonthlyBundles m;
  const std::string& samples = SampleLayout();
  std::string out = m.w.dir / "out";
  RunResult r = Sluice({"import", "-", "--trust", m.w.keys.public_key, "--to", "oci:" + out},
                       m.bundle1);
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK(SkopeoManifestDigest(out, "app:1.0") == TaggedDigest(samples, "app:1.0"));

  // A delta on stdin, too, lands on top.
  RunResult r2 = Sluice({"import", "-", "--trust", m.w.keys.public_key, "--to", "oci:" + out},
                        m.bundle2);
  INFO(r2.Describe());
  REQUIRE(r2.exit_code == 0);
  CHECK(SkopeoManifestDigest(out, "app:1.1") == TaggedDigest(samples, "app:1.1"));
}

TEST_CASE("import without --trust refuses the bundle", "[e2e][import]") {
  MonthlyBundles m;
  std::string out = m.w.dir / "out";
  RunResult r = Sluice({"import", m.bundle1, "--to", "oci:" + out});
  INFO(r.Describe());
  CHECK(r.exit_code != 0);
  CHECK(TaggedDigest(out, "app:1.0").empty());
}

TEST_CASE("an import whose default mapping file cannot be written succeeds with a warning "
          "but one asked for by name fails",
          "[e2e][import]") {
  MonthlyBundles m;
  std::string out = m.w.dir / "out";
  // /proc takes no new files, even from root.
  std::string import = ::sluice::testing::ShellQuote(SLUICE_BINARY) + " import " +
                       ::sluice::testing::ShellQuote(m.bundle1) + " --trust " +
                       ::sluice::testing::ShellQuote(m.w.keys.public_key) + " --to " +
                       ::sluice::testing::ShellQuote("oci:" + out);
  RunResult r = ::sluice::testing::RunShell("cd /proc && " + import);
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("warning: the images are imported, but no mapping file was written") !=
        std::string::npos);
  CHECK_FALSE(TaggedDigest(out, "app:1.0").empty());

  RunResult named = ::sluice::testing::RunShell(import + " --mapping /proc/sluice.map");
  INFO(named.Describe());
  CHECK(named.exit_code == 1);
  CHECK(named.ErrorLine().find("the images are imported") != std::string::npos);
}

}  // namespace
}  // namespace sluice::e2e
