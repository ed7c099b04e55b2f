// Behaviour every FileSystem must share: each test runs against posix,
// io_uring and memory (SLUICE_FOR_EACH_BACKEND), so a caller can never tell
// them apart.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstring>
#include <thread>

#include "io/file.h"
#include "io/posix_file.h"
#include "tests/io/test_util.h"

namespace sluice::io {
namespace {

using testing::Backend;
using testing::RandomBytes;
using testing::ReadAll;
using testing::ReadString;
using testing::WriteInPieces;
using testing::WriteString;

constexpr size_t kMiB = size_t{1} << 20;

TEST_CASE("a file written in pieces reads back byte for byte, at every size") {
  SLUICE_FOR_EACH_BACKEND(backend);
  // Sizes around the 1 MiB write buffer and read chunk, where the
  // implementations change path, plus several buffers' worth.
  const size_t size =
      GENERATE(size_t{0}, size_t{1}, size_t{4095}, kWriteBufferSize - 1, kWriteBufferSize,
               kWriteBufferSize + 1, 3 * kWriteBufferSize + 17, 9 * kMiB + 5);
  // Small appends that fill buffers piecemeal, and appends larger than a
  // buffer that bypass or span them.
  const std::vector<size_t> pieces =
      GENERATE(std::vector<size_t>{4096}, std::vector<size_t>{1, 300000, 7, kWriteBufferSize + 3});
  CAPTURE(size, pieces);

  const std::string path = backend.Path("data");
  const std::vector<uint8_t> data = RandomBytes(size, static_cast<uint32_t>(size));
  REQUIRE(WriteInPieces(backend.fs(), path, data, pieces).ok());

  Result<FileInfo> info = backend.fs()->Stat(path);
  REQUIRE(info.ok());
  CHECK(info->size == size);
  CHECK_FALSE(info->is_directory);

  // Reads smaller than a chunk, and larger than one.
  for (size_t read_chunk : {size_t{4000}, kMiB + 3}) {
    CAPTURE(read_chunk);
    Result<std::vector<uint8_t>> back = ReadAll(backend.fs(), path, read_chunk);
    REQUIRE(back.ok());
    REQUIRE(back->size() == data.size());
    CHECK(*back == data);
  }
}

TEST_CASE("a file partly in the page cache reads back byte for byte") {
  // The io_uring reader copies cached bytes straight out of the cache and
  // hands the rest of the file to its ring at the first byte that is not.
  SLUICE_FOR_EACH_BACKEND(backend);
  if (backend_name == "memory") return;  // no page cache
  const std::string path = backend.Path("partly-cached");
  const std::vector<uint8_t> data = RandomBytes(6 * kMiB + 17, 9);
  REQUIRE(WriteInPieces(backend.fs(), path, data, {kMiB}).ok());
  // Everything cached, then pages dropped from an offset inside a read chunk on.
  const off_t cached = GENERATE(off_t{0}, off_t{4096}, off_t(kMiB + 8192), off_t(6 * kMiB));
  CAPTURE(cached);
  REQUIRE(ReadAll(PosixFileSystem(), path, kMiB).ok());
  {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd.valid());
    REQUIRE(::fdatasync(fd.get()) == 0);
    REQUIRE(::posix_fadvise(fd.get(), cached, 0, POSIX_FADV_DONTNEED) == 0);
  }
  for (size_t read_chunk : {size_t{5000}, 3 * kMiB}) {
    CAPTURE(read_chunk);
    Result<std::vector<uint8_t>> back = ReadAll(backend.fs(), path, read_chunk);
    REQUIRE(back.ok());
    CHECK(*back == data);
  }
}

TEST_CASE("a freed write buffer is the next one handed out, aligned for O_DIRECT") {
  const uint8_t* memory;
  {
    AlignedBuffer first = NewWriteBuffer();
    memory = first.get();
    CHECK(reinterpret_cast<uintptr_t>(memory) % kDirectAlignment == 0);
    first.get()[kWriteBufferSize - 1] = 7;  // all of it is usable
  }
  AlignedBuffer again = NewWriteBuffer();
  CHECK(again.get() == memory);
  AlignedBuffer other = NewWriteBuffer();  // while it is in use: another one
  CHECK(other.get() != memory);
  CHECK(reinterpret_cast<uintptr_t>(other.get()) % kDirectAlignment == 0);
}

TEST_CASE("a writer told the size ahead ends the file at the size appended") {
  // Reserve is a hint: the posix and io_uring writers reserve the space
  // (fallocate) and cut the file back, whatever was announced.
  SLUICE_FOR_EACH_BACKEND(backend);
  const size_t size = GENERATE(size_t{0}, size_t{5000}, kWriteBufferSize + 1, 3 * kMiB + 17);
  const uint64_t announced =
      GENERATE(uint64_t{2 * kMiB}, uint64_t{8 * kMiB + 3}, uint64_t{1} << 62 /* cannot fit */);
  CAPTURE(size, announced);
  const std::string path = backend.Path("announced");
  const std::vector<uint8_t> data = RandomBytes(size, 11);
  Result<std::unique_ptr<SequentialWriter>> writer = backend.fs()->NewWriter(path);
  REQUIRE(writer.ok());
  (*writer)->Reserve(announced);
  if (backend_name != "memory" && announced == 8 * kMiB + 3) {
    struct stat st;
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(static_cast<uint64_t>(st.st_blocks) * 512 >= announced);  // reserved on the device
  }
  // Half, synced: the file is as long as what was appended, reservation or not.
  REQUIRE((*writer)->Append(ByteView(data.data(), size / 2)).ok());
  REQUIRE((*writer)->Sync().ok());
  Result<FileInfo> synced = backend.fs()->Stat(path);
  REQUIRE(synced.ok());
  CHECK(synced->size == size / 2);
  REQUIRE((*writer)->Append(ByteView(data.data() + size / 2, size - size / 2)).ok());
  REQUIRE((*writer)->Close().ok());
  Result<std::vector<uint8_t>> back = ReadAll(backend.fs(), path, 65536);
  REQUIRE(back.ok());
  CHECK(*back == data);
}

TEST_CASE("Sync makes appended bytes readable before Close") {
  SLUICE_FOR_EACH_BACKEND(backend);
  const std::string path = backend.Path("synced");
  const std::vector<uint8_t> data = RandomBytes(2 * kWriteBufferSize + 5, 1);
  Result<std::unique_ptr<SequentialWriter>> writer = backend.fs()->NewWriter(path);
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Append(data).ok());
  REQUIRE((*writer)->Sync().ok());
  Result<std::vector<uint8_t>> back = ReadAll(backend.fs(), path, 65536);
  REQUIRE(back.ok());
  CHECK(*back == data);
  CHECK((*writer)->Size() == data.size());
  REQUIRE((*writer)->Close().ok());
}

