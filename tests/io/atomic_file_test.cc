#include "io/atomic_file.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "tests/io/test_util.h"

namespace sluice::io {
namespace {

using testing::Backend;
using testing::ReadString;
using testing::WriteString;

TEST_CASE("nothing is visible at the target until Commit") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  const std::string target = backend.Path("index.json");
  Result<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(fs, target);
  REQUIRE(file.ok());
  CHECK((*file)->temp_path().rfind(target + ".tmp-", 0) == 0);
  REQUIRE((*file)->writer()->Append(AsBytes("{\"manifests\":[]}")).ok());
  CHECK_FALSE(fs->Exists(target));

  REQUIRE((*file)->Commit().ok());
  CHECK(ReadString(fs, target) == "{\"manifests\":[]}");
  CHECK_FALSE(fs->Exists((*file)->temp_path()));
  Result<std::vector<std::string>> names = fs->ListDir(backend.root());
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"index.json"});
}

TEST_CASE("a temp directory keeps the unfinished file out of the target's directory") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  const std::string blobs = backend.Path("blobs");
  const std::string ingest = backend.Path("ingest");
  REQUIRE(fs->CreateDirs(blobs).ok());
  REQUIRE(fs->CreateDirs(ingest).ok());
  const std::string target = blobs + "/0123abcd";
  Result<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(fs, target, {}, ingest);
  REQUIRE(file.ok());
  CHECK((*file)->temp_path().rfind(ingest + "/0123abcd.tmp-", 0) == 0);
  REQUIRE((*file)->writer()->Append(AsBytes("blob")).ok());
  Result<std::vector<std::string>> names = fs->ListDir(blobs);
  REQUIRE(names.ok());
  CHECK(names->empty());

  REQUIRE((*file)->Commit().ok());
  CHECK(ReadString(fs, target) == "blob");
  names = fs->ListDir(ingest);
  REQUIRE(names.ok());
  CHECK(names->empty());
}

TEST_CASE("writing into a directory that does not exist names the directory, not a temp file") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  const std::string dir = backend.Path("keys");
  Status s = WriteFileAtomically(fs, dir + "/k.key", AsBytes("secret"));
  CHECK(s.kind() == ErrorKind::kNotFound);
  CHECK(s.message() == "cannot write " + dir + "/k.key: directory " + dir +
                           " does not exist; create it first");
  REQUIRE(WriteString(fs, dir, "a file, not a directory").ok());
  s = WriteFileAtomically(fs, dir + "/k.key", AsBytes("secret"));
  CHECK(!s.ok());
  CHECK(s.message().find(".tmp-") == std::string::npos);
}

TEST_CASE("Commit replaces an existing target unless exclusive") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  const std::string target = backend.Path("ledger");
  REQUIRE(WriteString(fs, target, "old").ok());
  REQUIRE(WriteFileAtomically(fs, target, AsBytes("new")).ok());
  CHECK(ReadString(fs, target) == "new");
}

