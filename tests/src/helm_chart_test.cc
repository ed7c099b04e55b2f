// Chart.yaml read as Helm reads it, and the config and annotations helm push
// derives from it (src/source/helm_chart.h); packaged charts made with tar.
#include "source/helm_chart.h"

#include <catch2/catch.hpp>

#include "test_support.h"
#include "tests/support/process.h"

using namespace sluice;

namespace {

constexpr const char* kFullChart = R"(apiVersion: v2
name: mychart
version: 1.2.3-rc.1+build.5
kubeVersion: ">=1.22.0-0"
description: |
  A chart <for> tests & such
type: application
keywords: [web, "tab	here"]
home: https://example.com/home
sources:
  - https://example.com/src1
  - https://example.com/src2
dependencies:
  - name: redis
    version: "17.x"
    repository: oci://registry.example.com/charts
    condition: redis.enabled
    tags: [cache]
    import-values:
      - child: default.data
        parent: myimports
      - data
    alias: cache
  - name: local
    repository: ""
    enabled: true
maintainers:
  - name: Ann
    email: ann@example.com
    url: https://ann.example.com
  - name: Bob
icon: https://example.com/icon.png
appVersion: 1.16
deprecated: false
annotations:
  category: Testing
  org.opencontainers.image.title: sneaky
  org.opencontainers.image.description: from the annotations
unknownField: ignored as Helm ignores it
)";

// A chart's metadata, or the test fails showing why.
ChartMetadata Parse(const std::string& yaml) {
  auto parsed = ParseChartYaml(yaml);
  INFO(parsed.status().ToString());
  REQUIRE(parsed.ok());
  return *parsed;
}

// The message ParseChartYaml refuses `yaml` with (kCorruption).
std::string Refusal(const std::string& yaml) {
  auto parsed = ParseChartYaml(yaml);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().kind() == ErrorKind::kCorruption);
  return parsed.status().message();
}

