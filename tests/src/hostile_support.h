// Shared by hostile_input_test and full_disk_test: bundles built with the real
// writer and a fresh key from catalogs a test may make as wrong as it likes,
// byte patches that re-seal the catalog checksum and signature, a runner for
// the sluice binary, and a small tmpfs mount.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/bundle_reader.h"
#include "format/catalog.h"
#include "format/crypto.h"
#include "tests/support/process.h"

namespace sluice::testing {

// A catalog plus the bytes of its shipped blobs, signed with its own key.
// Copies share the key.
class HostileBundle {
 public:
  HostileBundle();

  // Adds a config and the given layers (shipped, uncompressed) and an image
  // manifest listing them; `extra_json` is spliced into the manifest's top
  // object as is (",\"x\":..."). Returns the manifest digest.
  format::Digest AddImage(const std::vector<std::string>& layers,
                          const std::string& extra_json = "");
  // An OCI index over manifests already added.
  format::Digest AddIndex(const std::vector<format::Digest>& manifests);
  void Ref(const std::string& repository, const std::string& tag, const format::Digest& manifest);

  // The bundle bytes, written by format::BundleWriter.
  Result<std::string> Bytes() const;
  Status WriteTo(const std::string& path) const;

  const format::PrivateKey& key() const { return *key_; }
  format::TrustPolicy Trust() const;

  format::Catalog catalog;
  std::map<format::Digest, std::string> data;

 private:
  std::shared_ptr<format::PrivateKey> key_;
};

// Sets the catalog size of blob `digest` to `size` and re-seals the catalog
// checksum and signature with `key`, so the reader trusts the lie.
void PatchBlobSizeAndReseal(std::string* bundle, const format::Digest& digest, uint64_t size,
                            const format::PrivateKey& key);
// Zeroes the whole signature block (algorithm, fingerprint, signature).
void ZeroSignature(std::string* bundle);

// What the sluice binary did (tests/support/process.h).
using CliResult = RunResult;
// Runs the sluice binary under test with args, stdin from /dev/null.
CliResult RunSluice(const std::vector<std::string>& args);

// A tmpfs of `bytes` mounted at a new directory `path` while this lives.
// mounted() is false where mounting is not allowed (not root, no
// CAP_SYS_ADMIN); tests then skip with a warning.
class Tmpfs {
 public:
  Tmpfs(std::string path, uint64_t bytes);
  ~Tmpfs();
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

}  // namespace sluice::testing