TEST_CASE("a symlink at the target is written through, and stays a link") {
  SLUICE_FOR_EACH_BACKEND(backend);
  if (backend_name == "memory") return;  // no symlinks in memory
  FileSystem* fs = backend.fs();
  REQUIRE(fs->CreateDirs(backend.Path("shared")).ok());
  const std::string target = backend.Path("shared/ledger");
  REQUIRE(WriteString(fs, target, "old").ok());
  // A chain: an absolute link to a relative one.
  const std::string inner = backend.Path("shared/current");
  const std::string outer = backend.Path("ledger");
  REQUIRE(::symlink("ledger", inner.c_str()) == 0);
  REQUIRE(::symlink(inner.c_str(), outer.c_str()) == 0);

  Result<std::string> followed = FollowSymlinks(fs, outer);
  REQUIRE(followed.ok());
  CHECK(*followed == target);
  Result<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(fs, outer);
  REQUIRE(file.ok());
  CHECK((*file)->path() == target);
  CHECK((*file)->temp_path().rfind(target + ".tmp-", 0) == 0);  // beside the target
  REQUIRE((*file)->writer()->Append(AsBytes("new")).ok());
  REQUIRE((*file)->Commit().ok());

  CHECK(ReadString(fs, target) == "new");
  struct stat st;
  REQUIRE(::lstat(outer.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  REQUIRE(::lstat(inner.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  Result<std::vector<std::string>> names = fs->ListDir(backend.Path("shared"));
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"current", "ledger"});
}

TEST_CASE("a dangling symlink at the target is replaced, never followed") {
  SLUICE_FOR_EACH_BACKEND(backend);
  if (backend_name == "memory") return;  // no symlinks in memory
  FileSystem* fs = backend.fs();
  const std::string nowhere = backend.Path("nowhere");
  const std::string link = backend.Path("mapping.txt");
  REQUIRE(::symlink(nowhere.c_str(), link.c_str()) == 0);
  REQUIRE(WriteFileAtomically(fs, link, AsBytes("text")).ok());
  CHECK(ReadString(fs, link) == "text");
  CHECK_FALSE(fs->Exists(nowhere));
  struct stat st;
  REQUIRE(::lstat(link.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
}

TEST_CASE("a FIFO or a directory at the target is refused, never replaced") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  std::string target;
  std::string says;
  if (backend_name != "memory") {
    SECTION("a FIFO") {
      target = backend.Path("fifo");
      REQUIRE(::mkfifo(target.c_str(), 0600) == 0);
      says = "cannot write " + target + " as a file: it is a FIFO, which sluice never replaces";
    }
    SECTION("a symlink to a FIFO") {
      REQUIRE(::mkfifo(backend.Path("fifo").c_str(), 0600) == 0);
      target = backend.Path("link");
      REQUIRE(::symlink("fifo", target.c_str()) == 0);
      says = "cannot write " + target + " as a file: it is a FIFO, which sluice never replaces";
    }
  }
  SECTION("a directory") {
    target = backend.Path("dir");
    REQUIRE(fs->CreateDirs(target).ok());
    says = "cannot write " + target + ": it is a directory; name a file to write";
  }
  if (target.empty()) return;
  const std::vector<std::string> before = *fs->ListDir(backend.root());
  Status s = WriteFileAtomically(fs, target, AsBytes("bytes"));
  CHECK(s.kind() == ErrorKind::kInvalidArgument);
  CHECK(s.message() == says);
  CHECK(*fs->ListDir(backend.root()) == before);
  Result<PathKind> kind = KindOfPath(fs, target);
  REQUIRE(kind.ok());
  CHECK((*kind == PathKind::kFifo || *kind == PathKind::kDirectory));
}

TEST_CASE("WriteFileOrStream writes into a FIFO in place, and files atomically") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  REQUIRE(WriteFileOrStream(fs, backend.Path("file"), AsBytes("atomic")).ok());
  CHECK(ReadString(fs, backend.Path("file")) == "atomic");
  if (backend_name == "memory") return;  // no FIFOs in memory
  const std::string fifo = backend.Path("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string read;
  // Opening either end of a FIFO blocks until the other end is open.
  std::thread reader([&] { read = ReadString(fs, fifo); });
  Status s = WriteFileOrStream(fs, fifo, AsBytes("streamed"));
  reader.join();
  REQUIRE(s.ok());
  CHECK(read == "streamed");
  Result<PathKind> kind = KindOfPath(fs, fifo);
  REQUIRE(kind.ok());
  CHECK(*kind == PathKind::kFifo);
}

TEST_CASE("AbsolutePath makes a relative path absolute against the working directory") {
  FileSystem* fs = PosixFileSystem();
  char cwd[4096];
  REQUIRE(::getcwd(cwd, sizeof cwd) != nullptr);
  CHECK(*AbsolutePath(fs, "/a/b") == "/a/b");
  CHECK(*AbsolutePath(fs, "b.sluice") == std::string(cwd) + "/b.sluice");
  CHECK(*AbsolutePath(fs, "./out/b.sluice") == std::string(cwd) + "/out/b.sluice");
  MemoryFileSystem memory;
  CHECK(*AbsolutePath(&memory, "b.sluice") == "b.sluice");
}

TEST_CASE("LockHolder names the taker, its pid and since when") {
  std::string holder = LockHolder("sluice export");
  CHECK_THAT(holder, Catch::StartsWith("sluice export (pid " + std::to_string(getpid())));
  CHECK_THAT(holder, Catch::Matches(R"(.*\) since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"));
}

TEST_CASE("an AtomicFile dropped or abandoned before Commit leaves nothing behind") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  const std::string target = backend.Path("out");
  REQUIRE(WriteString(fs, target, "previous").ok());
  const bool explicit_abandon = GENERATE(false, true);
  {
    Result<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(fs, target);
    REQUIRE(file.ok());
    REQUIRE((*file)->writer()->Append(AsBytes("half-written")).ok());
    REQUIRE(fs->Exists((*file)->temp_path()));
    if (explicit_abandon) {
      (*file)->Abandon();
      CHECK_FALSE(fs->Exists((*file)->temp_path()));
      CHECK_FALSE((*file)->Commit().ok());
    }
  }
  Result<std::vector<std::string>> names = fs->ListDir(backend.root());
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"out"});
  CHECK(ReadString(fs, target) == "previous");
}

