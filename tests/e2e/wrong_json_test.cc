// JSON whose fields have the wrong type (a number where a string belongs, a
// string where an object belongs) is bad data: sluice exits 3 with one error
// line naming the file and the field, and never aborts (exit 134).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../registry/registry_fixture.h"
#include "e2e_support.h"
#include "tests/support/environment.h"

namespace sluice::e2e {
namespace {

using nlohmann::json;

void RequireBadData(const RunResult& r, const std::vector<std::string>& mentions) {
  INFO(r.Describe());
  REQUIRE(r.exit_code == 3);
  std::string line = r.ErrorLine();
  for (const std::string& m : mentions) {
    INFO(m);
    CHECK(line.find(m) != std::string::npos);
  }
}

uint64_t LittleEndian(const std::string& bytes, size_t at, int size) {
  uint64_t v = 0;
  for (int i = size - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(bytes.at(at + i));
  return v;
}

// A ledger file of version 2 (binary: header, metadata JSON, records) as the
// version 1 JSON document sluice still reads. Only there can a field have the
// wrong type: in version 2 the same JSON sits behind a checksum.
json AsVersion1(const std::string& bytes) {
  REQUIRE(bytes.substr(0, 8) == "SLUICELG");
  const uint64_t header_size = LittleEndian(bytes, 12, 4);
  const uint64_t record_size = LittleEndian(bytes, 16, 4);
  const uint64_t count = LittleEndian(bytes, 24, 8);
  const uint64_t metadata_size = LittleEndian(bytes, 32, 8);
  json doc = ParseJson(bytes.substr(header_size, metadata_size));
  doc["format"] = "sluice-ledger";
  doc["version"] = 1;
  doc["blobs"] = json::object();
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = header_size + metadata_size + i * record_size;
    std::string digest = "sha256:";
    for (size_t j = 0; j < 32; ++j) {
      digest += "0123456789abcdef"[static_cast<uint8_t>(bytes.at(at + j)) >> 4];
      digest += "0123456789abcdef"[static_cast<uint8_t>(bytes.at(at + j)) & 0xf];
    }
    doc["blobs"][digest] = LittleEndian(bytes, at + 32, 8);
  }
  return doc;
}

// A ledger written by a first export, as version 1 JSON for edits.
json ExportedLedger(Workspace& w) {
  RunResult first = w.Export({"oci:" + SampleLayout() + ":base:1"}, w.dir / "first.sluice");
  INFO(first.Describe());
  REQUIRE(first.exit_code == 0);
  json ledger = AsVersion1(ReadFile(w.ledger));
  // Unedited, it loads as the ledger it came from.
  WriteFile(w.dir / "v1.ledger", ledger.dump());
  RunResult shown = Sluice({"ledger", "show", "--ledger", w.dir / "v1.ledger", "--json"});
  INFO(shown.Describe());
  REQUIRE(shown.exit_code == 0);
  REQUIRE(ParseJson(shown.out).at("blobs") == ledger.at("blobs").size());
  return ledger;
}

TEST_CASE("a ledger whose format is a number is bad data naming the ledger and the field",
          "[e2e][json]") {
  Workspace w;
  json ledger = ExportedLedger(w);
  ledger["format"] = 1;
  WriteFile(w.ledger, ledger.dump());

  RunResult exported = w.Export({"oci:" + SampleLayout() + ":app:1.0"}, w.dir / "b.sluice");
  RequireBadData(exported, {"ledger " + w.ledger, "format is a number, expected a string"});
  CHECK_FALSE(Exists(w.dir / "b.sluice"));
  RunResult shown = Sluice({"ledger", "show", "--ledger", w.ledger});
  RequireBadData(shown, {"ledger " + w.ledger, "format"});
}

TEST_CASE("a ledger with a wrongly typed nested field is bad data naming its path", "[e2e][json]") {
  Workspace w;
  json ledger = ExportedLedger(w);
  SECTION("a bundle record's sequence is a string") {
    REQUIRE(ledger.at("bundles").size() == 1);
    ledger["bundles"][0]["sequence"] = "1";
    WriteFile(w.ledger, ledger.dump());
    RunResult r = Sluice({"ledger", "show", "--ledger", w.ledger});
    RequireBadData(r, {w.ledger, "bundles[0].sequence is a string, expected an unsigned integer"});
  }
  SECTION("a blob's sequence is negative") {
    std::string digest = ledger.at("blobs").begin().key();
    ledger["blobs"][digest] = -1;
    WriteFile(w.ledger, ledger.dump());
    RunResult r = w.Export({"oci:" + SampleLayout() + ":app:1.0"}, w.dir / "b.sluice");
    RequireBadData(r, {w.ledger, "blobs[\"" + digest + "\"] is a negative number"});
  }
  SECTION("a pending record's output is a number") {
    ledger["pending"] = {{"sequence", 2}, {"output", 7}, {"shipped", json::array()}};
    WriteFile(w.ledger, ledger.dump());
    RunResult r = Sluice({"ledger", "show", "--ledger", w.ledger});
    RequireBadData(r, {w.ledger, "pending.output is a number, expected a string"});
  }
}

TEST_CASE("an OCI layout whose index.json has a numeric digest is bad data naming the field",
          "[e2e][json]") {
  Workspace w;
  std::string layout = w.dir / "layout";
  CopyTree(SampleLayout(), layout);
  json index = ParseJson(ReadFile(layout + "/index.json"));
  size_t i = 0;
  for (; i < index.at("manifests").size(); ++i) {
    const json& entry = index["manifests"][i];
    if (entry.at("annotations").at("org.opencontainers.image.ref.name") == "app:1.0") break;
  }
  REQUIRE(i < index.at("manifests").size());
  index["manifests"][i]["digest"] = 5;
  WriteFile(layout + "/index.json", index.dump());

  for (const std::string& source : {"oci:" + layout + ":app:1.0", "oci:" + layout}) {
    RunResult r = w.Export({source}, w.dir / "b.sluice");
    RequireBadData(r, {layout + "/index.json", "manifests[" + std::to_string(i) +
                                                   "].digest is a number, expected a string"});
  }
  RunResult inventory = Sluice({"inventory", "--from", "oci:" + layout, "-o", w.dir / "inv.json"});
  RequireBadData(inventory, {layout + "/index.json", "digest is a number"});
  CHECK_FALSE(Exists(w.dir / "b.sluice"));
}

TEST_CASE("an inventory whose destination is a number is refused by ledger rebuild naming it",
          "[e2e][json]") {
  Workspace w;
  std::string inventory = w.dir / "inv.json";
  RunResult taken = Sluice({"inventory", "--from", "oci:" + SampleLayout(), "-o", inventory});
  INFO(taken.Describe());
  REQUIRE(taken.exit_code == 0);
  json doc = ParseJson(ReadFile(inventory));
  doc["destination"] = 7;
  WriteFile(inventory, doc.dump());

  RunResult r = Sluice({"ledger", "rebuild", "--ledger", w.ledger, "--from-inventory", inventory});
  RequireBadData(r, {"inventory " + inventory, "destination is a number, expected a string"});
  CHECK_FALSE(Exists(w.ledger));

  doc["destination"] = "oci:/far";
  doc["blobs"][0]["size"] = "12";
  WriteFile(inventory, doc.dump());
  RunResult nested =
      Sluice({"ledger", "rebuild", "--ledger", w.ledger, "--from-inventory", inventory});
  RequireBadData(nested, {inventory, "blobs[0].size is a string, expected an unsigned integer"});
}

TEST_CASE("an auth file with wrongly typed auths or auth is bad data naming the file and field",
          "[e2e][json][registry]") {
  registry::testing::RegistryOptions options;
  options.user = "far";
  options.password = "side";
  registry::testing::TestRegistry registry(options);
  Workspace w;
  std::string auth_file = w.dir / "auth.json";
  testing::ScopedEnvironment env({{"REGISTRY_AUTH_FILE", auth_file}});
  std::string source = "docker://" + registry.host() + "/mirror/app:1";
  struct Case {
    std::string text;
    std::string says;
  };
  const Case cases[] = {
      {R"({"auths": 5})", "auths is a number, expected an object"},
      {R"({"auths": {")" + registry.host() + R"(": {"auth": 7}}})",
       "auths[\"" + registry.host() + "\"].auth is a number, expected a string"},
      {R"({"credHelpers": {")" + registry.host() + R"(": false}})",
       "credHelpers[\"" + registry.host() + "\"] is a boolean, expected a string"},
  };
  for (const Case& c : cases) {
    WriteFile(auth_file, c.text);
    RunResult r = w.Export({source}, w.dir / "b.sluice", {"--src-tls-verify=false"});
    RequireBadData(r, {"auth file " + auth_file, c.says});
  }
}

}  // namespace
}  // namespace sluice::e2e
