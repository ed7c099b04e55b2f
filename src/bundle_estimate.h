// How large the bundle of an ExportPlan will be, and on how many volumes,
// worked out before anything is written (`sluice plan`, `export
// --dry-run`), reading no blob whole.
//
// Every shipped blob is stored in frames of the frame size, each compressed
// with zstd unless the blob is compressed already (format::ChooseCompression),
// a frame that does not shrink stored as it is. The estimate takes each
// shipped blob as one of:
//   as is       a layer whose media type says gzip or zstd
//               (oci::IsCompressedLayerMediaType), not read at all; or one
//               whose first bytes, read for a sample, are the magic of a
//               compressed format: stored as it is, as the writer will.
//               A label that lies the other way (docker-archive's plain
//               tars, labelled ".tar.gzip") makes the bundle smaller than
//               the estimate, never larger.
//   sampled     its first kSampleBytesPerBlob bytes (all of a smaller
//               blob) are read and compressed frame by frame as the writer
//               would, at its level: those frames count as compressed, the
//               rest of the blob at the sample's ratio.
//   extrapolated  once kMaxSampleBytes were read in all, the blobs left at
//               the ratio of every sample together (as they are, when
//               nothing was sampled).
// A blob's head may compress better or worse than its tail, so the
// estimate can err either way; max_bundle_bytes cannot: it is the bundle
// with no frame compressed, which the writer never exceeds.
//
// The sizes then go through the writer's own arithmetic
// (format::BundleSizer): header, catalog and signature repeated in every
// volume, frame headers, trailers, footers, and volumes cut between frames.
#pragma once

#include <cstdint>

#include "plan.h"
#include "transfer/limits.h"

namespace sluice {

inline constexpr uint64_t kSampleBytesPerBlob = 1u << 20;
inline constexpr uint64_t kMaxSampleBytes = 64u << 20;

struct BundleEstimateOptions {
  uint32_t frame_size = 1u << 20;  // as format::BundleWriterOptions
  int zstd_level = 2;
  uint64_t volume_size = 0;  // 0: one file
  // Samples read at once, capped by each source's MaxBlobsInFlight().
  size_t blobs_in_flight = kDefaultBlobsInFlight;
};

struct BundleEstimate {
  uint64_t raw_bytes = 0;         // the shipped blobs, before compression
  uint64_t stored_bytes = 0;      // the same as stored (estimated), frame headers included
  uint64_t bundle_bytes = 0;      // the whole bundle, every volume together (estimated)
  uint64_t max_bundle_bytes = 0;  // with no frame compressed: never exceeded
  uint64_t volume_size = 0;       // as asked; 0: one file
  uint64_t volumes = 1;           // of volume_size, for bundle_bytes
  uint64_t max_volumes = 1;       // of volume_size, for max_bundle_bytes
  // The shipped blobs by how their stored size was found (see above).
  uint64_t as_is_blobs = 0;
  uint64_t as_is_bytes = 0;
  uint64_t sampled_blobs = 0;
  uint64_t sampled_bytes = 0;  // their whole raw size
  uint64_t extrapolated_blobs = 0;
  uint64_t extrapolated_bytes = 0;
  uint64_t sample_bytes = 0;  // read from the sources and compressed, in all
};

// Reads the samples from the plan's sources (BlobOrigin). kInvalidArgument
// (format::VolumeTooSmall) when no volume of options.volume_size could hold
// the prefix and a frame; kCorruption when a source holds fewer bytes of a
// blob than its descriptor says; a source's failure, naming the blob and
// the image.
Result<BundleEstimate> EstimateBundle(const ExportPlan& plan, const BundleEstimateOptions& options);

}  // namespace sluice
