#include "source/archive_source.h"

#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "format/blob_check.h"
#include "io/json_fields.h"
#include "json_document.h"
#include "oci/layout.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "source/index_images.h"
#include "source/tar_index.h"

namespace sluice {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view kDockerConfigType = "application/vnd.docker.container.image.v1+json";
// What containers/image types every layer of a generated manifest, although
// docker save stores them uncompressed: the digest depends on it.
constexpr std::string_view kDockerLayerType = "application/vnd.docker.image.rootfs.diff.tar.gzip";
constexpr std::string_view kDockerManifestFile = "manifest.json";
// manifest.json and image configs are small; a hostile archive must not make
// sluice read gigabytes into memory.
constexpr uint64_t kMaxDockerManifestFileSize = 16u << 20;
constexpr uint64_t kMaxConfigSize = 16u << 20;

std::string BlobEntryName(const format::Digest& digest) {
  return "blobs/sha256/" + std::string(digest.hex());
}

// A docker reference normalised as docker's ParseNormalizedNamed followed by
// TagNameOnly: "busybox" -> docker.io / library/busybox / latest.
struct DockerName {
  std::string domain;
  std::string path;
  std::string tag;
  std::string Full() const { return domain + "/" + path + ":" + tag; }
};

Result<DockerName> NormalizeDockerName(std::string_view text) {
  if (text.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "': docker-archive names carry no digest");
  }
  DockerName name;
  std::string_view rest = text;
  size_t slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    name.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  } else {
    name.tag = "latest";
  }
  size_t first = rest.find('/');
  std::string_view head = rest.substr(0, first);
  bool is_domain = first != std::string_view::npos &&
                   (head.find_first_of(".:") != std::string_view::npos || head == "localhost" ||
                    head.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos);
  if (is_domain) {
    name.domain = std::string(head);
    name.path = std::string(rest.substr(first + 1));
  } else {
    name.domain = "docker.io";
    name.path = std::string(rest);
  }
  if (name.domain == "index.docker.io") name.domain = "docker.io";
  if (name.domain == "docker.io" && name.path.find('/') == std::string::npos) {
    name.path = "library/" + name.path;
  }
  if (name.path.empty() || name.tag.empty()) {
    return Status::InvalidArgument("'" + std::string(text) + "' is not an image name");
  }
  return name;
}

// What every archive source shares: the index, OCI layout reading, and
// blobs by digest.
class ArchiveSourceBase : public ImageSource {
 public:
  ArchiveSourceBase(io::FileSystem* fs, std::string transport, std::string path)
      : fs_(fs), transport_(std::move(transport)), path_(std::move(path)) {}

  Result<ManifestBytes> FetchManifest(const std::string& /*repository*/,
                                      const format::Digest& digest) override {
    if (auto it = generated_.find(digest); it != generated_.end()) {
      return ManifestBytes{it->second, std::string(oci::kDockerManifest)};
    }
    SLUICE_RETURN_IF_ERROR(EnsureIndex());
    std::string name = BlobEntryName(digest);
    auto bytes = index_->ReadSmall(name, oci::kMaxManifestSize);
    if (!bytes.ok()) return bytes.status().WithContext("manifest " + digest.str());
    format::Digest got = format::Sha256::Of(*bytes);
    if (got != digest) {
      return Status::Corruption("manifest '" + name + "' in archive " + path_ +
                                " does not match its digest " + digest.str() + " (it hashes to " +
                                got.str() + ")");
    }
    return ManifestBytes{std::move(bytes).value(), ""};
  }

  Result<std::unique_ptr<io::SequentialReader>> OpenBlob(const std::string& /*repository*/,
                                                         const format::Digest& digest,
                                                         uint64_t /*size*/) override {
    SLUICE_RETURN_IF_ERROR(EnsureIndex());
    auto known = entry_of_blob_.find(digest);
    std::string name = known != entry_of_blob_.end() ? known->second : BlobEntryName(digest);
    auto entry = index_->Resolve(name);
    if (!entry.ok()) {
      if (entry.status().IsNotFound()) {
        return Status::NotFound("blob " + digest.str() + " is missing from archive " + path_ +
                                " (no entry '" + name + "')");
      }
      return entry.status();
    }
    SLUICE_ASSIGN_OR_RETURN(auto reader, index_->Open(**entry));
    // Damage is reported naming the archive entry it came from (the bundle
    // writer checks too, but knows only the digest).
    return format::NewVerifyingReader(std::move(reader), digest, std::nullopt,
                                      "entry '" + (*entry)->name + "' of archive " + path_ +
                                          " (blob " + digest.str() + ")");
  }

  // A plain tar's entries are byte ranges of one file, read independently. A
  // compressed tar is decompressed front to back: one blob at a time lets
  // each reader hand its decompressor on to the next.
  size_t MaxBlobsInFlight() const override {
    return index_ && !index_->compressed() ? SIZE_MAX : 1;
  }

