// registry-storage:DIR: bundles imported straight into a distribution
// registry's storage directory, then served by a real docker-registry on that
// directory and read back with skopeo.
#include "sink/registry_storage_sink.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "exporter.h"
#include "importer.h"
#include "io/atomic_file.h"
#include "registry_fixture.h"
#include "signing.h"
#include "source/oci_layout_source.h"
#include "tests/support/files.h"
#include "tests/support/transfer_fixture.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using registry::testing::CommandResult;
using registry::testing::MakeImage;
using registry::testing::MustRun;
using registry::testing::Run;
using registry::testing::TempDir;
using registry::testing::TestRegistry;
using testing::ReadFile;

constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";

// Every path below `dir` with its type, size and modification time: equal
// snapshots mean no file or directory was created, removed or rewritten
// (a temp file renamed into a directory changes that directory's mtime).
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    std::ostringstream info;
    info << (entry.is_directory() ? "d " : "f ") << (entry.is_directory() ? 0 : entry.file_size())
         << " " << entry.last_write_time().time_since_epoch().count();
    out[entry.path().string()] = info.str();
  }
  return out;
}

std::string DigestOf(const std::string& bytes) { return format::Sha256::Of(bytes).str(); }

// skopeo's raw manifest bytes of an oci: or docker:// reference.
std::string RawManifest(const std::string& flags, const std::string& ref) {
  CommandResult r = Run("skopeo inspect --raw" + flags + " '" + ref + "'", /*merge_stderr=*/false);
  INFO(ref << "\n" << r.output);
  REQUIRE(r.exit_code == 0);
  return r.output;
}

// Keys, a ledger, and export/import through the library, as the CLI does.
struct Bundles : testing::LibraryTransfer {
  std::string ledger = tmp.path() + "/ledger.json";

  // Exports `tags` of the OCI layout into a bundle named `name`.
  std::string Export(const std::string& layout, const std::vector<std::string>& tags,
                     const std::string& name) {
    std::string out = tmp.path() + "/" + name;
    auto report = ExportTags(layout, tags, ledger, out);
    INFO(report.status().ToString());
    REQUIRE(report.ok());
    return out;
  }

  Result<ImportReport> Import(const std::string& bundle, const std::string& dir,
                              const std::string& prefix = "") {
    auto sink = NewRegistryStorageSink(fs, dir, prefix);
    REQUIRE(sink.ok());
    return ImportToSink(bundle, sink->get(), "registry-storage:" + dir);
  }
};

std::string SampleImages(const std::string& dir) {
  MustRun(std::string(SLUICE_MAKE_SAMPLE_IMAGES) + " '" + dir + "'");
  return dir;
}

}  // namespace

TEST_CASE("registry-storage: a registry on the directory serves every image with its digest") {
  Bundles b;
  std::string layout = SampleImages(b.tmp.path() + "/samples");
  std::string bundle = b.Export(layout, {"base:1", "app:1.0", "app:1.1", "multi:1"}, "all.sluice");

  // The registry runs on the directory before anything is there: it reads
  // storage on every request, so nothing needs a restart.
  TestRegistry registry;
  std::string storage = registry.dir() + "/storage";
  auto report = b.Import(bundle, storage);
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  REQUIRE(report->refs.size() == 4);
  CHECK(report->refs[0].destination.starts_with("registry-storage:" + storage + ":"));

  std::string flags = registry.SkopeoFlags("");
  for (const char* ref : {"base:1", "app:1.0", "app:1.1", "multi:1"}) {
    INFO(ref);
    std::string source = DigestOf(RawManifest("", "oci:" + layout + ":" + ref));
    std::string served = DigestOf(RawManifest(flags, "docker://" + registry.host() + "/" + ref));
    CHECK(served == source);
    // Pulling fetches every manifest, config and layer through the registry
    // (--preserve-digests: oci: would otherwise compress the plain tar layer).
    std::string out = b.tmp.path() + "/pulled";
    MustRun("skopeo copy --quiet --all --preserve-digests --src-tls-verify=false docker://" +
            registry.host() + "/" + ref + " oci:" + out + ":" + ref);
    CHECK(DigestOf(RawManifest("", "oci:" + out + ":" + ref)) == source);
  }
  std::string tags =
      MustRun("skopeo list-tags --tls-verify=false docker://" + registry.host() + "/app");
  CHECK(tags.find("\"1.0\"") != std::string::npos);
  CHECK(tags.find("\"1.1\"") != std::string::npos);
  // base:1 and app:1.x share the base layer: stored once, linked in both.
  auto base = nlohmann::json::parse(RawManifest("", "oci:" + layout + ":base:1"));
  std::string layer = base.at("layers").at(0).at("digest").get<std::string>();
  std::string repositories = RegistryStorageRoot(storage) + "/repositories/";
  for (const char* repository : {"base", "app"}) {
    INFO(repository);
    CHECK(ReadFile(repositories + repository + "/_layers/sha256/" + layer.substr(7) + "/link") ==
          layer);
  }
}

