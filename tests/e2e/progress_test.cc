// Progress as an operator sees it. On a terminal (a pseudo-terminal made by
// util-linux `script`, whose bytes are captured whole): one line per phase
// rewritten with '\r', with bytes done, total, rate and ETA, moving inside
// one large blob written slowly (--rate-limit). Not on a terminal: plain
// lines, no '\r'. With --quiet: nothing on stderr.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "e2e_support.h"
#include "tests/support/layout_builder.h"

namespace sluice::e2e {
namespace {

using ::sluice::testing::LayoutBuilder;
using ::sluice::testing::RandomBytes;
using ::sluice::testing::ShellQuote;

constexpr size_t kBigLayer = 64u << 20;

// An image with one random 64 MiB layer, made once per process.
const std::string& BigLayout() {
  static TempDir* dir = new TempDir();
  static const std::string layout = [] {
    const std::string path = *dir / "layout";
    LayoutBuilder b(path);
    auto layer = b.AddBlob(RandomBytes(kBigLayer, 64), "application/vnd.oci.image.layer.v1.tar");
    auto image = b.AddImage({layer});
    b.Tag("big:1", image.manifest, image.manifest_size,
          "application/vnd.oci.image.manifest.v1+json");
    return path;
  }();
  return layout;
}

// argv run on a pseudo-terminal: out holds every byte the terminal got,
// stdout and stderr together; the exit code is sluice's.
RunResult OnTerminal(const std::vector<std::string>& argv) {
  return Run({"script", "-qfec", ShellQuote(argv), "/dev/null"});
}

// The pieces a terminal shows one after another: the text between '\r's and
// newlines.
std::vector<std::string> Pieces(const std::string& text) {
  std::vector<std::string> pieces;
  std::string piece;
  for (char c : text) {
    if (c == '\r' || c == '\n') {
      if (!piece.empty()) pieces.push_back(piece);
      piece.clear();
    } else {
      piece += c;
    }
  }
  if (!piece.empty()) pieces.push_back(piece);
  return pieces;
}

std::vector<std::string> ExportArgv(Workspace& w, const std::string& bundle,
                                    const std::vector<std::string>& extra = {}) {
  return Concat({SLUICE_BINARY, "export", "oci:" + BigLayout() + ":big:1", "--ledger", w.ledger,
                 "--sign-key", w.keys.private_key, "-o", bundle},
                extra);
}

TEST_CASE("export on a terminal rewrites one line with bytes, rate and ETA, inside a large blob",
          "[e2e][progress]") {
  Workspace w;
  RunResult r = OnTerminal(ExportArgv(w, w.dir / "b.sluice", {"--rate-limit", "16M"}));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  // Rewritten in place: many '\r' before the line ends.
  const std::string progress = r.out.substr(0, r.out.find('\n'));
  CHECK(std::count(progress.begin(), progress.end(), '\r') >= 4);

  // While the 64 MiB layer is written (at most one blob done: the small
  // config), the bytes move, with a rate and an ETA.
  std::set<std::string> amounts;
  bool rate = false;
  bool eta = false;
  for (const std::string& piece : Pieces(progress)) {
    if (!piece.starts_with("exporting: 0/2 blobs, ") &&
        !piece.starts_with("exporting: 1/2 blobs, ")) {
      continue;
    }
    const size_t of = piece.find(" of 64.0 MiB");
    REQUIRE(of != std::string::npos);
    const std::string amount = piece.substr(22, of - 22);
    if (amount != "0 B" && amount != "64.0 MiB") amounts.insert(amount);
    rate = rate || piece.find(" MiB/s") != std::string::npos;
    eta = eta || piece.find(", ETA ") != std::string::npos;
  }
  CHECK(amounts.size() >= 3);
  CHECK(rate);
  CHECK(eta);
  // The phase's last line, then the report on lines of its own.
  CHECK(Pieces(progress).back().starts_with("exporting: 2 blobs, 64.0 MiB in "));
  CHECK(r.out.find("\nexported bundle 1") != std::string::npos);
}

TEST_CASE("export not on a terminal writes plain progress lines, never a carriage return",
          "[e2e][progress]") {
  Workspace w;
  RunResult r = Run(ExportArgv(w, w.dir / "b.sluice", {"--rate-limit", "16M"}));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find('\r') == std::string::npos);
  size_t lines = 0;
  for (const std::string& line : Pieces(r.err)) {
    CHECK(line.starts_with("exporting: "));
    ++lines;
  }
  // About 4 s at 16 MiB/s: a line each further tenth, at most one a
  // second, and the last.
  CHECK(lines >= 3);
  CHECK(lines <= 8);
  CHECK(Pieces(r.err).back().starts_with("exporting: 2 blobs, 64.0 MiB in "));
  CHECK(r.out.starts_with("exported bundle 1"));
}

TEST_CASE("verify, import and repair on a terminal show their phases", "[e2e][progress][parity]") {
  Workspace w;
  const std::string bundle = w.dir / "b.sluice";
  Require(Run(ExportArgv(w, bundle, {"--parity", "1", "-q"})));
  RunResult v = OnTerminal({SLUICE_BINARY, "verify", bundle, "--trust", w.keys.public_key});
  INFO(v.Describe());
  CHECK(v.exit_code == 0);
  // Parity files beside it: every row is checked against them first.
  CHECK(v.out.find("\rchecking parity: ") != std::string::npos);
  CHECK(v.out.find("\rverifying: 2 blobs, 64.0 MiB") != std::string::npos);

  RunResult i = OnTerminal({SLUICE_BINARY, "import", bundle, "--trust", w.keys.public_key, "--to",
                            "oci:" + w.dir / "dest"});
  INFO(i.Describe());
  CHECK(i.exit_code == 0);
  CHECK(i.out.find("\rchecking parity: ") != std::string::npos);
  CHECK(i.out.find("\rimporting: 2 blobs, 64.0 MiB") != std::string::npos);

  // A damaged byte in the middle: checked, then the file rebuilt.
  {
    std::fstream f(bundle, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(kBigLayer / 2));
    f.put('\x5a');
  }
  RunResult r = OnTerminal({SLUICE_BINARY, "repair", bundle});
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("\rchecking: ") != std::string::npos);
  CHECK(r.out.find("\rrebuilding: 1 files, ") != std::string::npos);
  Require(w.Verify(bundle));
}

TEST_CASE("with --quiet, a successful export, verify, import and repair print nothing on stderr",
          "[e2e][progress]") {
  Workspace w;
  const std::string bundle = w.dir / "b.sluice";
  const std::string source = "oci:" + SampleLayout() + ":app:1.0";
  std::vector<RunResult> runs;
  runs.push_back(Sluice({"export", source, "--ledger", w.ledger, "--sign-key", w.keys.private_key,
                         "-o", bundle, "--parity", "1", "--quiet"}));
  runs.push_back(Sluice({"verify", bundle, "--trust", w.keys.public_key, "-q"}));
  runs.push_back(Sluice(
      {"import", bundle, "--trust", w.keys.public_key, "--to", "oci:" + w.dir / "dest", "-q"}));
  runs.push_back(Sluice({"repair", bundle, "-q"}));
  for (const RunResult& r : runs) {
    INFO(r.Describe());
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK_FALSE(r.out.empty());  // the report still comes
  }
  // Without it, the same commands say how they go.
  Workspace w2;
  RunResult loud = w2.Export({source}, w2.dir / "b.sluice");
  INFO(loud.Describe());
  CHECK(loud.err.starts_with("exporting: "));
}

}  // namespace
}  // namespace sluice::e2e
