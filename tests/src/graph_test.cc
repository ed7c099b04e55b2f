#include "oci/graph.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "oci/media_types.h"

namespace sluice::oci {
namespace {

// An in-memory store of manifests, and the JSON to make them.
struct Store {
  std::map<format::Digest, std::string> manifests;

  Descriptor Put(const std::string& bytes, std::string_view media_type) {
    format::Digest digest = format::Sha256::Of(bytes);
    manifests[digest] = bytes;
    return Descriptor{std::string(media_type), digest, bytes.size(), std::nullopt};
  }
  GraphHooks Hooks() {
    GraphHooks hooks;
    hooks.fetch = [this](const Descriptor& d) -> Result<FetchedManifest> {
      auto it = manifests.find(d.digest);
      if (it == manifests.end()) return Status::NotFound("manifest " + d.digest.str());
      return FetchedManifest{it->second, ""};
    };
    return hooks;
  }
};

std::string DescriptorJson(const std::string& media_type, const format::Digest& digest,
                           uint64_t size, const std::string& extra = "") {
  return "{\"mediaType\":\"" + media_type + "\",\"digest\":\"" + digest.str() +
         "\",\"size\":" + std::to_string(size) + extra + "}";
}

format::Digest BlobDigest(const std::string& name) { return format::Sha256::Of(name); }

std::string ImageJson(const std::vector<std::pair<std::string, std::string>>& layers,
                      const std::string& config = "config", uint64_t layer_size = 10) {
  std::string out =
      "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciManifest) + "\",\"config\":" +
      DescriptorJson("application/vnd.oci.image.config.v1+json", BlobDigest(config), 5) +
      ",\"layers\":[";
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i > 0) out += ",";
    out += DescriptorJson(layers[i].second, BlobDigest(layers[i].first), layer_size);
  }
  return out + "]}";
}

std::string IndexJson(const std::vector<Descriptor>& children,
                      const std::vector<std::string>& platforms = {}) {
  std::string out =
      "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(kOciIndex) + "\",\"manifests\":[";
  for (size_t i = 0; i < children.size(); ++i) {
    if (i > 0) out += ",";
    std::string platform =
        i < platforms.size()
            ? ",\"platform\":{\"os\":\"linux\",\"architecture\":\"" + platforms[i] + "\"}"
            : "";
    out += DescriptorJson(children[i].media_type, children[i].digest, children[i].size, platform);
  }
  return out + "]}";
}

const std::string kLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
const std::string kForeign = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";

TEST_CASE("the graph walk visits children before their index and every digest once") {
  Store store;
  Descriptor amd = store.Put(ImageJson({{"shared", kLayer}, {"amd", kLayer}}), kOciManifest);
  Descriptor arm = store.Put(ImageJson({{"shared", kLayer}, {"arm", kLayer}}), kOciManifest);
  Descriptor index = store.Put(IndexJson({amd, arm}), kOciIndex);

  std::vector<format::Digest> manifests;
  std::vector<format::Digest> blobs;
  GraphHooks hooks = store.Hooks();
  hooks.manifest = [&](const Descriptor& d, const Manifest&, std::string&) {
    manifests.push_back(d.digest);
    return Status::Ok();
  };
  hooks.blob = [&](const Descriptor& d, const Descriptor&) {
    blobs.push_back(d.digest);
    return Status::Ok();
  };
  GraphWalk walk(hooks);
  REQUIRE(walk.Walk(index).ok());
  REQUIRE(walk.Walk(amd).ok());  // already visited: nothing again
  CHECK(manifests == std::vector<format::Digest>{amd.digest, arm.digest, index.digest});
  CHECK(blobs == std::vector<format::Digest>{BlobDigest("config"), BlobDigest("shared"),
                                             BlobDigest("amd"), BlobDigest("arm")});
}

TEST_CASE("the graph walk leaves foreign layers out") {
  Store store;
  Descriptor image = store.Put(ImageJson({{"base", kForeign}, {"app", kLayer}}), kOciManifest);
  std::vector<format::Digest> blobs;
  GraphHooks hooks = store.Hooks();
  hooks.blob = [&](const Descriptor& d, const Descriptor&) {
    blobs.push_back(d.digest);
    return Status::Ok();
  };
  REQUIRE(GraphWalk(hooks).Walk(image).ok());
  CHECK(blobs == std::vector<format::Digest>{BlobDigest("config"), BlobDigest("app")});
}

TEST_CASE("the graph walk refuses indexes nested deeper than its limit") {
  Store store;
  Descriptor d = store.Put(ImageJson({{"layer", kLayer}}), kOciManifest);
  for (int depth = 0; depth < kMaxIndexDepth; ++depth) d = store.Put(IndexJson({d}), kOciIndex);
  CHECK(GraphWalk(store.Hooks()).Walk(d).ok());  // exactly at the limit
  Descriptor deeper = store.Put(IndexJson({d}), kOciIndex);
  Status s = GraphWalk(store.Hooks()).Walk(deeper);
  CHECK(s.kind() == ErrorKind::kUnsupported);
  CHECK(s.message().find("deeper than " + std::to_string(kMaxIndexDepth)) != std::string::npos);
}