 protected:
  Status EnsureIndex() {
    if (index_) return Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(index_, TarIndex::Build(fs_, path_));
    return Status::Ok();
  }

  bool HasOciLayout() const {
    return index_->Find(oci::kLayoutFile) != nullptr && index_->Find(oci::kIndexFile) != nullptr;
  }

  // The entries of the archive's index.json, as the oci: source reads them.
  Result<std::vector<oci::IndexEntry>> ReadOciIndex() {
    std::string where = "archive " + path_ + ": " + std::string(oci::kIndexFile);
    SLUICE_ASSIGN_OR_RETURN(std::string text,
                            index_->ReadSmall(oci::kIndexFile, oci::kMaxIndexFileSize));
    return oci::ParseIndex(text, where);
  }

  // oci:-like listing: images named by org.opencontainers.image.ref.name.
  Result<std::vector<SourceImage>> ListOciImages(const std::string& tag) {
    if (!HasOciLayout()) {
      return Status::NotFound(path_ + " is not an OCI archive (no " +
                              std::string(oci::kLayoutFile) + " or " +
                              std::string(oci::kIndexFile) + " in it)");
    }
    SLUICE_ASSIGN_OR_RETURN(std::vector<oci::IndexEntry> entries, ReadOciIndex());
    return ImagesOfIndex(std::move(entries), tag, transport_ + ":" + path_, "archive " + path_);
  }

  io::FileSystem* fs_;
  std::string transport_;  // "oci-archive" or "docker-archive"
  std::string path_;
  std::unique_ptr<TarIndex> index_;
  // Manifests that exist only because this source generated them.
  std::map<format::Digest, std::string> generated_;
  // Blobs not stored under blobs/sha256/ (docker-archive configs and layers).
  std::map<format::Digest, std::string> entry_of_blob_;
};

class OciArchiveSource final : public ArchiveSourceBase {
 public:
  OciArchiveSource(io::FileSystem* fs, std::string path, std::string tag)
      : ArchiveSourceBase(fs, "oci-archive", std::move(path)), tag_(std::move(tag)) {}

  Result<std::vector<SourceImage>> ListImages() override {
    SLUICE_RETURN_IF_ERROR(EnsureIndex());
    return ListOciImages(tag_);
  }

 private:
  std::string tag_;
};

// One element of manifest.json.
struct DockerItem {
  std::string config;
  std::vector<std::string> repo_tags;
  std::vector<std::string> layers;
};

struct RootRef {
  format::Digest digest;
  std::string media_type;
};

class DockerArchiveSource final : public ArchiveSourceBase {
 public:
  DockerArchiveSource(io::FileSystem* fs, std::string path, std::string selector)
      : ArchiveSourceBase(fs, "docker-archive", std::move(path)), selector_(std::move(selector)) {}

  Result<std::vector<SourceImage>> ListImages() override {
    SLUICE_RETURN_IF_ERROR(EnsureIndex());
    SLUICE_ASSIGN_OR_RETURN(std::vector<DockerItem> items, ReadItems());

    // (item, tag as written in RepoTags or "" for none)
    std::vector<std::pair<size_t, std::string>> chosen;
    if (selector_.starts_with("@")) {
      std::string digits = selector_.substr(1);
      if (digits.empty() || digits.size() > 9 ||
          digits.find_first_not_of("0123456789") != std::string::npos) {
        return Status::InvalidArgument("'" + selector_ + "' is not a source index (@N)");
      }
      size_t n = 0;
      std::from_chars(digits.data(), digits.data() + digits.size(), n);  // 1-9 digits: fits
      if (n >= items.size()) {
        return Status::NotFound("archive " + path_ + " has " + std::to_string(items.size()) +
                                " images in manifest.json; there is no @" + digits);
      }
      if (items[n].repo_tags.empty()) chosen.emplace_back(n, "");
      for (const std::string& t : items[n].repo_tags) chosen.emplace_back(n, t);
    } else {
      std::optional<DockerName> wanted;
      if (!selector_.empty()) {
        SLUICE_ASSIGN_OR_RETURN(wanted, NormalizeDockerName(selector_));
      }
      std::vector<std::string> available;
      for (size_t i = 0; i < items.size(); ++i) {
        for (const std::string& t : items[i].repo_tags) {
          auto name = NormalizeDockerName(t);
          if (!name.ok()) {
            return Status::Corruption("archive " + path_ + ": manifest.json image @" +
                                      std::to_string(i) + " has an invalid RepoTag '" + t + "'");
          }
          available.push_back(t);
          if (!wanted || name->Full() == wanted->Full()) chosen.emplace_back(i, t);
        }
      }
      if (chosen.empty()) {
        std::string list;
        for (const std::string& n : available) list += (list.empty() ? "" : ", ") + n;
        if (!wanted) {
          return Status::NotFound("archive " + path_ + " has no tagged image (select one with @N)");
        }
        return Status::NotFound(
            "'" + selector_ + "' not found in archive " + path_ +
            (list.empty() ? std::string(" (it has no RepoTags)") : " (RepoTags: " + list + ")"));
      }
    }

    std::map<size_t, RootRef> roots;
    std::vector<SourceImage> images;
    for (const auto& [i, repo_tag] : chosen) {
      auto root = roots.find(i);
      if (root == roots.end()) {
        auto resolved = ResolveItem(items[i]);
        if (!resolved.ok()) {
          return resolved.status().WithContext("archive " + path_ + " image @" + std::to_string(i));
        }
        root = roots.emplace(i, std::move(resolved).value()).first;
      }
      SourceImage image{.display = transport_ + ":" + path_ + ":" +
                                   (repo_tag.empty() ? "@" + std::to_string(i) : repo_tag),
                        .repository = "",
                        .tag = "",
                        .digest = root->second.digest,
                        .media_type = root->second.media_type};
      if (!repo_tag.empty()) {
        SLUICE_ASSIGN_OR_RETURN(DockerName name, NormalizeDockerName(repo_tag));
        image.repository = name.path;
        image.tag = name.tag;
      }
      images.push_back(std::move(image));
    }
    return images;
  }

