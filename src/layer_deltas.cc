#include "layer_deltas.h"

#include <algorithm>
#include <array>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "delta/gzip_recipe.h"
#include "delta/patch_codec.h"
#include "format/blob_check.h"
#include "format/bundle_format.h"
#include "oci/manifest.h"
#include "transfer/parallel_for.h"

namespace sluice {
namespace {

// How a blob's bytes are compressed, by their first bytes: the media type
// is only a label (a docker-archive's plain tars are labelled ".tar.gzip").
enum class Compression { kGzip, kZstd, kNone };

// A file being written, as the consumer the delta coders feed, hashing and
// counting what passes.
class HashedFile {
 public:
  static Result<HashedFile> Create(io::FileSystem* fs, const std::string& path) {
    SLUICE_ASSIGN_OR_RETURN(auto out, fs->NewWriter(path));
    return HashedFile(std::move(out));
  }
  Status Append(io::ByteView data) {
    hash_->Update(data);
    bytes_ += data.size();
    return out_->Append(data);
  }
  delta::ByteConsumer Consumer() {
    return [this](io::ByteView data) { return Append(data); };
  }
  // Closes the file (no fsync: scratch) and returns the sha256 of its bytes.
  Result<format::Digest> Close() {
    SLUICE_RETURN_IF_ERROR(out_->Close());
    return hash_->Finish();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  explicit HashedFile(std::unique_ptr<io::SequentialWriter> out)
      : out_(std::move(out)), hash_(std::make_unique<format::Sha256>()) {}

  std::unique_ptr<io::SequentialWriter> out_;
  std::unique_ptr<format::Sha256> hash_;
  uint64_t bytes_ = 0;
};

// A source's blob, checked against its digest and size as it is read
// (the check fails the read at its end), named for messages as the report
// shows it ("layer sha256:..."), and with its first bytes looked at first
// to tell how it is compressed.
class SourceBlob final : public io::SequentialReader {
 public:
  static Result<std::unique_ptr<SourceBlob>> Open(const BlobOrigin& origin,
                                                  const format::Digest& digest, uint64_t size,
                                                  std::string name) {
    SLUICE_ASSIGN_OR_RETURN(auto raw, origin.source->OpenBlob(origin.repository, digest, size));
    std::unique_ptr<SourceBlob> blob(new SourceBlob(
        format::NewVerifyingReader(std::move(raw), digest, size), std::move(name)));
    while (blob->head_size_ < blob->head_.size()) {
      SLUICE_ASSIGN_OR_RETURN(size_t n,
                              blob->inner_->Read(io::MutableBytes(blob->head_).subspan(blob->head_size_)));
      if (n == 0) break;
      blob->head_size_ += n;
    }
    return blob;
  }

  Compression compression() const {
    if (head_size_ >= 2 && head_[0] == 0x1f && head_[1] == 0x8b) return Compression::kGzip;
    if (head_size_ == 4 && head_ == std::array<uint8_t, 4>{0x28, 0xb5, 0x2f, 0xfd}) {
      return Compression::kZstd;
    }
    return Compression::kNone;
  }

  Result<size_t> Read(io::MutableBytes buf) override {
    if (head_read_ < head_size_) {
      const size_t n = std::min(buf.size(), head_size_ - head_read_);
      std::copy_n(head_.begin() + static_cast<ptrdiff_t>(head_read_), n, buf.begin());
      head_read_ += n;
      return n;
    }
    return inner_->Read(buf);
  }
  const std::string& name() const override { return name_; }

 private:
  SourceBlob(std::unique_ptr<io::SequentialReader> inner, std::string name)
      : inner_(std::move(inner)), name_(std::move(name)) {}