TEST_CASE("appends after a Sync continue the file exactly where it ended") {
  // The io_uring writer sends an unaligned tail padded to the block size and
  // cuts the file back; what follows must overwrite the padding, not follow it.
  SLUICE_FOR_EACH_BACKEND(backend);
  const std::string path = backend.Path("resumed");
  const std::vector<uint8_t> data = RandomBytes(3 * kWriteBufferSize + 4099, 2);
  const size_t first = GENERATE(size_t{1}, size_t{4097}, kWriteBufferSize + 5);
  CAPTURE(first);
  Result<std::unique_ptr<SequentialWriter>> writer = backend.fs()->NewWriter(path);
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Append(ByteView(data.data(), first)).ok());
  REQUIRE((*writer)->Sync().ok());
  Result<FileInfo> synced = backend.fs()->Stat(path);
  REQUIRE(synced.ok());
  CHECK(synced->size == first);
  REQUIRE((*writer)->Append(ByteView(data.data() + first, data.size() - first)).ok());
  REQUIRE((*writer)->Close().ok());
  Result<std::vector<uint8_t>> back = ReadAll(backend.fs(), path, 65536);
  REQUIRE(back.ok());
  CHECK(*back == data);
}

TEST_CASE("a closed writer refuses appends and Close is idempotent") {
  SLUICE_FOR_EACH_BACKEND(backend);
  Result<std::unique_ptr<SequentialWriter>> writer = backend.fs()->NewWriter(backend.Path("f"));
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Append(AsBytes("abc")).ok());
  REQUIRE((*writer)->Close().ok());
  CHECK((*writer)->Close().ok());
  Status late = (*writer)->Append(AsBytes("d"));
  CHECK(late.kind() == ErrorKind::kInvalidArgument);
  CHECK(ReadString(backend.fs(), backend.Path("f")) == "abc");
}

