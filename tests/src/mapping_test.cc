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

TEST_CASE("a Helm values mapping (--mapping-format helm) has each ref split into registry, repository, tag, digest") {
  testing::TempDir tmp;
  ImportReport report;
  report.bundle.sequence = 7;
  std::string digest = "sha256:" + std::string(64, 'c');
  ImportReport::Ref image{"docker.io/library/nginx:1.10", "reg.local:5000/m/library/nginx:1.10",
                          digest, false, "library/nginx", "1.10"};
  image.placement = {"reg.local:5000", "m/library/nginx"};
  ImportReport::Ref pinned{"src.local/x@" + digest, "reg.local:5000/m/x@" + digest, digest,
                           true, "x", ""};
  pinned.placement = {"reg.local:5000", "m/x"};
  ImportReport::Ref chart{"helm:c-1.0.0.tgz", "reg.local:5000/m/charts/c:1.0.0", digest, false,
                          "charts/c", "1.0.0"};
  chart.placement = {"reg.local:5000", "m/charts/c"};
  chart.artifact = oci::Artifact{oci::ArtifactKind::kHelmChart, "c", "1.0.0", {}};
  ImportReport::Ref file{"file:values.yaml", "reg.local:5000/m/files/values.yaml:latest", digest,
                         false, "files/values.yaml", "latest"};
  file.placement = {"reg.local:5000", "m/files/values.yaml"};
  file.artifact = oci::Artifact{oci::ArtifactKind::kFile, "values.yaml", "", {}};
  report.refs = {chart, image, file, pinned};

  std::string expected =
      "# Written by sluice import: where each image of bundle 7 now is, as Helm values\n"
      "images:\n"
      "  \"docker.io/library/nginx:1.10\":\n"
      "    registry: \"reg.local:5000\"\n"
      "    repository: \"m/library/nginx\"\n"
      "    tag: \"1.10\"\n"
      "    digest: \"" + digest + "\"\n"
      "  \"src.local/x@" + digest + "\":\n"
      "    registry: \"reg.local:5000\"\n"
      "    repository: \"m/x\"\n"
      "    tag: \"\"\n"
      "    digest: \"" + digest + "\"\n"
      "charts:\n"
      "  \"helm:c-1.0.0.tgz\":\n"
      "    registry: \"reg.local:5000\"\n"
      "    repository: \"m/charts/c\"\n"
      "    tag: \"1.0.0\"\n"
      "    digest: \"" + digest + "\"\n"
      "files:\n"
      "  \"file:values.yaml\":\n"
      "    registry: \"reg.local:5000\"\n"
      "    repository: \"m/files/values.yaml\"\n"
      "    tag: \"latest\"\n"
      "    digest: \"" + digest + "\"\n";
  CHECK(HelmValuesMapping(report) == expected);
  REQUIRE(WriteMappingFiles(io::DefaultFileSystem(), tmp / "m.yaml", report, MappingFormat::kHelm)
              .ok());
  CHECK(testing::ReadFile(tmp / "m.yaml") == expected);
  // The JSON twin is the same as for text, and names charts and files.
  auto json = nlohmann::json::parse(testing::ReadFile(tmp / "m.yaml.json"));
  REQUIRE(json.size() == 4);
  CHECK(json[0]["artifact"] == "helm-chart");
  CHECK(json[0]["name"] == "c");
  CHECK(json[0]["version"] == "1.0.0");
  CHECK(json[2]["artifact"] == "file");
  CHECK_FALSE(json[1].contains("artifact"));
}

TEST_CASE("a Helm mapping of an import with nothing in a section leaves the section out") {
  ImportReport report;
  report.refs.push_back({"src.local/x:1", "oci:/m:x:1", "sha256:" + std::string(64, 'c'), false,
                         "x", "1"});
  std::string yaml = HelmValuesMapping(report);
  CHECK_THAT(yaml, Catch::Contains("images:"));
  CHECK_THAT(yaml, Catch::Contains("registry: \"\""));
  CHECK(yaml.find("charts:") == std::string::npos);
  CHECK(yaml.find("files:") == std::string::npos);
}
