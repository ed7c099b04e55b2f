#include "source/artifact_source.h"

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "format/blob_check.h"
#include "io/atomic_file.h"
#include "io/range_reader.h"
#include "oci/artifact.h"
#include "oci/media_types.h"
#include "source/helm_chart.h"

namespace sluice {
namespace {

using nlohmann::ordered_json;

constexpr size_t kHashBufferSize = 1u << 20;
constexpr size_t kMaxRepositoryComponent = 128;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// A separator run a registry path component allows between alphanumerics.
bool IsAllowedSeparator(std::string_view run) {
  if (run == "." || run == "_" || run == "__") return true;
  return run.find_first_not_of('-') == std::string_view::npos;
}

ordered_json DescriptorJson(std::string_view media_type, const format::Digest& digest,
                            uint64_t size) {
  return ordered_json{{"mediaType", media_type}, {"digest", digest.str()}, {"size", size}};
}

// What both sources share: a file read once for its digest, a manifest and
// config made in memory, and blobs served from those.
class ArtifactSource : public ImageSource {
 public:
  ArtifactSource(io::FileSystem* fs, std::string transport, std::string path)
      : fs_(fs), transport_(std::move(transport)), path_(std::move(path)) {}

  Result<ManifestBytes> FetchManifest(const std::string& /*repository*/,
                                      const format::Digest& digest) override {
    if (digest != manifest_digest_ || manifest_.empty()) {
      return Status::NotFound("manifest " + digest.str() + " is not the one " + transport_ + ":" +
                              path_ + " makes");
    }
    return ManifestBytes{manifest_, std::string(oci::kOciManifest)};
  }

  Result<std::unique_ptr<io::SequentialReader>> OpenBlob(const std::string& /*repository*/,
                                                         const format::Digest& digest,
                                                         uint64_t /*size*/) override {
    if (!config_.empty() && digest == config_digest_) {
      return io::NewBytesReader(std::vector<uint8_t>(config_.begin(), config_.end()),
                                transport_ + ":" + path_ + " (config)");
    }
    if (digest != content_digest_ || content_digest_.empty()) {
      return Status::NotFound("blob " + digest.str() + " is not part of " + transport_ + ":" +
                              path_);
    }
    SLUICE_ASSIGN_OR_RETURN(auto reader, fs_->NewSequentialReader(path_));
    // The file may have changed since ListImages hashed it: what is read
    // now must be what the manifest says.
    return format::NewVerifyingReader(std::move(reader), content_digest_, content_size_,
                                      "file " + path_ + " (" + content_digest_.str() +
                                          " when the export read it first; it changed since)");
  }

  // The file opens independently for each read.
  size_t MaxBlobsInFlight() const override { return SIZE_MAX; }

 protected:
  // Hashes the file, streaming; a path that is no regular file is refused.
  Status HashContent() {
    SLUICE_ASSIGN_OR_RETURN(io::PathKind kind, io::KindOfPath(fs_, path_));
    if (kind == io::PathKind::kMissing) {
      return Status::NotFound(transport_ + ":" + path_ + ": there is no file " + path_);
    }
    if (kind != io::PathKind::kRegular) {
      return Status::InvalidArgument(transport_ + ":" + path_ + ": " + path_ + " is a " +
                                     std::string(io::PathKindName(kind)) + "; give a regular file");
    }
    SLUICE_ASSIGN_OR_RETURN(auto reader, fs_->NewSequentialReader(path_));
    format::Sha256 hasher;
    std::vector<uint8_t> buffer(kHashBufferSize);
    uint64_t size = 0;
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(buffer));
      if (n == 0) break;
      hasher.Update(io::ByteView(buffer.data(), n));
      size += n;
    }
    content_digest_ = hasher.Finish();
    content_size_ = size;
    return Status::Ok();
  }

  // Keeps `manifest` and returns the image it roots.
  SourceImage Publish(std::string manifest, std::string repository, std::string tag,
                      std::string display) {
    manifest_ = std::move(manifest);
    manifest_digest_ = format::Sha256::Of(manifest_);
    return SourceImage{.display = std::move(display),
                       .repository = std::move(repository),
                       .tag = std::move(tag),
                       .digest = manifest_digest_,
                       .media_type = std::string(oci::kOciManifest)};
  }

  io::FileSystem* fs_;
  std::string transport_;  // "helm" or "file"
  std::string path_;
  format::Digest content_digest_;
  uint64_t content_size_ = 0;
  std::string config_;  // "" until ListImages
  format::Digest config_digest_;
  std::string manifest_;
  format::Digest manifest_digest_;
};

class HelmChartSource final : public ArtifactSource {
 public:
  HelmChartSource(io::FileSystem* fs, std::string path)
      : ArtifactSource(fs, "helm", std::move(path)) {}