TEST_CASE("positional reads at odd offsets return the right bytes and stop at the end") {
  SLUICE_FOR_EACH_BACKEND(backend);
  const std::string path = backend.Path("positional");
  const std::vector<uint8_t> data = RandomBytes(3 * kMiB + 7, 2);
  REQUIRE(WriteInPieces(backend.fs(), path, data, {kMiB}).ok());
  Result<std::unique_ptr<PositionalReader>> reader = backend.fs()->NewPositionalReader(path);
  REQUIRE(reader.ok());
  CHECK((*reader)->Size() == data.size());
  CHECK((*reader)->name() == path);

  for (uint64_t offset : {0u, 1u, 4095u, 1048575u, 2097153u, 3145728u}) {
    for (size_t length : {size_t{1}, size_t{13}, kMiB + 1}) {
      CAPTURE(offset, length);
      std::vector<uint8_t> buf(length);
      Result<size_t> n = (*reader)->ReadAt(offset, buf);
      REQUIRE(n.ok());
      const size_t expected = std::min<size_t>(length, data.size() - offset);
      REQUIRE(*n == expected);
      CHECK(std::equal(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(expected),
                       data.begin() + static_cast<ptrdiff_t>(offset)));
    }
  }
}

TEST_CASE("positional reads at or past the end return 0 bytes") {
  SLUICE_FOR_EACH_BACKEND(backend);
  const std::string path = backend.Path("short");
  REQUIRE(WriteString(backend.fs(), path, "0123456789").ok());
  Result<std::unique_ptr<PositionalReader>> reader = backend.fs()->NewPositionalReader(path);
  REQUIRE(reader.ok());
  std::vector<uint8_t> buf(8);
  Result<size_t> tail = (*reader)->ReadAt(7, buf);
  REQUIRE(tail.ok());
  CHECK(*tail == 3);
  CHECK(AsChars(ByteView(buf).first(3)) == "789");
  for (uint64_t offset : {10u, 11u, 1000000u}) {
    Result<size_t> n = (*reader)->ReadAt(offset, buf);
    REQUIRE(n.ok());
    CHECK(*n == 0);
  }
}

TEST_CASE("one positional reader serves several threads at once") {
  SLUICE_FOR_EACH_BACKEND(backend);
  const std::string path = backend.Path("shared");
  const std::vector<uint8_t> data = RandomBytes(2 * kMiB, 3);
  REQUIRE(WriteInPieces(backend.fs(), path, data, {kMiB}).ok());
  Result<std::unique_ptr<PositionalReader>> reader = backend.fs()->NewPositionalReader(path);
  REQUIRE(reader.ok());
  const PositionalReader& shared = **reader;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<uint8_t> buf(10007);
      for (uint64_t i = 0; i < 200; ++i) {
        uint64_t offset = (i * 7919 + t * 104729) % (data.size() - buf.size());
        Result<size_t> n = shared.ReadAt(offset, buf);
        if (!n.ok() || *n != buf.size() ||
            !std::equal(buf.begin(), buf.end(), data.begin() + static_cast<ptrdiff_t>(offset))) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches == 0);
}

TEST_CASE("an exclusive writer refuses an existing file and leaves it alone") {
  SLUICE_FOR_EACH_BACKEND(backend);
  const std::string path = backend.Path("taken");
  REQUIRE(WriteString(backend.fs(), path, "original").ok());
  WriterOptions options;
  options.exclusive = true;
  Result<std::unique_ptr<SequentialWriter>> writer = backend.fs()->NewWriter(path, options);
  REQUIRE_FALSE(writer.ok());
  CHECK(writer.status().kind() == ErrorKind::kAlreadyExists);
  CHECK_THAT(writer.status().message(), Catch::Contains(path));
  CHECK(ReadString(backend.fs(), path) == "original");

  // Without `exclusive` the file is truncated and rewritten.
  REQUIRE(WriteString(backend.fs(), path, "new").ok());
  CHECK(ReadString(backend.fs(), path) == "new");
}

TEST_CASE("a new file gets the permission bits asked for") {
  SLUICE_FOR_EACH_BACKEND(backend);
  WriterOptions options;
  options.mode = 0600;  // survives any sensible umask
  const std::string path = backend.Path("key");
  Result<std::unique_ptr<SequentialWriter>> writer = backend.fs()->NewWriter(path, options);
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Close().ok());
  CHECK(backend.Mode(path) == 0600u);
}

TEST_CASE("a missing file is kNotFound, and the message names the path") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  const std::string missing = backend.Path("no-such-file");
  std::vector<Status> failures = {
      fs->NewSequentialReader(missing).status(),
      fs->NewPositionalReader(missing).status(),
      fs->Stat(missing).status(),
      fs->Remove(missing),
      fs->Rename(missing, backend.Path("elsewhere")),
      fs->ListDir(missing).status(),
      fs->SyncDir(missing),
      fs->NewWriter(backend.Path("no-such-dir/file")).status(),
  };
  for (const Status& s : failures) {
    CAPTURE(s.ToString());
    CHECK(s.kind() == ErrorKind::kNotFound);
    CHECK_THAT(s.message(), Catch::Contains(backend.root()));
  }
  CHECK_FALSE(fs->Exists(missing));
}

