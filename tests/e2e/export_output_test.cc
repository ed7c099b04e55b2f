// Where sluice export writes and when it refuses, through the command line:
// a FIFO, a device or a pipe given as -o is written into, never replaced by
// a file; an output that cannot be written and a ref no import would take
// are refused before any work; a ledger another export holds is refused at
// once, naming the holder. Also import --mapping into a device.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e_support.h"

namespace sluice::e2e {
namespace {

using ::sluice::testing::ChildProcess;
using ::sluice::testing::ReadFileIfExists;
using ::sluice::testing::RunShell;
using ::sluice::testing::ShellQuote;

// What lstat says is at path: 'f' file, 'l' link, 'p' FIFO, 'c' character
// device, 'd' directory, '?' anything else, '-' nothing.
char TypeOf(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return '-';
  if (S_ISREG(st.st_mode)) return 'f';
  if (S_ISLNK(st.st_mode)) return 'l';
  if (S_ISFIFO(st.st_mode)) return 'p';
  if (S_ISCHR(st.st_mode)) return 'c';
  if (S_ISDIR(st.st_mode)) return 'd';
  return '?';
}

// A character device like /dev/null made in dir, so that no test puts the
// host's /dev/null at risk; "" when this machine cannot (mknod needs root,
// and opening it a file system mounted without nodev).
std::string MakeNullDevice(const TempDir& dir) {
  std::string path = dir / "null";
  if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) return "";
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "";
  ::close(fd);
  return path;
}

// The ledger's sequence, read from the file's metadata (the JSON after its
// 40-byte header, src/ledger.h) rather than by `ledger show`, which would
// wait for the lock an export under test may hold.
uint64_t LedgerSequence(const std::string& ledger) {
  std::string bytes = ReadFile(ledger);
  REQUIRE(bytes.size() >= 48);
  uint64_t metadata_size = 0;
  for (int i = 7; i >= 0; --i) metadata_size = (metadata_size << 8) | static_cast<uint8_t>(bytes[32 + i]);
  return ParseJson(bytes.substr(40, metadata_size)).at("sequence").get<uint64_t>();
}

// Whether the ledger file holds a pending record (its metadata is JSON,
// readable in the file as it is; `ledger show` would settle the record).
bool HasPendingRecord(const std::string& ledger) {
  return ReadFile(ledger).find("\"pending\"") != std::string::npos;
}

TEST_CASE("export -o a FIFO streams a bundle its reader can verify, and the FIFO stays",
          "[e2e][export]") {
  Workspace w;
  const std::string fifo = w.dir / "diode";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string received = w.dir / "received.sluice";
  ChildProcess reader({"sh", "-c", "exec cat " + ShellQuote(fifo) + " > " + ShellQuote(received)});

  RunResult r = w.Export({"oci:" + SampleLayout() + ":app:1.0"}, fifo);
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  // Replaced by a file, the FIFO would leave its reader waiting for ever
  // (the ChildProcess destructor kills it).
  REQUIRE(TypeOf(fifo) == 'p');
  RunResult read = reader.Wait();
  INFO(read.Describe());
  REQUIRE(read.exit_code == 0);
  RunResult verified = w.Verify(received);
  INFO(verified.Describe());
  CHECK(verified.exit_code == 0);
  CHECK(LedgerSequence(w.ledger) == 1);
  CHECK_FALSE(HasPendingRecord(w.ledger));
}

TEST_CASE("export -o a link to /proc/self/fd/1 on a pipe sends the bundle down the pipe",
          "[e2e][export]") {
  Workspace w;
  const std::string link = w.dir / "stdout";
  REQUIRE(::symlink("/proc/self/fd/1", link.c_str()) == 0);
  const std::string received = w.dir / "received.sluice";
  std::vector<std::string> argv = {SLUICE_BINARY,
                                   "export",
                                   "oci:" + SampleLayout() + ":app:1.0",
                                   "--ledger",
                                   w.ledger,
                                   "--sign-key",
                                   w.keys.private_key,
                                   "-o",
                                   link,
                                   "-q"};
  RunResult r = RunShell("{ " + ShellQuote(argv) + "; echo $? > " + ShellQuote(w.dir / "rc") +
                         "; } | cat > " + ShellQuote(received));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK(ReadFile(w.dir / "rc") == "0\n");
  CHECK(TypeOf(link) == 'l');
  RunResult verified = w.Verify(received);
  INFO(verified.Describe());
  CHECK(verified.exit_code == 0);
  CHECK(LedgerSequence(w.ledger) == 1);
}

TEST_CASE("export -o and import --mapping into a character device leave it a device",
          "[e2e][export][import]") {
  Workspace w;
  const std::string device = MakeNullDevice(w.dir);
  if (device.empty()) {
    WARN("cannot make a character device here (not root, or nodev): skipped");
    return;
  }
  RunResult exported = w.Export({"oci:" + SampleLayout() + ":app:1.0"}, device);
  INFO(exported.Describe());
  REQUIRE(exported.exit_code == 0);
  CHECK(TypeOf(device) == 'c');

  // A bundle in a file (on a ledger of its own: the device swallowed the
  // first one) to import with the mapping into the device.
  RunResult full =
      Sluice({"export", "oci:" + SampleLayout() + ":app:1.0", "--ledger", w.dir / "other.ledger",
              "--sign-key", w.keys.private_key, "-o", w.dir / "full.sluice"});
  INFO(full.Describe());
  REQUIRE(full.exit_code == 0);
  RunResult imported = Sluice({"import", w.dir / "full.sluice", "--trust", w.keys.public_key,
                               "--to", "oci:" + (w.dir / "far"), "--mapping", device});
  INFO(imported.Describe());
  REQUIRE(imported.exit_code == 0);
  CHECK(TypeOf(device) == 'c');
  // No FILE.json twin beside a device.
  CHECK(TypeOf(device + ".json") == '-');
}

TEST_CASE("a second export on a ledger in use fails at once naming the holder",
          "[e2e][export][ledger]") {
  Workspace w;
  const std::string fifo = w.dir / "diode";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // The first export takes the ledger, then waits for a reader of its FIFO.
  ChildProcess first({SLUICE_BINARY, "export", "oci:" + SampleLayout() + ":app:1.0", "--ledger",
                      w.ledger, "--sign-key", w.keys.private_key, "-o", fifo, "-q"});
  // The holder's name is in the lock file while it holds it.
  const std::string lock = w.ledger + ".lock";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ReadFileIfExists(lock).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  INFO("lock file: " << ReadFileIfExists(lock));

  RunResult second = w.Export({"oci:" + SampleLayout() + ":app:1.1"}, w.dir / "2.sluice");
  // Let the first one finish.
  ChildProcess reader({"sh", "-c", "exec cat " + ShellQuote(fifo) + " > /dev/null"});
  RunResult done = first.Wait();
  INFO(second.Describe());
  INFO(done.Describe());
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.ErrorLine(),
             Catch::StartsWith("sluice: error: busy: ledger " + w.ledger + " is in use: " + lock +
                               " is locked by sluice export (pid "));
  CHECK_THAT(second.ErrorLine(), Catch::Contains("run this again once that has finished"));
  CHECK(TypeOf(w.dir / "2.sluice") == '-');
  REQUIRE(done.exit_code == 0);
  CHECK(LedgerSequence(w.ledger) == 1);

