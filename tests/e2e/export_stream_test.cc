// sluice export onto a one-way link, through the command line: --rate-limit
// paces the bundle (measured on the wall clock), and a reader that goes away
// (`| head`, a FIFO's reader, -o /dev/stdout on a pipe) ends the export with
// one line on stderr and a ledger left as it was, never a silent SIGPIPE.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

using ::sluice::testing::ChildProcess;
using ::sluice::testing::ShellQuote;

constexpr uint64_t kMinBurst = 256 * 1024;  // README: the burst is at least this

uint64_t LedgerSequence(const std::string& ledger) {
  RunResult shown = Sluice({"ledger", "show", "--ledger", ledger, "--json"});
  INFO(shown.Describe());
  REQUIRE(shown.exit_code == 0);
  return ParseJson(shown.out).at("sequence").get<uint64_t>();
}

// sluice export SOURCE --ledger --sign-key -o OUTPUT -q EXTRA..., as argv.
std::vector<std::string> ExportArgv(const Workspace& w, const std::string& source,
                                    const std::string& output,
                                    const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {SLUICE_BINARY, "export",           source, "--ledger", w.ledger,
                                   "--sign-key",  w.keys.private_key, "-o",   output,     "-q"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// Runs `export_argv | head -c 100` in bash; the exit code is sluice's.
RunResult ExportIntoHead(const std::vector<std::string>& export_argv) {
  return Run({"bash", "-c",
              ShellQuote(export_argv) + " | head -c 100 > /dev/null; exit \"${PIPESTATUS[0]}\""});
}

// The error a broken pipe ends an export with, all of stderr.
void CheckBrokenPipeLine(const RunResult& r, const std::string& reader_of) {
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  const std::string line = r.ErrorLine();
  CHECK(r.err == line + "\n");
  CHECK_THAT(line, Catch::StartsWith("sluice: error: broken pipe: the reader of " + reader_of +
                                     " went away after "));
  CHECK_THAT(line, Catch::EndsWith(" bytes of the bundle; nothing was recorded in the ledger"));
}

TEST_CASE("export --rate-limit paces a bundle streamed into a pipe, which then verifies",
          "[e2e][export]") {
  const std::string source = "oci:" + SampleLayout() + ":app:1.0";
  // The bundle's size, from an export as fast as it goes (on a ledger of its
  // own, so the paced one ships the same blobs).
  Workspace probe;
  RunResult fast = probe.Export({source}, probe.dir / "fast.sluice", {"-q"});
  INFO(fast.Describe());
  REQUIRE(fast.exit_code == 0);
  const uint64_t size = ReadFile(probe.dir / "fast.sluice").size();
  REQUIRE(size > 2 * kMinBurst);

  // About two seconds for the whole bundle, written in K (powers of 1024).
  const uint64_t rate_kib = size / 2 / 1024;
  const uint64_t rate = rate_kib * 1024;
  const uint64_t burst = std::max(rate / 8, kMinBurst);
  Workspace w;
  const std::string received = w.dir / "received.sluice";
  const auto start = std::chrono::steady_clock::now();
  RunResult r = Run({"bash", "-c",
                     "set -o pipefail; " +
                         ShellQuote(ExportArgv(w, source, "-",
                                               {"--rate-limit", std::to_string(rate_kib) + "K"})) +
                         " | cat > " + ShellQuote(received)});
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);

  const uint64_t streamed = ReadFile(received).size();
  const double least = static_cast<double>(streamed - burst) / static_cast<double>(rate);
  INFO("bundle " << streamed << " bytes at " << rate << " B/s (burst " << burst << "): " << elapsed
                 << " s, at least " << least << " s");
  CHECK(elapsed >= least);
  // Not "rate minus overhead" either; generous, for a busy machine.
  CHECK(elapsed <= static_cast<double>(streamed) / static_cast<double>(rate) + 3.0);
  RunResult verified = w.Verify(received);
  INFO(verified.Describe());
  CHECK(verified.exit_code == 0);
  CHECK(LedgerSequence(w.ledger) == 1);
}

TEST_CASE("export --rate-limit refuses a rate of nothing, below nothing or of no size",
          "[e2e][export][usage]") {
  Workspace w;
  struct Case {
    std::string value;
    std::string message;  // after "sluice export: --rate-limit: "
  };
  const Case cases[] = {
      {"0", "a rate of 0 bytes per second would never finish; give more, e.g. 10M"},
      {"0K", "a rate of 0 bytes per second would never finish; give more, e.g. 10M"},
      {"-1", "'-1' is negative; a size is 0 bytes or more"},
      {"-10M", "'-10M' is negative; a size is 0 bytes or more"},
      {"fast", "'fast' is not a size; expected a number of bytes"},
      {"10MB", "'10MB' has an unknown unit 'MB'; expected a number of bytes"},
      {"", "an empty size; expected a number of bytes"},
      {"99999999999T", "'99999999999T' is too large"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.value);
    RunResult r = Run(ExportArgv(w, "oci:" + SampleLayout() + ":app:1.0", w.dir / "b.sluice",
                                 {"--rate-limit", c.value}));
    INFO(r.Describe());
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("sluice export: --rate-limit: " + c.message));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(Exists(w.dir / "b.sluice"));
    CHECK_FALSE(Exists(w.ledger));
  }
  // Joined to the option by '=', the same.
  RunResult r = Run(
      ExportArgv(w, "oci:" + SampleLayout() + ":app:1.0", w.dir / "b.sluice", {"--rate-limit=-1"}));
  INFO(r.Describe());
  CHECK(r.exit_code == 2);
  CHECK(r.err == "sluice export: --rate-limit: '-1' is negative; a size is 0 bytes or more\n");
}

