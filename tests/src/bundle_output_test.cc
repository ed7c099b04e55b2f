#include "bundle_output.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "io/atomic_file.h"
#include "io/memory_file_system.h"
#include "test_support.h"

namespace sluice {
namespace {

TEST_CASE("a file output shows nothing at its path until Publish, and names the path") {
  io::MemoryFileSystem fs;
  REQUIRE(fs.CreateDirs("/out").ok());
  auto output = OpenBundleOutput(&fs, "/out/b.sluice");
  REQUIRE(output.ok());
  CHECK((*output)->Location() == std::optional<std::string>("/out/b.sluice"));
  REQUIRE((*output)->Prepare(1000).ok());
  REQUIRE((*output)->writer()->Append(io::AsBytes("not really a bundle")).ok());
  CHECK_FALSE(fs.Exists("/out/b.sluice"));
  REQUIRE((*output)->Publish().ok());
  CHECK(fs.Exists("/out/b.sluice"));
  // Bytes that are no bundle never count as the bundle a ledger waits for.
  CHECK_FALSE(OutputHoldsBundle(&fs, "/out/b.sluice", std::string(32, '0')));
  CHECK_FALSE(OutputHoldsBundle(&fs, "/out/none.sluice", std::string(32, '0')));
}

TEST_CASE("a rate-limited output is the output it wraps, written through its limit") {
  io::MemoryFileSystem fs;
  REQUIRE(fs.CreateDirs("/out").ok());
  // Fast enough not to slow the test: a few milliseconds.
  auto output = OpenBundleOutput(&fs, "/out/b.sluice", {/*bytes_per_second=*/1u << 30});
  REQUIRE(output.ok());
  CHECK((*output)->Location() == std::optional<std::string>("/out/b.sluice"));
  CHECK((*output)->Describe() == "bundle /out/b.sluice");
  REQUIRE((*output)->Prepare(1000).ok());
  const std::string bytes(3 << 20, 'x');  // more than a burst
  REQUIRE((*output)->writer()->Append(io::AsBytes(bytes)).ok());
  CHECK((*output)->writer()->Size() == bytes.size());
  CHECK_FALSE(fs.Exists("/out/b.sluice"));
  REQUIRE((*output)->Publish().ok());
  auto written = io::ReadSmallFile(&fs, "/out/b.sluice", 4u << 20);
  REQUIRE(written.ok());
  CHECK(*written == bytes);
}

TEST_CASE("a file output refuses a bundle larger than the room left, leaving nothing") {
  io::MemoryFileSystem fs(4096);
  REQUIRE(fs.CreateDirs("/out").ok());
  auto output = OpenBundleOutput(&fs, "/out/b.sluice");
  REQUIRE(output.ok());
  Status s = (*output)->Prepare(1 << 20);
  CHECK(s.kind() == ErrorKind::kNoSpace);
  CHECK(s.message().find("/out") != std::string::npos);
  auto names = fs.ListDir("/out");
  REQUIRE(names.ok());
  CHECK(names->empty());
}

TEST_CASE("a file output dropped before Publish leaves nothing behind") {
  io::MemoryFileSystem fs;
  REQUIRE(fs.CreateDirs("/out").ok());
  {
    auto output = OpenBundleOutput(&fs, "/out/b.sluice");
    REQUIRE(output.ok());
    REQUIRE((*output)->Prepare(10).ok());
    REQUIRE((*output)->writer()->Append(io::AsBytes("partial")).ok());
  }
  auto names = fs.ListDir("/out");
  REQUIRE(names.ok());
  CHECK(names->empty());
}

TEST_CASE("an output that cannot be written is refused when it is opened") {
  io::MemoryFileSystem fs;
  REQUIRE(fs.CreateDirs("/out").ok());
  auto directory = OpenBundleOutput(&fs, "/out");
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.status().kind() == ErrorKind::kInvalidArgument);
  CHECK(directory.status().message() ==
        "bundle output /out is a directory; name the bundle file, e.g. -o /out/bundle.sluice");
  auto missing = OpenBundleOutput(&fs, "/none/b.sluice");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() ==
        "cannot write /none/b.sluice: directory /none does not exist; create it first");
}

TEST_CASE("standard output has no location for a pending ledger record") {
  io::MemoryFileSystem fs;
  auto output = OpenBundleOutput(&fs, "-");
  REQUIRE(output.ok());
  CHECK_FALSE((*output)->Location().has_value());
  CHECK((*output)->Describe() == "standard output");
}

TEST_CASE("a FIFO output is a stream: no location, and never replaced") {
  testing::TempDir tmp;
  io::FileSystem* fs = io::DefaultFileSystem();
  const std::string fifo = tmp / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto output = OpenBundleOutput(fs, fifo);
  REQUIRE(output.ok());
  CHECK_FALSE((*output)->Location().has_value());
  CHECK((*output)->Describe() == "bundle stream " + fifo);
}

TEST_CASE("a file output records its location as an absolute path") {
  testing::TempDir tmp;
  char saved[4096];
  REQUIRE(::getcwd(saved, sizeof saved) != nullptr);
  REQUIRE(::chdir(tmp.path().c_str()) == 0);
  auto output = OpenBundleOutput(io::DefaultFileSystem(), "./b.sluice");
  REQUIRE(::chdir(saved) == 0);
  REQUIRE(output.ok());
  CHECK((*output)->Location() ==
        std::optional<std::string>(std::filesystem::canonical(tmp.path()).string() + "/b.sluice"));
}

}  // namespace
}  // namespace sluice