TEST_CASE("an exclusive AtomicFile refuses a target that exists") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  const std::string target = backend.Path("key");
  WriterOptions exclusive;
  exclusive.exclusive = true;

  SECTION("when created") {
    REQUIRE(WriteString(fs, target, "first").ok());
    Result<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(fs, target, exclusive);
    CHECK(file.status().kind() == ErrorKind::kAlreadyExists);
    CHECK_THAT(file.status().message(), Catch::Contains(target));
  }
  SECTION("when the target appears before Commit") {
    Result<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(fs, target, exclusive);
    REQUIRE(file.ok());
    REQUIRE((*file)->writer()->Append(AsBytes("second")).ok());
    REQUIRE(WriteString(fs, target, "first").ok());
    Status s = (*file)->Commit();
    CHECK(s.kind() == ErrorKind::kAlreadyExists);
    CHECK_FALSE(fs->Exists((*file)->temp_path()));
  }
  CHECK(ReadString(fs, target) == "first");
  Result<std::vector<std::string>> names = fs->ListDir(backend.root());
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"key"});
}

TEST_CASE("an atomically written file gets the permission bits asked for") {
  SLUICE_FOR_EACH_BACKEND(backend);
  WriterOptions options;
  options.mode = 0600;
  const std::string target = backend.Path("private.key");
  REQUIRE(WriteFileAtomically(backend.fs(), target, AsBytes("secret"), options).ok());
  CHECK(backend.Mode(target) == 0600u);
}

TEST_CASE("an AtomicFile in a missing directory is kNotFound") {
  SLUICE_FOR_EACH_BACKEND(backend);
  Result<std::unique_ptr<AtomicFile>> file =
      AtomicFile::Create(backend.fs(), backend.Path("missing-dir/file"));
  CHECK(file.status().kind() == ErrorKind::kNotFound);
}

TEST_CASE("ReadSmallFile reads up to the limit and refuses a byte more") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  const std::string path = backend.Path("manifest.json");
  const std::string content(100000, 'm');  // more than one internal chunk
  REQUIRE(WriteString(fs, path, content).ok());

  Result<std::string> exact = ReadSmallFile(fs, path, content.size());
  REQUIRE(exact.ok());
  CHECK(*exact == content);
  Result<std::string> unlimited = ReadSmallFile(fs, path, UINT64_MAX);
  REQUIRE(unlimited.ok());
  CHECK(unlimited->size() == content.size());

  Result<std::string> over = ReadSmallFile(fs, path, content.size() - 1);
  CHECK(over.status().kind() == ErrorKind::kInvalidArgument);
  CHECK_THAT(over.status().message(), Catch::Contains(path));

  REQUIRE(WriteString(fs, backend.Path("empty"), "").ok());
  Result<std::string> empty = ReadSmallFile(fs, backend.Path("empty"), 0);
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  CHECK(ReadSmallFile(fs, backend.Path("absent"), 10).status().kind() == ErrorKind::kNotFound);
}

// The five parts after ".tmp-" of a temp name: pid, pidns, boot, machine,
// random.
std::vector<std::string> TempNameParts(const std::string& temp_path) {
  std::string rest = temp_path.substr(temp_path.rfind(".tmp-") + 5);
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t dash = rest.find('-', start);
    parts.push_back(rest.substr(start, dash == std::string::npos ? dash : dash - start));
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  return parts;
}

std::string TempName(const std::string& target, const std::vector<std::string>& parts) {
  std::string name = target + ".tmp-";
  for (size_t i = 0; i < parts.size(); ++i) name += (i ? "-" : "") + parts[i];
  return name;
}

// The pid of a process that has exited and been reaped.
std::string DeadPid() {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) _exit(0);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  return std::to_string(child);
}

TEST_CASE("a temp file name names the process, pid namespace, boot and machine that made it") {
  SLUICE_FOR_EACH_BACKEND(backend);
  Result<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(backend.fs(), backend.Path("x"));
  REQUIRE(file.ok());
  std::vector<std::string> parts = TempNameParts((*file)->temp_path());
  REQUIRE(parts.size() == 5);
  CHECK(parts[0] == std::to_string(getpid()));
  CHECK(parts[2].size() == 8);
  CHECK(parts[3].size() == 8);
  CHECK(parts[4].size() == 16);
  // This process's own temp files are never stale: it may be writing them.
  CHECK_FALSE(IsStaleTempName("x" + (*file)->temp_path().substr(backend.Path("x").size())));
}

