#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "mapping.h"
#include "test_support.h"

using namespace sluice;

TEST_CASE("the JSON mapping is the text one's path with .json appended") {
  CHECK(MappingJsonPath("out/map.txt") == "out/map.txt.json");
  CHECK(MappingJsonPath("x.map") == "x.map.json");
  CHECK(MappingJsonPath("map") == "map.json");
  CHECK(MappingJsonPath("dir.d/map") == "dir.d/map.json");
  CHECK(MappingJsonPath("m.json") == "m.json.json");
}

TEST_CASE("a mapping named .json keeps its text and its JSON twin goes beside it") {
  testing::TempDir tmp;
  ImportReport report;
  std::string digest = "sha256:" + std::string(64, 'c');
  report.refs.push_back({"src.local/x:1", "reg.local/x:1", digest});
  REQUIRE(WriteMappingFiles(io::DefaultFileSystem(), tmp / "m.json", report).ok());
  CHECK(testing::ReadFile(tmp / "m.json") == "src.local/x:1=reg.local/x:1@" + digest + "\n");
  auto json = nlohmann::json::parse(testing::ReadFile(tmp / "m.json.json"));
  REQUIRE(json.size() == 1);
  CHECK(json[0]["destination"] == "reg.local/x:1");
}

TEST_CASE("mapping files pin every destination by digest") {
  testing::TempDir tmp;
  ImportReport report;
  std::string digest = "sha256:" + std::string(64, 'c');
  report.refs.push_back({"docker.io/coderenvs/x:1", "reg.local:5000/mirror/coderenvs/x:1", digest});
  REQUIRE(WriteMappingFiles(io::DefaultFileSystem(), tmp / "m.txt", report).ok());
  CHECK(testing::ReadFile(tmp / "m.txt") ==
        "docker.io/coderenvs/x:1=reg.local:5000/mirror/coderenvs/x:1@" + digest + "\n");
  auto json = nlohmann::json::parse(testing::ReadFile(tmp / "m.txt.json"));
  REQUIRE(json.size() == 1);
  CHECK(json[0]["pinned"] == "reg.local:5000/mirror/coderenvs/x@" + digest);
  CHECK(json[0]["source"] == "docker.io/coderenvs/x:1");
}

TEST_CASE("an image exported by digest maps SOURCE@DIGEST to DESTINATION@DIGEST") {
  testing::TempDir tmp;
  ImportReport report;
  std::string digest = "sha256:" + std::string(64, 'd');
  report.refs.push_back({"src.local/x@" + digest, "reg.local/m/x@" + digest, digest, true});
  // A bundle that does not record its source: the repository, then the digest.
  report.refs.push_back({"y", "reg.local/m/y@" + digest, digest, true});
  report.refs.push_back({"src.local/z:1", "reg.local/m/z:1", digest, false});
  REQUIRE(WriteMappingFiles(io::DefaultFileSystem(), tmp / "m", report).ok());
  CHECK(testing::ReadFile(tmp / "m") ==
        "src.local/x@" + digest + "=reg.local/m/x@" + digest + "\n" +  //
        "y@" + digest + "=reg.local/m/y@" + digest + "\n" +            //
        "src.local/z:1=reg.local/m/z:1@" + digest + "\n");
  auto json = nlohmann::json::parse(testing::ReadFile(tmp / "m.json"));
  REQUIRE(json.size() == 3);
  CHECK(json[0]["source"] == "src.local/x@" + digest);
  CHECK(json[0]["destination"] == "reg.local/m/x@" + digest);
  CHECK(json[0]["pinned"] == "reg.local/m/x@" + digest);
  CHECK(json[1]["source"] == "y@" + digest);
  CHECK(json[2]["pinned"] == "reg.local/m/z@" + digest);
}

// A character device like /dev/null, made in tmp (mknod needs root, and
// opening it a file system without nodev); "" when this machine cannot.
namespace {
std::string MakeNullDevice(const testing::TempDir& tmp) {
  std::string path = tmp / "null";
  if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) return "";
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "";
  ::close(fd);
  return path;
}
}  // namespace

TEST_CASE("a mapping written to a device goes into it, with no JSON twin, and the device stays") {
  testing::TempDir tmp;
  const std::string device = MakeNullDevice(tmp);
  if (device.empty()) {
    WARN("cannot make a character device here (not root, or nodev): skipped");
    return;
  }
  ImportReport report;
  report.refs.push_back({"src.local/x:1", "reg.local/x:1", "sha256:" + std::string(64, 'c')});
  Status s = WriteMappingFiles(io::DefaultFileSystem(), device, report);
  INFO(s.ToString());
  REQUIRE(s.ok());
  struct stat st;
  REQUIRE(::lstat(device.c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_FALSE(testing::Exists(device + ".json"));
  CHECK(testing::ListTree(tmp.path()) == std::vector<std::string>{"null"});
}

TEST_CASE("a symlinked mapping is written through to its target, and the link stays") {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "shared/mapping.txt", "old\n");
  const std::string link = tmp / "mapping.txt";
  REQUIRE(::symlink("shared/mapping.txt", link.c_str()) == 0);
  ImportReport report;
  std::string digest = "sha256:" + std::string(64, 'c');
  report.refs.push_back({"src.local/x:1", "reg.local/x:1", digest});
  REQUIRE(WriteMappingFiles(io::DefaultFileSystem(), link, report).ok());
  struct stat st;
  REQUIRE(::lstat(link.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  CHECK(testing::ReadFile(tmp / "shared/mapping.txt") ==
        "src.local/x:1=reg.local/x:1@" + digest + "\n");
  CHECK(testing::Exists(link + ".json"));
}
