// helm: and file: sources (src/source/artifact_source.h) and the recognition
// of what they make (src/oci/artifact.h): real files, real digests.
#include "source/artifact_source.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "oci/artifact.h"
#include "source/helm_chart.h"
#include "test_support.h"
#include "tests/support/process.h"

using namespace sluice;

namespace {

std::string ReadAll(io::SequentialReader* reader, Status* status) {
  std::string out;
  std::vector<uint8_t> buffer(4096);
  while (true) {
    auto n = reader->Read(buffer);
    if (!n.ok()) {
      *status = n.status();
      return out;
    }
    if (*n == 0) return out;
    out.append(reinterpret_cast<const char*>(buffer.data()), *n);
  }
}

std::string Blob(ImageSource* source, const oci::Descriptor& d) {
  auto reader = source->OpenBlob("", d.digest, d.size);
  REQUIRE(reader.ok());
  Status status;
  std::string bytes = ReadAll(reader->get(), &status);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return bytes;
}

// A chart packaged with tar, as helm package lays it out.
std::string MakeChart(const testing::TempDir& tmp, const std::string& chart_yaml) {
  testing::WriteFile(tmp / "src/mychart/Chart.yaml", chart_yaml);
  testing::WriteFile(tmp / "src/mychart/values.yaml", "replicas: 1\n");
  testing::WriteFile(tmp / "src/mychart/templates/x.yaml", "kind: ConfigMap\n");
  std::string path = tmp / "mychart-0.1.0.tgz";
  auto r = testing::Run({"tar", "czf", path, "-C", tmp / "src", "mychart"});
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  return path;
}

struct Listed {
  SourceImage image;
  std::string manifest;
};

Listed ListOne(ImageSource* source) {
  auto images = source->ListImages();
  INFO(images.status().ToString());
  REQUIRE(images.ok());
  REQUIRE(images->size() == 1);
  Listed listed{(*images)[0], ""};
  auto manifest = source->FetchManifest(listed.image.repository, listed.image.digest);
  REQUIRE(manifest.ok());
  CHECK(manifest->media_type == "application/vnd.oci.image.manifest.v1+json");
  CHECK(format::Sha256::Of(manifest->bytes) == listed.image.digest);
  listed.manifest = manifest->bytes;
  return listed;
}

}  // namespace