// `tar czf OUT -C DIR ENTRIES...`, the way helm package lays a chart out.
void Tgz(const std::string& out, const std::string& dir, const std::vector<std::string>& entries) {
  std::vector<std::string> argv = {"tar", "czf", out, "-C", dir};
  argv.insert(argv.end(), entries.begin(), entries.end());
  auto r = testing::Run(argv);
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("the config blob is Chart.yaml as Helm's json.Marshal of its Metadata writes it") {
  ChartMetadata m = Parse(kFullChart);
  // Helm's field order, empty fields left out, '<' '>' '&' escaped, map keys
  // sorted, whitespace sanitised (the description's newline, the keyword's
  // tab), a dependency's repository kept even when empty, scalars as text.
  CHECK(
      ChartConfigJson(m) ==
      R"({"name":"mychart","home":"https://example.com/home",)"
      R"("sources":["https://example.com/src1","https://example.com/src2"],)"
      R"("version":"1.2.3-rc.1+build.5","description":"A chart \u003cfor\u003e tests \u0026 such ",)"
      R"("keywords":["web","tab here"],)"
      R"("maintainers":[{"name":"Ann","email":"ann@example.com","url":"https://ann.example.com"},)"
      R"({"name":"Bob"}],"icon":"https://example.com/icon.png","apiVersion":"v2",)"
      R"("appVersion":"1.16","annotations":{"category":"Testing",)"
      R"("org.opencontainers.image.description":"from the annotations",)"
      R"("org.opencontainers.image.title":"sneaky"},"kubeVersion":"\u003e=1.22.0-0",)"
      R"("dependencies":[{"name":"redis","version":"17.x",)"
      R"("repository":"oci://registry.example.com/charts","condition":"redis.enabled",)"
      R"("tags":["cache"],"import-values":[{"child":"default.data","parent":"myimports"},"data"],)"
      R"("alias":"cache"},{"name":"local","repository":"","enabled":true}],"type":"application"})");
}

TEST_CASE("the same Chart.yaml gives the same config bytes, whatever the order of its fields") {
  std::string reordered =
      "version: 1.0.0\nannotations: {b: '2', a: '1'}\nname: x\napiVersion: v2\n";
  std::string original = "apiVersion: v2\nname: x\nversion: 1.0.0\nannotations: {a: '1', b: '2'}\n";
  CHECK(ChartConfigJson(Parse(reordered)) == ChartConfigJson(Parse(original)));
  CHECK(ChartConfigJson(Parse(original)) ==
        R"({"name":"x","version":"1.0.0","apiVersion":"v2","annotations":{"a":"1","b":"2"}})");
}

TEST_CASE("annotations are the ones helm push writes, without a creation time") {
  std::map<std::string, std::string> a = ChartAnnotations(Parse(kFullChart));
  CHECK(a == std::map<std::string, std::string>{
                 {"category", "Testing"},
                 // The chart's own annotation replaces the description...
                 {"org.opencontainers.image.description", "from the annotations"},
                 // ... but never the name or the version.
                 {"org.opencontainers.image.title", "mychart"},
                 {"org.opencontainers.image.version", "1.2.3-rc.1+build.5"},
                 {"org.opencontainers.image.url", "https://example.com/home"},
                 {"org.opencontainers.image.source", "https://example.com/src1"},
                 {"org.opencontainers.image.authors", "Ann (ann@example.com), Bob"}});
  CHECK_FALSE(a.contains("org.opencontainers.image.created"));
  // Blank values are left out, as helm's addToMap leaves them out.
  std::map<std::string, std::string> bare =
      ChartAnnotations(Parse("apiVersion: v2\nname: x\nversion: 1.0.0\ndescription: '  '\n"));
  CHECK(bare == std::map<std::string, std::string>{{"org.opencontainers.image.title", "x"},
                                                   {"org.opencontainers.image.version", "1.0.0"}});
}

TEST_CASE("chart versions are SemVer as Helm's semver library takes them") {
  for (const char* good : {"1.2.3", "0.1.0", "v1.2.3", "1", "1.2", "1.0.0-0", "1.0.0-rc.1",
                           "1.0.0+build.5", "1.0.0-alpha-1.x+sha.0a1b", "10.20.30"}) {
    INFO(good);
    CHECK(IsValidChartVersion(good));
  }
  for (const char* bad : {"", "v", "1.x", "1.2.3.4", "1.0.0-01", "1.0.0-", "1.0.0+", "1..2", ".1",
                          "1.2.3-rc..1", "latest", "1.0.0 ", "1.0.0_b"}) {
    INFO(bad);
    CHECK_FALSE(IsValidChartVersion(bad));
  }
  CHECK(ChartTag("1.0.0+build.5") == "1.0.0_build.5");
  CHECK(ChartTag("v2.1.0-rc.1") == "v2.1.0-rc.1");
}

TEST_CASE("Chart.yaml without what Helm requires is refused, saying what is missing") {
  CHECK_THAT(Refusal("name: x\nversion: 1.0.0\n"), Catch::Contains("apiVersion is missing"));
  CHECK_THAT(Refusal("apiVersion: v2\nversion: 1.0.0\n"), Catch::Contains("name is missing"));
  CHECK_THAT(Refusal("apiVersion: v2\nname: x\n"), Catch::Contains("version is missing"));
  CHECK_THAT(Refusal("apiVersion: v2\nname: x\nversion: ~\n"),
             Catch::Contains("version is missing"));
}

TEST_CASE("a chart name no registry repository can hold is refused") {
  for (const char* name : {"My_Chart", "../x", "a/b", "x-", "UPPER", "-x", "a..b", "sp ace"}) {
    INFO(name);
    CHECK_THAT(Refusal("apiVersion: v2\nversion: 1.0.0\nname: '" + std::string(name) + "'\n"),
               Catch::Contains("is not a registry repository name"));
  }
  for (const char* name : {"my-chart", "x", "a.b", "a_b", "a__b", "ingress-nginx", "k8s2"}) {
    INFO(name);
    CHECK(ParseChartYaml("apiVersion: v2\nversion: 1.0.0\nname: " + std::string(name) + "\n").ok());
  }
}

TEST_CASE("a bad version, type or field shape is refused naming the field") {
  CHECK_THAT(Refusal("apiVersion: v2\nname: x\nversion: 1.x\n"),
             Catch::Contains("chart version '1.x' is not a SemVer version"));
  CHECK_THAT(Refusal("apiVersion: v2\nname: x\nversion: 1.0.0-" + std::string(130, 'a') + "\n"),
             Catch::Contains("makes no registry tag"));
  CHECK_THAT(Refusal("apiVersion: v2\nname: x\nversion: 1.0.0\ntype: plugin\n"),
             Catch::Contains("chart type 'plugin'"));
  CHECK_THAT(Refusal("apiVersion: v2\nname: x\nversion: 1.0.0\ndeprecated: maybe\n"),
             Catch::Contains("'deprecated' (line 4) is not true or false"));
  CHECK_THAT(Refusal("apiVersion: v2\nname: x\nversion: 1.0.0\nmaintainers: Ann\n"),
             Catch::Contains("'maintainers' (line 4) is not a list"));
  CHECK_THAT(Refusal("apiVersion: v2\nname: x\nversion: 1.0.0\nmaintainers: [~]\n"),
             Catch::Contains("must hold mappings"));
  CHECK_THAT(Refusal("apiVersion: v2\nname: [x]\nversion: 1.0.0\n"),
             Catch::Contains("'name' (line 2) is not a string"));
  CHECK_THAT(Refusal("- a list\n- not a chart\n"), Catch::Contains("not a mapping of fields"));
}

TEST_CASE("YAML that does not parse is refused with its line") {
  CHECK_THAT(Refusal("apiVersion: v2\nname: x\nversion: [1.0.0\n"),
             Catch::Contains("not YAML Helm can read: line"));
  CHECK_THAT(Refusal("apiVersion: v2\n\tname: x\n"), Catch::Contains("line 2"));
}

TEST_CASE("import-values built from aliases of aliases are refused, not expanded") {
  // Each level doubles the tree yaml-cpp shares: 2^30 nodes if walked whole.
  std::string yaml = "apiVersion: v2\nname: x\nversion: 1.0.0\nl0: &l0 [a, a]\n";
  for (int i = 1; i <= 30; ++i) {
    yaml += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [*l" + std::to_string(i - 1) +
            ", *l" + std::to_string(i - 1) + "]\n";
  }
  yaml += "dependencies:\n  - name: d\n    repository: r\n    import-values: *l30\n";
  CHECK_THAT(Refusal(yaml), Catch::Contains("import-values nest too deep or hold too much"));
}

TEST_CASE("a packaged chart's metadata is its top directory's Chart.yaml") {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "src/mychart/Chart.yaml",
                     "apiVersion: v2\nname: mychart\nversion: 0.1.0\n");
  testing::WriteFile(tmp / "src/mychart/values.yaml", "replicas: 1\n");
  // A subchart's Chart.yaml is part of the package, not its metadata.
  testing::WriteFile(tmp / "src/mychart/charts/sub/Chart.yaml",
                     "apiVersion: v2\nname: sub\nversion: 9.9.9\n");
  Tgz(tmp / "mychart-0.1.0.tgz", tmp / "src", {"mychart"});
  auto chart = ReadPackagedChart(io::DefaultFileSystem(), tmp / "mychart-0.1.0.tgz");
  INFO(chart.status().ToString());
  REQUIRE(chart.ok());
  CHECK(chart->metadata.name == "mychart");
  CHECK(chart->metadata.version == "0.1.0");
  CHECK(chart->chart_yaml == "mychart/Chart.yaml");
}

TEST_CASE("a file that is no packaged chart is refused naming the file and what is wrong") {
  testing::TempDir tmp;
  testing::WriteFile(tmp / "src/c/Chart.yaml", "apiVersion: v2\nname: c\nversion: 1.0.0\n");
  testing::WriteFile(tmp / "src/d/Chart.yaml", "apiVersion: v2\nname: d\nversion: 1.0.0\n");
  testing::WriteFile(tmp / "src/e/values.yaml", "x: 1\n");
  testing::WriteFile(tmp / "src/Chart.yaml", "apiVersion: v2\nname: r\nversion: 1.0.0\n");
  testing::WriteFile(tmp / "src/bad/Chart.yaml", "apiVersion: v2\nname: Bad\nversion: 1.0.0\n");
  Tgz(tmp / "good.tgz", tmp / "src", {"c"});
  Tgz(tmp / "two.tgz", tmp / "src", {"c", "d"});
  Tgz(tmp / "none.tgz", tmp / "src", {"e"});
  Tgz(tmp / "root.tgz", tmp / "src", {"Chart.yaml"});
  Tgz(tmp / "badname.tgz", tmp / "src", {"bad"});
  REQUIRE(testing::Run({"tar", "cf", tmp / "plain.tgz", "-C", tmp / "src", "c"}).exit_code == 0);
  std::string good = testing::ReadFile(tmp / "good.tgz");
  testing::WriteFile(tmp / "cut.tgz", good.substr(0, good.size() / 2));
  std::string flipped = good;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
  testing::WriteFile(tmp / "flipped.tgz", flipped);

  const std::pair<const char*, const char*> cases[] = {
      {"two.tgz", "holds several charts"},
      {"none.tgz", "holds no Chart.yaml"},
      {"root.tgz", "Chart.yaml is not in a chart directory"},
      {"badname.tgz", "bad/Chart.yaml: chart name 'Bad'"},
      {"plain.tgz", "not gzip-compressed"},
      {"cut.tgz", "is damaged or not a packaged Helm chart"},
      {"flipped.tgz", "is damaged or not a packaged Helm chart"},
  };
  for (const auto& [file, message] : cases) {
    INFO(file);
    auto chart = ReadPackagedChart(io::DefaultFileSystem(), tmp / file);
    REQUIRE_FALSE(chart.ok());
    CHECK(chart.status().kind() == ErrorKind::kCorruption);
    CHECK_THAT(chart.status().message(), Catch::Contains("chart " + (tmp / file)));
    CHECK_THAT(chart.status().message(), Catch::Contains(message));
  }
  auto missing = ReadPackagedChart(io::DefaultFileSystem(), tmp / "missing.tgz");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().kind() == ErrorKind::kNotFound);
}
