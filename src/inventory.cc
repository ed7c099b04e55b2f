#include "inventory.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "format/blob_check.h"
#include "io/atomic_file.h"
#include "io/json_fields.h"
#include "json_document.h"
#include "oci/graph.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "registry/registry_client.h"

namespace sluice {
namespace {

using nlohmann::ordered_json;

constexpr const char* kFormatName = "sluice-inventory";
constexpr const char* kSignatureFormatName = "sluice-inventory-signature";
constexpr int kFormatVersion = 1;
// A destination of a million blobs makes ~100 MiB; anything larger is not ours.
constexpr uint64_t kMaxInventorySize = 1ull << 30;
constexpr uint64_t kMaxSignatureSize = 64u << 10;
constexpr size_t kHashBufferSize = 1u << 20;

bool IsHexDigestName(const std::string& name) {
  return name.size() == 64 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Hashes a blob file as it streams: constant memory whatever its size.
Status HashFile(io::FileSystem* fs, const std::string& path, format::Digest* digest,
                uint64_t* size) {
  SLUICE_ASSIGN_OR_RETURN(auto reader, fs->NewSequentialReader(path));
  std::vector<uint8_t> buffer(kHashBufferSize);
  format::Sha256 hasher;
  *size = 0;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(buffer));
    if (n == 0) break;
    hasher.Update(io::ByteView(buffer.data(), n));
    *size += n;
  }
  *digest = hasher.Finish();
  return Status::Ok();
}

// Whether every manifest, config and layer reachable from `root` is intact:
// hashed to its name in the layout's blobs/sha256.
bool ImageComplete(io::FileSystem* fs, const std::string& dir, const format::Digest& root,
                   const std::string& media_type, const std::set<format::Digest>& intact) {
  auto held = [&](const oci::Descriptor& d) {
    return intact.contains(d.digest) ? Status::Ok()
                                     : Status::NotFound(d.digest.str() + " is missing or damaged");
  };
  oci::GraphHooks hooks;
  hooks.fetch = [&](const oci::Descriptor& d) -> Result<oci::FetchedManifest> {
    SLUICE_RETURN_IF_ERROR(held(d));
    SLUICE_ASSIGN_OR_RETURN(std::string bytes, io::ReadSmallFile(fs, oci::BlobPath(dir, d.digest),
                                                                 oci::kMaxManifestSize));
    return oci::FetchedManifest{std::move(bytes), ""};
  };
  hooks.blob = [&](const oci::Descriptor& blob, const oci::Descriptor&) { return held(blob); };
  hooks.walk_past = [](const oci::Descriptor&, const Status&) { return true; };
  oci::GraphWalk walk(std::move(hooks));
  oci::Descriptor descriptor;
  descriptor.media_type = media_type;
  descriptor.digest = root;
  return walk.Walk(descriptor).ok() && walk.Complete(root);
}

uint64_t NowUnix() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Walks the images of a registry's repositories. A digest goes into "blobs"
// only when it was found intact in every repository that names it, so that a
// rebuilt ledger never counts a blob that one repository lacks (a registry
// keeps blobs per repository; the importer pushes per repository).
class RegistryWalk {
 public:
  RegistryWalk(registry::RegistryClient* client, bool verify_blobs, Inventory* inventory)
      : client_(client), verify_blobs_(verify_blobs), inventory_(inventory) {}