TEST_CASE("registry-storage: the layout is the registry's, with links of exact bytes") {
  Bundles b;
  MakeImage(b.tmp.path() + "/L", "t", "hi\n");
  std::string bundle = b.Export(b.tmp.path() + "/L", {"t"}, "t.sluice");
  std::string storage = b.tmp.path() + "/storage";
  auto report = b.Import(bundle, storage, "mirror/tiny");
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  REQUIRE(report->refs.size() == 1);
  CHECK(report->refs[0].destination == "registry-storage:" + storage + ":mirror/tiny:t");

  auto digest = format::Digest::Parse(report->refs[0].digest);
  REQUIRE(digest.ok());
  std::string hex(digest->hex());
  std::string v2 = RegistryStorageRoot(storage);
  std::string repo = v2 + "/repositories/mirror/tiny";
  std::string manifest = ReadFile(v2 + "/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data");
  CHECK(DigestOf(manifest) == digest->str());
  CHECK(ReadFile(repo + "/_manifests/revisions/sha256/" + hex + "/link") == digest->str());
  CHECK(ReadFile(repo + "/_manifests/tags/t/current/link") == digest->str());
  CHECK(ReadFile(repo + "/_manifests/tags/t/index/sha256/" + hex + "/link") == digest->str());
  // Config and layer: data in the blob store, linked under _layers.
  size_t layer_links = 0;
  for (const auto& entry : fs::directory_iterator(repo + "/_layers/sha256")) {
    std::string blob_hex = entry.path().filename().string();
    CHECK(ReadFile(entry.path().string() + "/link") == "sha256:" + blob_hex);
    std::string data =
        ReadFile(v2 + "/blobs/sha256/" + blob_hex.substr(0, 2) + "/" + blob_hex + "/data");
    CHECK(DigestOf(data) == "sha256:" + blob_hex);
    ++layer_links;
  }
  CHECK(layer_links == 2);  // the config and the one layer

  TestRegistry registry;
  fs::remove_all(registry.dir() + "/storage");
  fs::rename(storage, registry.dir() + "/storage");
  CHECK(DigestOf(RawManifest(registry.SkopeoFlags(""),
                             "docker://" + registry.host() + "/mirror/tiny:t")) == digest->str());
  MustRun("skopeo copy --quiet --src-tls-verify=false docker://" + registry.host() +
          "/mirror/tiny:t oci:" + b.tmp.path() + "/pulled:t");
}

TEST_CASE("registry-storage: re-importing a bundle changes no file") {
  Bundles b;
  std::string layout = SampleImages(b.tmp.path() + "/samples");
  std::string bundle = b.Export(layout, {"app:1.1", "multi:1"}, "b.sluice");
  std::string storage = b.tmp.path() + "/storage";
  REQUIRE(b.Import(bundle, storage).ok());
  auto before = Snapshot(storage);
  auto again = b.Import(bundle, storage);
  INFO(again.status().ToString());
  REQUIRE(again.ok());
  CHECK(again->blobs_written == 0);
  CHECK(again->manifests_written == 0);
  CHECK(Snapshot(storage) == before);
}

TEST_CASE("registry-storage: an incremental bundle builds on an earlier import, never alone") {
  Bundles b;
  std::string layout = SampleImages(b.tmp.path() + "/samples");
  std::string first = b.Export(layout, {"app:1.0"}, "1.sluice");
  std::string second = b.Export(layout, {"app:1.1"}, "2.sluice");  // ships only what is new

  std::string empty = b.tmp.path() + "/empty";
  auto refused = b.Import(second, empty);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().IsNotFound());
  CHECK(refused.status().message().find("registry-storage:" + empty) != std::string::npos);
  CHECK_FALSE(fs::exists(empty));

  TestRegistry registry;
  std::string storage = registry.dir() + "/storage";
  REQUIRE(b.Import(first, storage).ok());
  auto report = b.Import(second, storage);
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  CHECK(
      DigestOf(RawManifest(registry.SkopeoFlags(""), "docker://" + registry.host() + "/app:1.1")) ==
      DigestOf(RawManifest("", "oci:" + layout + ":app:1.1")));
  MustRun("skopeo copy --quiet --src-tls-verify=false docker://" + registry.host() +
          "/app:1.1 oci:" + b.tmp.path() + "/pulled:app");
}

