// Archive sources against archives written by the real tools: umoci builds
// an OCI layout, skopeo turns it into a docker-archive and an oci-archive.
// The oracle for the docker-archive digest is skopeo itself: for a
// docker-archive, `skopeo inspect --raw` prints the schema 2 manifest that
// containers/image generates (the archive holds none), so sluice must
// produce exactly those bytes.
#include "source/archive_source.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "exporter.h"
#include "importer.h"
#include "signing.h"
#include "sink/oci_layout_sink.h"
#include "source/oci_layout_source.h"
#include "source/tar_index.h"
#include "test_support.h"
#include "tests/support/process.h"

using namespace sluice;
using namespace sluice::testing;
using nlohmann::json;

namespace {

// Runs a shell command; returns its exit status and (optionally) its stdout
// (stderr is captured and dropped, so that chatty tools stay quiet).
int Sh(const std::string& command, std::string* out = nullptr) {
  RunResult r = RunShell(command);
  if (out) *out = r.out;
  return r.exit_code;
}

std::string Quote(const std::string& s) { return ShellQuote(s); }

std::string ReadAll(io::SequentialReader* reader) {
  std::string out;
  std::vector<uint8_t> buf(1000);  // odd size: several reads per blob
  while (true) {
    auto n = reader->Read(buf);
    REQUIRE(n.ok());
    if (*n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

Status Drain(io::SequentialReader* reader) {
  std::vector<uint8_t> buf(4096);
  while (true) {
    auto n = reader->Read(buf);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Ok();
  }
}

bool Contains(const Status& s, const std::string& what) {
  return s.message().find(what) != std::string::npos;
}

// Counts the bytes read through positional readers: how many passes over an
// archive a sequence of reads took.
class CountingFileSystem final : public io::FileSystem {
 public:
  uint64_t bytes_read = 0;

  std::string_view name() const override { return base_->name(); }
  Result<std::unique_ptr<io::SequentialWriter>> NewWriter(
      const std::string& path, const io::WriterOptions& options) override {
    return base_->NewWriter(path, options);
  }
  Result<std::unique_ptr<io::SequentialReader>> NewSequentialReader(
      const std::string& path) override {
    return base_->NewSequentialReader(path);
  }
  Result<std::unique_ptr<io::PositionalReader>> NewPositionalReader(
      const std::string& path) override {
    SLUICE_ASSIGN_OR_RETURN(auto inner, base_->NewPositionalReader(path));
    return std::unique_ptr<io::PositionalReader>(
        std::make_unique<Reader>(std::move(inner), &bytes_read));
  }
  Result<io::FileInfo> Stat(const std::string& path) override { return base_->Stat(path); }
  Status CreateDirs(const std::string& path) override { return base_->CreateDirs(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }
  Status OverwriteAt(const std::string& path, uint64_t offset, io::ByteView data) override {
    return base_->OverwriteAt(path, offset, data);
  }
  Result<uint64_t> FreeSpace(const std::string& path) override { return base_->FreeSpace(path); }
  Result<std::unique_ptr<io::FileLock>> Lock(const std::string& path,
                                             const io::LockOptions& options) override {
    return base_->Lock(path, options);
  }

 private:
  class Reader final : public io::PositionalReader {
   public:
    Reader(std::unique_ptr<io::PositionalReader> inner, uint64_t* count)
        : inner_(std::move(inner)), count_(count) {}
    Result<size_t> ReadAt(uint64_t offset, io::MutableBytes buf) const override {
      SLUICE_ASSIGN_OR_RETURN(size_t n, inner_->ReadAt(offset, buf));
      *count_ += n;
      return n;
    }
    uint64_t Size() const override { return inner_->Size(); }
    const std::string& name() const override { return inner_->name(); }

   private:
    std::unique_ptr<io::PositionalReader> inner_;
    uint64_t* count_;
  };
  io::FileSystem* base_ = io::DefaultFileSystem();
};

// L: an OCI layout with one image "t" (a small and a 300 KB file); A.tar: it
// as docker-archive with RepoTags example.com/team/app:1.0 and
// busybox:latest; O.tar: it as oci-archive tagged "t".
struct Archives {
  TempDir tmp;
  io::FileSystem* fs = io::DefaultFileSystem();
  std::string layout = tmp / "L";
  std::string docker = tmp / "A.tar";
  std::string oci = tmp / "O.tar";
  format::Digest layout_manifest;

  Archives() {
    std::string t = Quote(tmp.path());
    std::string script = "set -e; cd " + t +
                         "; umoci init --layout L; umoci new --image L:t;"
                         " umoci unpack --rootless --image L:t b; echo hi > b/rootfs/f;"
                         " head -c 300000 /dev/urandom > b/rootfs/big; umoci repack --image L:t b;"
                         " skopeo copy -q --additional-tag busybox:latest oci:L:t"
                         " docker-archive:A.tar:example.com/team/app:1.0;"
                         " skopeo copy -q oci:L:t oci-archive:O.tar:t";
    REQUIRE(Sh("sh -c " + Quote(script)) == 0);
    json index = json::parse(ReadFile(layout + "/index.json"));
    auto digest = format::Digest::Parse(index["manifests"][0]["digest"].get<std::string>());
    REQUIRE(digest.ok());
    layout_manifest = *digest;
  }

  std::string SkopeoRaw(const std::string& ref) {
    std::string out;
    REQUIRE(Sh("skopeo inspect --raw " + Quote(ref), &out) == 0);
    return out;
  }

  // Config and layer descriptors of a manifest.
  std::vector<std::pair<format::Digest, uint64_t>> Blobs(const std::string& manifest) {
    json m = json::parse(manifest);
    std::vector<std::pair<format::Digest, uint64_t>> out;
    out.emplace_back(*format::Digest::Parse(m["config"]["digest"].get<std::string>()),
                     m["config"]["size"].get<uint64_t>());
    for (const json& l : m["layers"]) {
      out.emplace_back(*format::Digest::Parse(l["digest"].get<std::string>()),
                       l["size"].get<uint64_t>());
    }
    return out;
  }

  // Every blob of the image streams with its digest and size.
  void CheckBlobsStream(ImageSource* source, const std::string& manifest) {
    for (const auto& [digest, size] : Blobs(manifest)) {
      INFO(digest.str());
      auto reader = source->OpenBlob("", digest, size);
      REQUIRE(reader.ok());
      std::string bytes = ReadAll(reader->get());
      CHECK(bytes.size() == size);
      CHECK(format::Sha256::Of(bytes) == digest);
    }
  }
};

std::vector<SourceImage> List(ImageSource* source) {
  auto images = source->ListImages();
  INFO(images.status().ToString());
  REQUIRE(images.ok());
  return *images;
}

}  // namespace

TEST_CASE("tar index finds entry data in ustar, gnu and pax tars, plain and gzip") {
  TempDir tmp;
  std::string long_name(150, 'n');  // needs a GNU long-name or pax record
  std::map<std::string, std::string> files = {
      {"d/small", "hello"},
      {"d/" + long_name, RandomBytes(70000, 7)},
      {"d/empty", ""},
      {"d/block", std::string(512, 'b')},
  };
  for (const auto& [name, bytes] : files) WriteFile(tmp / ("src/" + name), bytes);
  REQUIRE(Sh("cd " + Quote(tmp / "src") + " && ln -s " + long_name + " d/link") == 0);
  for (std::string format : {"ustar", "gnu", "pax"}) {
    for (bool gzip : {false, true}) {
      INFO(format << (gzip ? " gzip" : ""));
      std::string tar = tmp / (format + ".tar");
      // ustar cannot hold the long name: leave it out there.
      std::string exclude =
          format == "ustar" ? " --exclude=d/" + long_name + " --exclude=d/link" : "";
      REQUIRE(Sh("tar -C " + Quote(tmp / "src") + " --format=" + format + exclude +
                 (gzip ? " -czf " : " -cf ") + Quote(tar) + " d") == 0);
      auto index = TarIndex::Build(io::DefaultFileSystem(), tar);
      REQUIRE(index.ok());
      CHECK((*index)->compressed() == gzip);
      for (const auto& [name, bytes] : files) {
        if (format == "ustar" && name.size() > 100) continue;
        INFO(name);
        auto entry = (*index)->Resolve("./" + name);
        REQUIRE(entry.ok());
        auto reader = (*index)->Open(**entry);
        REQUIRE(reader.ok());
        CHECK(ReadAll(reader->get()) == bytes);
      }
      if (format != "ustar") {
        auto linked = (*index)->Resolve("d/link");
        REQUIRE(linked.ok());
        CHECK((*linked)->name == "d/" + long_name);
      }
      auto missing = (*index)->Resolve("d/none");
      CHECK(missing.status().IsNotFound());
      CHECK(Contains(missing.status(), tar));
    }
  }
}

TEST_CASE("tar paths are cleaned as Go's path.Clean does") {
  CHECK(CleanTarPath("./a//b/../c/") == "a/c");
  CHECK(CleanTarPath("/abs/x") == "abs/x");
  CHECK(CleanTarPath("../../x") == "x");
  CHECK(CleanTarPath("") == ".");
  CHECK(CleanTarPath("./") == ".");
}

TEST_CASE("oci-archive lists its tags with the layout's manifest digest") {
  Archives a;
  auto source = NewOciArchiveSource(a.fs, a.oci, "");
  auto images = List(source.get());
  REQUIRE(images.size() == 1);
  CHECK(images[0].tag == "t");
  CHECK(images[0].repository.empty());
  CHECK(images[0].digest == a.layout_manifest);
  CHECK(images[0].display == "oci-archive:" + a.oci + ":t");
  auto manifest = source->FetchManifest("", images[0].digest);
  REQUIRE(manifest.ok());
  CHECK(manifest->bytes ==
        ReadFile(a.layout + "/blobs/sha256/" + std::string(a.layout_manifest.hex())));
  a.CheckBlobsStream(source.get(), manifest->bytes);

  auto missing = NewOciArchiveSource(a.fs, a.oci, "nope")->ListImages();
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().IsNotFound());
  CHECK(Contains(missing.status(), "tags: t"));
}

TEST_CASE("oci-archive splits a REPOSITORY:TAG ref name into repository and tag as oci: does") {
  Archives a;
  std::string layout = a.tmp / "named";
  std::string archive = a.tmp / "named.tar";
  REQUIRE(Sh("skopeo copy -q oci:" + Quote(a.layout) + ":t oci:" + Quote(layout) +
             ":library/alpine:3.19 && skopeo copy -q oci:" + Quote(a.layout) +
             ":t oci-archive:" + Quote(archive) + ":library/alpine:3.19") == 0);
  auto from_layout = List(NewOciLayoutSource(a.fs, layout, "").get());
  auto from_archive = List(NewOciArchiveSource(a.fs, archive, "").get());
  REQUIRE(from_layout.size() == 1);
  REQUIRE(from_archive.size() == 1);
  for (const SourceImage& image : {from_layout[0], from_archive[0]}) {
    INFO(image.display);
    CHECK(image.repository == "library/alpine");
    CHECK(image.tag == "3.19");
    CHECK(image.digest == a.layout_manifest);
  }
  CHECK(from_archive[0].display == "oci-archive:" + archive + ":library/alpine:3.19");
  // Asked for by the whole ref name, as with oci:.
  auto one = List(NewOciArchiveSource(a.fs, archive, "library/alpine:3.19").get());
  REQUIRE(one.size() == 1);
  CHECK(one[0].repository == "library/alpine");
}

TEST_CASE("docker-archive generates the manifest skopeo generates, byte for byte") {
  Archives a;
  auto source = NewDockerArchiveSource(a.fs, a.docker, "");
  auto images = List(source.get());
  REQUIRE(images.size() == 2);
  CHECK(images[0].repository == "team/app");
  CHECK(images[0].tag == "1.0");
  CHECK(images[0].display == "docker-archive:" + a.docker + ":example.com/team/app:1.0");
  CHECK(images[1].repository == "library/busybox");
  CHECK(images[1].tag == "latest");
  CHECK(images[0].digest == images[1].digest);
  CHECK(images[0].media_type == "application/vnd.docker.distribution.manifest.v2+json");

  std::string skopeo = a.SkopeoRaw("docker-archive:" + a.docker);
  auto manifest = source->FetchManifest("", images[0].digest);
  REQUIRE(manifest.ok());
  CHECK(manifest->bytes == skopeo);
  CHECK(images[0].digest == format::Sha256::Of(skopeo));
  a.CheckBlobsStream(source.get(), manifest->bytes);
}

TEST_CASE("docker-archive selects a RepoTag by normalised name or an image by @N") {
  Archives a;
  auto busybox = List(NewDockerArchiveSource(a.fs, a.docker, "docker.io/library/busybox").get());
  REQUIRE(busybox.size() == 1);
  CHECK(busybox[0].repository == "library/busybox");
  CHECK(busybox[0].tag == "latest");

  auto app = List(NewDockerArchiveSource(a.fs, a.docker, "example.com/team/app:1.0").get());
  REQUIRE(app.size() == 1);
  CHECK(app[0].tag == "1.0");
  CHECK(app[0].digest == busybox[0].digest);

  auto first = List(NewDockerArchiveSource(a.fs, a.docker, "@0").get());
  CHECK(first.size() == 2);

  auto beyond = NewDockerArchiveSource(a.fs, a.docker, "@1")->ListImages();
  CHECK(beyond.status().IsNotFound());
  CHECK(Contains(beyond.status(), "there is no @1"));

  auto unknown = NewDockerArchiveSource(a.fs, a.docker, "example.com/team/app:2.0")->ListImages();
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().IsNotFound());
  CHECK(Contains(unknown.status(), "example.com/team/app:1.0"));
  CHECK(Contains(unknown.status(), a.docker));
}

TEST_CASE("a gzip-compressed docker-archive gives the same image and blobs") {
  Archives a;
  std::string gz = a.tmp / "A.tar.gz";
  REQUIRE(Sh("gzip -c " + Quote(a.docker) + " > " + Quote(gz)) == 0);
  auto plain = List(NewDockerArchiveSource(a.fs, a.docker, "").get());
  auto source = NewDockerArchiveSource(a.fs, gz, "");
  auto images = List(source.get());
  REQUIRE(images.size() == 2);
  CHECK(images[0].digest == plain[0].digest);
  auto manifest = source->FetchManifest("", images[0].digest);
  REQUIRE(manifest.ok());
  a.CheckBlobsStream(source.get(), manifest->bytes);
}

TEST_CASE("archives export into a bundle that imports to what skopeo sees in the archives") {
  Archives a;
  std::string gz = a.tmp / "A.tar.gz";
  REQUIRE(Sh("gzip -c " + Quote(a.docker) + " > " + Quote(gz)) == 0);
  std::string key = a.tmp / "key.pem", pub = a.tmp / "key.pub";
  REQUIRE(GenerateKeyPair(a.fs, key, pub).ok());
  auto keys = LoadTrustedKeys(a.fs, {pub});
  REQUIRE(keys.ok());

  // The plain docker-archive and the oci-archive in one bundle; the gzip
  // docker-archive alone in a second one.
  struct Case {
    std::vector<std::unique_ptr<ImageSource>> sources;
    std::string bundle;
  };
  std::vector<Case> cases(2);
  cases[0].sources.push_back(NewDockerArchiveSource(a.fs, a.docker, "example.com/team/app:1.0"));
  cases[0].sources.push_back(NewOciArchiveSource(a.fs, a.oci, "t"));
  cases[0].bundle = a.tmp / "b1.sluice";
  cases[1].sources.push_back(NewDockerArchiveSource(a.fs, gz, "busybox:latest"));
  cases[1].bundle = a.tmp / "b2.sluice";

  std::string out = a.tmp / "OUT";
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("bundle " << i);
    std::vector<ExportSource> ptrs;
    for (auto& s : cases[i].sources) ptrs.push_back(s.get());
    ExportOptions options;
    options.ledger_path = a.tmp / ("ledger" + std::to_string(i));
    options.sign_key_path = key;
    options.output_path = cases[i].bundle;
    auto report = Export(a.fs, ptrs, options);
    INFO(report.status().ToString());
    REQUIRE(report.ok());

    auto in = a.fs->NewSequentialReader(cases[i].bundle);
    REQUIRE(in.ok());
    auto sink = NewOciLayoutSink(a.fs, out);
    auto imported = ImportBundle(in->get(), {*keys, false}, sink.get(), "oci:" + out);
    INFO(imported.status().ToString());
    REQUIRE(imported.ok());
  }
  // skopeo 1.9's oci: transport skips index.json entries of Docker media
  // types ("no descriptor found"), so it cannot read the docker-archive
  // images back from OUT: check OUT's index and blobs against what skopeo
  // generates for the archive instead.
  std::string docker_manifest = a.SkopeoRaw("docker-archive:" + a.docker);
  format::Digest docker_digest = format::Sha256::Of(docker_manifest);
  json index = json::parse(ReadFile(out + "/index.json"));
  std::map<std::string, std::string> tags;
  for (const json& m : index["manifests"]) {
    tags[m["annotations"]["org.opencontainers.image.ref.name"].get<std::string>()] =
        m["digest"].get<std::string>();
  }
  CHECK(tags["team/app:1.0"] == docker_digest.str());
  CHECK(tags["library/busybox:latest"] == docker_digest.str());
  CHECK(ReadFile(out + "/blobs/sha256/" + std::string(docker_digest.hex())) == docker_manifest);
  for (const auto& [digest, size] : a.Blobs(docker_manifest)) {
    std::string blob = ReadFile(out + "/blobs/sha256/" + std::string(digest.hex()));
    CHECK(blob.size() == size);
    CHECK(format::Sha256::Of(blob) == digest);
  }
  CHECK(a.SkopeoRaw("oci:" + out + ":t") == a.SkopeoRaw("oci:" + a.layout + ":t"));
  CHECK(a.SkopeoRaw("oci:" + out + ":t") == a.SkopeoRaw("oci-archive:" + a.oci + ":t"));
}

TEST_CASE("a truncated archive fails naming the archive, never yielding wrong bytes") {
  Archives a;
  std::string bytes = ReadFile(a.docker);
  auto index = TarIndex::Build(a.fs, a.docker);
  REQUIRE(index.ok());
  std::string cut = a.tmp / "cut.tar";

  // Cut inside the big layer's data: a clear corruption naming the archive.
  const TarEntry* layer = nullptr;
  for (const auto& [name, entry] : (*index)->entries()) {
    if (layer == nullptr || entry.size > layer->size) layer = &entry;
  }
  WriteFile(cut, bytes.substr(0, layer->offset + layer->size / 2));
  auto source = NewDockerArchiveSource(a.fs, cut, "");
  auto images = source->ListImages();
  REQUIRE_FALSE(images.ok());
  CHECK(images.status().IsCorruption());
  CHECK(Contains(images.status(), cut));

  // Every cut: either an error that names the archive, or (when only the
  // trailing zero blocks are gone) every blob with its right digest.
  for (size_t size = 0; size < bytes.size(); size += 509) {
    INFO("cut at " << size);
    WriteFile(cut, bytes.substr(0, size));
    auto s = NewDockerArchiveSource(a.fs, cut, "");
    auto listed = s->ListImages();
    if (!listed.ok()) {
      CHECK(Contains(listed.status(), cut));
      continue;
    }
    auto manifest = s->FetchManifest("", (*listed)[0].digest);
    REQUIRE(manifest.ok());
    for (const auto& [digest, blob_size] : a.Blobs(manifest->bytes)) {
      auto reader = s->OpenBlob("", digest, blob_size);
      REQUIRE(reader.ok());
      CHECK(Drain(reader->get()).ok());
    }
  }
}

TEST_CASE("a layer whose bytes do not match its diff_id is corruption naming the entry") {
  Archives a;
  auto index = TarIndex::Build(a.fs, a.docker);
  REQUIRE(index.ok());
  const TarEntry* layer = nullptr;
  for (const auto& [name, entry] : (*index)->entries()) {
    if (layer == nullptr || entry.size > layer->size) layer = &entry;
  }
  std::string name = layer->name;
  std::string bytes = ReadFile(a.docker);
  // Tar checksums cover headers only: flipping a data byte keeps a valid tar.
  bytes[layer->offset + layer->size - 1000] ^= 0x20;
  std::string bad = a.tmp / "bad.tar";
  WriteFile(bad, bytes);

  auto source = NewDockerArchiveSource(a.fs, bad, "");
  auto images = List(source.get());
  auto manifest = source->FetchManifest("", images[0].digest);
  REQUIRE(manifest.ok());
  auto blobs = a.Blobs(manifest->bytes);
  auto reader = source->OpenBlob("", blobs[1].first, blobs[1].second);
  REQUIRE(reader.ok());
  Status status = Drain(reader->get());
  CHECK(status.IsCorruption());
  CHECK(Contains(status, "entry '" + name + "'"));
  CHECK(Contains(status, bad));
}

TEST_CASE("bad docker archives are refused naming the archive and what is wrong") {
  TempDir tmp;
  io::FileSystem* fs = io::DefaultFileSystem();
  auto make = [&](const std::string& name, const std::map<std::string, std::string>& files) {
    std::string dir = tmp / (name + ".d");
    for (const auto& [path, bytes] : files) WriteFile(dir + "/" + path, bytes);
    std::string tar = tmp / (name + ".tar");
    REQUIRE(Sh("tar -C " + Quote(dir) + " -cf " + Quote(tar) + " .") == 0);
    return tar;
  };
  std::string layer = RandomBytes(2048, 3);  // stands in for a layer tar
  std::string diff_id = format::Sha256::Of(layer).str();
  std::string config = R"({"rootfs":{"type":"layers","diff_ids":[")" + diff_id + R"("]}})";

  struct Bad {
    std::string name;
    std::map<std::string, std::string> files;
    ErrorKind kind;
    std::string says;
  };
  std::vector<Bad> cases = {
      {"nomanifest", {{"x", "y"}}, ErrorKind::kNotFound, "no manifest.json"},
      {"notjson", {{"manifest.json", "[{"}}, ErrorKind::kCorruption, "manifest.json"},
      {"noconfig",
       {{"manifest.json", R"([{"RepoTags":["a:1"]}])"}},
       ErrorKind::kCorruption,
       "[0].Config is missing"},
      {"missingconfig",
       {{"manifest.json", R"([{"Config":"c.json","RepoTags":["a:1"],"Layers":[]}])"}},
       ErrorKind::kNotFound,
       "'c.json'"},
      {"missinglayer",
       {{"manifest.json", R"([{"Config":"c.json","RepoTags":["a:1"],"Layers":["l/layer.tar"]}])"},
        {"c.json", config}},
       ErrorKind::kNotFound,
       "'l/layer.tar'"},
      {"countmismatch",
       {{"manifest.json", R"([{"Config":"c.json","RepoTags":["a:1"],"Layers":[]}])"},
        {"c.json", config}},
       ErrorKind::kCorruption,
       "diff_ids"},
      {"gzlayer",
       {{"manifest.json", R"([{"Config":"c.json","RepoTags":["a:1"],"Layers":["l.tar"]}])"},
        {"c.json", config},
        {"l.tar", "\x1f\x8b\x08" + layer}},
       ErrorKind::kUnsupported,
       "'l.tar'"},
      {"untagged",
       {{"manifest.json", R"([{"Config":"c.json","RepoTags":null,"Layers":["l.tar"]}])"},
        {"c.json", config},
        {"l.tar", layer}},
       ErrorKind::kNotFound,
       "@N"},
  };
  for (const Bad& c : cases) {
    INFO(c.name);
    std::string tar = make(c.name, c.files);
    auto images = NewDockerArchiveSource(fs, tar, "")->ListImages();
    REQUIRE_FALSE(images.ok());
    INFO(images.status().ToString());
    CHECK(images.status().kind() == c.kind);
    CHECK(Contains(images.status(), tar));
    CHECK(Contains(images.status(), c.says));
  }

  // The untagged image is there through @0, unnamed.
  std::string untagged = tmp / "untagged.tar";
  auto images = List(NewDockerArchiveSource(fs, untagged, "@0").get());
  REQUIRE(images.size() == 1);
  CHECK(images[0].tag.empty());
  CHECK(images[0].display == "docker-archive:" + untagged + ":@0");

  auto not_tar = NewDockerArchiveSource(fs, tmp / "untagged.d/c.json", "")->ListImages();
  CHECK(not_tar.status().IsCorruption());
}

TEST_CASE("a docker archive that holds an OCI layout (docker 25+) uses its stored manifest") {
  Archives a;
  json manifest =
      json::parse(ReadFile(a.layout + "/blobs/sha256/" + std::string(a.layout_manifest.hex())));
  std::string config = manifest["config"]["digest"].get<std::string>().substr(7);
  std::string layer = manifest["layers"][0]["digest"].get<std::string>().substr(7);
  WriteFile(a.layout + "/manifest.json", R"([{"Config":"blobs/sha256/)" + config +
                                             R"(","RepoTags":["app:2"],"Layers":["blobs/sha256/)" +
                                             layer + R"("]}])");
  std::string tar = a.tmp / "d25.tar";
  REQUIRE(Sh("tar -C " + Quote(a.layout) + " -cf " + Quote(tar) + " .") == 0);
  auto source = NewDockerArchiveSource(a.fs, tar, "");
  auto images = List(source.get());
  REQUIRE(images.size() == 1);
  CHECK(images[0].repository == "library/app");
  CHECK(images[0].tag == "2");
  CHECK(images[0].digest == a.layout_manifest);
  auto bytes = source->FetchManifest("", images[0].digest);
  REQUIRE(bytes.ok());
  a.CheckBlobsStream(source.get(), bytes->bytes);

  // Without the layout marker the same archive needs a generated manifest,
  // and umoci's layers are gzip: refused, naming the layer.
  std::filesystem::remove(a.layout + "/oci-layout");
  std::string bare = a.tmp / "bare.tar";
  REQUIRE(Sh("tar -C " + Quote(a.layout) + " -cf " + Quote(bare) + " .") == 0);
  auto refused = NewDockerArchiveSource(a.fs, bare, "")->ListImages();
  CHECK(refused.status().kind() == ErrorKind::kUnsupported);
  CHECK(Contains(refused.status(), layer));
}

