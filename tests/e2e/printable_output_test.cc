// What sluice prints for people never carries a raw control byte: names from
// a bundle nobody has vouched for, a ledger file, or a path are shown with
// every byte outside printable ASCII as \xNN, so none can clear the screen,
// recolour it or forge a line ("OK") of its own. JSON output keeps the exact
// strings (JSON escapes them itself).
//
// The hostile bundle is made with the format library's writer (the only
// library code here, to make input no sluice command would write); what is
// tested is the sluice binary.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e_support.h"
#include "format/bundle_writer.h"
#include "format/catalog.h"
#include "format/crypto.h"

namespace sluice::e2e {
namespace {

// Names that, printed raw, clear the screen, set the window title, send a
// C1 CSI and start a line that looks like a verdict.
const std::string kHostileRepository = "evil\x1b[2J";
const std::string kHostileTag = "1\nsluice: bundle verified OK";
const std::string kHostileSource = "oci:/srv/\x1b]0;pwned\x07:x\xc2\x9b"
                                   "31m";  // (a new literal: \x9b31 would be one escape)
const std::string kHostileMediaType = "application/vnd.oci.image.config.v1+json\r\x7f";

// A bundle of one image whose ref and config blob carry kHostile* names,
// signed by a key of its own (nobody's: inspect shows it unchecked).
void WriteHostileBundle(const std::string& path) {
  format::Catalog catalog;
  catalog.header.base_sequence = 0;
  catalog.header.sequence = 1;
  const std::string config = R"({"architecture":"amd64","os":"linux"})";
  const format::Digest config_digest = format::Sha256::Of(config);
  catalog.blobs.push_back({config_digest, config.size(), kHostileMediaType, true, std::nullopt});
  const std::string manifest =
      nlohmann::ordered_json{{"schemaVersion", 2},
                             {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"config",
                              {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                               {"digest", config_digest.str()},
                               {"size", config.size()}}},
                             {"layers", nlohmann::ordered_json::array()}}
          .dump();
  const format::Digest manifest_digest = format::Sha256::Of(manifest);
  catalog.manifests.push_back(
      {manifest_digest, "application/vnd.oci.image.manifest.v1+json", manifest});
  format::RefEntry ref;
  ref.repository = kHostileRepository;
  ref.tag = kHostileTag;
  ref.manifest = manifest_digest;
  ref.source = kHostileSource;
  catalog.refs.push_back(ref);

  auto key = format::PrivateKey::Generate();
  REQUIRE(key.ok());
  auto file = io::DefaultFileSystem()->NewWriter(path);
  REQUIRE(file.ok());
  auto writer = format::BundleWriter::Start(file->get(), catalog, *key);
  INFO(writer.status().ToString());
  REQUIRE(writer.ok());
  REQUIRE((*writer)->BeginBlob(0, format::Compression::kNone).ok());
  REQUIRE((*writer)->Append(io::AsBytes(config)).ok());
  REQUIRE((*writer)->EndBlob().ok());
  REQUIRE((*writer)->Finish().ok());
  REQUIRE((*file)->Close().ok());
}

// True if text holds a byte a terminal acts on: C0 controls but for the
// newlines that end sluice's own lines, DEL, and any byte above ASCII (C1
// controls are U+0080-U+009F, and 0x80-0x9F themselves on 8-bit terminals).
bool HasRawControlBytes(const std::string& text) {
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n') || c >= 0x7f) return true;
  }
  return false;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_CASE("inspect shows the control bytes of an unsigned bundle's names as \\xNN, and its JSON "
          "the exact names",
          "[e2e][inspect][printable]") {
  TempDir dir;
  const std::string bundle = dir / "hostile.sluice";
  WriteHostileBundle(bundle);

  RunResult text = Sluice({"inspect", bundle});
  INFO(text.Describe());
  REQUIRE(text.exit_code == 0);
  CHECK_FALSE(HasRawControlBytes(text.out));
  // The forged verdict stays inside the ref's line.
  for (const std::string& line : Lines(text.out)) CHECK_FALSE(line.starts_with("sluice:"));
  CHECK(text.out.find("  evil\\x1b[2J:1\\x0asluice: bundle verified OK  sha256:") !=
        std::string::npos);
  CHECK(text.out.find("from oci:/srv/\\x1b]0;pwned\\x07:x\\xc2\\x9b31m") != std::string::npos);
  CHECK(text.out.find("application/vnd.oci.image.config.v1+json\\x0d\\x7f") != std::string::npos);

  nlohmann::json doc = InspectJson(bundle);
  REQUIRE(doc["refs"].size() == 1);
  CHECK(doc["refs"][0]["repository"] == kHostileRepository);
  CHECK(doc["refs"][0]["tag"] == kHostileTag);
  CHECK(doc["refs"][0]["source"] == kHostileSource);
  CHECK(doc["blobs"][0]["media_type"] == kHostileMediaType);
}

TEST_CASE("an error line shows the control bytes of what it names as \\xNN, on one line",
          "[e2e][printable]") {
  TempDir dir;
  KeyPair keys = MakeKeys(dir, "k");
  const std::string missing = dir / "no\x1b[2J\nsluice: bundle verified OK";
  RunResult r = Sluice({"verify", missing, "--trust", keys.public_key});
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK_FALSE(HasRawControlBytes(r.err));
  CHECK(Lines(r.err).size() == 1);
  CHECK(r.ErrorLine().find("no\\x1b[2J\\x0asluice: bundle verified OK") != std::string::npos);
}

TEST_CASE("verify and ledger show print the control bytes of paths and ledger records as \\xNN",
          "[e2e][ledger][printable]") {
  Workspace ws;
  const std::string bundle = ws.dir / "b\x1b[2J.sluice";
  RunResult exported = ws.Export({"oci:" + SampleLayout() + ":app:1.0"}, bundle);
  INFO(exported.Describe());
  REQUIRE(exported.exit_code == 0);

  RunResult verified = ws.Verify(bundle);
  INFO(verified.Describe());
  REQUIRE(verified.exit_code == 0);
  CHECK_FALSE(HasRawControlBytes(verified.out));
  CHECK(verified.out.find("b\\x1b[2J.sluice: OK") != std::string::npos);

  // A ledger file is data like any other: a record may say anything.
  const std::string ledger = ws.dir / "l\x1b[31m.ledger";
  WriteFile(ledger,
            R"({"format":"sluice-ledger","version":1,"sequence":1,"blobs":{},)"
            R"("ledger_id":"00112233445566778899aabbccddeeff","bundles":[)"
            R"({"sequence":1,"bundle_id":"\u001b[2Jforged\n","created_unix":0,"blobs":0}]})");
  RunResult shown = Sluice({"ledger", "show", "--ledger", ledger});
  INFO(shown.Describe());
  REQUIRE(shown.exit_code == 0);
  CHECK_FALSE(HasRawControlBytes(shown.out));
  CHECK(shown.out.find("ledger " + ws.dir.path() + "/l\\x1b[31m.ledger") != std::string::npos);
  CHECK(shown.out.find("\\x1b[2Jforged\\x0a") != std::string::npos);
}

}  // namespace
}  // namespace sluice::e2e
