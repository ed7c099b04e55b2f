// Helm charts and plain files travel in a bundle (export helm:CHART.tgz and
// file:FILE): the chart arrives as the OCI artifact `helm push` makes, the
// file as an ORAS-style artifact, both readable by skopeo from a real
// docker-registry and valid in an OCI layout; import --files-to writes the
// files out; --mapping-format helm says where everything went. The charts
// are packaged here with tar, as `helm package` lays them out.
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "../registry/registry_fixture.h"
#include "e2e_support.h"

namespace sluice::e2e {
namespace {

using registry::testing::TestRegistry;

constexpr const char* kChartYaml =
    "apiVersion: v2\n"
    "name: mychart\n"
    "description: A chart for the artifact tests\n"
    "version: 0.1.0\n"
    "appVersion: \"1.16\"\n"
    "home: https://example.com/mychart\n";

// dir/NAME-VERSION.tgz holding NAME/Chart.yaml (with `chart_yaml`),
// NAME/values.yaml and NAME/templates/x.yaml: `tar czf` as helm package
// would write it. `chart_yaml` empty: no Chart.yaml at all.
std::string PackageChart(const TempDir& dir, const std::string& name, const std::string& chart_yaml,
                         const std::string& file_name) {
  std::string src = dir / ("src-" + file_name);
  if (!chart_yaml.empty()) WriteFile(src + "/" + name + "/Chart.yaml", chart_yaml);
  WriteFile(src + "/" + name + "/values.yaml", "replicaCount: 1\nimage:\n  repository: nginx\n");
  WriteFile(src + "/" + name + "/templates/x.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n");
  std::string tgz = dir / file_name;
  Require(Run({"tar", "czf", tgz, "-C", src, name}));
  return tgz;
}

// What skopeo reads at docker://HOST/REF: the manifest (--raw) or, with
// `config`, the config blob's bytes (--config --raw).
std::string SkopeoRaw(const TestRegistry& registry, const std::string& ref, bool config = false) {
  std::vector<std::string> argv = {"skopeo", "inspect", "--raw"};
  if (config) argv.push_back("--config");
  RunResult r =
      Run(Concat(Concat(argv, registry.Flags("")), {"docker://" + registry.host() + "/" + ref}));
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// A YAML document, parsed by yaml-cpp (a third-party parser: no sluice code).
YAML::Node ParseYaml(const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    FAIL("not YAML (" << e.what() << "):\n" << text);
  }
  return {};
}

// One export's ingredients: a chart, a values file, the sample app image.
struct Ingredients {
  Ingredients() {
    chart = PackageChart(w.dir, "mychart", kChartYaml, "mychart-0.1.0.tgz");
    values = w.dir / "values.yaml";
    WriteFile(values, "ingress:\n  enabled: true\n  host: app.example.com\n");
    image = "oci:" + SampleLayout() + ":app:1.0";
  }
  Workspace w;
  std::string chart;
  std::string values;
  std::string image;
};

TEST_CASE("a chart, a file and an image land in a registry as helm push and oras store them",
          "[e2e][artifacts][registry]") {
  Ingredients in;
  std::string bundle = in.w.dir / "bundle.sluice";
  Require(in.w.Export({"helm:" + in.chart, "file:" + in.values, in.image}, bundle));

  TestRegistry registry;
  std::string files = in.w.dir / "files";
  std::string mapping = in.w.dir / "map.yaml";
  RunResult i = Sluice(
      Concat({"import", bundle, "--trust", in.w.keys.public_key, "--to",
              "docker://" + registry.host() + "/mirror", "--state-file", in.w.dir / "state.json",
              "--files-to", files, "--mapping", mapping, "--mapping-format", "helm"},
             registry.Flags("dest")));
  Require(i);
  // The report says where the chart and the file went.
  CHECK_THAT(i.out, Catch::Contains("helm install RELEASE oci://" + registry.host() +
                                    "/mirror/charts/mychart --version 0.1.0"));
  CHECK_THAT(i.out, Catch::Contains("file values.yaml, also written to " + files + "/values.yaml"));

  // The chart: repository charts/NAME, tag = its version, the .tgz as the
  // layer byte for byte, the metadata as the config.
  std::string tgz = ReadFile(in.chart);
  std::string chart_raw = SkopeoRaw(registry, "mirror/charts/mychart:0.1.0");
  nlohmann::json chart = ParseJson(chart_raw);
  CHECK(chart["schemaVersion"] == 2);
  CHECK(chart["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
  CHECK(chart["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json");
  REQUIRE(chart["layers"].size() == 1);
  CHECK(chart["layers"][0]["mediaType"] == "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
  CHECK(chart["layers"][0]["digest"] == Sha256Digest(tgz));
  CHECK(chart["layers"][0]["size"] == tgz.size());
  CHECK(chart["annotations"]["org.opencontainers.image.title"] == "mychart");
  CHECK(chart["annotations"]["org.opencontainers.image.version"] == "0.1.0");
  CHECK(chart["annotations"]["org.opencontainers.image.description"] ==
        "A chart for the artifact tests");
  CHECK(chart["annotations"]["org.opencontainers.image.url"] == "https://example.com/mychart");
  CHECK_FALSE(chart["annotations"].contains("org.opencontainers.image.created"));
  nlohmann::json config = ParseJson(SkopeoRaw(registry, "mirror/charts/mychart:0.1.0", true));
  CHECK(config == nlohmann::json{{"name", "mychart"},
                                 {"home", "https://example.com/mychart"},
                                 {"version", "0.1.0"},
                                 {"description", "A chart for the artifact tests"},
                                 {"apiVersion", "v2"},
                                 {"appVersion", "1.16"}});

  // The file: an OCI 1.1 artifact, its bytes the one layer, named by title.
  std::string values = ReadFile(in.values);
  std::string file_raw = SkopeoRaw(registry, "mirror/files/values.yaml:latest");
  nlohmann::json file = ParseJson(file_raw);
  CHECK(file["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
  CHECK(file["artifactType"] == "application/vnd.sluice.file.v1");
  CHECK(file["config"]["mediaType"] == "application/vnd.oci.empty.v1+json");
  CHECK(SkopeoRaw(registry, "mirror/files/values.yaml:latest", true) == "{}");
  REQUIRE(file["layers"].size() == 1);
  CHECK(file["layers"][0]["digest"] == Sha256Digest(values));
  CHECK(file["layers"][0]["annotations"]["org.opencontainers.image.title"] == "values.yaml");

  // --files-to: the file itself, the same bytes.
  CHECK(Sha256Digest(ReadFile(files + "/values.yaml")) == Sha256Digest(values));
  CHECK(ListTree(files) == std::vector<std::string>{"values.yaml"});

  // --mapping-format helm: each source split as charts take images apart.
  YAML::Node map = ParseYaml(ReadFile(mapping));
  YAML::Node app = map["images"][in.image];
  REQUIRE(app.IsMap());
  CHECK(app["registry"].as<std::string>() == registry.host());
  CHECK(app["repository"].as<std::string>() == "mirror/app");
  CHECK(app["tag"].as<std::string>() == "1.0");
  CHECK(app["digest"].as<std::string>() == SkopeoManifestDigest(SampleLayout(), "app:1.0"));
  YAML::Node mychart = map["charts"]["helm:" + in.chart];
  REQUIRE(mychart.IsMap());
  CHECK(mychart["registry"].as<std::string>() == registry.host());
  CHECK(mychart["repository"].as<std::string>() == "mirror/charts/mychart");
  CHECK(mychart["tag"].as<std::string>() == "0.1.0");
  CHECK(mychart["digest"].as<std::string>() == Sha256Digest(chart_raw));
  YAML::Node values_entry = map["files"]["file:" + in.values];
  REQUIRE(values_entry.IsMap());
  CHECK(values_entry["repository"].as<std::string>() == "mirror/files/values.yaml");
  CHECK(values_entry["tag"].as<std::string>() == "latest");
  CHECK(values_entry["digest"].as<std::string>() == Sha256Digest(file_raw));
  CHECK(map.size() == 3);

  // The JSON twin names the chart and where the file was written.
  nlohmann::json twin = ParseJson(ReadFile(mapping + ".json"));
  REQUIRE(twin.size() == 3);
  CHECK(twin[0]["artifact"] == "helm-chart");
  CHECK(twin[0]["version"] == "0.1.0");
  CHECK(twin[1]["artifact"] == "file");
  CHECK(twin[1]["file"] == files + "/values.yaml");
}

TEST_CASE("charts and files imported into an OCI layout are valid manifests with the same bytes",
          "[e2e][artifacts]") {
  Ingredients in;
  std::string bundle = in.w.dir / "bundle.sluice";
  Require(in.w.Export({in.image, "helm:" + in.chart, "file:" + in.values}, bundle));
  std::string out = in.w.dir / "out";
  Require(in.w.Import(bundle, out));

  std::string app = TaggedDigest(out, "app:1.0");
  std::string chart = TaggedDigest(out, "charts/mychart:0.1.0");
  std::string file = TaggedDigest(out, "files/values.yaml:latest");
  REQUIRE(!app.empty());
  REQUIRE(!chart.empty());
  REQUIRE(!file.empty());
  // oci-image-tool 1.0.0-rc1 cannot validate this layout whole: it refuses
  // any config that is no image config, and with three refs in index.json
  // it finds none of them "unique". So every manifest is validated against
  // the image-spec schema, and the image's config too.
  for (const std::string& digest : {app, chart, file}) {
    RunResult v = Run({"oci-image-tool", "validate", "--type", "manifest", BlobPath(out, digest)});
    INFO(v.Describe());
    CHECK(v.exit_code == 0);
  }
  std::string app_config = ParseJson(ReadFile(BlobPath(out, app)))["config"]["digest"];
  Require(Run({"oci-image-tool", "validate", "--type", "config", BlobPath(out, app_config)}));
  nlohmann::json chart_manifest = ParseJson(ReadFile(BlobPath(out, chart)));
  std::string layer = chart_manifest["layers"][0]["digest"];
  CHECK(ReadFile(BlobPath(out, layer)) == ReadFile(in.chart));
  nlohmann::json file_manifest = ParseJson(ReadFile(BlobPath(out, file)));
  std::string file_layer = file_manifest["layers"][0]["digest"];
  CHECK(ReadFile(BlobPath(out, file_layer)) == ReadFile(in.values));

  // inspect shows them for what they are.
  nlohmann::json inspected = InspectJson(bundle);
  std::map<std::string, nlohmann::json> artifacts;
  for (const auto& ref : inspected["refs"]) {
    if (ref.contains("artifact")) artifacts[RefName(ref)] = ref["artifact"];
  }
  REQUIRE(artifacts.size() == 2);
  CHECK(artifacts["charts/mychart:0.1.0"]["kind"] == "helm-chart");
  CHECK(artifacts["charts/mychart:0.1.0"]["name"] == "mychart");
  CHECK(artifacts["charts/mychart:0.1.0"]["version"] == "0.1.0");
  CHECK(artifacts["files/values.yaml:latest"]["kind"] == "file");
  CHECK(artifacts["files/values.yaml:latest"]["name"] == "values.yaml");
  RunResult text = Sluice({"inspect", bundle});
  Require(text);
  CHECK_THAT(text.out, Catch::Contains("Helm chart mychart 0.1.0"));
  CHECK_THAT(text.out, Catch::Contains("file values.yaml"));
}

TEST_CASE("the same chart and file exported again ship no blob: their digests do not change",
          "[e2e][artifacts][ledger]") {
  Ingredients in;
  std::string first = in.w.dir / "first.sluice";
  std::string second = in.w.dir / "second.sluice";
  Require(in.w.Export({"helm:" + in.chart, "file:" + in.values}, first));
  // The same chart packaged again (a new file, new mtimes inside would make
  // new bytes: the same bytes copied elsewhere must not).
  std::string copy = in.w.dir / "elsewhere/mychart-0.1.0.tgz";
  WriteFile(copy, ReadFile(in.chart));
  RunResult again = in.w.Export({"helm:" + copy, "file:" + in.values}, second, {"--json"});
  Require(again);
  nlohmann::json report = ParseJson(again.out);
  CHECK(report["shipped_blobs"] == 0);
  CHECK(report["skipped_blobs"] == 4);  // chart config and .tgz, empty config and file

  nlohmann::json one = InspectJson(first);
  nlohmann::json two = InspectJson(second);
  REQUIRE(one["refs"].size() == 2);
  REQUIRE(two["refs"].size() == 2);
  for (size_t i = 0; i < 2; ++i) CHECK(one["refs"][i]["digest"] == two["refs"][i]["digest"]);
  for (const auto& blob : two["blobs"]) CHECK(blob["shipped"] == false);

  // The far side imports both; the second bundle carries no file bytes, and
  // --files-to still writes the file, read back from the destination.
  std::string out = in.w.dir / "out";
  Require(in.w.Import(first, out));
  std::string files = in.w.dir / "files-later";
  Require(Sluice({"import", second, "--trust", in.w.keys.public_key, "--to", "oci:" + out,
                  "--files-to", files, "--mapping", ""}));
  CHECK(ReadFile(files + "/values.yaml") == ReadFile(in.values));
}

TEST_CASE("a broken chart file and one without Chart.yaml are refused, naming the file",
          "[e2e][artifacts]") {
  Workspace w;
  std::string good = PackageChart(w.dir, "mychart", kChartYaml, "good.tgz");
  std::string broken = w.dir / "broken.tgz";
  std::string bytes = ReadFile(good);
  WriteFile(broken, bytes.substr(0, bytes.size() - 20));  // cut short
  std::string no_chart_yaml = PackageChart(w.dir, "mychart", "", "no-chart-yaml.tgz");
  std::string bad_name =
      PackageChart(w.dir, "mychart", "apiVersion: v2\nname: MyChart\nversion: 0.1.0\n", "name.tgz");
  std::string bad_version =
      PackageChart(w.dir, "mychart", "apiVersion: v2\nname: mychart\nversion: one\n", "ver.tgz");

  const std::pair<std::string, std::string> cases[] = {
      {broken, "is damaged or not a packaged Helm chart"},
      {no_chart_yaml, "holds no Chart.yaml"},
      {bad_name, "chart name 'MyChart' is not a registry repository name"},
      {bad_version, "chart version 'one' is not a SemVer version"},
  };
  std::string bundle = w.dir / "bundle.sluice";
  for (const auto& [file, message] : cases) {
    INFO(file);
    RunResult r = w.Export({"helm:" + file}, bundle);
    CHECK(r.exit_code == 3);
    std::string error = r.ErrorLine();
    CHECK_THAT(error, Catch::StartsWith("sluice: error: "));
    CHECK_THAT(error, Catch::Contains("chart " + file));
    CHECK_THAT(error, Catch::Contains(message));
    CHECK_FALSE(Exists(bundle));
    CHECK_FALSE(Exists(w.ledger));
  }
  RunResult missing = w.Export({"helm:" + (w.dir / "missing.tgz")}, bundle);
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.ErrorLine(), Catch::Contains(w.dir / "missing.tgz"));
  RunResult bare = w.Export({good}, bundle);
  CHECK(bare.exit_code == 2);
  CHECK_THAT(bare.ErrorLine(), Catch::Contains("did you mean helm:" + good));
}

TEST_CASE(
    "import --files-to with no file in the bundle is fine, and two files of one name are refused",
    "[e2e][artifacts]") {
  Workspace w;
  std::string images = w.dir / "images.sluice";
  Require(w.Export({"oci:" + SampleLayout() + ":app:1.0"}, images));
  std::string out = w.dir / "out";
  std::string files = w.dir / "files";
  Require(Sluice({"import", images, "--trust", w.keys.public_key, "--to", "oci:" + out,
                  "--files-to", files, "--mapping", ""}));
  CHECK_FALSE(Exists(files + "/values.yaml"));

  WriteFile(w.dir / "prod/values.yaml", "env: prod\n");
  WriteFile(w.dir / "dev/values.yaml", "env: dev\n");
  std::string two = w.dir / "two.sluice";
  Require(w.Export({"file:" + (w.dir / "prod/values.yaml") + ":prod",
                    "file:" + (w.dir / "dev/values.yaml") + ":dev"},
                   two));
  RunResult r = Sluice({"import", two, "--trust", w.keys.public_key, "--to", "oci:" + out,
                        "--files-to", files, "--mapping", ""});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.ErrorLine(), Catch::Contains("two different files named 'values.yaml'"));
  CHECK_THAT(r.ErrorLine(), Catch::Contains("the images are imported"));
  CHECK_FALSE(Exists(files + "/values.yaml"));
  // Both are in the layout all the same.
  CHECK(!TaggedDigest(out, "files/values.yaml:prod").empty());
  CHECK(!TaggedDigest(out, "files/values.yaml:dev").empty());
}

}  // namespace
}  // namespace sluice::e2e

namespace sluice::e2e {
namespace {

// An OCI layout at dir holding one file artifact, tagged `tag`, whose title
// annotation (the name --files-to would write it under) is `title`: made by
// hand, as any tool could make it.
void MakeFileArtifactLayout(const std::string& dir, const std::string& tag,
                            const std::string& title, const std::string& bytes) {
  auto blob = [&](const std::string& content) {
    std::string digest = Sha256Digest(content);
    WriteFile(BlobPath(dir, digest), content);
    return digest;
  };
  nlohmann::ordered_json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"artifactType", "application/vnd.sluice.file.v1"},
      {"config",
       {{"mediaType", "application/vnd.oci.empty.v1+json"}, {"digest", blob("{}")}, {"size", 2}}},
      {"layers",
       {{{"mediaType", "application/octet-stream"},
         {"digest", blob(bytes)},
         {"size", bytes.size()},
         {"annotations", {{"org.opencontainers.image.title", title}}}}}}};
  std::string text = manifest.dump();
  nlohmann::ordered_json index = {
      {"schemaVersion", 2},
      {"manifests",
       {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
         {"digest", blob(text)},
         {"size", text.size()},
         {"annotations", {{"org.opencontainers.image.ref.name", tag}}}}}}};
  WriteFile(dir + "/index.json", index.dump());
  WriteFile(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
}

TEST_CASE("a file artifact whose name would leave the --files-to directory is refused",
          "[e2e][artifacts]") {
  Workspace w;
  std::string out = w.dir / "out";
  std::string files = w.dir / "deep/files";
  for (const char* title : {"../escaped", "/etc/escaped", "..", ""}) {
    INFO("title '" << title << "'");
    std::string layout = w.dir / "layout";
    std::filesystem::remove_all(layout);
    MakeFileArtifactLayout(layout, "hostile:1", title, "bytes that must stay in the bundle\n");
    std::string bundle = w.dir / "hostile.sluice";
    Require(w.Export({"oci:" + layout + ":hostile:1"}, bundle));
    RunResult r = Sluice({"import", bundle, "--trust", w.keys.public_key, "--to", "oci:" + out,
                          "--files-to", files, "--mapping", ""});
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.ErrorLine(), Catch::Contains("which is no plain file name"));
    CHECK_FALSE(Exists(w.dir / "deep/escaped"));
    CHECK_FALSE(Exists(files));
  }
  CHECK_FALSE(Exists("/etc/escaped"));
}

TEST_CASE("helm: and file: are export sources only, and a bad --mapping-format is a usage error",
          "[e2e][artifacts][usage]") {
  for (const char* to : {"helm:/tmp/c.tgz", "file:/tmp/values.yaml"}) {
    INFO(to);
    RunResult r =
        Sluice({"import", "/nonexistent.sluice", "--insecure-skip-signature", "--to", to});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.ErrorLine(), Catch::Contains("export sources only"));
  }
  RunResult format = Sluice({"import", "/nonexistent.sluice", "--insecure-skip-signature", "--to",
                             "oci:/tmp/x", "--mapping-format", "yaml"});
  CHECK(format.exit_code == 2);
  CHECK_THAT(format.err, Catch::Contains("--mapping-format takes 'text' or 'helm', not 'yaml'"));
  RunResult empty = Sluice({"import", "/nonexistent.sluice", "--insecure-skip-signature", "--to",
                            "oci:/tmp/x", "--files-to", ""});
  CHECK(empty.exit_code == 2);
  CHECK_THAT(empty.err, Catch::Contains("--files-to is empty"));
}

}  // namespace
}  // namespace sluice::e2e

namespace sluice::e2e {
namespace {

TEST_CASE("charts and files listed in an export --config travel as helm: and file: sources",
          "[e2e][artifacts]") {
  Ingredients in;
  // Paths relative to the config file's directory.
  WriteFile(in.w.dir / "mirror.yaml",
            "charts:\n  - mychart-0.1.0.tgz\nfiles:\n  - path: values.yaml\n");
  std::string bundle = in.w.dir / "bundle.sluice";
  Require(in.w.Export({}, bundle, {"--config", in.w.dir / "mirror.yaml"}));
  nlohmann::json inspected = InspectJson(bundle);
  std::map<std::string, nlohmann::json> refs;
  for (const auto& ref : inspected["refs"]) refs[RefName(ref)] = ref;
  REQUIRE(refs.size() == 2);
  CHECK(refs["charts/mychart:0.1.0"]["source"] == "helm:" + in.chart);
  CHECK(refs["charts/mychart:0.1.0"]["artifact"]["kind"] == "helm-chart");
  CHECK(refs["files/values.yaml:latest"]["source"] == "file:" + in.values);
  CHECK(refs["files/values.yaml:latest"]["artifact"]["kind"] == "file");
}

}  // namespace
}  // namespace sluice::e2e
