// The crash simulation and path handling of MemoryFileSystem. Its ordinary
// behaviour is covered with the other backends in file_system_test.cc.
#include "io/memory_file_system.h"

#include <catch2/catch.hpp>

#include "io/atomic_file.h"
#include "tests/io/test_util.h"

namespace sluice::io {
namespace {

using testing::ReadString;
using testing::WriteString;

// A directory whose own entry is durable, as after `mkdir -p d && sync`.
void MakeDurableDir(MemoryFileSystem& fs, const std::string& dir) {
  REQUIRE(fs.CreateDirs(dir).ok());
  REQUIRE(fs.SyncDir(Dirname(dir)).ok());
}

TEST_CASE("a crash keeps the bytes up to the last Sync and drops the rest") {
  MemoryFileSystem fs;
  MakeDurableDir(fs, "/d");
  Result<std::unique_ptr<SequentialWriter>> writer = fs.NewWriter("/d/log");
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Append(AsBytes("synced")).ok());
  REQUIRE((*writer)->Sync().ok());
  REQUIRE((*writer)->Append(AsBytes(" and not")).ok());
  REQUIRE((*writer)->Close().ok());
  REQUIRE(fs.SyncDir("/d").ok());
  CHECK(ReadString(&fs, "/d/log") == "synced and not");

  fs.DropUnsyncedData();
  CHECK(ReadString(&fs, "/d/log") == "synced");
}

TEST_CASE("a crash forgets a file whose directory was never synced") {
  MemoryFileSystem fs;
  MakeDurableDir(fs, "/d");
  Result<std::unique_ptr<SequentialWriter>> writer = fs.NewWriter("/d/new");
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Append(AsBytes("data")).ok());
  REQUIRE((*writer)->Sync().ok());  // the bytes, but not the name
  REQUIRE((*writer)->Close().ok());

  fs.DropUnsyncedData();
  CHECK_FALSE(fs.Exists("/d/new"));
}

TEST_CASE("a crash undoes a rename that was not followed by SyncDir") {
  MemoryFileSystem fs;
  MakeDurableDir(fs, "/d");
  REQUIRE(WriteFileAtomically(&fs, "/d/index.json", AsBytes("v1")).ok());

  Result<std::unique_ptr<SequentialWriter>> writer = fs.NewWriter("/d/index.json.tmp");
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Append(AsBytes("v2")).ok());
  REQUIRE((*writer)->Sync().ok());
  REQUIRE((*writer)->Close().ok());
  REQUIRE(fs.Rename("/d/index.json.tmp", "/d/index.json").ok());
  CHECK(ReadString(&fs, "/d/index.json") == "v2");

  fs.DropUnsyncedData();
  CHECK(ReadString(&fs, "/d/index.json") == "v1");
  CHECK_FALSE(fs.Exists("/d/index.json.tmp"));  // created after the last SyncDir
}

TEST_CASE("an AtomicFile commit survives a crash") {
  MemoryFileSystem fs;
  MakeDurableDir(fs, "/d");
  REQUIRE(WriteFileAtomically(&fs, "/d/ledger", AsBytes("entries")).ok());
  fs.DropUnsyncedData();
  CHECK(ReadString(&fs, "/d/ledger") == "entries");
  Result<std::vector<std::string>> names = fs.ListDir("/d");
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"ledger"});
}

TEST_CASE("a crash takes an unsynced directory with everything in it") {
  MemoryFileSystem fs;
  REQUIRE(fs.CreateDirs("/d/sub").ok());
  REQUIRE(WriteFileAtomically(&fs, "/d/sub/f", AsBytes("x")).ok());  // syncs /d/sub only
  fs.DropUnsyncedData();
  CHECK_FALSE(fs.Exists("/d/sub/f"));
  CHECK_FALSE(fs.Exists("/d"));
}

TEST_CASE("a crash restores a removed file whose removal was not synced") {
  MemoryFileSystem fs;
  MakeDurableDir(fs, "/d");
  REQUIRE(WriteFileAtomically(&fs, "/d/keep", AsBytes("kept")).ok());
  REQUIRE(fs.Remove("/d/keep").ok());
  fs.DropUnsyncedData();
  CHECK(ReadString(&fs, "/d/keep") == "kept");
}

TEST_CASE("memory paths are normalised") {
  MemoryFileSystem fs;
  REQUIRE(fs.CreateDirs("/a/b/").ok());
  REQUIRE(WriteString(&fs, "//a/./b//f", "x").ok());
  CHECK(ReadString(&fs, "/a/b/f") == "x");
  REQUIRE(WriteString(&fs, "relative", "y").ok());
  CHECK(ReadString(&fs, "./relative") == "y");
  Result<std::vector<std::string>> names = fs.ListDir(".");
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"relative"});
}

TEST_CASE("a removed file stays readable through a reader opened before") {
  MemoryFileSystem fs;
  REQUIRE(WriteString(&fs, "/f", "still here").ok());
  Result<std::unique_ptr<PositionalReader>> reader = fs.NewPositionalReader("/f");
  REQUIRE(reader.ok());
  REQUIRE(fs.Remove("/f").ok());
  std::vector<uint8_t> buf(32);
  Result<size_t> n = (*reader)->ReadAt(0, buf);
  REQUIRE(n.ok());
  CHECK(AsChars(ByteView(buf).first(*n)) == "still here");
}

TEST_CASE("memory FreeSpace is the capacity minus the bytes stored") {
  MemoryFileSystem fs(1000);
  REQUIRE(WriteString(&fs, "/f", std::string(300, 'x')).ok());
  Result<uint64_t> free = fs.FreeSpace("/anything");
  REQUIRE(free.ok());
  CHECK(*free == 700);
}

TEST_CASE("a rename onto a non-empty directory is refused") {
  MemoryFileSystem fs;
  REQUIRE(fs.CreateDirs("/a").ok());
  REQUIRE(fs.CreateDirs("/b").ok());
  REQUIRE(WriteString(&fs, "/b/f", "x").ok());
  CHECK_FALSE(fs.Rename("/a", "/b").ok());
  CHECK_FALSE(fs.Rename("/b/f", "/a").ok());  // a file over a directory
  CHECK_FALSE(fs.Rename("/a", "/a/inside").ok());
  CHECK(ReadString(&fs, "/b/f") == "x");
}

}  // namespace
}  // namespace sluice::io
