#include "io/atomic_file.h"

#include <catch2/catch.hpp>

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

TEST_CASE("Commit replaces an existing target unless exclusive") {
  SLUICE_FOR_EACH_BACKEND(backend);
  FileSystem* fs = backend.fs();
  const std::string target = backend.Path("ledger");
  REQUIRE(WriteString(fs, target, "old").ok());
  REQUIRE(WriteFileAtomically(fs, target, AsBytes("new")).ok());
  CHECK(ReadString(fs, target) == "new");
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