  std::unique_ptr<io::SequentialReader> inner_;
  std::string name_;
  std::array<uint8_t, 4> head_{};
  size_t head_size_ = 0;
  size_t head_read_ = 0;
};

// Feeds the file at `path` to `consumer`, a chunk at a time.
Status FeedFile(io::FileSystem* fs, const std::string& path, const delta::ByteConsumer& consumer) {
  SLUICE_ASSIGN_OR_RETURN(auto in, fs->NewSequentialReader(path));
  return delta::Pump(*in, consumer);
}

bool SamePlatform(const std::optional<oci::Platform>& a, const std::optional<oci::Platform>& b) {
  if (!a || !b) return !a && !b;
  return a->os == b->os && a->architecture == b->architecture && a->variant == b->variant;
}

// One layer that has a previous version: what the search found.
struct Candidate {
  size_t blob_index = 0;
  size_t position = 0;  // in its image's layer list
  std::optional<oci::Descriptor> base;
  std::string image;
};

// Finds, for the plan's shipped layers, the layer at the same position in
// the previous version of their image.
class BaseSearch {
 public:
  BaseSearch(const ExportPlan& plan, const Ledger& ledger) : plan_(plan), ledger_(ledger) {
    for (size_t i = 0; i < plan.catalog.blobs.size(); ++i) blobs_[plan.catalog.blobs[i].digest.str()] = i;
    for (const format::ManifestEntry& m : plan.catalog.manifests) {
      if (!m.absent) manifests_[m.digest.str()] = &m;
    }
  }

  // Candidates in catalog order of the images; a layer is listed once.
  std::vector<Candidate> Run(std::vector<LayerDelta>* refused) {
    std::vector<Candidate> found;
    std::unordered_set<size_t> seen;
    for (const format::RefEntry& ref : plan_.catalog.refs) {
      if (ref.tag.empty()) continue;  // pinned: no earlier version by name
      std::optional<format::Digest> previous = PreviousVersion(ref);
      if (!previous) continue;
      const std::string image = ref.source.empty() ? ref.repository + ":" + ref.tag : ref.source;
      auto pairs = Pair(ref.manifest, *previous);
      if (!pairs.ok()) {
        const std::string why = "the previous version " + previous->str() +
                                " could not be read: " + pairs.status().message();
        for (size_t index : ShippedLayersOf(ref.manifest)) {
          if (seen.insert(index).second) refused->push_back(Refusal(index, image, why));
        }
        continue;
      }
      for (const auto& [now, before] : *pairs) {
        for (size_t i = 0; i < now.layers.size(); ++i) {
          auto at = blobs_.find(now.layers[i].digest.str());
          if (at == blobs_.end() || !plan_.catalog.blobs[at->second].shipped) continue;
          if (!seen.insert(at->second).second) continue;
          Candidate c{at->second, i, std::nullopt, image};
          if (i < before.layers.size()) c.base = before.layers[i];
          found.push_back(std::move(c));
        }
      }
    }
    return found;
  }

 private:
  // The digest the last bundle carrying ref's name carried under it, when
  // it was another one.
  std::optional<format::Digest> PreviousVersion(const format::RefEntry& ref) const {
    const auto& bundles = ledger_.bundles();
    for (auto it = bundles.rbegin(); it != bundles.rend(); ++it) {
      if (!it->images) continue;
      for (const Ledger::BundleImage& image : *it->images) {
        if (image.repository != ref.repository || image.tag != ref.tag) continue;
        if (image.digest == ref.manifest) return std::nullopt;
        return image.digest;
      }
    }
    return std::nullopt;
  }

  // The source holding an image of the plan: the origin of any of its layers.
  const BlobOrigin* OriginOf(const oci::Manifest& manifest) const {
    for (const oci::Descriptor& layer : manifest.layers) {
      auto at = blobs_.find(layer.digest.str());
      if (at != blobs_.end()) return &plan_.origins[at->second];
    }
    return nullptr;
  }

  Result<oci::Manifest> Parse(const format::ManifestEntry& entry) const {
    return oci::ParseManifest(entry.bytes, entry.media_type);
  }

  // The source checks the bytes against the digest (ImageSource::FetchManifest).
  Result<oci::Manifest> FetchOld(const BlobOrigin& origin, const format::Digest& digest) const {
    SLUICE_ASSIGN_OR_RETURN(ManifestBytes got, origin.source->FetchManifest(origin.repository, digest));
    return oci::ParseManifest(got.bytes, got.media_type);
  }

