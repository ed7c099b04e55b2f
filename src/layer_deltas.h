// Sub-layer deltas on the exporting side (format/SPEC.md section 4, "Delta
// blobs"): a layer the plan ships whose previous version the far side
// already holds travels as a delta of the two uncompressed tars plus the
// recipe that compresses the rebuilt tar to the very same bytes, so its
// digest, the manifests naming it and their signatures all hold.
//
// How a base is chosen. For each image the export carries under a tag, the
// ledger's bundles are searched, newest first, for the last one that carried
// the same repository and tag; if it carried another digest then, that
// earlier image is the previous version. Its manifest is read from the same
// source, by digest (registries and layouts keep old manifests until they
// are deleted). Image manifests pair directly, indexes child by child of the
// same platform; then layer i of the new image takes layer i of the old one
// as its base, when the far side holds it (the plan's notion of held). So a
// base image rebuilt with updated packages, whose layer list keeps its shape,
// finds its old self.
//
// What is tried, and why a layer still ships whole, is recorded per layer
// (LayerDelta) for the report and `sluice plan`. A layer ships as a delta
// only once the delta has been decoded again and the recipe found by
// reproducing the layer byte for byte; anything else ships it whole.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format/crypto.h"
#include "io/file.h"
#include "io/scratch_dir.h"
#include "ledger.h"
#include "plan.h"
#include "progress.h"

namespace sluice {

struct LayerDeltaOptions {
  // Where decoded layers and deltas are kept while the export runs (a
  // private directory is made inside); empty: $TMPDIR, else /tmp. Needs room
  // for the largest layer's tar twice over.
  std::string scratch_parent;
  // Layers smaller than this ship whole: a delta would save next to nothing.
  uint64_t min_layer_size = 256 * 1024;
  // A delta must be smaller than this fraction of the layer to be worth it.
  double max_delta_ratio = 0.9;
  // What the plan counts as held by the far side (for the bases).
  PlanOptions plan;
};

// What was decided for one shipped layer that had a previous version.
struct LayerDelta {
  size_t blob_index = 0;
  format::Digest layer;
  std::string image;   // the image that needed it, as the plan names it
  format::Digest base;  // the previous version's layer at the same position
  uint64_t base_bytes = 0;  // its size, as the previous manifest declares it
  uint64_t layer_bytes = 0;
  bool delta = false;     // shipped as a delta
  uint64_t delta_bytes = 0;
  std::string encoding;  // "pigz level 9 block 128 KiB", "none (uncompressed tar)"
  std::string why_not;   // when !delta: why it ships whole
};

// The deltas of an export: the plan's catalog marks them (BlobEntry::delta),
// and their bytes wait in a scratch directory until the bundle is written.
class LayerDeltas {
 public:
  // Looks for a base for every shipped layer of `plan` and makes the deltas
  // worth shipping, marking them in plan->catalog. Errors only for what
  // stops the export (the scratch directory, a full disk); a layer that
  // cannot be done as a delta ships whole, with the reason recorded.
  static Result<std::unique_ptr<LayerDeltas>> Make(io::FileSystem* fs, ExportPlan* plan,
                                                   const Ledger& ledger,
                                                   const LayerDeltaOptions& options,
                                                   ProgressCounter* progress);

  // The bytes of the delta of catalog blob `blob_index`, checked against its
  // size and sha256 as they are read.
  Result<std::unique_ptr<io::SequentialReader>> OpenDelta(size_t blob_index) const;

  const std::vector<LayerDelta>& layers() const { return layers_; }

 private:
  explicit LayerDeltas(io::FileSystem* fs) : fs_(fs) {}

  io::FileSystem* fs_;
  // Made only when some layer is tried, so that an export with nothing to
  // try (most) leaves nothing behind even when it is killed.
  std::optional<io::ScratchDir> scratch_;
  const format::Catalog* catalog_ = nullptr;
  std::vector<LayerDelta> layers_;
};

// "delta": the file name a blob's delta has in the scratch directory.
std::string DeltaFileName(const format::Digest& digest);

}  // namespace sluice
