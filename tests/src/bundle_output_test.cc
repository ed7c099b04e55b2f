#include "bundle_output.h"

#include <catch2/catch.hpp>

#include "io/memory_file_system.h"

namespace sluice {
namespace {

TEST_CASE("a file output shows nothing at its path until Publish, and names the path") {
  io::MemoryFileSystem fs;
  REQUIRE(fs.CreateDirs("/out").ok());
  auto output = NewBundleOutput(&fs, "/out/b.sluice");
  CHECK(output->Location() == std::optional<std::string>("/out/b.sluice"));
  REQUIRE(output->Prepare(1000).ok());
  REQUIRE(output->writer()->Append(io::AsBytes("not really a bundle")).ok());
  CHECK_FALSE(fs.Exists("/out/b.sluice"));
  REQUIRE(output->Publish().ok());
  CHECK(fs.Exists("/out/b.sluice"));
  // Bytes that are no bundle never count as the bundle a ledger waits for.
  CHECK_FALSE(OutputHoldsBundle(&fs, "/out/b.sluice", std::string(32, '0')));
  CHECK_FALSE(OutputHoldsBundle(&fs, "/out/none.sluice", std::string(32, '0')));
}

TEST_CASE("a file output refuses a bundle larger than the room left, before writing") {
  io::MemoryFileSystem fs(4096);
  REQUIRE(fs.CreateDirs("/out").ok());
  auto output = NewBundleOutput(&fs, "/out/b.sluice");
  Status s = output->Prepare(1 << 20);
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
    auto output = NewBundleOutput(&fs, "/out/b.sluice");
    REQUIRE(output->Prepare(10).ok());
    REQUIRE(output->writer()->Append(io::AsBytes("partial")).ok());
  }
  auto names = fs.ListDir("/out");
  REQUIRE(names.ok());
  CHECK(names->empty());
}

TEST_CASE("standard output has no location for a pending ledger record") {
  io::MemoryFileSystem fs;
  auto output = NewBundleOutput(&fs, "-");
  CHECK_FALSE(output->Location().has_value());
  CHECK(output->Describe() == "standard output");
}

}  // namespace
}  // namespace sluice