  // Every tag of `repository`, each recorded under `name_prefix` + tag.
  Status AddRepository(const std::string& repository, const std::string& name_prefix) {
    auto tags = client_->ListTags(repository);
    if (!tags.ok()) {
      // A repository the catalog lists may have lost its last tag.
      if (tags.status().IsNotFound()) return Status::Ok();
      return tags.status();
    }
    std::sort(tags->begin(), tags->end());
    repository_ = repository;
    // Each repository is walked afresh: a registry keeps blobs per repository.
    oci::GraphWalk walk(Hooks());
    for (const std::string& tag : *tags) {
      std::string where = Where() + ":" + tag;
      auto manifest = client_->GetManifest(repository, tag);
      if (!manifest.ok()) {
        // Gone since the listing, or its manifest lost or damaged: no digest
        // to record a tag under, only the damage.
        if (!IsDamage(manifest.status())) return manifest.status();
        inventory_->damaged.push_back(
            where + ": its manifest cannot be read: " + manifest.status().message());
        continue;
      }
      Inventory::Tag entry;
      entry.name = name_prefix + tag;
      entry.digest = manifest->digest;
      entry.media_type = manifest->media_type;
      oci::Descriptor root;
      root.media_type = manifest->media_type;
      root.digest = manifest->digest;
      root.size = manifest->bytes.size();
      tagged_ = std::move(manifest).value();
      SLUICE_RETURN_IF_ERROR(walk.Walk(root).WithContext(where));
      entry.complete = walk.Complete(root.digest);
      inventory_->tags.push_back(std::move(entry));
    }
    return Status::Ok();
  }

  // Fills inventory->blobs from what every repository confirmed.
  void Finish() {
    for (const auto& [digest, size] : intact_) {
      if (!bad_.contains(digest)) inventory_->blobs.push_back({digest, size});
    }
  }

 private:
  // What the registry says is not there, or is not what it should be, as
  // opposed to failing to answer.
  static bool IsDamage(const Status& s) {
    return s.IsNotFound() || s.kind() == ErrorKind::kCorruption ||
           s.kind() == ErrorKind::kUnsupported;
  }

  std::string Where() const { return client_->host() + "/" + repository_; }

  void Damaged(const format::Digest& digest, const std::string& what) {
    bad_.insert(digest);
    inventory_->damaged.push_back(Where() + ": " + what);
  }

  // The walk over the current repository: damage (missing, damaged,
  // unreadable) is recorded and walked past; a registry that does not
  // answer stops it.
  oci::GraphHooks Hooks() {
    oci::GraphHooks hooks;
    hooks.fetch = [this](const oci::Descriptor& d) { return FetchManifest(d); };
    hooks.blob = [this](const oci::Descriptor& blob, const oci::Descriptor& of) {
      return CheckBlob(blob, "of manifest " + of.digest.str());
    };
    hooks.walk_past = [this](const oci::Descriptor& d, const Status& error) {
      if (!IsDamage(error)) return false;
      Damaged(d.digest, error.message());
      return true;
    };
    return hooks;
  }

  // A manifest of the current repository (the tagged one is at hand
  // already), as long as the descriptor naming it says.
  Result<oci::FetchedManifest> FetchManifest(const oci::Descriptor& d) {
    registry::Manifest fetched;
    if (d.digest == tagged_.digest) {
      fetched = tagged_;
    } else {
      auto got = client_->GetManifest(repository_, d.digest.str());
      if (!got.ok()) {
        return got.status().WithContext("manifest " + d.digest.str() + " cannot be read");
      }
      fetched = std::move(got).value();
    }
    if (fetched.bytes.size() != d.size) {
      return Status::Corruption("manifest " + d.digest.str() + " is " +
                                std::to_string(fetched.bytes.size()) +
                                " bytes, the index naming it says " + std::to_string(d.size));
    }
    intact_[d.digest] = d.size;
    return oci::FetchedManifest{std::move(fetched.bytes), std::move(fetched.media_type)};
  }

  // OK when the current repository holds the blob `d` intact; else the
  // damage, kNotFound or kCorruption, or the error that kept it from finding out.
  Status CheckBlob(const oci::Descriptor& d, const std::string& role) {
    std::string what = "blob " + d.digest.str() + " (" + role + ")";
    if (verify_blobs_) {
      Status s = Download(d);
      if (!s.ok()) {
        return s.IsNotFound() ? Status::NotFound(what + " is missing") : s.WithContext(what);
      }
    } else {
      SLUICE_ASSIGN_OR_RETURN(std::optional<uint64_t> size,
                              client_->HeadBlob(repository_, d.digest));
      if (!size) return Status::NotFound(what + " is missing");
      if (*size != d.size) {
        return Status::Corruption(what + " is " + std::to_string(*size) +
                                  " bytes, its manifest says " + std::to_string(d.size));
      }
    }
    intact_[d.digest] = d.size;
    return Status::Ok();
  }