 private:
  Result<std::vector<DockerItem>> ReadItems() {
    std::string where = "archive " + path_ + ": " + std::string(kDockerManifestFile);
    auto text = index_->ReadSmall(kDockerManifestFile, kMaxDockerManifestFileSize);
    if (!text.ok()) {
      if (text.status().IsNotFound()) {
        return Status::NotFound(path_ + " is not a docker archive (no " +
                                std::string(kDockerManifestFile) + " in it)");
      }
      return text.status();
    }
    SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc, io::ParseJson(*text, where));
    SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> entries, doc.root().Elements());
    // RepoTags is null for an untagged image; Layers too in some writers.
    auto strings = [](const io::JsonField& entry, const char* key,
                      std::vector<std::string>* out) -> Status {
      SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> list, entry.OptionalArray(key));
      if (!list) return Status::Ok();
      SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> elements, list->Elements());
      for (const io::JsonField& e : elements) {
        SLUICE_ASSIGN_OR_RETURN(std::string s, e.AsString());
        out->push_back(std::move(s));
      }
      return Status::Ok();
    };
    std::vector<DockerItem> items;
    for (const io::JsonField& entry : entries) {
      DockerItem item;
      SLUICE_ASSIGN_OR_RETURN(item.config, entry.String("Config"));
      SLUICE_RETURN_IF_ERROR(strings(entry, "RepoTags", &item.repo_tags));
      SLUICE_RETURN_IF_ERROR(strings(entry, "Layers", &item.layers));
      items.push_back(std::move(item));
    }
    return items;
  }

  // The root manifest of one manifest.json image: the archive's own OCI
  // manifest for it when there is one, else a generated one.
  Result<RootRef> ResolveItem(const DockerItem& item) {
    if (HasOciLayout()) {
      SLUICE_ASSIGN_OR_RETURN(std::optional<RootRef> stored, FindOciManifest(item));
      if (stored) return *stored;
    }
    return GenerateManifest(item);
  }

  // Docker 25+ names configs blobs/sha256/<hex> and lists each image's
  // manifest in index.json: match them through the config digest.
  Result<std::optional<RootRef>> FindOciManifest(const DockerItem& item) {
    std::string config = CleanTarPath(item.config);
    if (!config.starts_with("blobs/sha256/")) return std::optional<RootRef>();
    if (!by_config_) {
      by_config_.emplace();
      SLUICE_ASSIGN_OR_RETURN(std::vector<oci::IndexEntry> entries, ReadOciIndex());
      for (const oci::IndexEntry& entry : entries) {
        const std::string& type = entry.media_type;
        if (!oci::IsImageManifestMediaType(type)) continue;
        auto bytes = FetchManifest("", entry.digest);
        if (!bytes.ok()) continue;  // not stored: fall back to generating
        auto manifest = oci::ParseManifest(bytes->bytes, type);
        if (!manifest.ok() || !manifest->config) continue;
        by_config_->emplace(BlobEntryName(manifest->config->digest), RootRef{entry.digest, type});
      }
    }
    auto it = by_config_->find(config);
    if (it == by_config_->end()) return std::optional<RootRef>();
    return std::optional<RootRef>(it->second);
  }

  // The manifest containers/image generates for a docker-archive image (see
  // docker/internal/tarfile/src.go there), with the same fields in the same
  // order and no whitespace, so that the bytes and the digest are the same.
  // This is the one place sluice writes a manifest: it never existed as bytes
  // anywhere, so there are no original bytes to keep.
  Result<RootRef> GenerateManifest(const DockerItem& item) {
    SLUICE_ASSIGN_OR_RETURN(const TarEntry* config_entry, index_->Resolve(item.config));
    SLUICE_ASSIGN_OR_RETURN(std::string config_bytes,
                            index_->ReadSmall(config_entry->name, kMaxConfigSize));
    format::Digest config_digest = format::Sha256::Of(config_bytes);
    std::string at = "config '" + item.config + "'";
    SLUICE_ASSIGN_OR_RETURN(io::JsonDocument config, io::ParseJson(config_bytes, at));
    SLUICE_RETURN_IF_ERROR(config.root().ExpectObject());
    SLUICE_ASSIGN_OR_RETURN(io::JsonField rootfs, config.root().Object("rootfs"));
    SLUICE_ASSIGN_OR_RETURN(io::JsonField diff_id_list, rootfs.Array("diff_ids"));
    SLUICE_ASSIGN_OR_RETURN(std::vector<io::JsonField> diff_ids, diff_id_list.Elements());
    if (diff_ids.size() != item.layers.size()) {
      return Status::Corruption("manifest.json lists " + std::to_string(item.layers.size()) +
                                " layers but " + at + " has " + std::to_string(diff_ids.size()) +
                                " diff_ids");
    }

    ordered_json layers = ordered_json::array();
    std::map<format::Digest, std::pair<std::string, uint64_t>> known;  // diff_id -> (entry, size)
    std::map<std::string, format::Digest> diff_id_of_path;
    for (size_t i = 0; i < diff_ids.size(); ++i) {
      SLUICE_ASSIGN_OR_RETURN(format::Digest diff_id, DigestValue(diff_ids[i]));
      auto seen = known.find(diff_id);
      if (seen == known.end()) {
        // The same diff_id twice is the same layer (docker save links the
        // second to the first); one path for two diff_ids cannot be right.
        std::string path = CleanTarPath(item.layers[i]);
        auto [other, added] = diff_id_of_path.emplace(path, diff_id);
        if (!added && other->second != diff_id) {
          return Status::Corruption("layer '" + item.layers[i] + "' is listed for two diff_ids");
        }
        SLUICE_ASSIGN_OR_RETURN(const TarEntry* layer, index_->Resolve(path));
        if (IsCompressed(layer->head)) {
          return Status::Unsupported("layer '" + item.layers[i] + "' of archive " + path_ +
                                     " is compressed; sluice reads the uncompressed layers "
                                     "that docker save and skopeo write");
        }
        seen = known.emplace(diff_id, std::make_pair(layer->name, layer->size)).first;
      }
      layers.push_back(ordered_json{{"mediaType", kDockerLayerType},
                                    {"size", seen->second.second},
                                    {"digest", diff_id.str()}});
    }

    ordered_json manifest{{"schemaVersion", 2},
                          {"mediaType", oci::kDockerManifest},
                          {"config", ordered_json{{"mediaType", kDockerConfigType},
                                                  {"size", config_bytes.size()},
                                                  {"digest", config_digest.str()}}},
                          {"layers", std::move(layers)}};
    std::string bytes = io::DumpJson(manifest);
    format::Digest digest = format::Sha256::Of(bytes);
    entry_of_blob_.emplace(config_digest, config_entry->name);
    for (const auto& [diff_id, entry] : known) entry_of_blob_.emplace(diff_id, entry.first);
    generated_.emplace(digest, std::move(bytes));
    return RootRef{digest, std::string(oci::kDockerManifest)};
  }

  static bool IsCompressed(std::string_view head) {
    return head.starts_with("\x1f\x8b") || head.starts_with("\x28\xb5\x2f\xfd") ||
           head.starts_with(std::string_view("\xfd"
                                             "7zXZ\0",
                                             6)) ||
           (head.size() >= 10 && head.starts_with("BZh") && head[3] >= '1' && head[3] <= '9' &&
            head.substr(4, 6) == "1AY&SY");
  }

  std::string selector_;
  std::optional<std::map<std::string, RootRef>> by_config_;  // config entry name -> manifest
};

}  // namespace

std::unique_ptr<ImageSource> NewOciArchiveSource(io::FileSystem* fs, std::string path,
                                                 std::string tag) {
  return std::make_unique<OciArchiveSource>(fs, std::move(path), std::move(tag));
}

std::unique_ptr<ImageSource> NewDockerArchiveSource(io::FileSystem* fs, std::string path,
                                                    std::string selector) {
  return std::make_unique<DockerArchiveSource>(fs, std::move(path), std::move(selector));
}

}  // namespace sluice