TEST_CASE("a directory cannot be opened as a file") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  REQUIRE(fs->CreateDirs(backend.Path("dir")).ok());
  CHECK(fs->NewSequentialReader(backend.Path("dir")).status().kind() == ErrorKind::kIoError);
  CHECK(fs->NewPositionalReader(backend.Path("dir")).status().kind() == ErrorKind::kIoError);
  CHECK_FALSE(fs->NewWriter(backend.Path("dir")).ok());
}

TEST_CASE("Rename replaces the target, and a reader of the old target keeps its bytes") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  const std::string from = backend.Path("new"), to = backend.Path("current");
  REQUIRE(WriteString(fs, from, "new contents").ok());
  REQUIRE(WriteString(fs, to, "old contents").ok());
  Result<std::unique_ptr<SequentialReader>> old_reader = fs->NewSequentialReader(to);
  REQUIRE(old_reader.ok());

  REQUIRE(fs->Rename(from, to).ok());
  CHECK(ReadString(fs, to) == "new contents");
  CHECK_FALSE(fs->Exists(from));
  std::vector<uint8_t> buf(64);
  Result<size_t> n = (*old_reader)->Read(buf);
  REQUIRE(n.ok());
  CHECK(AsChars(ByteView(buf).first(*n)) == "old contents");
}

TEST_CASE("Rename moves a directory with its contents") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  REQUIRE(fs->CreateDirs(backend.Path("staging/blobs")).ok());
  REQUIRE(WriteString(fs, backend.Path("staging/blobs/b"), "blob").ok());
  REQUIRE(fs->Rename(backend.Path("staging"), backend.Path("final")).ok());
  CHECK(ReadString(fs, backend.Path("final/blobs/b")) == "blob");
  CHECK_FALSE(fs->Exists(backend.Path("staging")));
}

TEST_CASE("Remove deletes a file") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  REQUIRE(WriteString(fs, backend.Path("f"), "x").ok());
  REQUIRE(fs->Remove(backend.Path("f")).ok());
  CHECK_FALSE(fs->Exists(backend.Path("f")));
  CHECK(fs->Remove(backend.Path("f")).kind() == ErrorKind::kNotFound);
}

TEST_CASE("Remove deletes an empty directory and refuses one that holds files") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  REQUIRE(fs->CreateDirs(backend.Path("dir")).ok());
  REQUIRE(WriteString(fs, backend.Path("dir/f"), "x").ok());
  CHECK_FALSE(fs->Remove(backend.Path("dir")).ok());
  CHECK(ReadString(fs, backend.Path("dir/f")) == "x");
  REQUIRE(fs->Remove(backend.Path("dir/f")).ok());
  REQUIRE(fs->Remove(backend.Path("dir")).ok());
  CHECK_FALSE(fs->Exists(backend.Path("dir")));
}

TEST_CASE("ListDir returns the names of entries, sorted, without . and ..") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  for (const char* name : {"b", "a", "c10", "c9", "A"}) {
    REQUIRE(WriteString(fs, backend.Path(name), name).ok());
  }
  REQUIRE(fs->CreateDirs(backend.Path("dir/nested")).ok());
  Result<std::vector<std::string>> names = fs->ListDir(backend.root());
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"A", "a", "b", "c10", "c9", "dir"});
  Result<std::vector<std::string>> nested = fs->ListDir(backend.Path("dir"));
  REQUIRE(nested.ok());
  CHECK(*nested == std::vector<std::string>{"nested"});
}

TEST_CASE("CreateDirs makes missing parents and accepts existing directories") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  REQUIRE(fs->CreateDirs(backend.Path("a/b/c")).ok());
  REQUIRE(fs->CreateDirs(backend.Path("a/b/c")).ok());
  REQUIRE(fs->CreateDirs(backend.Path("a//b/d/")).ok());
  for (const char* dir : {"a", "a/b", "a/b/c", "a/b/d"}) {
    Result<FileInfo> info = fs->Stat(backend.Path(dir));
    REQUIRE(info.ok());
    CHECK(info->is_directory);
  }
  REQUIRE(WriteString(fs, backend.Path("a/file"), "x").ok());
  Status blocked = fs->CreateDirs(backend.Path("a/file/sub"));
  CHECK_FALSE(blocked.ok());
  CHECK(fs->CreateDirs("").kind() == ErrorKind::kInvalidArgument);
}