  // Reads the blob to its end through a reader that checks size and sha256.
  Status Download(const oci::Descriptor& d) {
    SLUICE_ASSIGN_OR_RETURN(auto blob, client_->OpenBlob(repository_, d.digest));
    auto reader = format::NewVerifyingReader(std::move(blob), d.digest, d.size);
    std::vector<uint8_t> buffer(kHashBufferSize);
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(buffer));
      if (n == 0) return Status::Ok();
    }
  }

  registry::RegistryClient* client_;
  const bool verify_blobs_;
  Inventory* inventory_;
  std::map<format::Digest, uint64_t> intact_;  // found intact somewhere
  std::set<format::Digest> bad_;               // missing or damaged somewhere
  // The repository being walked, and the manifest its current tag names.
  std::string repository_;
  registry::Manifest tagged_;
};

bool DecodeHex(std::string_view hex, uint8_t* out, size_t size) {
  if (hex.size() != size * 2) return false;
  for (size_t i = 0; i < size; ++i) {
    unsigned value = 0;
    for (char c : hex.substr(i * 2, 2)) {
      value <<= 4;
      if (c >= '0' && c <= '9') value |= c - '0';
      else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
      else return false;
    }
    out[i] = static_cast<uint8_t>(value);
  }
  return true;
}

// An inventory's detached signature file: {"format", "version", "signer", "ed25519"}.
struct SignatureFile {
  std::string signer;
  format::Ed25519Signature signature{};
};

Result<SignatureFile> ParseSignatureFile(std::string_view text, const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(
      io::JsonDocument doc,
      ParseJsonDocument(text, kSignatureFormatName, kFormatVersion, "signature file " + path));
  SignatureFile out;
  SLUICE_ASSIGN_OR_RETURN(out.signer, doc.root().String("signer"));
  SLUICE_ASSIGN_OR_RETURN(std::string hex, doc.root().String("ed25519"));
  if (!DecodeHex(hex, out.signature.data(), out.signature.size())) {
    return Status::Corruption("signature file " + path + ": ed25519 is not " +
                              std::to_string(out.signature.size() * 2) + " lower-case hex digits");
  }
  return out;
}

}  // namespace

Result<Inventory> TakeOciLayoutInventory(io::FileSystem* fs, const std::string& dir,
                                         const std::string& destination) {
  if (!fs->Exists(io::JoinPath(dir, oci::kLayoutFile))) {
    return Status::NotFound(destination + ": " + dir + " is not an OCI layout (no " +
                            std::string(oci::kLayoutFile) + " file)");
  }
  Inventory inventory;
  inventory.destination = destination;
  inventory.created_unix = NowUnix();

  std::string blob_dir = io::JoinPath(dir, "blobs/sha256");
  std::vector<std::string> names;
  if (fs->Exists(blob_dir)) {
    SLUICE_ASSIGN_OR_RETURN(names, fs->ListDir(blob_dir));
  }
  std::set<format::Digest> intact;
  for (const std::string& name : names) {
    // Anything else there is a temp file of an interrupted write, never a blob.
    if (!IsHexDigestName(name)) continue;
    std::string path = io::JoinPath(blob_dir, name);
    format::Digest actual;
    uint64_t size = 0;
    SLUICE_RETURN_IF_ERROR(HashFile(fs, path, &actual, &size));
    if (actual.hex() != name) {
      inventory.damaged.push_back("blobs/sha256/" + name + ": holds " + std::to_string(size) +
                                  " bytes hashing to " + actual.str());
      continue;
    }
    intact.insert(actual);
    inventory.blobs.push_back({actual, size});
  }
  std::sort(inventory.blobs.begin(), inventory.blobs.end(),
            [](const auto& a, const auto& b) { return a.digest < b.digest; });

  std::string index_path = io::JoinPath(dir, oci::kIndexFile);
  auto text = io::ReadSmallFile(fs, index_path, oci::kMaxIndexFileSize);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return inventory;  // no tag yet
    return text.status();
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<oci::IndexEntry> entries, oci::ParseIndex(*text, index_path));
  for (oci::IndexEntry& entry : entries) {
    Inventory::Tag tag;
    tag.digest = entry.digest;
    tag.media_type = std::move(entry.media_type);
    tag.name = std::move(entry.ref_name);
    tag.complete = ImageComplete(fs, dir, tag.digest, tag.media_type, intact);
    inventory.tags.push_back(std::move(tag));
  }
  return inventory;
}