TEST_CASE("export --help lists --rate-limit", "[e2e][export][usage]") {
  RunResult r = Sluice({"export", "--help"});
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("--rate-limit"));
  CHECK_THAT(r.out, Catch::Contains("powers of 1024"));
}

TEST_CASE("export -o - into a reader that goes away fails in one line, recording nothing",
          "[e2e][export][ledger]") {
  Workspace w;
  SECTION("on a new ledger: no ledger appears") {
    RunResult r = ExportIntoHead(ExportArgv(w, "oci:" + SampleLayout() + ":app:1.0", "-"));
    CheckBrokenPipeLine(r, "standard output");
    if (Exists(w.ledger)) CHECK(LedgerSequence(w.ledger) == 0);
  }
  SECTION("on a ledger with a bundle: the ledger is left byte for byte") {
    RunResult first = w.Export({"oci:" + SampleLayout() + ":base:1"}, w.dir / "1.sluice", {"-q"});
    INFO(first.Describe());
    REQUIRE(first.exit_code == 0);
    const std::string before = ReadFile(w.ledger);

    RunResult r = ExportIntoHead(ExportArgv(w, "oci:" + SampleLayout() + ":app:1.0", "-"));
    CheckBrokenPipeLine(r, "standard output");
    CHECK(ReadFile(w.ledger) == before);
    CHECK(LedgerSequence(w.ledger) == 1);
    // Nothing was lost: the next export ships app:1.0 as bundle 2.
    RunResult again = w.Export({"oci:" + SampleLayout() + ":app:1.0"}, w.dir / "2.sluice", {"-q"});
    INFO(again.Describe());
    REQUIRE(again.exit_code == 0);
    CHECK(LedgerSequence(w.ledger) == 2);
  }
  SECTION("rate-limited, the same") {
    RunResult r = ExportIntoHead(
        ExportArgv(w, "oci:" + SampleLayout() + ":app:1.0", "-", {"--rate-limit", "64M"}));
    CheckBrokenPipeLine(r, "standard output");
    if (Exists(w.ledger)) CHECK(LedgerSequence(w.ledger) == 0);
  }
}

TEST_CASE("export -o /dev/stdout into a reader that goes away fails in one line", "[e2e][export]") {
  Workspace w;
  RunResult r = ExportIntoHead(ExportArgv(w, "oci:" + SampleLayout() + ":app:1.0", "/dev/stdout"));
  CheckBrokenPipeLine(r, "bundle stream /dev/stdout");
  if (Exists(w.ledger)) CHECK(LedgerSequence(w.ledger) == 0);
}

TEST_CASE("export -o a FIFO whose reader goes away fails in one line, and the FIFO stays",
          "[e2e][export]") {
  Workspace w;
  const std::string fifo = w.dir / "diode";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  ChildProcess reader({"sh", "-c", "exec head -c 100 " + ShellQuote(fifo) + " > /dev/null"});
  RunResult r = Run(ExportArgv(w, "oci:" + SampleLayout() + ":app:1.0", fifo));
  reader.Wait();
  CheckBrokenPipeLine(r, "bundle stream " + fifo);
  struct stat st;
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  if (Exists(w.ledger)) CHECK(LedgerSequence(w.ledger) == 0);
}

}  // namespace
}  // namespace sluice::e2e
