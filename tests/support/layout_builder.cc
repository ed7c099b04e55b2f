#include "tests/support/layout_builder.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/files.h"

namespace sluice::testing {

namespace fs = std::filesystem;
using nlohmann::json;

LayoutBuilder::LayoutBuilder(std::string dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_ + "/blobs/sha256");
  WriteFile(dir_ + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  if (!fs::exists(dir_ + "/index.json")) {
    WriteFile(dir_ + "/index.json", R"({"schemaVersion":2,"manifests":[]})");
  }
}

BuiltBlob LayoutBuilder::AddBlob(const std::string& bytes, const std::string& media_type) {
  format::Digest digest = format::Sha256::Of(bytes);
  WriteFile(dir_ + "/blobs/sha256/" + std::string(digest.hex()), bytes);
  return {digest, bytes.size(), media_type};
}

BuiltImage LayoutBuilder::AddImage(const std::vector<BuiltBlob>& layers, const std::string& arch) {
  json diff_ids = json::array();
  for (const BuiltBlob& l : layers) diff_ids.push_back(l.digest.str());
  json config = {{"architecture", arch},
                 {"os", "linux"},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  BuiltImage image;
  image.config = AddBlob(config.dump(), "application/vnd.oci.image.config.v1+json");
  image.layers = layers;
  json layer_list = json::array();
  for (const BuiltBlob& l : layers) {
    layer_list.push_back(
        {{"mediaType", l.media_type}, {"digest", l.digest.str()}, {"size", l.size}});
  }
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"config",
                    {{"mediaType", image.config.media_type},
                     {"digest", image.config.digest.str()},
                     {"size", image.config.size}}},
                   {"layers", layer_list}};
  BuiltBlob m = AddBlob(manifest.dump(), "application/vnd.oci.image.manifest.v1+json");
  image.manifest = m.digest;
  image.manifest_size = m.size;
  return image;
}

format::Digest LayoutBuilder::AddIndex(
    const std::vector<std::pair<BuiltImage, std::string>>& images, uint64_t* size) {
  json manifests = json::array();
  for (const auto& [image, arch] : images) {
    manifests.push_back({{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                         {"digest", image.manifest.str()},
                         {"size", image.manifest_size},
                         {"platform", {{"os", "linux"}, {"architecture", arch}}}});
  }
  json index = {{"schemaVersion", 2},
                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                {"manifests", manifests}};
  BuiltBlob b = AddBlob(index.dump(), "application/vnd.oci.image.index.v1+json");
  *size = b.size;
  return b.digest;
}

void LayoutBuilder::Tag(const std::string& tag, const format::Digest& digest, uint64_t size,
                        const std::string& media_type) {
  json index = json::parse(ReadFile(dir_ + "/index.json"));
  json kept = json::array();
  for (const json& e : index["manifests"]) {
    if (e.value("annotations", json::object()).value("org.opencontainers.image.ref.name", "") !=
        tag) {
      kept.push_back(e);
    }
  }
  kept.push_back({{"mediaType", media_type},
                  {"digest", digest.str()},
                  {"size", size},
                  {"annotations", {{"org.opencontainers.image.ref.name", tag}}}});
  index["manifests"] = kept;
  WriteFile(dir_ + "/index.json", index.dump());
}

}  // namespace sluice::testing