  RunResult again = w.Export({"oci:" + SampleLayout() + ":app:1.1"}, w.dir / "2.sluice");
  INFO(again.Describe());
  REQUIRE(again.exit_code == 0);
  CHECK(LedgerSequence(w.ledger) == 2);
}

TEST_CASE("export -o a directory is refused before the source is read", "[e2e][export]") {
  Workspace w;
  // The source does not exist: reading it first would report that instead.
  RunResult r = w.Export({"oci:" + (w.dir / "no-layout") + ":app:1.0"}, w.dir.path());
  INFO(r.Describe());
  CHECK(r.exit_code == 2);
  CHECK(r.ErrorLine() == "sluice: error: invalid argument: bundle output " + w.dir.path() +
                             " is a directory; name the bundle file, e.g. -o " + w.dir.path() +
                             "/bundle.sluice");
  CHECK(TypeOf(w.ledger) == '-');
}

TEST_CASE("export of an image no import would accept is refused naming it, writing nothing",
          "[e2e][export]") {
  Workspace w;
  const std::string layout = w.dir / "layout";
  CopyTree(SampleLayout(), layout);
  // Tag app:1.0's manifest once more, as "app:1 beta": an OCI layout takes
  // any annotation, an OCI ref.name has no space.
  nlohmann::json index = ParseJson(ReadFile(layout + "/index.json"));
  for (const auto& d : index.at("manifests")) {
    if (d.at("annotations").value("org.opencontainers.image.ref.name", "") == "app:1.0") {
      nlohmann::json beta = d;
      beta["annotations"]["org.opencontainers.image.ref.name"] = "app:1 beta";
      index["manifests"].push_back(beta);
      break;
    }
  }
  WriteFile(layout + "/index.json", index.dump());

  RunResult r = w.Export({"oci:" + layout}, w.dir / "b.sluice");
  INFO(r.Describe());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.ErrorLine(), Catch::Contains("image 'oci:" + layout + ":app:1 beta'") &&
                                Catch::Contains("'app:1 beta' is not a valid OCI reference name"));
  CHECK(TypeOf(w.dir / "b.sluice") == '-');
  CHECK(TypeOf(w.ledger) == '-');
}

}  // namespace
}  // namespace sluice::e2e