Result<Inventory> TakeRegistryInventory(registry::RegistryClient* client, const std::string& prefix,
                                        const std::string& destination, bool verify_blobs) {
  Inventory inventory;
  inventory.destination = destination;
  inventory.created_unix = NowUnix();
  auto repositories = client->Catalog();
  if (!repositories.ok()) {
    return repositories.status().WithContext(
        destination + ": listing the registry's repositories (/v2/_catalog)");
  }
  std::sort(repositories->begin(), repositories->end());
  RegistryWalk walk(client, verify_blobs, &inventory);
  for (const std::string& repository : *repositories) {
    std::string name_prefix;
    if (!prefix.empty()) {
      if (repository == prefix) {
        name_prefix = "";
      } else if (repository.starts_with(prefix + "/")) {
        name_prefix = repository.substr(prefix.size() + 1) + ":";
      } else {
        continue;
      }
    } else {
      name_prefix = repository + ":";
    }
    SLUICE_RETURN_IF_ERROR(walk.AddRepository(repository, name_prefix).WithContext(destination));
  }
  walk.Finish();
  std::sort(inventory.tags.begin(), inventory.tags.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return inventory;
}

std::string SerializeInventory(const Inventory& inventory) {
  ordered_json blobs = ordered_json::array();
  for (const Inventory::Blob& b : inventory.blobs) {
    blobs.push_back({{"digest", b.digest.str()}, {"size", b.size}});
  }
  ordered_json tags = ordered_json::array();
  for (const Inventory::Tag& t : inventory.tags) {
    tags.push_back({{"name", t.name},
                    {"digest", t.digest.str()},
                    {"media_type", t.media_type},
                    {"complete", t.complete}});
  }
  ordered_json doc = {{"format", kFormatName},
                      {"version", kFormatVersion},
                      {"destination", inventory.destination},
                      {"created_unix", inventory.created_unix},
                      {"blobs", std::move(blobs)},
                      {"tags", std::move(tags)},
                      {"damaged", inventory.damaged}};
  return io::DumpJson(doc, 1) + "\n";
}

Result<Inventory> ParseInventory(std::string_view text, const std::string& where) {
  SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc, ParseJsonDocument(text, kFormatName, kFormatVersion,
                                                                  "inventory " + where));
  io::JsonField root = doc.root();
  Inventory inventory;
  SLUICE_ASSIGN_OR_RETURN(inventory.destination, root.StringOr("destination", ""));
  SLUICE_ASSIGN_OR_RETURN(inventory.created_unix, root.UintOr("created_unix", 0));
  SLUICE_ASSIGN_OR_RETURN(io::JsonField blobs, root.Array("blobs"));
  SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> blob_list, blobs.Elements());
  for (const io::JsonField& b : blob_list) {
    SLUICE_ASSIGN_OR_RETURN(format::Digest digest, DigestMember(b, "digest"));
    SLUICE_ASSIGN_OR_RETURN(uint64_t size, b.Uint("size"));
    inventory.blobs.push_back({std::move(digest), size});
  }
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> tags, root.OptionalArray("tags"));
  if (tags) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> tag_list, tags->Elements());
    for (const io::JsonField& t : tag_list) {
      Inventory::Tag tag;
      SLUICE_ASSIGN_OR_RETURN(tag.digest, DigestMember(t, "digest"));
      SLUICE_ASSIGN_OR_RETURN(tag.name, t.StringOr("name", ""));
      SLUICE_ASSIGN_OR_RETURN(tag.media_type, t.StringOr("media_type", ""));
      SLUICE_ASSIGN_OR_RETURN(tag.complete, t.BoolOr("complete", false));
      inventory.tags.push_back(std::move(tag));
    }
  }
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> damaged, root.OptionalArray("damaged"));
  if (damaged) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> notes, damaged->Elements());
    for (const io::JsonField& d : notes) {
      SLUICE_ASSIGN_OR_RETURN(std::string note, d.AsString());
      inventory.damaged.push_back(std::move(note));
    }
  }
  return inventory;
}

