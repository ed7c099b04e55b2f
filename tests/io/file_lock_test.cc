// FileSystem::Lock on every backend: one holder at a time, waiters served in
// time or told who holds it, and a lock never outlives its holder.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "io/file.h"
#include "tests/io/test_util.h"

namespace sluice::io {
namespace {

using namespace std::chrono_literals;
using testing::Backend;

TEST_CASE("a second taker of a held lock fails at once naming the lock file and the holder") {
  SLUICE_FOR_EACH_BACKEND(backend);
  const std::string path = backend.Path("ledger.lock");
  auto first = backend.fs()->Lock(path, {.wait = 0ms, .holder = "sluice export, pid 42"});
  REQUIRE(first.ok());
  auto second = backend.fs()->Lock(path, {.wait = 0ms, .holder = "sluice export, pid 43"});
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().kind() == ErrorKind::kBusy);
  CHECK(second.status().message() == path + " is locked by sluice export, pid 42");
}

TEST_CASE("a waiter gets the lock once its holder lets go") {
  SLUICE_FOR_EACH_BACKEND(backend);
  const std::string path = backend.Path("index.lock");
  auto first = backend.fs()->Lock(path, {.wait = 0ms, .holder = "first"});
  REQUIRE(first.ok());
  std::thread release([&] {
    std::this_thread::sleep_for(100ms);
    first->reset();
  });
  auto second = backend.fs()->Lock(path, {.wait = 30s, .holder = "second"});
  release.join();
  REQUIRE(second.ok());
  // And it is held again: a third taker is refused, naming the second.
  auto third = backend.fs()->Lock(path, {.wait = 10ms, .holder = "third"});
  REQUIRE_FALSE(third.ok());
  CHECK(third.status().message() == path + " is locked by second, still after 1 s");
}

TEST_CASE("a lock let go is free again, and a missing directory is an error") {
  SLUICE_FOR_EACH_BACKEND(backend);
  const std::string path = backend.Path("x.lock");
  for (int round = 0; round < 3; ++round) {
    auto lock = backend.fs()->Lock(path, {});
    REQUIRE(lock.ok());
  }
  auto missing = backend.fs()->Lock(backend.Path("no/such/dir/x.lock"), {});
  CHECK(missing.status().IsNotFound());
}

TEST_CASE("the lock of a killed process is free: the kernel lets go of it") {
  FileSystem* fs = PosixFileSystem();
  testing::Backend backend("posix");
  const std::string path = backend.Path("killed.lock");
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto lock = fs->Lock(path, {.wait = 0ms, .holder = "child"});
    char c = lock.ok() ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    pause();
    _exit(0);
  }
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  CHECK(fs->Lock(path, {}).status().kind() == ErrorKind::kBusy);
  kill(child, SIGKILL);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  close(ready[0]);
  close(ready[1]);
  CHECK(fs->Lock(path, {}).ok());
}

}  // namespace
}  // namespace sluice::io