TEST_CASE("RemoveStaleTempFiles removes only temp files of processes that are gone") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  const std::string blob(64, 'a');
  Result<std::unique_ptr<AtomicFile>> live = AtomicFile::Create(fs, backend.Path(blob));
  REQUIRE(live.ok());
  const std::vector<std::string> self = TempNameParts((*live)->temp_path());
  REQUIRE(self.size() == 5);
  if (self[2] == "00000000") {
    WARN("no boot id readable here: nothing can be known stale; test skipped");
    return;
  }
  auto with = [&](size_t part, const std::string& value) {
    std::vector<std::string> parts = self;
    parts[part] = value;
    return parts;
  };
  const std::string dead = DeadPid();
  const std::string other_boot = self[2] == "12345678" ? "87654321" : "12345678";
  const std::string other_machine = self[3] == "12345678" ? "87654321" : "12345678";

  // Stale: a process of this boot and namespace that has exited, and any
  // process of an earlier boot of this machine.
  const std::set<std::string> stale = {
      TempName(blob, with(0, dead)),
      TempName("index.json", with(0, dead)),
      TempName(blob, with(2, other_boot)),
  };
  std::vector<std::string> other_machine_parts = with(2, other_boot);
  other_machine_parts[3] = other_machine;
  std::vector<std::string> dead_in_other_ns = with(0, dead);
  dead_in_other_ns[1] = self[1] == "1" ? "2" : "1";
  std::vector<std::string> unknown_boot = with(0, dead);
  unknown_boot[2] = "00000000";
  // Kept: everything else, in particular names that merely look similar.
  const std::set<std::string> kept = {
      blob,                                                // a blob
      TempName(blob, with(0, std::to_string(getppid()))),  // a running process
      TempName(blob, other_machine_parts),                 // another machine
      TempName(blob, dead_in_other_ns),                    // another pid namespace
      TempName(blob, unknown_boot),                        // boot unknown
      blob + ".tmp-0123456789abcdef",                      // the format of earlier versions
      "notes.tmp-" + dead,
      TempName(blob, with(0, dead)) + ".bak",
      TempName(blob, with(0, dead)) + "-0",
      TempName(blob, with(4, "0123456789ABCDEF")),
      TempName(blob, with(0, "0" + dead)),
      TempName(blob, with(0, "-" + dead)),
      TempName("", with(0, dead)),
      blob + ".TMP-" + TempName("", with(0, dead)).substr(5),
      TempName(blob, {dead, self[1], self[2], self[3]}),
  };
  for (const std::string& name : stale) REQUIRE(WriteString(fs, backend.Path(name), "x").ok());
  for (const std::string& name : kept) REQUIRE(WriteString(fs, backend.Path(name), "x").ok());
  // A directory with a stale name is not a temp file of ours either.
  const std::string dir_name = TempName("sub", with(0, dead));
  REQUIRE(fs->CreateDirs(backend.Path(dir_name)).ok());

  Result<size_t> removed = RemoveStaleTempFiles(fs, backend.root());
  REQUIRE(removed.ok());
  CHECK(*removed == stale.size());
  Result<std::vector<std::string>> names = fs->ListDir(backend.root());
  REQUIRE(names.ok());
  std::set<std::string> left(names->begin(), names->end());
  std::set<std::string> expected = kept;
  expected.insert(dir_name);
  expected.insert((*live)->temp_path().substr(backend.root().size() + 1));
  CHECK(left == expected);
  // The live AtomicFile still publishes.
  REQUIRE((*live)->writer()->Append(AsBytes("blob")).ok());
  CHECK((*live)->Commit().ok());
}

TEST_CASE("RemoveStaleTempFiles of a missing directory removes nothing") {
  SLUICE_FOR_EACH_BACKEND(backend);
  Result<size_t> removed = RemoveStaleTempFiles(backend.fs(), backend.Path("absent"));
  REQUIRE(removed.ok());
  CHECK(*removed == 0);
}

TEST_CASE("JoinPath joins with exactly one slash") {
  CHECK(JoinPath("a", "b") == "a/b");
  CHECK(JoinPath("a/", "b") == "a/b");
  CHECK(JoinPath("a//", "/b") == "a/b");
  CHECK(JoinPath("/", "b") == "/b");
  CHECK(JoinPath("", "b") == "b");
  CHECK(JoinPath("a", "") == "a");
  CHECK(JoinPath("layout", "blobs/sha256") == "layout/blobs/sha256");
}

TEST_CASE("Dirname strips the last component") {
  CHECK(Dirname("a/b") == "a");
  CHECK(Dirname("a/b/c") == "a/b");
  CHECK(Dirname("b") == ".");
  CHECK(Dirname("") == ".");
  CHECK(Dirname("/a") == "/");
  CHECK(Dirname("/") == "/");
  CHECK(Dirname("a/b/") == "a");
  CHECK(Dirname("a//b") == "a");
  CHECK(Dirname("/x/index.json.tmp-0123") == "/x");
}

}  // namespace
}  // namespace sluice::io
