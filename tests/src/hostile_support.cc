#include "hostile_support.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "format/bundle_writer.h"
#include "format/catalog_codec.h"
#include "format/checksum.h"
#include "test_support.h"

namespace sluice::testing {
namespace {

class StringWriter final : public io::SequentialWriter {
 public:
  explicit StringWriter(std::string* out) : out_(out) {}
  Status Append(io::ByteView data) override {
    out_->append(reinterpret_cast<const char*>(data.data()), data.size());
    return Status::Ok();
  }
  Status Sync() override { return Status::Ok(); }
  Status Close() override { return Status::Ok(); }
  uint64_t Size() const override { return out_->size(); }

 private:
  std::string* out_;
};

format::Digest AddManifest(format::Catalog* catalog, const std::string& bytes,
                           const std::string& media_type) {
  format::Digest digest = format::Sha256::Of(bytes);
  catalog->manifests.push_back({digest, media_type, bytes});
  return digest;
}

uint64_t LoadLe(const std::string& b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

void StoreLe(std::string* b, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*b)[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

HostileBundle::HostileBundle() {
  auto key = format::PrivateKey::Generate();
  if (!key.ok()) throw std::runtime_error(key.status().ToString());
  key_ = std::make_shared<format::PrivateKey>(std::move(key).value());
  catalog.header.base_sequence = 0;
  catalog.header.sequence = 1;
}

format::Digest HostileBundle::AddImage(const std::vector<std::string>& layers,
                                       const std::string& extra_json) {
  using nlohmann::ordered_json;
  auto add_blob = [&](const std::string& bytes, const char* media_type) {
    format::Digest digest = format::Sha256::Of(bytes);
    catalog.blobs.push_back({digest, bytes.size(), media_type, true, std::nullopt});
    data[digest] = bytes;
    return ordered_json{{"mediaType", media_type}, {"digest", digest.str()}, {"size", bytes.size()}};
  };
  ordered_json config = {{"architecture", "amd64"},
                         {"os", "linux"},
                         {"rootfs", {{"type", "layers"}, {"diff_ids", ordered_json::array()}}},
                         {"n", catalog.blobs.size()}};  // distinct configs per image
  ordered_json manifest = {{"schemaVersion", 2},
                           {"mediaType", "application/vnd.oci.image.manifest.v1+json"}};
  manifest["config"] = add_blob(config.dump(), "application/vnd.oci.image.config.v1+json");
  manifest["layers"] = ordered_json::array();
  for (const std::string& layer : layers) {
    manifest["layers"].push_back(add_blob(layer, "application/vnd.oci.image.layer.v1.tar+gzip"));
  }
  std::string text = manifest.dump();
  text.insert(text.size() - 1, extra_json);
  return AddManifest(&catalog, text, "application/vnd.oci.image.manifest.v1+json");
}

format::Digest HostileBundle::AddIndex(const std::vector<format::Digest>& manifests) {
  using nlohmann::ordered_json;
  ordered_json index = {{"schemaVersion", 2},
                        {"mediaType", "application/vnd.oci.image.index.v1+json"},
                        {"manifests", ordered_json::array()}};
  for (const format::Digest& d : manifests) {
    for (const auto& m : catalog.manifests) {
      if (m.digest != d) continue;
      index["manifests"].push_back({{"mediaType", m.media_type},
                                    {"digest", d.str()},
                                    {"size", m.bytes.size()},
                                    {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}});
    }
  }
  return AddManifest(&catalog, index.dump(), "application/vnd.oci.image.index.v1+json");
}

void HostileBundle::Ref(const std::string& repository, const std::string& tag,
                        const format::Digest& manifest) {
  format::RefEntry ref;
  ref.repository = repository;
  ref.tag = tag;
  ref.manifest = manifest;
  catalog.refs.push_back(ref);
}

Result<std::string> HostileBundle::Bytes() const {
  std::string out;
  StringWriter writer(&out);
  SLUICE_ASSIGN_OR_RETURN(auto w, format::BundleWriter::Start(&writer, catalog, *key_));
  for (size_t i = 0; i < catalog.blobs.size(); ++i) {
    if (!catalog.blobs[i].shipped) continue;
    SLUICE_RETURN_IF_ERROR(w->BeginBlob(i, format::Compression::kNone));
    SLUICE_RETURN_IF_ERROR(w->Append(io::AsBytes(data.at(catalog.blobs[i].digest))));
    SLUICE_RETURN_IF_ERROR(w->EndBlob());
  }
  SLUICE_RETURN_IF_ERROR(w->Finish());
  return out;
}

Status HostileBundle::WriteTo(const std::string& path) const {
  SLUICE_ASSIGN_OR_RETURN(std::string bytes, Bytes());
  WriteFile(path, bytes);
  return Status::Ok();
}

format::TrustPolicy HostileBundle::Trust() const {
  format::TrustPolicy trust;
  trust.keys.push_back(key_->public_key());
  return trust;
}

void PatchBlobSizeAndReseal(std::string* bundle, const format::Digest& digest, uint64_t size,
                            const format::PrivateKey& key) {
  const size_t header_size = LoadLe(*bundle, 20, 4);
  const size_t catalog_size = LoadLe(*bundle, 80, 8);
  const size_t end = header_size + catalog_size;
  // A Blob record starts with the digest as a length-prefixed string; the
  // size follows it. Manifest JSON quotes digests, so this prefix is unique.
  std::string needle(4, '\0');
  StoreLe(&needle, 0, digest.str().size(), 4);
  needle += digest.str();
  size_t at = bundle->find(needle, header_size);
  if (at == std::string::npos || at >= end) throw std::runtime_error("blob record not found");
  StoreLe(bundle, at + needle.size(), size, 8);
  StoreLe(bundle, end - 8,
          format::Xxh3(io::AsBytes(std::string_view(*bundle).substr(header_size,
                                                                    catalog_size - 8))),
          8);
  format::Sha256 h;
  h.Update(io::AsBytes(std::string_view(*bundle).substr(0, end)));
  std::string message = format::SignatureMessage(h.FinishRaw());
  auto sig = key.Sign(io::AsBytes(message));
  if (!sig.ok()) throw std::runtime_error(sig.status().ToString());
  auto fp = key.public_key().Fingerprint();
  bundle->replace(end + 4, 32, reinterpret_cast<const char*>(fp.data()), 32);
  bundle->replace(end + 36, 64, reinterpret_cast<const char*>(sig->data()), 64);
}

void ZeroSignature(std::string* bundle) {
  const size_t end = LoadLe(*bundle, 20, 4) + LoadLe(*bundle, 80, 8);
  bundle->replace(end, 100, std::string(100, '\0'));
}

CliResult RunSluice(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {SLUICE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

Tmpfs::Tmpfs(std::string path, uint64_t bytes) : path_(std::move(path)) {
  ::mkdir(path_.c_str(), 0755);
  std::string options = "size=" + std::to_string(bytes);
  if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) == 0) {
    mounted_ = true;
  } else {
    error_ = std::strerror(errno);
  }
}

Tmpfs::~Tmpfs() {
  if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
}

}  // namespace sluice::testing
