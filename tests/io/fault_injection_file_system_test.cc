#include "io/fault_injection_file_system.h"

#include <catch2/catch.hpp>

#include "io/atomic_file.h"
#include "tests/io/test_util.h"

namespace sluice::io {
namespace {

using Op = FaultInjectionFileSystem::Op;
using testing::Backend;
using testing::RandomBytes;
using testing::ReadString;
using testing::WriteString;

TEST_CASE("writes fail with kNoSpace at the limit, after writing what fit") {
  // Over a real backend too: the bytes that fit must reach the file through
  // the base writer's buffering.
  SLUICE_FOR_EACH_BACKEND(backend);
  FaultInjectionFileSystem fs(backend.fs());
  fs.FailWritesAfter(1000);
  const std::string path = backend.Path("bundle");
  Result<std::unique_ptr<SequentialWriter>> writer = fs.NewWriter(path);
  REQUIRE(writer.ok());
  const std::vector<uint8_t> data = RandomBytes(1200, 7);
  REQUIRE((*writer)->Append(ByteView(data).first(600)).ok());
  Status full = (*writer)->Append(ByteView(data).subspan(600));
  CHECK(full.kind() == ErrorKind::kNoSpace);
  CHECK(full.IsNoSpace());
  CHECK_THAT(full.message(), Catch::Contains(path));
  // The writer stays broken, like a real one.
  CHECK((*writer)->Append(AsBytes("x")).kind() == ErrorKind::kNoSpace);
  CHECK((*writer)->Sync().kind() == ErrorKind::kNoSpace);
  CHECK((*writer)->Close().kind() == ErrorKind::kNoSpace);

  CHECK(fs.BytesWritten() == 1000);
  Result<std::vector<uint8_t>> back = testing::ReadAll(backend.fs(), path, 4096);
  REQUIRE(back.ok());
  CHECK(*back == std::vector<uint8_t>(data.begin(), data.begin() + 1000));
}

TEST_CASE("the write limit is shared by all files and shows in FreeSpace") {
  MemoryFileSystem memory;
  FaultInjectionFileSystem fs(&memory);
  fs.FailWritesAfter(10);
  REQUIRE(WriteString(&fs, "/a", "123456").ok());
  Result<uint64_t> free = fs.FreeSpace("/");
  REQUIRE(free.ok());
  CHECK(*free == 4);
  CHECK(WriteString(&fs, "/b", "123456").kind() == ErrorKind::kNoSpace);
  CHECK(ReadString(&memory, "/b") == "1234");

  fs.ClearFailures();
  CHECK(WriteString(&fs, "/c", "123456").ok());
}

TEST_CASE("only the Nth call of an operation fails, and it does nothing") {
  MemoryFileSystem memory;
  FaultInjectionFileSystem fs(&memory);
  for (const char* name : {"/1", "/2", "/3"}) REQUIRE(WriteString(&fs, name, name).ok());
  fs.FailNth(Op::kRename, 2);
  CHECK(fs.Rename("/1", "/one").ok());
  Status failed = fs.Rename("/2", "/two");
  CHECK(failed.kind() == ErrorKind::kIoError);
  CHECK_THAT(failed.message(), Catch::Contains("/2") && Catch::Contains("injected"));
  CHECK(fs.Rename("/3", "/three").ok());
  CHECK(fs.Count(Op::kRename) == 3);
  CHECK(memory.Exists("/2"));
  CHECK_FALSE(memory.Exists("/two"));
}

TEST_CASE("an injected error has the kind asked for") {
  MemoryFileSystem memory;
  FaultInjectionFileSystem fs(&memory);
  const ErrorKind kind = GENERATE(ErrorKind::kIoError, ErrorKind::kNoSpace, ErrorKind::kNotFound);
  fs.FailNth(Op::kStat, 1, kind);
  CHECK(fs.Stat("/").status().kind() == kind);
  CHECK(fs.Stat("/").ok());
}

TEST_CASE("an injected Sync failure breaks the writer") {
  MemoryFileSystem memory;
  FaultInjectionFileSystem fs(&memory);
  Result<std::unique_ptr<SequentialWriter>> writer = fs.NewWriter("/f");
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Append(AsBytes("abc")).ok());
  fs.FailNth(Op::kSync, 1);
  CHECK((*writer)->Sync().kind() == ErrorKind::kIoError);
  CHECK((*writer)->Append(AsBytes("d")).kind() == ErrorKind::kIoError);
  CHECK((*writer)->Close().kind() == ErrorKind::kIoError);
}

TEST_CASE("an injected read failure is reported and sticks for a sequential reader") {
  MemoryFileSystem memory;
  REQUIRE(WriteString(&memory, "/f", "abcdef").ok());
  FaultInjectionFileSystem fs(&memory);
  Result<std::unique_ptr<SequentialReader>> reader = fs.NewSequentialReader("/f");
  REQUIRE(reader.ok());
  std::vector<uint8_t> buf(3);
  REQUIRE((*reader)->Read(buf).ok());
  fs.FailNth(Op::kRead, 1);
  CHECK_FALSE((*reader)->Read(buf).ok());
  CHECK_FALSE((*reader)->Read(buf).ok());

  Result<std::unique_ptr<PositionalReader>> positional = fs.NewPositionalReader("/f");
  REQUIRE(positional.ok());
  fs.FailNth(Op::kRead, 1);
  CHECK_FALSE((*positional)->ReadAt(0, buf).ok());
  CHECK((*positional)->ReadAt(0, buf).ok());  // independent reads: no stickiness
}

TEST_CASE("an atomic write that cannot rename leaves the target as it was and no temp file") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FaultInjectionFileSystem fs(backend.fs());
  const std::string target = backend.Path("ledger");
  REQUIRE(WriteString(&fs, target, "before").ok());
  fs.FailAlways(Op::kRename);
  CHECK(WriteFileAtomically(&fs, target, AsBytes("after")).kind() == ErrorKind::kIoError);
  CHECK(ReadString(&fs, target) == "before");
  Result<std::vector<std::string>> names = fs.ListDir(backend.root());
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"ledger"});
}

