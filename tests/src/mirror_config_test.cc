// export --config FILE (mirror_config.h): what a config file declares comes
// out as the SourceRefs a --list file would give, with their options, and
// every mistake in it is refused naming FILE:LINE:COLUMN and the key.
#include "mirror_config.h"

#include <catch2/catch.hpp>

#include "reference/tag_pattern.h"
#include "test_support.h"

using namespace sluice;
using namespace sluice::testing;

namespace {

constexpr const char* kDigest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct ConfigFile {
  TempDir tmp;
  std::string path = tmp / "mirror.yaml";

  explicit ConfigFile(const std::string& yaml) { WriteFile(path, yaml); }

  Result<std::vector<SourceRef>> Read() const {
    std::vector<SourceRef> refs;
    Status s = ReadMirrorConfig(io::DefaultFileSystem(), path, &refs);
    if (!s.ok()) return s;
    return refs;
  }
};

std::vector<std::string> Texts(const std::vector<SourceRef>& refs) {
  std::vector<std::string> out;
  for (const SourceRef& r : refs) out.push_back(r.text);
  return out;
}

std::vector<std::string> Platforms(const SourceRef& ref) {
  std::vector<std::string> out;
  for (const oci::Platform& p : ref.platforms) out.push_back(p.ToString());
  return out;
}

}  // namespace

TEST_CASE("a config's images, charts and files come out as refs, in file order, with options") {
  ConfigFile f(R"(# what site A mirrors
version: 1
authfile: auth.json
images:
  - docker://quay.io/team/app:1.0
  - name: registry.example.com:5000/team/app
    tags: ["1.1", 1.2]
    digests: [)" +
               std::string(kDigest) +
               R"(]
    tagPattern: '1\.3\.[0-9]+'
    platforms: [linux/amd64, linux/arm64/v8]
  - name: alpine
    allTags: true
  - name: oci:layouts/base
    tags: ["base:1", "app:2"]
  - /srv/layout-copy
  - name: oci:/srv/layout
    allTags: true
  - oci-archive:saved.tar:app:1
  - name: docker-archive:saved-docker.tar
    tags: ["busybox:latest", "@1"]
charts:
  - charts/app-1.0.tgz
  - path: /abs/chart.tgz
files:
  - path: files/install.sh
)");
  WriteFile(f.tmp / "auth.json", "{}");
  // "/srv/layout-copy" alone names no transport: a registry reference, and
  // not one (no repository grammar allows a leading slash).
  auto bad = f.Read();
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find(f.path + ":15:5: ") == 0);
  CHECK(bad.status().message().find("did you mean oci:/srv/layout-copy") != std::string::npos);

  // Without that line.
  std::string text = ReadFile(f.path);
  text.erase(text.find("  - /srv/layout-copy\n"), std::string("  - /srv/layout-copy\n").size());
  WriteFile(f.path, text);
  auto refs = f.Read();
  INFO(refs.status().ToString());
  REQUIRE(refs.ok());
  const std::string dir = f.tmp.path();
  CHECK(Texts(*refs) == std::vector<std::string>{
                            "docker://quay.io/team/app:1.0",
                            "docker://registry.example.com:5000/team/app:1.1",
                            "docker://registry.example.com:5000/team/app:1.2",
                            "docker://registry.example.com:5000/team/app@" + std::string(kDigest),
                            "docker://registry.example.com:5000/team/app",
                            "docker://docker.io/library/alpine",
                            "oci:" + dir + "/layouts/base:base:1",
                            "oci:" + dir + "/layouts/base:app:2",
                            "oci:/srv/layout",
                            "oci-archive:" + dir + "/saved.tar:app:1",
                            "docker-archive:" + dir + "/saved-docker.tar:busybox:latest",
                            "docker-archive:" + dir + "/saved-docker.tar:@1",
                            "helm:" + dir + "/charts/app-1.0.tgz",
                            "helm:/abs/chart.tgz",
                            "file:" + dir + "/files/install.sh",
                        });
  const std::vector<SourceRef>& r = *refs;
  // Origins: the entry, the tag, the digest, the pattern that made each.
  CHECK(r[0].origin == f.path + ":5:5");
  CHECK(r[1].origin == f.path + ":7:12");
  CHECK(r[2].origin == f.path + ":7:19");
  CHECK(r[3].origin == f.path + ":8:15");
  CHECK(r[4].origin == f.path + ":9:17");
  CHECK(r[5].origin == f.path + ":11:11");
  CHECK(r[14].origin == f.path + ":24:11");
  // The pattern only on the ref it made.
  REQUIRE(r[4].tag_pattern.has_value());
  CHECK(r[4].tag_pattern->text() == "1\\.3\\.[0-9]+");
  for (size_t i = 0; i < r.size(); ++i) CHECK(r[i].tag_pattern.has_value() == (i == 4));
  // Platforms on every ref of their image, and no other.
  for (size_t i = 1; i <= 4; ++i) {
    CHECK(Platforms(r[i]) == std::vector<std::string>{"linux/amd64", "linux/arm64/v8"});
  }
  CHECK(r[0].platforms.empty());
  CHECK(r[5].platforms.empty());
  // The authfile, resolved from the config's directory, on docker:// refs.
  for (size_t i = 0; i < r.size(); ++i) {
    CHECK(r[i].auth_file == (i <= 5 ? dir + "/auth.json" : ""));
  }
}