TEST_CASE("registry-storage: names outside the distribution grammar are refused, nothing written") {
  Bundles b;
  std::string storage = b.tmp.path() + "/storage";
  io::FileSystem* fs = io::DefaultFileSystem();
  for (const char* prefix : {"../escape", "Upper", "a//b", "/abs", "_layers", "a/.."}) {
    INFO(prefix);
    CHECK_FALSE(NewRegistryStorageSink(fs, storage, prefix).ok());
  }
  auto sink = NewRegistryStorageSink(fs, storage, "");
  REQUIRE(sink.ok());
  CHECK_FALSE((*sink)->CheckRef("../../etc", "t").ok());
  CHECK_FALSE((*sink)->CheckRef("app", "../t").ok());
  CHECK_FALSE((*sink)->CheckRef("app", ".hidden").ok());
  CHECK_FALSE((*sink)->CheckRef("app", "a/b").ok());
  CHECK((*sink)->CheckRef("app", "1.0").ok());

  // An OCI layout tag carries no repository: without a prefix it has nowhere to go.
  MakeImage(b.tmp.path() + "/L", "t", "hi\n");
  auto no_repo = b.Import(b.Export(b.tmp.path() + "/L", {"t"}, "t.sluice"), storage);
  REQUIRE_FALSE(no_repo.ok());
  CHECK(no_repo.status().message().find("'t'") != std::string::npos);
  CHECK(no_repo.status().message().find("registry-storage:" + storage + ":REPOSITORY") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(storage));

  // "t+1" is a fine OCI ref name but not a registry tag.
  MustRun("umoci new --image '" + b.tmp.path() + "/L:t+1'");
  auto bad_tag = b.Import(b.Export(b.tmp.path() + "/L", {"t+1"}, "p.sluice"), storage, "mirror");
  REQUIRE_FALSE(bad_tag.ok());
  CHECK(bad_tag.status().message().find("t+1") != std::string::npos);
  CHECK_FALSE(fs::exists(storage));
}

TEST_CASE("registry-storage: a manifest is stored only over linked blobs, a tag only in Commit") {
  TempDir tmp;
  io::FileSystem* fs = io::DefaultFileSystem();
  std::string storage = tmp.path() + "/storage";
  auto made = NewRegistryStorageSink(fs, storage, "");
  REQUIRE(made.ok());
  ImageSink* sink = made->get();

  std::string config =
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
  format::Digest config_digest = format::Sha256::Of(config);
  std::string manifest =
      R"({"schemaVersion":2,"mediaType":")" + std::string(kOciManifest) +
      R"(","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      config_digest.str() + R"(","size":)" + std::to_string(config.size()) + R"(},"layers":[]})";
  format::Digest manifest_digest = format::Sha256::Of(manifest);

  // The config is not in the repository yet: the manifest is refused.
  Status early = sink->PutManifest("app", manifest_digest, kOciManifest, manifest);
  CHECK(early.IsNotFound());
  CHECK(early.message().find(config_digest.str()) != std::string::npos);
  CHECK_FALSE(fs::exists(storage));

  // Bytes that do not match the digest are never published.
  auto bad = sink->NewBlob("app", config_digest, config.size());
  REQUIRE(bad.ok());
  std::string wrong = config;
  wrong[0] = '[';
  REQUIRE((*bad)->Append(io::AsBytes(wrong)).ok());
  CHECK((*bad)->Commit().IsCorruption());
  bad->reset();
  CHECK_FALSE(sink->HasBlob("app", config_digest).value());

  auto writer = sink->NewBlob("app", config_digest, config.size());
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Append(io::AsBytes(config)).ok());
  REQUIRE((*writer)->Commit().ok());
  CHECK(sink->HasBlob("app", config_digest).value());
  REQUIRE(sink->PutManifest("app", manifest_digest, kOciManifest, manifest).ok());
  CHECK(sink->HasBlob("app", manifest_digest).value());

  std::string repo = RegistryStorageRoot(storage) + "/repositories/app";
  REQUIRE(sink->AddTag("app", "1", manifest_digest, kOciManifest, manifest.size()).ok());
  CHECK_FALSE(fs::exists(repo + "/_manifests/tags"));
  REQUIRE(sink->Commit().ok());
  CHECK(ReadFile(repo + "/_manifests/tags/1/current/link") == manifest_digest.str());

  // Another repository: the config is mounted (a link, at the next write),
  // the manifest is not mistaken for a layer.
  CHECK(sink->HasBlob("other", config_digest).value());
  CHECK_FALSE(sink->HasBlob("other", manifest_digest).value());
  CHECK_FALSE(fs::exists(RegistryStorageRoot(storage) + "/repositories/other"));
  REQUIRE(sink->PutManifest("other", manifest_digest, kOciManifest, manifest).ok());
  std::string other = RegistryStorageRoot(storage) + "/repositories/other";
  CHECK(ReadFile(other + "/_layers/sha256/" + std::string(config_digest.hex()) + "/link") ==
        config_digest.str());
  CHECK(ReadFile(other + "/_manifests/revisions/sha256/" + std::string(manifest_digest.hex()) +
                 "/link") == manifest_digest.str());
  CHECK_FALSE(fs::exists(other + "/_layers/sha256/" + std::string(manifest_digest.hex())));

  // A tag naming a manifest the repository does not hold is refused.
  REQUIRE(sink->AddTag("third", "1", manifest_digest, kOciManifest, manifest.size()).ok());
  CHECK(sink->Commit().IsNotFound());
  CHECK_FALSE(fs::exists(RegistryStorageRoot(storage) + "/repositories/third"));
}

}  // namespace sluice