std::string InventorySignaturePath(const std::string& inventory_path) {
  return inventory_path + ".sig";
}

Status WriteInventory(io::FileSystem* fs, const std::string& path, const Inventory& inventory,
                      const format::PrivateKey* key) {
  std::string text = SerializeInventory(inventory);
  std::string sig_path = InventorySignaturePath(path);
  std::string sig_text;
  if (key != nullptr) {
    SLUICE_ASSIGN_OR_RETURN(format::Ed25519Signature signature, key->Sign(io::AsBytes(text)));
    sig_text = ordered_json{{"format", kSignatureFormatName},
                            {"version", kFormatVersion},
                            {"signer", key->public_key().FingerprintText()},
                            {"ed25519", format::HexEncode(signature)}}
                   .dump(1) +
               "\n";
  } else if (fs->Exists(sig_path)) {
    SLUICE_RETURN_IF_ERROR(fs->Remove(sig_path).WithContext("removing stale " + sig_path));
  }
  SLUICE_RETURN_IF_ERROR(io::WriteFileAtomically(fs, path, io::AsBytes(text))
                             .WithContext("writing inventory " + path));
  if (key == nullptr) return Status::Ok();
  return io::WriteFileAtomically(fs, sig_path, io::AsBytes(sig_text))
      .WithContext("writing signature " + sig_path);
}

Result<Inventory> LoadInventory(io::FileSystem* fs, const std::string& path,
                                const std::vector<format::PublicKey>* trusted) {
  auto text = io::ReadSmallFile(fs, path, kMaxInventorySize);
  if (!text.ok()) return text.status().WithContext("reading inventory " + path);
  if (trusted != nullptr) {
    std::string sig_path = InventorySignaturePath(path);
    auto sig_text = io::ReadSmallFile(fs, sig_path, kMaxSignatureSize);
    if (!sig_text.ok()) {
      if (sig_text.status().IsNotFound()) {
        return Status::Untrusted("inventory " + path + " is not signed: no " + sig_path);
      }
      return sig_text.status().WithContext("reading signature " + sig_path);
    }
    SLUICE_ASSIGN_OR_RETURN(SignatureFile sig, ParseSignatureFile(*sig_text, sig_path));
    const std::string& signer = sig.signer;
    const format::Ed25519Signature& signature = sig.signature;
    bool verified = false;
    for (const format::PublicKey& key : *trusted) {
      if (key.FingerprintText() == signer && key.Verify(io::AsBytes(*text), signature)) {
        verified = true;
        break;
      }
    }
    if (!verified) {
      bool known = std::any_of(trusted->begin(), trusted->end(),
                               [&](const auto& k) { return k.FingerprintText() == signer; });
      return Status::Untrusted("inventory " + path + ": " +
                               (known ? "the signature in " + sig_path +
                                            " does not match its bytes (signer " + signer +
                                            "); it was changed after signing"
                                      : "signed by " + signer + ", which is not a trusted key"));
    }
  }
  return ParseInventory(*text, path);
}

}  // namespace sluice
