#include "bundle_estimate.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "format/bundle_size.h"
#include "format/bundle_writer.h"
#include "format/frame_encoder.h"
#include "oci/media_types.h"
#include "transfer/parallel_for.h"

namespace sluice {
namespace {

// What reading a blob's sample found.
struct Sample {
  bool compressed = false;  // starts with a compressed format's magic: stored as it is
  // The payloads of its first frames, those wholly sampled (a frame is
  // wholly sampled when it is full, or the blob's last).
  std::vector<uint64_t> frame_payloads;
  uint64_t raw = 0;     // bytes sampled
  uint64_t stored = 0;  // their payloads once compressed as the writer would
};

// Encoders to lend to the sampling threads: a zstd context is not
// thread-safe, and making one per blob costs more than compressing a config.
class EncoderShelf {
 public:
  explicit EncoderShelf(int level) : level_(level) {}
  std::unique_ptr<format::FrameEncoder> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    if (spare_.empty()) return std::make_unique<format::FrameEncoder>(level_);
    auto encoder = std::move(spare_.back());
    spare_.pop_back();
    return encoder;
  }
  void Return(std::unique_ptr<format::FrameEncoder> encoder) {
    std::lock_guard<std::mutex> lock(mu_);
    spare_.push_back(std::move(encoder));
  }

 private:
  int level_;
  std::mutex mu_;
  std::vector<std::unique_ptr<format::FrameEncoder>> spare_;
};

// Reads the first `length` bytes of `blob` from its source into `out`.
Status ReadHead(const BlobOrigin& origin, const format::BlobEntry& blob, uint64_t length,
                std::vector<uint8_t>* out) {
  SLUICE_ASSIGN_OR_RETURN(auto reader,
                          origin.source->OpenBlob(origin.repository, blob.digest, blob.size));
  out->resize(length);
  uint64_t have = 0;
  while (have < length) {
    SLUICE_ASSIGN_OR_RETURN(size_t n,
                            reader->Read(io::MutableBytes(out->data() + have, length - have)));
    if (n == 0) {
      return Status::Corruption("the source has " + std::to_string(have) +
                                " bytes, fewer than the declared " + std::to_string(blob.size));
    }
    have += n;
  }
  return Status::Ok();
}

// Compresses `head` (the first bytes of `blob`) frame by frame as the
// bundle writer would.
Status CompressSample(const std::vector<uint8_t>& head, const format::BlobEntry& blob,
                      uint32_t frame_size, format::FrameEncoder* encoder, Sample* sample) {
  if (format::ChooseCompression(head) == format::Compression::kNone) {
    sample->compressed = true;
    return Status::Ok();
  }
  format::EncodedFrame frame;
  for (size_t at = 0; at < head.size(); at += frame_size) {
    const size_t n = std::min<size_t>(frame_size, head.size() - at);
    frame.raw.assign(head.begin() + static_cast<ptrdiff_t>(at),
                     head.begin() + static_cast<ptrdiff_t>(at + n));
    encoder->Encode(&frame);
    SLUICE_RETURN_IF_ERROR(frame.status);
    sample->raw += n;
    sample->stored += frame.payload.size();
    if (n == frame_size || at + n == blob.size)
      sample->frame_payloads.push_back(frame.payload.size());
  }
  return Status::Ok();
}

// A frame's payload at `stored` / `raw` of its bytes, never more than them
// (the writer stores a frame that does not shrink as it is).
uint64_t AtRatio(uint64_t frame_raw, uint64_t stored, uint64_t raw) {
  if (raw == 0 || stored >= raw) return frame_raw;
  // Rounded up. No overflow: a frame is at most 2^24 bytes
  // (format::kMaxFrameRawSize), and stored < raw <= kMaxSampleBytes (2^26).
  static_assert(format::kMaxFrameRawSize <= (1u << 24) && kMaxSampleBytes <= (1u << 26));
  return (frame_raw * stored + raw - 1) / raw;
}

}  // namespace

