// sluice inspect: what a bundle claims, as text for people and JSON for
// scripts, the two telling the same story.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

TEST_CASE("inspect prints every ref, manifest count and blob that --json lists", "[e2e][inspect]") {
  Workspace ws;
  std::string bundle = ws.dir / "b.sluice";
  RunResult exported = ws.Export({"oci:" + SampleLayout() + ":app:1.0"}, bundle);
  INFO(exported.Describe());
  REQUIRE(exported.exit_code == 0);

  nlohmann::json doc = InspectJson(bundle);
  RunResult text = Sluice({"inspect", bundle});
  INFO(text.Describe());
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("bundle     " + doc["bundle_id"].get<std::string>()) != std::string::npos);
  CHECK(text.out.find("(not checked: use --trust)") != std::string::npos);
  CHECK(text.out.find("manifests: " + std::to_string(doc["manifests"].size())) !=
        std::string::npos);
  REQUIRE(doc["refs"].size() == 1);
  CHECK(text.out.find("  " + RefName(doc["refs"][0]) + "  " +
                      doc["refs"][0]["digest"].get<std::string>()) != std::string::npos);
  REQUIRE(!doc["blobs"].empty());
  for (const auto& blob : doc["blobs"]) {
    CHECK(text.out.find("  " + blob["digest"].get<std::string>() + "  ") != std::string::npos);
  }
  // The stored sizes come from the trailer and add up.
  uint64_t stored = 0;
  for (const auto& blob : doc["blobs"]) stored += blob["stored_size"].get<uint64_t>();
  CHECK(stored == doc["stored_bytes"].get<uint64_t>());
  CHECK(doc["file_size"].get<uint64_t>() == ReadFile(bundle).size());

  RunResult trusted = Sluice({"inspect", bundle, "--trust", ws.keys.public_key});
  INFO(trusted.Describe());
  CHECK(trusted.out.find("(verified)") != std::string::npos);
}

}  // namespace
}  // namespace sluice::e2e