  // The image manifests of the new version paired with the old version's:
  // the roots, or each index child with the old child of its platform.
  Result<std::vector<std::pair<oci::Manifest, oci::Manifest>>> Pair(
      const format::Digest& now_digest, const format::Digest& before_digest) const {
    std::vector<std::pair<oci::Manifest, oci::Manifest>> pairs;
    auto now_entry = manifests_.find(now_digest.str());
    if (now_entry == manifests_.end()) return pairs;
    SLUICE_ASSIGN_OR_RETURN(oci::Manifest now, Parse(*now_entry->second));
    if (now.kind == oci::ManifestKind::kImage) {
      const BlobOrigin* origin = OriginOf(now);
      if (origin == nullptr) return pairs;
      SLUICE_ASSIGN_OR_RETURN(oci::Manifest before, FetchOld(*origin, before_digest));
      if (before.kind == oci::ManifestKind::kImage) pairs.emplace_back(std::move(now), std::move(before));
      return pairs;
    }
    std::optional<oci::Manifest> before_index;
    for (const oci::Descriptor& child : now.manifests) {
      auto entry = manifests_.find(child.digest.str());
      if (entry == manifests_.end()) continue;  // absent: a platform not exported
      SLUICE_ASSIGN_OR_RETURN(oci::Manifest child_now, Parse(*entry->second));
      if (child_now.kind != oci::ManifestKind::kImage) continue;
      const BlobOrigin* origin = OriginOf(child_now);
      if (origin == nullptr) continue;
      if (!before_index) {
        SLUICE_ASSIGN_OR_RETURN(before_index, FetchOld(*origin, before_digest));
        if (before_index->kind != oci::ManifestKind::kIndex) return pairs;
      }
      for (const oci::Descriptor& old_child : before_index->manifests) {
        if (!SamePlatform(old_child.platform, child.platform)) continue;
        SLUICE_ASSIGN_OR_RETURN(oci::Manifest child_before, FetchOld(*origin, old_child.digest));
        if (child_before.kind == oci::ManifestKind::kImage) {
          pairs.emplace_back(std::move(child_now), std::move(child_before));
        }
        break;
      }
    }
    return pairs;
  }

  // The catalog indexes of the shipped layers of the image `root` (an
  // image manifest, or an index's carried children).
  std::vector<size_t> ShippedLayersOf(const format::Digest& root) const {
    std::vector<size_t> layers;
    std::vector<format::Digest> manifests{root};
    for (size_t m = 0; m < manifests.size(); ++m) {
      auto entry = manifests_.find(manifests[m].str());
      if (entry == manifests_.end()) continue;
      auto parsed = Parse(*entry->second);
      if (!parsed.ok()) continue;
      for (const oci::Descriptor& child : parsed->manifests) manifests.push_back(child.digest);
      for (const oci::Descriptor& layer : parsed->layers) {
        auto at = blobs_.find(layer.digest.str());
        if (at != blobs_.end() && plan_.catalog.blobs[at->second].shipped) {
          layers.push_back(at->second);
        }
      }
    }
    return layers;
  }

  LayerDelta Refusal(size_t blob_index, const std::string& image, std::string why) const {
    const format::BlobEntry& blob = plan_.catalog.blobs[blob_index];
    LayerDelta d;
    d.blob_index = blob_index;
    d.layer = blob.digest;
    d.layer_bytes = blob.size;
    d.image = image;
    d.why_not = std::move(why);
    return d;
  }

  const ExportPlan& plan_;
  const Ledger& ledger_;
  std::unordered_map<std::string, size_t> blobs_;
  std::unordered_map<std::string, const format::ManifestEntry*> manifests_;
};

// Makes the delta of one candidate, or says why not (`why_not`). Errors
// only for what must stop the export: no room for scratch files.
class DeltaMaker {
 public:
  DeltaMaker(io::FileSystem* fs, const io::ScratchDir& scratch, ExportPlan* plan,
             double max_ratio)
      : fs_(fs), scratch_(scratch), plan_(plan), max_ratio_(max_ratio) {}

  Status Make(LayerDelta* d) {
    Status made = TryMake(d);
    Cleanup(*d);
    if (made.ok()) return made;
    if (made.kind() == ErrorKind::kNoSpace) return made;
    d->delta = false;
    if (d->why_not.empty()) d->why_not = made.message();
    (void)fs_->Remove(scratch_.File(DeltaFileName(d->layer)));
    return Status::Ok();
  }

 private:
  // A scratch file of the layer `d` is about: layers are made side by side.
  std::string Path(const LayerDelta& d, const char* name) const {
    return scratch_.File(d.layer.str().substr(7, 16) + "-" + name);
  }

  void Cleanup(const LayerDelta& d) {
    for (const char* name : {"base.tar", "layer.tar"}) {
      (void)fs_->Remove(Path(d, name));
    }
  }

