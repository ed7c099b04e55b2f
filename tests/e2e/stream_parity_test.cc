// A bundle streamed with parity (export -o - --parity N), as a data diode
// would carry it: packets damaged, dropped or cut short on the way are
// rebuilt by import - and verify -, which name the bundle bytes they cannot
// rebuild; a stream saved to a file imports the same way.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "e2e_support.h"
#include "tests/support/files.h"
#include "tests/support/layout_builder.h"

namespace sluice::e2e {
namespace {

using ::sluice::testing::LayoutBuilder;
using ::sluice::testing::RandomBytes;
using ::sluice::testing::RunShell;
using ::sluice::testing::ShellQuote;

// Every packet of a stream at the default options: an 88-byte header and a
// 64 KiB stripe (format/PARITY.md section 12); 16 data packets and N parity
// packets to a group.
constexpr size_t kPacket = 88 + 64 * 1024;
constexpr size_t kGroupData = 16;

// An image of 2.5 MiB of random layers: a stream of three groups.
std::string StreamImageLayout(const TempDir& dir) {
  const std::string layout = dir / "layout";
  LayoutBuilder b(layout);
  auto l1 = b.AddBlob(RandomBytes(2 * 1024 * 1024, 21), "application/vnd.oci.image.layer.v1.tar+gzip");
  auto l2 = b.AddBlob(RandomBytes(512 * 1024, 22), "application/vnd.oci.image.layer.v1.tar+gzip");
  auto image = b.AddImage({l1, l2});
  b.Tag("stream:1", image.manifest, image.manifest_size,
        "application/vnd.oci.image.manifest.v1+json");
  return layout;
}

// `sluice export oci:LAYOUT:stream:1 -o - EXTRA > out`: the stream's bytes.
std::string ExportStream(Workspace& w, const std::string& layout,
                         const std::vector<std::string>& extra) {
  const std::string out = w.dir / "sent.stream";
  std::vector<std::string> argv = {SLUICE_BINARY,      "export", "oci:" + layout + ":stream:1",
                                   "--ledger",         w.ledger, "--sign-key",
                                   w.keys.private_key, "-o",     "-",
                                   "-q"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  RunResult e = RunShell(ShellQuote(argv) + " > " + ShellQuote(out));
  INFO(e.Describe());
  REQUIRE(e.exit_code == 0);
  return ReadFile(out);
}

// `sluice import - --to oci:DEST < bytes`.
RunResult ImportFromStdin(Workspace& w, const std::string& bytes, const std::string& dest) {
  const std::string received = w.dir / "received.stream";
  WriteFile(received, bytes);
  return Sluice({"import", "-", "--trust", w.keys.public_key, "--to", "oci:" + dest}, received);
}

TEST_CASE("a stream exported with --parity 2 imports though two packets of every group were "
          "damaged or dropped",
          "[e2e][stream-parity]") {
  Workspace w;
  const std::string layout = StreamImageLayout(w.dir);
  const std::string sent = ExportStream(w, layout, {"--parity", "2"});
  const size_t group = (kGroupData + 2) * kPacket;
  REQUIRE(sent.size() % kPacket == 0);
  REQUIRE(sent.size() > 2 * group);  // three groups, the last short

  // Group 0: two packets damaged. Group 1: one packet dropped whole, one
  // cut short by 1000 bytes. Group 2 (the last): one parity packet damaged.
  std::string received = sent;
  received[3 * kPacket + 500] ^= 0x40;
  received[9 * kPacket + kPacket - 1] ^= 0x01;
  received.erase(group + 12 * kPacket + 20000, 1000);
  received.erase(group + 4 * kPacket, kPacket);
  received[received.size() - 10] ^= 0x08;
  const std::string dest = w.dir / "dest";
  RunResult i = ImportFromStdin(w, received, dest);
  INFO(i.Describe());
  REQUIRE(i.exit_code == 0);
  CHECK(TaggedDigest(dest, "stream:1") == TaggedDigest(layout, "stream:1"));
  CHECK(SkopeoManifestDigest(dest, "stream:1") == TaggedDigest(layout, "stream:1"));
  CHECK(i.err.find("sluice: parity stream: ") != std::string::npos);
  CHECK(i.err.find("rebuilt from parity") != std::string::npos);

  // The same bytes saved to a file import from the file too, and verify.
  const std::string file = w.dir / "saved.stream";
  WriteFile(file, received);
  RunResult v = Sluice({"verify", file, "--trust", w.keys.public_key, "--json"});
  INFO(v.Describe());
  CHECK(v.exit_code == 0);
  CHECK(ParseJson(v.out).at("parity_stream").get<std::string>().find("rebuilt") !=
        std::string::npos);
  const std::string dest2 = w.dir / "dest2";
  RunResult from_file = w.Import(file, dest2);
  INFO(from_file.Describe());
  CHECK(from_file.exit_code == 0);
  CHECK(TaggedDigest(dest2, "stream:1") == TaggedDigest(layout, "stream:1"));
}

TEST_CASE("a stream that lost more packets of a group than its parity is refused naming the "
          "bundle bytes lost, and nothing is imported",
          "[e2e][stream-parity]") {
  Workspace w;
  const std::string layout = StreamImageLayout(w.dir);
  const std::string sent = ExportStream(w, layout, {"--parity", "1"});
  std::string received = sent;
  const size_t group = (kGroupData + 1) * kPacket;
  received[group + 2 * kPacket + 100] ^= 0x01;
  received[group + 7 * kPacket + 100] ^= 0x01;
  const std::string dest = w.dir / "dest";
  RunResult i = ImportFromStdin(w, received, dest);
  INFO(i.Describe());
  CHECK(i.exit_code == 3);
  const std::string line = i.ErrorLine();
  CHECK(i.err.find(line) != std::string::npos);
  CHECK(line.find("group 1") != std::string::npos);
  // Group 1 holds bundle bytes [16 x 64 KiB, 32 x 64 KiB).
  CHECK(line.find("[1048576, 2097152)") != std::string::npos);
  CHECK(TaggedDigest(dest, "stream:1").empty());

  // Cut short: the last group never came.
  RunResult cut = ImportFromStdin(w, sent.substr(0, 2 * group), dest);
  INFO(cut.Describe());
  CHECK(cut.exit_code == 3);
  CHECK(cut.ErrorLine().find("truncated") != std::string::npos);
  CHECK(TaggedDigest(dest, "stream:1").empty());
}

TEST_CASE("export -o - --parity 1 | import - carries the bundle through a pipe with parity",
          "[e2e][stream-parity]") {
  Workspace w;
  const std::string layout = StreamImageLayout(w.dir);
  const std::string dest = w.dir / "dest";
  std::vector<std::string> exporter = {SLUICE_BINARY,      "export", "oci:" + layout + ":stream:1",
                                       "--ledger",         w.ledger, "--sign-key",
                                       w.keys.private_key, "-o",     "-",
                                       "--parity",         "1",      "-q"};
  std::vector<std::string> importer = {SLUICE_BINARY, "import", "-", "--trust", w.keys.public_key,
                                       "--to", "oci:" + dest, "-q"};
  RunResult r = RunShell(ShellQuote(exporter) + " | " + ShellQuote(importer));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK(TaggedDigest(dest, "stream:1") == TaggedDigest(layout, "stream:1"));
  // Nothing was lost: nothing is said about parity.
  CHECK(r.err.find("parity stream") == std::string::npos);
}

}  // namespace
}  // namespace sluice::e2e