  Result<std::vector<SourceImage>> ListImages() override {
    SLUICE_RETURN_IF_ERROR(HashContent());
    SLUICE_ASSIGN_OR_RETURN(PackagedChart chart, ReadPackagedChart(fs_, path_));
    const ChartMetadata& meta = chart.metadata;
    config_ = ChartConfigJson(meta);
    config_digest_ = format::Sha256::Of(config_);
    // The fields helm push writes, in the order Go writes an ocispec.Manifest.
    ordered_json annotations = ordered_json::object();
    for (const auto& [key, value] : ChartAnnotations(meta)) annotations[key] = value;
    ordered_json manifest{
        {"schemaVersion", 2},
        {"mediaType", oci::kOciManifest},
        {"config", DescriptorJson(oci::kHelmConfigMediaType, config_digest_, config_.size())},
        {"layers", ordered_json::array({DescriptorJson(oci::kHelmChartLayerMediaType,
                                                       content_digest_, content_size_)})},
        {"annotations", std::move(annotations)}};
    return std::vector<SourceImage>{Publish(GoJsonText(manifest), "charts/" + meta.name,
                                            ChartTag(meta.version), "helm:" + path_)};
  }
};

class FileSource final : public ArtifactSource {
 public:
  FileSource(io::FileSystem* fs, std::string path, std::string tag)
      : ArtifactSource(fs, "file", std::move(path)), tag_(std::move(tag)) {}

  Result<std::vector<SourceImage>> ListImages() override {
    const std::string name = io::Basename(path_);
    if (name.empty() || name == "." || name == "..") {
      return Status::InvalidArgument("file:" + path_ + ": give a file, not a directory");
    }
    SLUICE_RETURN_IF_ERROR(HashContent());
    config_ = std::string(oci::kEmptyConfigBytes);
    config_digest_ = format::Sha256::Of(config_);
    ordered_json title{{oci::kAnnotationTitle, name}};
    ordered_json layer = DescriptorJson(oci::kFileLayerMediaType, content_digest_, content_size_);
    layer["annotations"] = title;
    ordered_json config =
        DescriptorJson(oci::kEmptyConfigMediaType, config_digest_, config_.size());
    config["data"] = "e30=";  // base64 of "{}": the empty descriptor carries its bytes
    ordered_json manifest{{"schemaVersion", 2},
                          {"mediaType", oci::kOciManifest},
                          {"artifactType", oci::kFileArtifactType},
                          {"config", std::move(config)},
                          {"layers", ordered_json::array({std::move(layer)})},
                          {"annotations", std::move(title)}};
    std::string tag = tag_.empty() ? "latest" : tag_;
    std::string display = "file:" + path_ + (tag_.empty() ? "" : ":" + tag_);
    return std::vector<SourceImage>{
        Publish(manifest.dump(-1, ' ', false, ordered_json::error_handler_t::replace),
                FileRepository(name), tag, display)};
  }

 private:
  std::string tag_;
};

}  // namespace

std::unique_ptr<ImageSource> NewHelmChartSource(io::FileSystem* fs, std::string path) {
  return std::make_unique<HelmChartSource>(fs, std::move(path));
}

std::unique_ptr<ImageSource> NewFileSource(io::FileSystem* fs, std::string path, std::string tag) {
  return std::make_unique<FileSource>(fs, std::move(path), std::move(tag));
}

std::string FileRepository(std::string_view base_name) {
  std::string lowered;
  for (char c : base_name) {
    lowered.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  // Alphanumerics as they are; each run of anything else between two of
  // them a separator the grammar takes, or '.' or '-'; runs at either end
  // dropped.
  std::string name;
  size_t i = 0;
  while (i < lowered.size()) {
    if (IsLowerAlnum(lowered[i])) {
      name.push_back(lowered[i++]);
      continue;
    }
    size_t end = i;
    while (end < lowered.size() && !IsLowerAlnum(lowered[end])) ++end;
    if (!name.empty() && end < lowered.size()) {
      std::string_view run = std::string_view(lowered).substr(i, end - i);
      // A run that breaks the grammar keeps a dot it had, so that an
      // extension stays one: "values (prod).yaml" -> "values-prod.yaml".
      if (IsAllowedSeparator(run)) {
        name += run;
      } else {
        name += run.find('.') != std::string_view::npos ? '.' : '-';
      }
    }
    i = end;
  }
  if (name.size() > kMaxRepositoryComponent) {
    name.resize(kMaxRepositoryComponent);
    while (!name.empty() && !IsLowerAlnum(name.back())) name.pop_back();
  }
  return "files/" + (name.empty() ? std::string("file") : name);
}

}  // namespace sluice
