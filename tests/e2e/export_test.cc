// sluice export checks every source byte: a tampered blob stops the export
// with its digest and image named, no bundle, and an unchanged ledger.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

// The digest of the largest layer of app:1.0 (the incompressible one).
std::string BigLayer(const std::string& layout) {
  nlohmann::json manifest = ParseJson(ReadFile(BlobPath(layout, TaggedDigest(layout, "app:1.0"))));
  std::string digest;
  uint64_t size = 0;
  for (const auto& layer : manifest.at("layers")) {
    if (layer.at("size").get<uint64_t>() > size) {
      size = layer.at("size");
      digest = layer.at("digest");
    }
  }
  return digest;
}

TEST_CASE("export of a layout with a tampered layer fails naming the blob and the image",
          "[e2e][export]") {
  Workspace w;
  std::string layout = w.dir / "layout";
  CopyTree(SampleLayout(), layout);
  // A first export so the ledger exists and has something in it.
  RunResult first = w.Export({"oci:" + layout + ":base:1"}, w.dir / "bundle0");
  INFO(first.Describe());
  REQUIRE(first.exit_code == 0);
  REQUIRE(Exists(w.ledger));
  std::string ledger_before = ReadFile(w.ledger);

  // Same size, different bytes, in the middle of the blob.
  std::string layer = BigLayer(layout);
  std::string bytes = ReadFile(BlobPath(layout, layer));
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] = 'X';
  WriteFile(BlobPath(layout, layer), bytes);

  std::vector<std::string> files_before = ListTree(w.dir.path());
  std::string bundle = w.dir / "bundle1";
  RunResult r = w.Export({"oci:" + layout + ":app:1.0"}, bundle);
  INFO(r.Describe());
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code != 2);
  CHECK_FALSE(r.ErrorLine().empty());
  CHECK(r.ErrorLine().find(layer) != std::string::npos);
  CHECK(r.ErrorLine().find("app:1.0") != std::string::npos);
  CHECK_FALSE(Exists(bundle));
  CHECK(ReadFile(w.ledger) == ledger_before);
  // No temporary file left behind either.
  CHECK(ListTree(w.dir.path()) == files_before);
}

TEST_CASE("export of a tag that does not exist fails and names it", "[e2e][export]") {
  Workspace w;
  std::string bundle = w.dir / "bundle";
  RunResult r = w.Export({"oci:" + SampleLayout() + ":nope:9"}, bundle);
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK_FALSE(r.ErrorLine().empty());
  CHECK(r.ErrorLine().find("nope:9") != std::string::npos);
  CHECK_FALSE(Exists(bundle));
  CHECK_FALSE(Exists(w.ledger));
}

TEST_CASE("export --json prints a JSON report and nothing else on stdout", "[e2e][export]") {
  Workspace w;
  RunResult r = w.Export({"oci:" + SampleLayout() + ":app:1.0"}, w.dir / "bundle", {"--json"});
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  nlohmann::json report = ParseJson(r.out);
  CHECK(report.is_object());
}

TEST_CASE("export without a human report prints a summary of what it shipped", "[e2e][export]") {
  Workspace w;
  RunResult r = w.Export({"oci:" + SampleLayout() + ":app:1.0"}, w.dir / "bundle");
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("app:1.0") != std::string::npos);
  CHECK(r.out.find("shipped") != std::string::npos);
}

}  // namespace
}  // namespace sluice::e2e