TEST_CASE("SyncDir succeeds on a directory") {
  SLUICE_FOR_EACH_BACKEND(backend);
  REQUIRE(WriteString(backend.fs(), backend.Path("f"), "x").ok());
  CHECK(backend.fs()->SyncDir(backend.root()).ok());
}

TEST_CASE("FreeSpace measures the nearest existing ancestor of a path") {
  SLUICE_FOR_EACH_BACKEND(backend);
  Result<uint64_t> here = backend.fs()->FreeSpace(backend.root());
  REQUIRE(here.ok());
  CHECK(*here > 0);
  Result<uint64_t> later = backend.fs()->FreeSpace(backend.Path("not/yet/created"));
  REQUIRE(later.ok());
  CHECK(*later > 0);
}

TEST_CASE("a FIFO streams through the writer and the sequential reader") {
  SLUICE_FOR_EACH_BACKEND(backend);
  if (backend_name == "memory") return;  // no FIFOs in memory
  const std::string path = backend.Path("fifo");
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  const std::vector<uint8_t> data = RandomBytes(3 * kMiB + 11, 4);
  Status write_status;
  // Opening either end of a FIFO blocks until the other end is open.
  std::thread writer([&] { write_status = WriteInPieces(backend.fs(), path, data, {65536, 3}); });
  Result<std::vector<uint8_t>> back = ReadAll(backend.fs(), path, kMiB);
  writer.join();
  REQUIRE(write_status.ok());
  REQUIRE(back.ok());
  CHECK(*back == data);
}

TEST_CASE("a write the kernel refuses fails with the errno, the path, and sticks") {
  SLUICE_FOR_EACH_BACKEND(backend);
  if (backend_name == "memory") return;  // no kernel to refuse
  // RLIMIT_FSIZE makes write(2) stop at the limit (a short write) and then
  // fail with EFBIG: a real error from the kernel on a regular file, which
  // a test cannot otherwise get without a full disk. A file larger than one
  // write buffer, and one that ends inside the first (the io_uring writer
  // writes that one with pwrite(2), without a ring).
  const auto [file_size, limit] = GENERATE(std::pair<size_t, rlim_t>{4 * kMiB, 2 * kMiB + 100},
                                           std::pair<size_t, rlim_t>{500000, 100000});
  CAPTURE(file_size, limit);
  const rlim_t kLimit = limit;
  struct rlimit saved;
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limited = saved;
  limited.rlim_cur = kLimit;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);

  const std::string path = backend.Path("too-big");
  const std::vector<uint8_t> data = RandomBytes(file_size, 5);
  Status first;
  Status later;
  {
    Result<std::unique_ptr<SequentialWriter>> writer = backend.fs()->NewWriter(path);
    if (writer.ok()) {
      first = (*writer)->Append(data);
      if (first.ok()) first = (*writer)->Close();
      later = (*writer)->Append(AsBytes("more"));
    } else {
      first = writer.status();
    }
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);

  CAPTURE(first.ToString());
  CHECK(first.kind() == ErrorKind::kIoError);
  CHECK_THAT(first.message(), Catch::Contains(path) && Catch::Contains("too large"));
  CHECK(later.kind() == first.kind());
  // Everything up to the limit was written, at the right place: the write
  // that crossed the limit was short and its remainder was retried.
  Result<std::vector<uint8_t>> back = ReadAll(backend.fs(), path, kMiB);
  REQUIRE(back.ok());
  REQUIRE(back->size() == kLimit);
  CHECK(std::equal(back->begin(), back->end(), data.begin()));
}

TEST_CASE("a full device reports kNoSpace") {
  SLUICE_FOR_EACH_BACKEND(backend);
  if (backend_name == "memory") return;  // see fault_injection_file_system_test
  Result<FileInfo> full = backend.fs()->Stat("/dev/full");
  if (!full.ok()) {
    WARN("/dev/full is missing; skipped");
    return;
  }
  Result<std::unique_ptr<SequentialWriter>> writer = backend.fs()->NewWriter("/dev/full");
  REQUIRE(writer.ok());
  Status s = (*writer)->Append(RandomBytes(2 * kWriteBufferSize, 6));
  if (s.ok()) s = (*writer)->Close();
  CHECK(s.kind() == ErrorKind::kNoSpace);
  CHECK_THAT(s.message(), Catch::Contains("/dev/full"));
}

}  // namespace
}  // namespace sluice::io
