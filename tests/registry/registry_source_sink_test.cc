// RegistrySource and RegistrySink against real docker-registry processes.
#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "reference/reference.h"
#include "registry/registry_client.h"
#include "sink/registry_sink.h"
#include "source/registry_source.h"
#include "registry_fixture.h"

namespace sluice::registry {
namespace {

using testing::Insecure;
using testing::InspectRaw;
using testing::MakeImage;
using testing::PushImage;
using testing::TempDir;
using testing::TestRegistry;

std::unique_ptr<ImageSource> Source(const std::string& text) {
  auto ref = ParseReference(text);
  REQUIRE(ref.ok());
  auto source = NewRegistrySource(*ref, Insecure());
  REQUIRE(source.ok());
  return std::move(*source);
}

std::unique_ptr<ImageSink> Sink(const std::string& text) {
  auto ref = ParseDestination(text);
  REQUIRE(ref.ok());
  auto sink = NewRegistrySink(*ref, Insecure());
  REQUIRE(sink.ok());
  return std::move(*sink);
}

std::string Drain(io::SequentialReader* reader) {
  std::string out;
  std::string buf(1 << 16, '\0');
  while (true) {
    auto n = reader->Read(io::MutableBytes(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    REQUIRE(n.ok());
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

// A two-registry fixture: `src` holds a:t1, a:t2 and b:t1.
struct TwoRegistries {
  TwoRegistries() {
    MakeImage(tmp.path() + "/L", "one", "first image\n");
    MakeImage(tmp.path() + "/L", "two", "second image\n");
    PushImage(src, tmp.path() + "/L", "one", "a:t1");
    PushImage(src, tmp.path() + "/L", "two", "a:t2");
    PushImage(src, tmp.path() + "/L", "one", "b:t1");
  }
  TestRegistry src;
  TestRegistry dst;
  TempDir tmp;
};

// The importer's order, in small: blobs, then the manifest, then the tag.
void CopyImage(ImageSource* source, const SourceImage& image, ImageSink* sink,
               const std::string& repository, bool commit = true) {
  auto manifest = source->FetchManifest(image.repository, image.digest);
  REQUIRE(manifest.ok());
  auto doc = nlohmann::json::parse(manifest->bytes);
  std::vector<nlohmann::json> blobs = {doc.at("config")};
  for (const auto& layer : doc.at("layers")) blobs.push_back(layer);
  for (const auto& blob : blobs) {
    auto digest = *format::Digest::Parse(blob.at("digest").get<std::string>());
    uint64_t size = blob.at("size").get<uint64_t>();
    auto has = sink->HasBlob(repository, digest);
    REQUIRE(has.ok());
    if (*has) continue;
    auto reader = source->OpenBlob(image.repository, digest, size);
    REQUIRE(reader.ok());
    std::string bytes = Drain(reader->get());
    auto writer = sink->NewBlob(repository, digest, size);
    REQUIRE(writer.ok());
    REQUIRE((*writer)->Append(io::AsBytes(bytes)).ok());
    REQUIRE((*writer)->Commit().ok());
  }
  REQUIRE(sink->PutManifest(repository, image.digest, manifest->media_type, manifest->bytes).ok());
  REQUIRE(sink->AddTag(repository, image.tag, image.digest, manifest->media_type,
                       manifest->bytes.size())
              .ok());
  if (commit) REQUIRE(sink->Commit().ok());
}

TEST_CASE("a registry source resolves a tag, a digest, all tags and all repositories") {
  TwoRegistries r;
  std::string raw = InspectRaw(r.src, "a:t1");
  format::Digest digest = format::Sha256::Of(raw);

  auto one = Source("docker://" + r.src.host() + "/a:t1")->ListImages();
  REQUIRE(one.ok());
  REQUIRE(one->size() == 1);
  CHECK((*one)[0].repository == "a");
  CHECK((*one)[0].tag == "t1");
  CHECK((*one)[0].digest == digest);
  CHECK((*one)[0].display == r.src.host() + "/a:t1");
  CHECK((*one)[0].media_type == "application/vnd.oci.image.manifest.v1+json");

  auto pinned = Source("docker://" + r.src.host() + "/a@" + digest.str())->ListImages();
  REQUIRE(pinned.ok());
  REQUIRE(pinned->size() == 1);
  CHECK((*pinned)[0].tag.empty());
  CHECK((*pinned)[0].digest == digest);

  auto tags = Source("docker://" + r.src.host() + "/a")->ListImages();
  REQUIRE(tags.ok());
  REQUIRE(tags->size() == 2);
  CHECK((*tags)[0].tag == "t1");
  CHECK((*tags)[1].tag == "t2");
  CHECK((*tags)[1].digest == format::Sha256::Of(InspectRaw(r.src, "a:t2")));

  auto all = Source("docker://" + r.src.host())->ListImages();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[2].repository == "b");
  CHECK((*all)[2].digest == digest);
}

TEST_CASE("a registry source serves exact manifest bytes and blob streams") {
  TwoRegistries r;
  auto source = Source("docker://" + r.src.host() + "/a:t1");
  auto images = source->ListImages();
  REQUIRE(images.ok());
  auto manifest = source->FetchManifest("a", (*images)[0].digest);
  REQUIRE(manifest.ok());
  CHECK(manifest->bytes == InspectRaw(r.src, "a:t1"));
  // Not cached under another repository: fetched and verified.
  auto other = source->FetchManifest("b", (*images)[0].digest);
  REQUIRE(other.ok());
  CHECK(other->bytes == manifest->bytes);

  auto layer = nlohmann::json::parse(manifest->bytes).at("layers").at(0);
  auto digest = *format::Digest::Parse(layer.at("digest").get<std::string>());
  auto reader = source->OpenBlob("a", digest, layer.at("size").get<uint64_t>());
  REQUIRE(reader.ok());
  CHECK(format::Sha256::Of(Drain(reader->get())) == digest);
}

TEST_CASE("a registry source reports a missing tag as kNotFound") {
  TwoRegistries r;
  auto images = Source("docker://" + r.src.host() + "/a:missing")->ListImages();
  REQUIRE_FALSE(images.ok());
  CHECK(images.status().IsNotFound());
  CHECK(images.status().message().find("a:missing") != std::string::npos);
  auto repo = Source("docker://" + r.src.host() + "/nothing")->ListImages();
  REQUIRE_FALSE(repo.ok());
  CHECK(repo.status().IsNotFound());
}

TEST_CASE("a registry sink pushes under its prefix, tags only at commit, digests identical") {
  TwoRegistries r;
  auto source = Source("docker://" + r.src.host() + "/a");
  auto images = source->ListImages();
  REQUIRE(images.ok());
  auto sink = Sink("docker://" + r.dst.host() + "/mirror");
  REQUIRE(sink->CheckRef("a", "t1").ok());
  CHECK_FALSE(sink->CheckRef("A", "t1").ok());
  CHECK_FALSE(sink->CheckRef("a", "-bad").ok());

  CopyImage(source.get(), (*images)[0], sink.get(), "a", /*commit=*/false);
  auto client = RegistryClient::Create(r.dst.host(), Insecure());
  REQUIRE(client.ok());
  auto before = (*client)->HeadManifest("mirror/a", "t1");
  REQUIRE(before.ok());
  CHECK_FALSE(before->has_value());  // the manifest is there by digest, the tag not yet
  REQUIRE(sink->Commit().ok());

  CopyImage(source.get(), (*images)[1], sink.get(), "a");
  CHECK(InspectRaw(r.dst, "mirror/a:t1") == InspectRaw(r.src, "a:t1"));
  CHECK(InspectRaw(r.dst, "mirror/a:t2") == InspectRaw(r.src, "a:t2"));
}

TEST_CASE("a registry sink skips blobs already there and mounts from a sibling repository") {
  TwoRegistries r;
  auto source = Source("docker://" + r.src.host() + "/a:t1");
  auto images = source->ListImages();
  REQUIRE(images.ok());
  const SourceImage& image = (*images)[0];
  auto manifest = source->FetchManifest("a", image.digest);
  REQUIRE(manifest.ok());
  auto layer = nlohmann::json::parse(manifest->bytes).at("layers").at(0);
  auto digest = *format::Digest::Parse(layer.at("digest").get<std::string>());

  {
    auto sink = Sink("docker://" + r.dst.host());
    CopyImage(source.get(), image, sink.get(), "first");
  }
  // A new sink (a rerun) learns from HEAD that "first" has the layer.
  auto sink = Sink("docker://" + r.dst.host());
  auto has_first = sink->HasBlob("first", digest);
  REQUIRE(has_first.ok());
  CHECK(*has_first);
  auto client = RegistryClient::Create(r.dst.host(), Insecure()).value();
  CHECK_FALSE(client->HeadBlob("second", digest)->has_value());
  auto has_second = sink->HasBlob("second", digest);  // mounted from "first"
  REQUIRE(has_second.ok());
  CHECK(*has_second);
  CHECK(client->HeadBlob("second", digest)->has_value());
  // The manifest itself counts as present once pushed.
  auto has_manifest = sink->HasBlob("first", image.digest);
  REQUIRE(has_manifest.ok());
  CHECK(*has_manifest);
}

TEST_CASE("a registry sink refuses a blob whose bytes do not match") {
  TestRegistry dst;
  auto sink = Sink("docker://" + dst.host());
  std::string bytes = "some bytes";
  format::Digest wrong = format::Sha256::Of(std::string("other bytes"));
  auto writer = sink->NewBlob("r", wrong, bytes.size());
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Append(io::AsBytes(bytes)).ok());
  Status s = (*writer)->Commit();
  CHECK(s.IsCorruption());
  auto has = sink->HasBlob("r", wrong);
  REQUIRE(has.ok());
  CHECK_FALSE(*has);

  auto too_long = sink->NewBlob("r", format::Sha256::Of(bytes), 3);
  REQUIRE(too_long.ok());
  CHECK((*too_long)->Append(io::AsBytes(bytes)).IsCorruption());

  CHECK(sink->PutManifest("r", wrong, "application/vnd.oci.image.manifest.v1+json", "{}")
            .IsCorruption());
}

}  // namespace
}  // namespace sluice::registry