TEST_CASE("the graph walk reports one blob declared with two sizes as corruption") {
  Store store;
  Descriptor a = store.Put(ImageJson({{"layer", kLayer}}, "config", 10), kOciManifest);
  Descriptor b = store.Put(ImageJson({{"layer", kLayer}}, "config2", 11), kOciManifest);
  Descriptor index = store.Put(IndexJson({a, b}), kOciIndex);
  Status s = GraphWalk(store.Hooks()).Walk(index);
  CHECK(s.IsCorruption());
  CHECK(s.message().find("blob " + BlobDigest("layer").str()) != std::string::npos);
}

TEST_CASE("the graph walk follows only the children its filter keeps") {
  Store store;
  Descriptor amd = store.Put(ImageJson({{"amd", kLayer}}), kOciManifest);
  Descriptor arm = store.Put(ImageJson({{"arm", kLayer}}), kOciManifest);
  Descriptor index = store.Put(IndexJson({amd, arm}, {"amd64", "arm64"}), kOciIndex);
  std::vector<format::Digest> manifests;
  GraphHooks hooks = store.Hooks();
  hooks.keep_child = [](const Descriptor&, const Descriptor& child) {
    return child.platform && child.platform->architecture == "arm64";
  };
  hooks.manifest = [&](const Descriptor& d, const Manifest&, std::string&) {
    manifests.push_back(d.digest);
    return Status::Ok();
  };
  REQUIRE(GraphWalk(hooks).Walk(index).ok());
  CHECK(manifests == std::vector<format::Digest>{arm.digest, index.digest});
}

TEST_CASE("the graph walk names the manifest it could not fetch or read") {
  Store store;
  Descriptor missing{std::string(kOciManifest), BlobDigest("nowhere"), 10, std::nullopt};
  Descriptor index = store.Put(IndexJson({missing}), kOciIndex);
  Status s = GraphWalk(store.Hooks()).Walk(index);
  CHECK(s.IsNotFound());
  CHECK(s.message().find(missing.digest.str()) != std::string::npos);

  Descriptor junk = store.Put("{\"schemaVersion\":2,\"config\":5}", kOciManifest);
  s = GraphWalk(store.Hooks()).Walk(junk);
  CHECK(s.IsCorruption());
  CHECK(s.message().find("manifest " + junk.digest.str()) != std::string::npos);
}

TEST_CASE("a walk past damage goes on and counts only what lies above the damage incomplete") {
  Store store;
  Descriptor whole = store.Put(ImageJson({{"shared", kLayer}, {"ok", kLayer}}), kOciManifest);
  Descriptor broken = store.Put(ImageJson({{"shared", kLayer}, {"lost", kLayer}}), kOciManifest);
  Descriptor missing{std::string(kOciManifest), BlobDigest("nowhere"), 10, std::nullopt};
  Descriptor foreign = store.Put(ImageJson({{"ok", kLayer}, {"far", kForeign}}), kOciManifest);
  Descriptor index = store.Put(IndexJson({whole, broken}), kOciIndex);
  Descriptor with_missing = store.Put(IndexJson({whole, missing}), kOciIndex);

  std::vector<format::Digest> damaged;
  GraphHooks hooks = store.Hooks();
  hooks.blob = [](const Descriptor& blob, const Descriptor&) {
    return blob.digest == BlobDigest("lost") ? Status::NotFound("lost") : Status::Ok();
  };
  hooks.walk_past = [&](const Descriptor& d, const Status& error) {
    damaged.push_back(d.digest);
    return error.IsNotFound();
  };
  GraphWalk walk(hooks);
  REQUIRE(walk.Walk(index).ok());
  REQUIRE(walk.Walk(with_missing).ok());
  REQUIRE(walk.Walk(foreign).ok());
  CHECK(damaged == std::vector<format::Digest>{BlobDigest("lost"), missing.digest});
  CHECK(walk.Complete(whole.digest));
  CHECK_FALSE(walk.Complete(broken.digest));
  CHECK_FALSE(walk.Complete(index.digest));
  CHECK_FALSE(walk.Complete(with_missing.digest));
  CHECK(walk.Complete(foreign.digest));  // a foreign layer is never required

  // Damage the hook does not take stops the walk with its error.
  hooks.walk_past = [](const Descriptor&, const Status&) { return false; };
  Status s = GraphWalk(hooks).Walk(broken);
  CHECK(s.IsNotFound());
}

}  // namespace
}  // namespace sluice::oci