TEST_CASE("helm: carries the chart file unchanged under charts/NAME:VERSION, as helm push does") {
  testing::TempDir tmp;
  std::string path =
      MakeChart(tmp, "apiVersion: v2\nname: mychart\nversion: 0.1.0+b.1\ndescription: d\n");
  auto source = NewHelmChartSource(io::DefaultFileSystem(), path);
  Listed listed = ListOne(source.get());
  CHECK(listed.image.repository == "charts/mychart");
  CHECK(listed.image.tag == "0.1.0_b.1");
  CHECK(listed.image.display == "helm:" + path);

  auto artifact = oci::RecognizeArtifact(listed.manifest, listed.image.media_type);
  REQUIRE(artifact);
  CHECK(artifact->kind == oci::ArtifactKind::kHelmChart);
  CHECK(artifact->name == "mychart");
  CHECK(artifact->version == "0.1.0+b.1");
  std::string tgz = testing::ReadFile(path);
  CHECK(artifact->content.digest == format::Sha256::Of(tgz));
  CHECK(artifact->content.size == tgz.size());
  CHECK(artifact->content.media_type == "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
  CHECK(Blob(source.get(), artifact->content) == tgz);

  auto manifest = nlohmann::json::parse(listed.manifest);
  CHECK(manifest["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json");
  CHECK(manifest["annotations"]["org.opencontainers.image.description"] == "d");
  CHECK_FALSE(manifest["annotations"].contains("org.opencontainers.image.created"));
  oci::Descriptor config;
  config.digest = *format::Digest::Parse(manifest["config"]["digest"].get<std::string>());
  config.size = manifest["config"]["size"];
  CHECK(Blob(source.get(), config) ==
        R"({"name":"mychart","version":"0.1.0+b.1","description":"d","apiVersion":"v2"})");
}

TEST_CASE("the same chart file gives the same manifest digest, wherever it lies") {
  testing::TempDir tmp;
  std::string path = MakeChart(tmp, "apiVersion: v2\nname: mychart\nversion: 0.1.0\n");
  testing::WriteFile(tmp / "elsewhere/copy.tgz", testing::ReadFile(path));
  Listed first = ListOne(NewHelmChartSource(io::DefaultFileSystem(), path).get());
  Listed again = ListOne(NewHelmChartSource(io::DefaultFileSystem(), path).get());
  Listed copy =
      ListOne(NewHelmChartSource(io::DefaultFileSystem(), tmp / "elsewhere/copy.tgz").get());
  CHECK(again.image.digest == first.image.digest);
  CHECK(copy.image.digest == first.image.digest);
  CHECK(again.manifest == first.manifest);
}

TEST_CASE("file: carries a file's bytes as an artifact under files/NAME, tag latest unless given") {
  testing::TempDir tmp;
  std::string bytes = testing::RandomBytes(3 << 20, 7);  // more than one read buffer
  testing::WriteFile(tmp / "Site Values.YAML", bytes);
  auto source = NewFileSource(io::DefaultFileSystem(), tmp / "Site Values.YAML", "");
  Listed listed = ListOne(source.get());
  CHECK(listed.image.repository == "files/site-values.yaml");
  CHECK(listed.image.tag == "latest");
  auto artifact = oci::RecognizeArtifact(listed.manifest, "");
  REQUIRE(artifact);
  CHECK(artifact->kind == oci::ArtifactKind::kFile);
  CHECK(artifact->name == "Site Values.YAML");
  CHECK(artifact->content.digest == format::Sha256::Of(bytes));
  CHECK(artifact->content.size == bytes.size());
  CHECK(Blob(source.get(), artifact->content) == bytes);
  auto manifest = nlohmann::json::parse(listed.manifest);
  CHECK(manifest["artifactType"] == "application/vnd.sluice.file.v1");
  CHECK(manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json");
  CHECK(manifest["config"]["digest"] ==
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");

  auto tagged = NewFileSource(io::DefaultFileSystem(), tmp / "Site Values.YAML", "prod-2");
  Listed other = ListOne(tagged.get());
  CHECK(other.image.tag == "prod-2");
  CHECK(other.image.digest == listed.image.digest);  // the tag is not in the manifest
}

TEST_CASE("a file that changes after it was hashed is refused as it is read, naming it") {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "f.bin", "first version");
  auto source = NewFileSource(io::DefaultFileSystem(), tmp / "f.bin", "");
  Listed listed = ListOne(source.get());
  auto artifact = oci::RecognizeArtifact(listed.manifest, "");
  REQUIRE(artifact);
  testing::WriteFile(tmp / "f.bin", "other version");
  auto reader = source->OpenBlob("", artifact->content.digest, artifact->content.size);
  REQUIRE(reader.ok());
  Status status;
  ReadAll(reader->get(), &status);
  REQUIRE_FALSE(status.ok());
  CHECK(status.kind() == ErrorKind::kCorruption);
  CHECK_THAT(status.message(), Catch::Contains(tmp / "f.bin"));
}

TEST_CASE("file: refuses what is no regular file, and a missing one, naming it") {
  testing::TempDir tmp;
  auto dir = NewFileSource(io::DefaultFileSystem(), tmp.path(), "")->ListImages();
  REQUIRE_FALSE(dir.ok());
  CHECK_THAT(dir.status().message(), Catch::Contains("is a directory"));
  auto missing = NewFileSource(io::DefaultFileSystem(), tmp / "nope", "")->ListImages();
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().kind() == ErrorKind::kNotFound);
  CHECK_THAT(missing.status().message(), Catch::Contains(tmp / "nope"));
}

TEST_CASE("a file's repository is its base name made a registry path component") {
  const std::pair<const char*, const char*> cases[] = {
      {"values.yaml", "files/values.yaml"},
      {"Values (prod).YAML", "files/values-prod.yaml"},
      {".bashrc", "files/bashrc"},
      {"LICENSE", "files/license"},
      {"a..b", "files/a.b"},
      {"a__b-._c", "files/a__b.c"},
      {"a---b", "files/a---b"},
      {"---", "files/file"},
      {"\xc3\xa9t\xc3\xa9.txt", "files/t.txt"},
      {"a b", "files/a-b"},
  };
  for (const auto& [name, repository] : cases) {
    INFO(name);
    CHECK(FileRepository(name) == repository);
  }
  CHECK(FileRepository(std::string(300, 'a')) == "files/" + std::string(128, 'a'));
}

TEST_CASE("images, indexes and other artifacts are not taken for charts or files") {
  std::string config =
      R"({"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
      std::string(64, 'a') + R"(","size":2})";
  std::string layer = R"({"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:)" +
                      std::string(64, 'b') + R"(","size":3})";
  std::string image = R"({"schemaVersion":2,"config":)" + config + R"(,"layers":[)" + layer + "]}";
  CHECK_FALSE(oci::RecognizeArtifact(image, ""));
  std::string other = R"({"schemaVersion":2,"artifactType":"application/x-other","config":)" +
                      config + R"(,"layers":[)" + layer + "]}";
  CHECK_FALSE(oci::RecognizeArtifact(other, ""));
  CHECK_FALSE(oci::RecognizeArtifact(R"({"schemaVersion":2,"manifests":[]})", ""));
  CHECK_FALSE(oci::RecognizeArtifact("not json", ""));
  // A helm config without a chart layer is no chart.
  std::string helm_config =
      R"({"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:)" +
      std::string(64, 'a') + R"(","size":2})";
  CHECK_FALSE(oci::RecognizeArtifact(
      R"({"schemaVersion":2,"config":)" + helm_config + R"(,"layers":[)" + layer + "]}", ""));
  // Helm's legacy layer type is still a chart.
  std::string legacy = R"({"mediaType":"application/tar+gzip","digest":"sha256:)" +
                       std::string(64, 'b') + R"(","size":3})";
  auto chart = oci::RecognizeArtifact(
      R"({"schemaVersion":2,"config":)" + helm_config + R"(,"layers":[)" + legacy +
          R"(],"annotations":{"org.opencontainers.image.title":"c","org.opencontainers.image.version":"1.0.0"}})",
      "");
  REQUIRE(chart);
  CHECK(chart->name == "c");
  CHECK(chart->version == "1.0.0");
}
