// What an export ships: the graph of every requested image (indexes,
// manifests, configs, layers) minus the blobs the ledger says the far side
// already holds. Manifests and indexes always ship: they are small, and the
// importer needs them to know what to check.
#pragma once

#include <string>
#include <vector>

#include "format/catalog.h"
#include "ledger.h"
#include "source/image_source.h"

namespace sluice {

// Where to read a catalog blob from, and which image first needed it (for
// messages: "blob sha256:… of image oci:dir:app:1.0").
struct BlobOrigin {
  ImageSource* source = nullptr;
  std::string repository;
  std::string image;
};

struct ExportPlan {
  // Refs, manifests (children before the indexes that list them) and blobs.
  // The header is left for the exporter to fill.
  format::Catalog catalog;
  std::vector<BlobOrigin> origins;  // parallel to catalog.blobs
  uint64_t shipped_blobs = 0;
  uint64_t shipped_bytes = 0;
  uint64_t skipped_blobs = 0;
  uint64_t skipped_bytes = 0;
  uint64_t manifest_bytes = 0;
};

// Walks every image of every source (oci/graph.h). kInvalidArgument, before
// any image is walked, for a ref whose name an import would refuse
// (CheckRefName, reference/ref_name.h: the rule verify applies) or two
// different images under one name. kCorruption if a manifest does not match
// its digest or one digest is declared with two sizes.
Result<ExportPlan> PlanExport(const std::vector<ImageSource*>& sources, const Ledger& ledger);

}  // namespace sluice