  Status TryMake(LayerDelta* d) {
    format::BlobEntry& blob = plan_->catalog.blobs[d->blob_index];
    const BlobOrigin& origin = plan_->origins[d->blob_index];
    // The base, read from the source as the far side holds it, decoded
    // into a scratch file on the way.
    format::BlobDelta delta;
    delta.base = d->base;
    SLUICE_ASSIGN_OR_RETURN(auto base_in,
                            SourceBlob::Open(origin, d->base, d->base_bytes, "base " + d->base.str()));
    if (base_in->compression() == Compression::kZstd) {
      return Refuse(d, "its base is zstd-compressed");
    }
    const std::string base_tar = Path(*d, "base.tar");
    {
      SLUICE_ASSIGN_OR_RETURN(HashedFile tar, HashedFile::Create(fs_, base_tar));
      if (base_in->compression() == Compression::kGzip) {
        delta.base_decoding = format::BlobDelta::BaseDecoding::kGunzip;
        SLUICE_RETURN_IF_ERROR(delta::Gunzip(*base_in, tar.Consumer()));
      } else {
        SLUICE_RETURN_IF_ERROR(delta::Pump(*base_in, tar.Consumer()));
      }
      SLUICE_RETURN_IF_ERROR(tar.Close().status());
    }

    // The layer: its tar, and the recipe that makes the layer of it again,
    // found in the one read of the layer.
    SLUICE_ASSIGN_OR_RETURN(
        auto layer_in, SourceBlob::Open(origin, blob.digest, blob.size, "layer " + blob.digest.str()));
    if (layer_in->compression() == Compression::kZstd) {
      return Refuse(d, "zstd-compressed: no recipe reproduces zstd's output yet");
    }
    const std::string layer_tar = Path(*d, "layer.tar");
    SLUICE_ASSIGN_OR_RETURN(HashedFile tar, HashedFile::Create(fs_, layer_tar));
    if (layer_in->compression() == Compression::kGzip) {
      auto recipe = delta::FindGzipRecipe(*layer_in, tar.Consumer());
      if (!recipe.ok()) {
        if (recipe.status().kind() == ErrorKind::kNoSpace) return recipe.status();
        return Refuse(d, recipe.status().message());
      }
      delta.encoding = delta::ToContentEncoding(*recipe);
      d->encoding = delta::DescribeRecipe(*recipe);
    } else {
      SLUICE_RETURN_IF_ERROR(delta::Pump(*layer_in, tar.Consumer()));
      d->encoding = "none (an uncompressed tar)";
    }
    SLUICE_ASSIGN_OR_RETURN(const format::Digest content_digest, tar.Close());
    delta.content_size = tar.bytes();

    // The delta, then decoded again: only a delta that gives back the tar
    // is shipped.
    SLUICE_ASSIGN_OR_RETURN(delta::DeltaBase base, delta::DeltaBase::MapFile(base_tar));
    const std::string delta_path = scratch_.File(DeltaFileName(blob.digest));
    SLUICE_ASSIGN_OR_RETURN(HashedFile out, HashedFile::Create(fs_, delta_path));
    auto encoder = delta::DeltaEncoder::Make(base, delta.content_size, {}, out.Consumer());
    if (!encoder.ok()) return Refuse(d, encoder.status().message());
    SLUICE_RETURN_IF_ERROR(FeedFile(fs_, layer_tar, [&](io::ByteView data) {
      return (*encoder)->Write(data);
    }));
    SLUICE_RETURN_IF_ERROR((*encoder)->Finish());
    SLUICE_ASSIGN_OR_RETURN(delta.digest, out.Close());
    delta.size = out.bytes();
    d->delta_bytes = delta.size;
    if (static_cast<double>(delta.size) >= max_ratio_ * static_cast<double>(blob.size)) {
      return Refuse(d, "its delta (" + std::to_string(delta.size) + " bytes) saves too little");
    }
    format::Sha256 decoded_hash;
    SLUICE_ASSIGN_OR_RETURN(auto decoder,
                            delta::DeltaDecoder::Make(base, delta.content_size, [&](io::ByteView b) {
                              decoded_hash.Update(b);
                              return Status::Ok();
                            }));
    SLUICE_RETURN_IF_ERROR(FeedFile(fs_, delta_path, [&](io::ByteView data) {
      return decoder->Write(data);
    }));
    SLUICE_RETURN_IF_ERROR(decoder->Finish());
    if (decoded_hash.Finish() != content_digest) {
      return Refuse(d, "its delta did not decode to the layer's tar again");
    }
    blob.delta = std::move(delta);
    d->delta = true;
    return Status::Ok();
  }