TEST_CASE("a config appends to the refs already given, and a later config to those") {
  ConfigFile one("images: [quay.io/a/b:1]\n");
  ConfigFile two("images:\n  - name: quay.io/c/d\n    tags: [x]\n");
  std::vector<SourceRef> refs;
  SourceRef given;
  given.text = "oci:dir:t";
  refs.push_back(given);
  REQUIRE(ReadMirrorConfig(io::DefaultFileSystem(), one.path, &refs).ok());
  REQUIRE(ReadMirrorConfig(io::DefaultFileSystem(), two.path, &refs).ok());
  CHECK(Texts(refs) ==
        std::vector<std::string>{"oci:dir:t", "docker://quay.io/a/b:1", "docker://quay.io/c/d:x"});
  CHECK(refs[1].origin == one.path + ":1:10");
}

TEST_CASE("a config refuses each mistake naming FILE:LINE:COLUMN and the key") {
  struct Case {
    std::string yaml;
    std::string where;  // LINE:COLUMN
    std::string says;
  };
  const std::string d = kDigest;
  const std::vector<Case> cases = {
      // The file as a whole.
      {"", "", "the config is empty"},
      {"# nothing but a comment\n", "", "the config is empty"},
      {"images: [quay.io/a/b:1]\n---\nimages: [quay.io/a/b:2]\n", "3:1", "a second YAML document"},
      {"- quay.io/a/b:1\n", "1:1", "a config is a map"},
      {"images: [quay.io/a/b:1\n", "2:1", "end of sequence"},
      {"images: [quay.io/a/b:1]\nimage: [quay.io/a/b:2]\n", "2:1", "unknown key 'image'"},
      {"images: [quay.io/a/b:1]\nimages: [quay.io/a/b:2]\n", "2:1", "key 'images' is given twice"},
      {"version: 2\nimages: [quay.io/a/b:1]\n", "1:10", "version: '2'"},
      {"version: [1]\nimages: [quay.io/a/b:1]\n", "1:10", "'version' must be a string, not a list"},
      {"version: 1\n", "1:1", "declares nothing to export"},
      {"authfile: missing.json\nimages: [quay.io/a/b:1]\n", "1:11", "authfile:"},
      {"images: quay.io/a/b:1\n", "1:9", "'images' must be a list, not a string"},
      {"images: []\n", "1:9", "'images' is an empty list"},
      {"images:\n", "1:1", "'images' must be a list, not nothing"},
      // An image.
      {"images:\n  - [quay.io/a/b:1]\n", "2:5", "an image is a reference (a string) or a map"},
      {"images:\n  - tags: [x]\n", "2:5", "an image needs a name:"},
      {"images:\n  - name: quay.io/a/b\n    tag: [x]\n", "3:5",
       "unknown key 'tag' in an image (it takes name, tags, tagPattern, digests, allTags, "
       "platforms)"},
      {"images:\n  - name: [quay.io/a/b]\n    tags: [x]\n", "2:11", "'name' must be a string"},
      {"images:\n  - name: quay.io/a/b\n    tags: {x: 1}\n", "3:11",
       "'tags' must be a list, not a map"},
      {"images:\n  - name: quay.io/a/b\n    tags:\n", "3:5", "'tags' must be a list, not nothing"},
      {"images:\n  - name: quay.io/a/b\n    tags: [x, [y]]\n", "3:15", "'tags' lists strings"},
      {"images:\n  - name: quay.io/a/b\n    tags: [x, 'bad tag']\n", "3:15",
       "tags: 'bad tag' is not a tag"},
      {"images:\n  - name: quay.io/a/b\n    allTags: maybe\n", "3:14",
       "'allTags' must be true or false, not 'maybe'"},
      {"images:\n  - name: quay.io/a/b\n    allTags: true\n    tags: [x]\n", "3:5",
       "allTags: true takes every tag already"},
      {"images:\n  - name: quay.io/a/b\n    allTags: false\n", "2:11", "names no tag or digest"},
      {"images:\n  - quay.io/a/b\n", "2:5", "'quay.io/a/b' names no tag or digest"},
      {"images:\n  - name: quay.io/a/b:1\n    tags: [x]\n", "3:5",
       "'tags' picks images of a repository, but 'quay.io/a/b:1' picks one already"},
      {"images:\n  - name: quay.io/a/b@" + d + "\n    allTags: true\n", "3:5", "picks one already"},
      {"images:\n  - name: quay.io/a/b\n    digests: [sha256:abc]\n", "3:15", "digests:"},
      {"images:\n  - name: oci:dir\n    digests: [" + d + "]\n", "3:5",
       "digests: apply to docker:// images"},
      {"images:\n  - name: quay.io/a/b\n    tagPattern: '1.(2'\n", "3:17",
       "tagPattern: tag pattern '1.(2' is not a regular expression"},
      {"images:\n  - name: quay.io/a/b\n    tagPattern: [x]\n", "3:17",
       "'tagPattern' must be a string, not a list"},
      {"images:\n  - name: oci:dir\n    tagPattern: x\n", "3:5",
       "tagPattern: applies to docker:// repositories"},
      {"images:\n  - name: quay.io/a/b:1\n    platforms: [linux]\n", "3:17", "platforms: "},
      {"images:\n  - name: quay.io/a/b:1\n    platforms: []\n", "3:16",
       "'platforms' is an empty list"},
      {"images:\n  - quay.io\n", "2:5", "names a whole registry"},
      {"images:\n  - registry-storage:/srv/r\n", "2:5",
       "registry-storage: is an import destination"},
      {"images:\n  - helm:charts/app-1.0.tgz\n", "2:5", "are listed under 'charts:' and 'files:'"},
      {"images:\n  - file:values.yaml\n", "2:5", "are listed under 'charts:' and 'files:'"},
      {"images:\n  - 'oci:dir:bad tag'\n", "2:5", "not a valid OCI reference name"},
      {"images:\n  - https://quay.io/a/b:1\n", "2:5", "not a reference sluice knows"},
      {"images:\n  - name: oci:dir\n    tags: ['bad tag']\n", "3:12", "tags: "},
      // Charts and files.
      {"charts:\n  - [x]\n", "2:5", "charts: a chart is a path (a string) or a map with path:"},
      {"charts:\n  - name: x\n", "2:5", "unknown key 'name' in a chart (it takes path)"},
      {"files:\n  - {}\n", "2:5", "a file needs a path:"},
      {"files:\n  - path: ''\n", "2:11", "'path' is empty"},
  };
  for (const Case& c : cases) {
    ConfigFile f(c.yaml);
    auto refs = f.Read();
    INFO(c.yaml);
    REQUIRE_FALSE(refs.ok());
    INFO(refs.status().ToString());
    std::string prefix = c.where.empty() ? f.path + ": " : f.path + ":" + c.where + ": ";
    CHECK(refs.status().message().find(prefix) == 0);
    CHECK(refs.status().message().find(c.says) != std::string::npos);
    CHECK((refs.status().kind() == ErrorKind::kInvalidArgument ||
           (c.says == "authfile:" && refs.status().IsNotFound())));
  }
}

TEST_CASE("a config file that is missing is kNotFound naming it") {
  std::vector<SourceRef> refs;
  Status s = ReadMirrorConfig(io::DefaultFileSystem(), "/nonexistent/mirror.yaml", &refs);
  CHECK(s.IsNotFound());
  CHECK(s.message().find("/nonexistent/mirror.yaml") != std::string::npos);
}

TEST_CASE("a tag pattern matches whole tags only") {
  auto p = TagPattern::Parse("1\\.2\\.[0-9]+");
  REQUIRE(p.ok());
  for (const char* tag : {"1.2.0", "1.2.15"}) {
    INFO(tag);
    CHECK(*p->Matches(tag));
  }
  for (const char* tag : {"11.2.0", "1.2.3-debug", "1.2.", "v1.2.3", ""}) {
    INFO(tag);
    CHECK_FALSE(*p->Matches(tag));
  }
  auto bad = TagPattern::Parse("(");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().kind() == ErrorKind::kInvalidArgument);
  CHECK(bad.status().message().find("'('") != std::string::npos);
  CHECK_FALSE(TagPattern::Parse("").ok());
}
