// Every --json document is one "sluice/v1" object on stdout that names its
// command and says whether it succeeded; a failure given --json is such a
// document too; and an image reference has the same keys in every command
// (src/cli/json_output.h, README "JSON output").
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_support.h"

namespace sluice::e2e {
namespace {

// Checks the head every document has, and returns the document.
nlohmann::json Document(const RunResult& r, const std::string& command, bool ok) {
  INFO(r.Describe());
  nlohmann::json doc = ParseJson(r.out);
  CHECK(doc.at("schema") == "sluice/v1");
  CHECK(doc.at("command") == command);
  CHECK(doc.at("ok") == ok);
  // The head comes first, in this order, so a reader may check it early.
  CHECK(r.out.find("\"schema\"") < r.out.find("\"command\""));
  CHECK(r.out.find("\"command\"") < r.out.find("\"ok\""));
  return doc;
}

// The layout's tag app:1.0 is carried as repository "app", tag "1.0".
void CheckRef(const nlohmann::json& ref, const std::string& source, const std::string& digest) {
  INFO(ref.dump());
  CHECK(ref.at("source") == source);
  CHECK(ref.at("repository") == "app");
  CHECK(ref.at("tag") == "1.0");
  CHECK(ref.at("digest") == digest);
}

TEST_CASE("every command's --json is a sluice/v1 document with refs of one shape",
          "[json]") {
  Workspace ws;
  const std::string source = "oci:" + SampleLayout() + ":app:1.0";
  const std::string digest = TaggedDigest(SampleLayout(), "app:1.0");
  const std::string bundle = ws.dir.path() + "/b.sluice";
  const std::string out = ws.dir.path() + "/out";

  RunResult plan = Sluice({"plan", source, "--ledger", ws.ledger, "--json"});
  Require(plan);
  CheckRef(Document(plan, "plan", true).at("images").at(0), source, digest);

  RunResult exported = ws.Export({source}, bundle, {"--json"});
  Require(exported);
  CheckRef(Document(exported, "export", true).at("refs").at(0), source, digest);

  RunResult inspected = Sluice({"inspect", bundle, "--json"});
  Require(inspected);
  CheckRef(Document(inspected, "inspect", true).at("refs").at(0), source, digest);

  RunResult verified = Sluice({"verify", bundle, "--trust", ws.keys.public_key, "--json"});
  Require(verified);
  Document(verified, "verify", true);

  RunResult imported =
      Sluice({"import", bundle, "--trust", ws.keys.public_key, "--to", "oci:" + out, "--json"});
  Require(imported);
  nlohmann::json ref = Document(imported, "import", true).at("refs").at(0);
  CheckRef(ref, source, digest);
  CHECK(ref.at("destination") == "oci:" + out + ":app:1.0");

  RunResult shown = Sluice({"ledger", "show", "--ledger", ws.ledger, "--json"});
  Require(shown);
  CheckRef(Document(shown, "ledger", true).at("bundles").at(0).at("images").at(0), source,
           digest);
}

TEST_CASE("a command failing with --json prints an error document whose exit code is the process's",
          "[json]") {
  Workspace ws;
  const std::string bundle = ws.dir.path() + "/b.sluice";
  Require(ws.Export({"oci:" + SampleLayout() + ":app:1.0"}, bundle));

  SECTION("a damaged bundle: corruption, exit 3") {
    {
      std::fstream f(bundle, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(bundle) / 2));
      f.put('\x5a');
    }
    RunResult r = Sluice({"verify", bundle, "--trust", ws.keys.public_key, "--json"});
    CHECK(r.exit_code == 3);
    nlohmann::json doc = Document(r, "verify", false);
    CHECK(doc.at("error").at("kind") == "corruption");
    CHECK(doc.at("error").at("exit_code") == 3);
    CHECK(doc.at("error").at("message").get<std::string>().find("b.sluice") != std::string::npos);
    // The one-line message on stderr stays.
    CHECK(r.err.find("sluice: error: corruption") != std::string::npos);
  }
  SECTION("a missing bundle: exit 1") {
    RunResult r = Sluice({"inspect", ws.dir.path() + "/none.sluice", "--json"});
    CHECK(r.exit_code == 1);
    nlohmann::json doc = Document(r, "inspect", false);
    CHECK(doc.at("error").at("exit_code") == 1);
    CHECK(doc.at("error").at("message").get<std::string>().find("none.sluice") !=
          std::string::npos);
  }
  SECTION("a bad option value found after parsing: usage, exit 2") {
    RunResult r = Sluice({"export", "oci:" + SampleLayout() + ":app:1.0", "--ledger", ws.ledger,
                          "--sign-key", ws.keys.private_key, "-o", bundle + "2", "--base",
                          "sometimes", "--json"});
    CHECK(r.exit_code == 2);
    nlohmann::json doc = Document(r, "export", false);
    CHECK(doc.at("error").at("exit_code") == 2);
    CHECK(r.err.find("--base") != std::string::npos);
  }
  SECTION("an unknown option: usage, exit 2") {
    RunResult r = Sluice({"verify", bundle, "--trust", ws.keys.public_key, "--jsno", "--json"});
    CHECK(r.exit_code == 2);
    nlohmann::json doc = Document(r, "verify", false);
    CHECK(doc.at("error").at("kind") == "invalid argument");
    CHECK(doc.at("error").at("message").get<std::string>().find("--jsno") != std::string::npos);
  }
}

}  // namespace
}  // namespace sluice::e2e
