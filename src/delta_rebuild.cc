#include "delta_rebuild.h"

#include <semaphore>
#include <utility>
#include <vector>

#include "delta/gzip_recipe.h"
#include "delta/patch_codec.h"
#include "format/blob_check.h"
#include "io/scratch_dir.h"

namespace sluice {
namespace {

// One rebuild at a time in a process: each holds zstd's window (up to the
// layer's tar) and a decoded base, so two large layers rebuilt at once by
// a sink's parallel writers would hold both. A writer takes the slot when
// it starts and gives it back when it goes, on whatever thread that is.
std::counting_semaphore<1> rebuild_slot(1);

class RebuildSlot {
 public:
  RebuildSlot() { rebuild_slot.acquire(); }
  ~RebuildSlot() { rebuild_slot.release(); }
  RebuildSlot(const RebuildSlot&) = delete;
  RebuildSlot& operator=(const RebuildSlot&) = delete;
};

class DeltaRebuildWriter final : public BlobWriter {
 public:
  DeltaRebuildWriter(std::unique_ptr<RebuildSlot> slot, const format::BlobEntry& blob,
                     std::unique_ptr<BlobWriter> target, io::ScratchDir scratch,
                     delta::DeltaBase base)
      : slot_(std::move(slot)),
        blob_(blob),
        target_(std::move(target)),
        scratch_(std::move(scratch)),
        base_(std::move(base)),
        check_(blob.digest, blob.size, "blob " + blob.digest.str() + " rebuilt from its delta") {}

  Status Init() {
    // The rebuilt blob, checked, then to the sink.
    delta::ByteConsumer to_target = [this](io::ByteView data) {
      SLUICE_RETURN_IF_ERROR(check_.Update(data));
      return target_->Append(data);
    };
    delta::ByteConsumer content = to_target;
    if (blob_.delta->encoding.kind != format::ContentEncoding::Kind::kNone) {
      SLUICE_ASSIGN_OR_RETURN(delta::GzipRecipe recipe,
                              delta::FromContentEncoding(blob_.delta->encoding));
      SLUICE_ASSIGN_OR_RETURN(encoder_, delta::GzipEncoder::Make(recipe, to_target));
      content = [this](io::ByteView data) { return encoder_->Write(data); };
    }
    SLUICE_ASSIGN_OR_RETURN(decoder_,
                            delta::DeltaDecoder::Make(base_, blob_.delta->content_size, content));
    return Status::Ok();
  }

  Status Append(io::ByteView data) override { return Context(decoder_->Write(data)); }

  Status Commit() override {
    SLUICE_RETURN_IF_ERROR(Context(decoder_->Finish()));
    if (encoder_) SLUICE_RETURN_IF_ERROR(Context(encoder_->Finish()));
    Status checked = check_.Finish();
    if (!checked.ok()) {
      return Status::Corruption(checked.message() + " (delta against base " +
                                blob_.delta->base.str() +
                                "): the delta or its recipe is not what the exporter used; "
                                "nothing was written");
    }
    return target_->Commit();
  }

 private:
  Status Context(Status s) const {
    if (s.ok()) return s;
    return s.WithContext("rebuilding blob " + blob_.digest.str() + " from its delta against " +
                         blob_.delta->base.str());
  }

  std::unique_ptr<RebuildSlot> slot_;  // released last, once all below is freed
  const format::BlobEntry& blob_;
  std::unique_ptr<BlobWriter> target_;
  io::ScratchDir scratch_;  // holds the decoded base while the mapping lives
  delta::DeltaBase base_;
  format::BlobCheck check_;
  std::unique_ptr<delta::GzipEncoder> encoder_;
  std::unique_ptr<delta::DeltaDecoder> decoder_;
};

// The base's bytes from the destination, checked, decoded into `path`.
Status SaveBase(io::FileSystem* fs, ImageSink* sink, const std::string& repository,
                const format::BlobEntry& blob, const std::string& path) {
  const format::Digest& base = blob.delta->base;
  auto opened = sink->OpenBlob(repository, base);
  if (!opened.ok()) {
    if (opened.status().kind() == ErrorKind::kNotFound) {
      return Status::NotFound("blob " + blob.digest.str() + " is shipped as a delta against " +
                              base.str() + ", which the destination does not hold in '" +
                              repository +
                              "': import the bundle that shipped it first, or export this "
                              "image again with --no-delta");
    }
    return opened.status().WithContext("reading base " + base.str() + " of delta blob " +
                                       blob.digest.str());
  }
  auto in = format::NewVerifyingReader(std::move(opened).value(), base, std::nullopt,
                                       "base " + base.str() + " at the destination");
  SLUICE_ASSIGN_OR_RETURN(auto out, fs->NewWriter(path));
  delta::ByteConsumer write = [&](io::ByteView data) { return out->Append(data); };
  Status read;
  if (blob.delta->base_decoding == format::BlobDelta::BaseDecoding::kGunzip) {
    read = delta::Gunzip(*in, write);
    if (read.ok()) {
      // Gunzip stops at the gzip end: the verifying reader checks the digest
      // only when asked past the last byte.
      std::vector<uint8_t> rest(1);
      auto n = in->Read(rest);
      read = !n.ok() ? n.status()
                     : (*n != 0 ? Status::Corruption("base " + base.str() +
                                                     " has bytes after its gzip data")
                                : Status::Ok());
    }
  } else {
    read = delta::Pump(*in, write);
  }
  if (!read.ok()) {
    if (read.kind() == ErrorKind::kCorruption) {
      return Status::Corruption("base " + base.str() + " of delta blob " + blob.digest.str() +
                                " is damaged at the destination (" + read.message() +
                                "): import the bundle that shipped it again, which rewrites a "
                                "damaged blob, or export this image again with --no-delta");
    }
    return read;
  }
  return out->Close();
}

}  // namespace

Result<std::unique_ptr<BlobWriter>> StartDeltaRebuild(io::FileSystem* fs, ImageSink* sink,
                                                      const std::string& repository,
                                                      const format::BlobEntry& blob,
                                                      std::unique_ptr<BlobWriter> target,
                                                      const std::string& scratch_parent) {
  auto slot = std::make_unique<RebuildSlot>();
  SLUICE_ASSIGN_OR_RETURN(io::ScratchDir scratch,
                          io::ScratchDir::Create("sluice-rebuild", scratch_parent));
  const std::string base_path = scratch.File("base");
  SLUICE_RETURN_IF_ERROR(SaveBase(fs, sink, repository, blob, base_path));
  SLUICE_ASSIGN_OR_RETURN(delta::DeltaBase base, delta::DeltaBase::MapFile(base_path));
  auto writer = std::make_unique<DeltaRebuildWriter>(std::move(slot), blob, std::move(target),
                                                     std::move(scratch), std::move(base));
  SLUICE_RETURN_IF_ERROR(writer->Init());
  return std::unique_ptr<BlobWriter>(std::move(writer));
}

}  // namespace sluice
