#include "io/default_file_system.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string_view>

#include "io/memory_file_system.h"

namespace sluice::io {
namespace {

TEST_CASE("ChooseFileSystem prefers io_uring unless SLUICE_IO is posix") {
  MemoryFileSystem uring, posix;  // stand-ins: only identity matters
  CHECK(ChooseFileSystem(nullptr, &uring, &posix) == &uring);
  CHECK(ChooseFileSystem("", &uring, &posix) == &uring);
  CHECK(ChooseFileSystem("io_uring", &uring, &posix) == &uring);
  CHECK(ChooseFileSystem("posix", &uring, &posix) == &posix);
  CHECK(ChooseFileSystem("bogus", &uring, &posix) == &uring);
}

TEST_CASE("ChooseFileSystem falls back to posix when io_uring is unavailable") {
  MemoryFileSystem posix;
  CHECK(ChooseFileSystem(nullptr, nullptr, &posix) == &posix);
  CHECK(ChooseFileSystem("io_uring", nullptr, &posix) == &posix);
}

// Also registered with SLUICE_IO=posix in the environment (CMakeLists.txt).
TEST_CASE("DefaultFileSystem follows SLUICE_IO") {
  FileSystem* fs = DefaultFileSystem();
  REQUIRE(fs != nullptr);
  CHECK(DefaultFileSystem() == fs);  // decided once
  const char* env = std::getenv(kIoEnvVar);
  CAPTURE(env == nullptr ? "(unset)" : env);
  if (env != nullptr && std::string_view(env) == "posix") {
    CHECK(fs->name() == "posix");
    CHECK(fs == PosixFileSystem());
  } else {
    CHECK(fs->name() == (UringFileSystem() != nullptr ? "io_uring" : "posix"));
  }
}

TEST_CASE("the real file systems name themselves") {
  CHECK(PosixFileSystem()->name() == "posix");
  if (UringFileSystem() == nullptr) {
    WARN("io_uring is not available here");
  } else {
    CHECK(UringFileSystem()->name() == "io_uring");
  }
}

}  // namespace
}  // namespace sluice::io