Result<BundleEstimate> EstimateBundle(const ExportPlan& plan,
                                      const BundleEstimateOptions& options) {
  const std::vector<format::BlobEntry>& blobs = plan.catalog.blobs;
  const uint32_t frame_size = options.frame_size;
  if (frame_size == 0 || frame_size > format::kMaxFrameRawSize) {
    return Status::InvalidArgument("frame size " + std::to_string(frame_size) +
                                   " is not between 1 and " +
                                   std::to_string(format::kMaxFrameRawSize));
  }
  enum class Kind { kNotShipped, kAsIs, kSampled, kExtrapolated };
  std::vector<Kind> kinds(blobs.size(), Kind::kNotShipped);
  std::vector<uint64_t> sample_length(blobs.size(), 0);
  std::vector<size_t> to_sample;
  uint64_t budget = kMaxSampleBytes;
  size_t threads = std::max<size_t>(options.blobs_in_flight, 1);
  for (size_t i = 0; i < blobs.size(); ++i) {
    const format::BlobEntry& blob = blobs[i];
    if (!blob.shipped) continue;
    // A delta is zstd output already, its size exact.
    if (blob.delta || oci::IsCompressedLayerMediaType(blob.media_type)) {
      kinds[i] = Kind::kAsIs;
    } else if (blob.size == 0 || budget > 0) {
      // An empty blob is one empty frame: nothing to read.
      kinds[i] = Kind::kSampled;
      sample_length[i] = std::min({blob.size, kSampleBytesPerBlob, budget});
      budget -= sample_length[i];
      if (sample_length[i] > 0) {
        to_sample.push_back(i);
        threads = std::min(threads, plan.origins[i].source->MaxBlobsInFlight());
      }
    } else {
      kinds[i] = Kind::kExtrapolated;
    }
  }

  // The samples, read several at once, in catalog order (a compressed
  // archive is then read front to back once).
  std::vector<Sample> samples(blobs.size());
  EncoderShelf encoders(options.zstd_level);
  SLUICE_RETURN_IF_ERROR(ForEachInParallel(to_sample, threads, [&](size_t i) -> Status {
    const BlobOrigin& origin = plan.origins[i];
    std::vector<uint8_t> head;
    Status read = ReadHead(origin, blobs[i], sample_length[i], &head);
    if (!read.ok()) {
      return read.WithContext("blob " + blobs[i].digest.str() + " of image " + origin.image);
    }
    std::unique_ptr<format::FrameEncoder> encoder = encoders.Take();
    Status compressed = CompressSample(head, blobs[i], frame_size, encoder.get(), &samples[i]);
    encoders.Return(std::move(encoder));
    return compressed;
  }));

  BundleEstimate estimate;
  estimate.volume_size = options.volume_size;
  uint64_t all_sampled_raw = 0;
  uint64_t all_sampled_stored = 0;
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (kinds[i] == Kind::kSampled && samples[i].compressed) kinds[i] = Kind::kAsIs;
    if (kinds[i] == Kind::kSampled) {
      all_sampled_raw += samples[i].raw;
      all_sampled_stored += samples[i].stored;
    }
  }

  SLUICE_ASSIGN_OR_RETURN(uint64_t prefix, format::VolumePrefixSize(plan.catalog));
  format::BundleSizer expected(prefix, options.volume_size);
  format::BundleSizer largest(prefix, options.volume_size);
  for (size_t i = 0; i < blobs.size(); ++i) {
    const format::BlobEntry& blob = blobs[i];
    if (kinds[i] == Kind::kNotShipped) continue;
    const Sample& sample = samples[i];
    const uint64_t size = blob.carried_size();  // what the frames carry
    estimate.raw_bytes += size;
    switch (kinds[i]) {
      case Kind::kAsIs:
        estimate.as_is_blobs += 1;
        estimate.as_is_bytes += size;
        break;
      case Kind::kSampled:
        estimate.sampled_blobs += 1;
        estimate.sampled_bytes += size;
        estimate.sample_bytes += sample.raw;
        break;
      default:
        estimate.extrapolated_blobs += 1;
        estimate.extrapolated_bytes += size;
        break;
    }
    expected.BeginBlob();
    largest.BeginBlob();
    const uint64_t frames = size == 0 ? 1 : (size - 1) / frame_size + 1;
    for (uint64_t f = 0; f < frames; ++f) {
      const uint64_t raw = std::min<uint64_t>(frame_size, size - f * frame_size);
      uint64_t payload = raw;
      if (kinds[i] == Kind::kSampled) {
        payload = f < sample.frame_payloads.size() ? sample.frame_payloads[f]
                                                   : AtRatio(raw, sample.stored, sample.raw);
      } else if (kinds[i] == Kind::kExtrapolated) {
        payload = AtRatio(raw, all_sampled_stored, all_sampled_raw);
      }
      estimate.stored_bytes += format::kFrameHeaderSize + payload;
      SLUICE_RETURN_IF_ERROR(expected.AddFrame(payload));
      SLUICE_RETURN_IF_ERROR(largest.AddFrame(raw));
    }
  }
  estimate.bundle_bytes = expected.bytes();
  estimate.volumes = expected.volumes();
  estimate.max_bundle_bytes = largest.bytes();
  estimate.max_volumes = largest.volumes();
  return estimate;
}

}  // namespace sluice