TEST_CASE("a compressed tar is read in one pass when entries are opened in order") {
  TempDir tmp;
  std::vector<std::string> names = {"a", "b", "c", "d"};
  std::map<std::string, std::string> files;
  for (size_t i = 0; i < names.size(); ++i) {
    // Larger than what the index keeps in memory, and incompressible.
    files[names[i]] = RandomBytes(600000, static_cast<uint32_t>(i));
    WriteFile(tmp / ("src/" + names[i]), files[names[i]]);
  }
  std::string tar = tmp / "t.tar.gz";
  REQUIRE(Sh("tar -C " + Quote(tmp / "src") + " -czf " + Quote(tar) + " a b c d") == 0);
  uint64_t archive_size = std::filesystem::file_size(tar);

  CountingFileSystem fs;
  auto index = TarIndex::Build(&fs, tar);
  REQUIRE(index.ok());
  REQUIRE((*index)->compressed());
  auto read = [&](const std::string& name, bool whole) {
    auto entry = (*index)->Resolve(name);
    REQUIRE(entry.ok());
    auto reader = (*index)->Open(**entry);
    REQUIRE(reader.ok());
    if (whole) {
      CHECK(ReadAll(reader->get()) == files[name]);
    } else {
      std::vector<uint8_t> half(files[name].size() / 2);
      auto n = (*reader)->Read(half);
      REQUIRE(n.ok());
      CHECK(std::string(half.begin(), half.end()) == files[name].substr(0, half.size()));
    }
  };

  fs.bytes_read = 0;
  read("a", true);
  read("b", false);  // a reader dropped half way hands on its decompressor too
  read("d", true);   // skipping c
  CHECK(fs.bytes_read <= archive_size + (512u << 10));

  // Backwards and again: each starts over, and still gives the right bytes.
  read("b", true);
  read("a", true);
  read("c", true);
  read("c", true);
}
