// Writes real OCI image layouts for tests: blobs of the caller's bytes, real
// configs, manifests and indexes, tags in index.json. No Catch2; a file that
// cannot be written throws std::runtime_error naming it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "format/crypto.h"

namespace sluice::testing {

struct BuiltBlob {
  format::Digest digest;
  uint64_t size = 0;
  std::string media_type;
};

struct BuiltImage {
  format::Digest manifest;
  uint64_t manifest_size = 0;
  BuiltBlob config;
  std::vector<BuiltBlob> layers;
};

// Writes blobs, configs, manifests and indexes into an OCI layout at dir.
class LayoutBuilder {
 public:
  // Makes the layout (oci-layout, blobs/sha256, an empty index.json unless
  // one is there).
  explicit LayoutBuilder(std::string dir);

  // Stores `bytes` as a blob named by its digest.
  BuiltBlob AddBlob(const std::string& bytes, const std::string& media_type);
  // An image manifest over the given layers, with a config naming `arch`.
  BuiltImage AddImage(const std::vector<BuiltBlob>& layers, const std::string& arch = "amd64");
  // An index of images with linux/<arch> platforms; its size in *size.
  format::Digest AddIndex(const std::vector<std::pair<BuiltImage, std::string>>& images,
                          uint64_t* size);
  // Adds (or moves) a tag in index.json.
  void Tag(const std::string& tag, const format::Digest& digest, uint64_t size,
           const std::string& media_type);

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace sluice::testing