  static Status Refuse(LayerDelta* d, std::string why) {
    d->why_not = std::move(why);
    return Status::Unsupported(d->why_not);
  }

 private:
  io::FileSystem* fs_;
  const io::ScratchDir& scratch_;
  ExportPlan* plan_;
  double max_ratio_;
};

}  // namespace

std::string DeltaFileName(const format::Digest& digest) {
  return "delta-" + digest.str().substr(7);
}

Result<std::unique_ptr<LayerDeltas>> LayerDeltas::Make(io::FileSystem* fs, ExportPlan* plan,
                                                       const Ledger& ledger,
                                                       const LayerDeltaOptions& options,
                                                       ProgressCounter* progress) {
  std::unique_ptr<LayerDeltas> deltas(new LayerDeltas(fs));
  deltas->catalog_ = &plan->catalog;

  BaseSearch search(*plan, ledger);
  std::vector<Candidate> candidates = search.Run(&deltas->layers_);
  std::vector<LayerDelta> todo;
  uint64_t todo_bytes = 0;
  for (const Candidate& c : candidates) {
    const format::BlobEntry& blob = plan->catalog.blobs[c.blob_index];
    LayerDelta d;
    d.blob_index = c.blob_index;
    d.layer = blob.digest;
    d.image = c.image;
    d.layer_bytes = blob.size;
    if (!c.base) {
      d.why_not = "the previous version has no layer " + std::to_string(c.position + 1);
    } else {
      d.base = c.base->digest;
      d.base_bytes = c.base->size;
      std::optional<Ledger::BlobRecord> record = ledger.Record(c.base->digest);
      if (!record || !FarSideHolds(*record, ledger.sequence(), options.plan)) {
        d.why_not = "the far side does not hold its previous version " + c.base->digest.str();
      } else if (blob.size < options.min_layer_size) {
        d.why_not = "smaller than " + std::to_string(options.min_layer_size) + " bytes";
      } else {
        todo.push_back(d);
        todo_bytes += blob.size;
        continue;
      }
    }
    deltas->layers_.push_back(std::move(d));
  }

  if (todo.empty()) return deltas;
  SLUICE_ASSIGN_OR_RETURN(deltas->scratch_,
                          io::ScratchDir::Create("sluice-delta", options.scratch_parent));
  if (progress != nullptr) {
    progress->BeginPhase("making deltas", "layers", todo.size(), todo_bytes);
  }
  // Two layers at once, each on its own core: the recipe search and the
  // delta of one layer run on one thread. Each holds zstd's window of its
  // tar, so no more than two.
  DeltaMaker maker(fs, *deltas->scratch_, plan, options.max_delta_ratio);
  std::vector<size_t> items(todo.size());
  size_t threads = std::min<size_t>(2, std::max<size_t>(1, std::thread::hardware_concurrency()));
  for (size_t i = 0; i < todo.size(); ++i) {
    items[i] = i;
    threads = std::min(threads, plan->origins[todo[i].blob_index].source->MaxBlobsInFlight());
  }
  Status made = ForEachInParallel(items, threads, [&](size_t i) -> Status {
    LayerDelta& d = todo[i];
    SLUICE_RETURN_IF_ERROR(maker.Make(&d));
    if (progress != nullptr) {
      progress->AddBytes(d.layer_bytes);
      progress->AddItem();
    }
    return Status::Ok();
  });
  SLUICE_RETURN_IF_ERROR(made);
  for (LayerDelta& d : todo) deltas->layers_.push_back(std::move(d));
  if (progress != nullptr) progress->EndPhase();
  return deltas;
}

Result<std::unique_ptr<io::SequentialReader>> LayerDeltas::OpenDelta(size_t blob_index) const {
  const format::BlobEntry& blob = catalog_->blobs[blob_index];
  if (!blob.delta) {
    return Status::InvalidArgument("blob " + blob.digest.str() + " is not shipped as a delta");
  }
  SLUICE_ASSIGN_OR_RETURN(auto in,
                          fs_->NewSequentialReader(scratch_->File(DeltaFileName(blob.digest))));
  return format::NewVerifyingReader(std::move(in), blob.delta->digest, blob.delta->size,
                                    "the delta of blob " + blob.digest.str());
}

}  // namespace sluice
