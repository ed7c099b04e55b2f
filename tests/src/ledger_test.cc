#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "ledger.h"
#include "test_support.h"

using namespace sluice;
using sluice::testing::TempDir;

TEST_CASE("a missing ledger loads as a fresh one with sequence 0") {
  TempDir tmp;
  auto ledger = Ledger::Load(io::DefaultFileSystem(), tmp / "ledger.json");
  REQUIRE(ledger.ok());
  CHECK(ledger->sequence() == 0);
  CHECK(ledger->blob_count() == 0);
}

TEST_CASE("a saved ledger loads back with its id, sequence and blobs") {
  TempDir tmp;
  Ledger ledger = Ledger::Create();
  format::BundleHeader header;
  header.sequence = 1;
  format::Digest d = format::Sha256::Of("layer");
  ledger.RecordBundle(header, {d});
  REQUIRE(ledger.Save(io::DefaultFileSystem(), tmp / "ledger.json").ok());

  auto loaded = Ledger::Load(io::DefaultFileSystem(), tmp / "ledger.json");
  REQUIRE(loaded.ok());
  CHECK(loaded->id() == ledger.id());
  CHECK(loaded->sequence() == 1);
  CHECK(loaded->Contains(d));
  CHECK_FALSE(loaded->Contains(format::Sha256::Of("other")));
}

TEST_CASE("a damaged ledger is corruption naming the file, never a fresh ledger") {
  TempDir tmp;
  std::string path = tmp / "ledger.json";
  for (const char* text : {"", "{", "[]", R"({"format":"other","version":1})",
                           R"({"format":"sluice-ledger","version":1,"ledger_id":"zz","sequence":0,"blobs":{}})",
                           R"({"format":"sluice-ledger","version":1,"ledger_id":"00000000000000000000000000000000","sequence":0,"blobs":{"sha256:x":1}})"}) {
    INFO(text);
    testing::WriteFile(path, text);
    auto ledger = Ledger::Load(io::DefaultFileSystem(), path);
    REQUIRE_FALSE(ledger.ok());
    CHECK(ledger.status().IsCorruption());
    CHECK(ledger.status().message().find(path) != std::string::npos);
  }
}

TEST_CASE("a ledger of a newer version is refused naming the version") {
  TempDir tmp;
  testing::WriteFile(tmp / "l.json", R"({"format":"sluice-ledger","version":7})");
  auto ledger = Ledger::Load(io::DefaultFileSystem(), tmp / "l.json");
  REQUIRE_FALSE(ledger.ok());
  CHECK(ledger.status().kind() == ErrorKind::kUnsupported);
  CHECK(ledger.status().message().find("7") != std::string::npos);
}

TEST_CASE("a symlinked ledger is saved through to its target and stays a link") {
  TempDir tmp;
  testing::WriteFile(tmp / "shared/.keep", "");
  const std::string target = tmp / "shared/site-a.ledger";
  const std::string link = tmp / "ledger.json";
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  REQUIRE(Ledger::Create().Save(io::DefaultFileSystem(), target).ok());

  auto ledger = Ledger::Load(io::DefaultFileSystem(), link);
  REQUIRE(ledger.ok());
  format::BundleHeader header;
  header.sequence = 1;
  ledger->RecordBundle(header, {format::Sha256::Of("layer")});
  REQUIRE(ledger->Save(io::DefaultFileSystem(), link).ok());

  struct stat st;
  REQUIRE(::lstat(link.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  auto shared = Ledger::Load(io::DefaultFileSystem(), target);
  REQUIRE(shared.ok());
  CHECK(shared->sequence() == 1);
  CHECK(shared->id() == ledger->id());
  auto lock = Ledger::LockPath(io::DefaultFileSystem(), link);
  REQUIRE(lock.ok());
  CHECK(*lock == target + ".lock");
}

TEST_CASE("a ledger in a directory that does not exist cannot be locked, and says so") {
  TempDir tmp;
  const std::string path = tmp / "ledgers/site-a.ledger";
  auto ledger = Ledger::LoadLocked(io::DefaultFileSystem(), path, "sluice export");
  REQUIRE_FALSE(ledger.ok());
  CHECK(ledger.status().IsNotFound());
  CHECK(ledger.status().message() == "cannot use ledger " + path + ": directory " +
                                         tmp / "ledgers" + " does not exist; create it first");
}