TEST_CASE("an atomic write on a full disk fails with kNoSpace and cleans up") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FaultInjectionFileSystem fs(backend.fs());
  const std::string target = backend.Path("bundle");
  fs.FailWritesAfter(100);
  Result<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(&fs, target);
  REQUIRE(file.ok());
  Status s = (*file)->writer()->Append(RandomBytes(5000, 8));
  if (s.ok()) s = (*file)->Commit();
  CHECK(s.kind() == ErrorKind::kNoSpace);
  file->reset();
  CHECK_FALSE(fs.Exists(target));
  Result<std::vector<std::string>> names = fs.ListDir(backend.root());
  REQUIRE(names.ok());
  CHECK(names->empty());
}

TEST_CASE("every call is counted, failed ones included") {
  MemoryFileSystem memory;
  FaultInjectionFileSystem fs(&memory);
  fs.FailAlways(Op::kSyncDir);
  REQUIRE(WriteString(&fs, "/f", "x").ok());
  (void)fs.Stat("/f");
  (void)fs.Stat("/g");
  CHECK_FALSE(fs.SyncDir("/").ok());
  CHECK_FALSE(fs.SyncDir("/").ok());
  CHECK(fs.Count(Op::kNewWriter) == 1);
  CHECK(fs.Count(Op::kAppend) == 1);
  CHECK(fs.Count(Op::kClose) == 1);
  CHECK(fs.Count(Op::kStat) == 2);
  CHECK(fs.Count(Op::kSyncDir) == 2);
  CHECK(fs.Count(Op::kRename) == 0);
  CHECK(fs.name() == "memory");
}

}  // namespace
}  // namespace sluice::io
