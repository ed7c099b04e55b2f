// Shared by the src/ tests: temp directories and a builder that writes real
// OCI image layouts (random layer bytes, real configs and manifests).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/crypto.h"
#include "io/file.h"

namespace sluice::testing {

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string RandomBytes(size_t n, uint32_t seed);
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes);
// Sorted relative paths of every file below dir ("" if dir is absent).
std::vector<std::string> ListTree(const std::string& dir);

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
  explicit LayoutBuilder(std::string dir);

  BuiltBlob AddBlob(const std::string& bytes, const std::string& media_type);
  // An image manifest over the given layers, with a config naming `arch`.
  BuiltImage AddImage(const std::vector<BuiltBlob>& layers, const std::string& arch = "amd64");
  // An index of images with linux/<arch> platforms.
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
