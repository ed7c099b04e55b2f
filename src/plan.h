// What an export ships: the graph of every requested image (indexes,
// manifests, configs, layers) minus the blobs the ledger says the far side
// already holds. Manifests and indexes always ship: they are small, and the
// importer needs them to know what to check.
//
// What "the far side holds" means is the export's choice (PlanOptions), made
// in one place, FarSideHolds: every blob ever sent (the default), or only
// those a receipt confirmed; and either way the blobs of the last K bundles
// may be sent again, for links that cannot carry receipts back.
#pragma once

#include <string>
#include <vector>

#include "format/catalog.h"
#include "ledger.h"
#include "oci/manifest.h"
#include "source/image_source.h"

namespace sluice {

// Where to read a catalog blob from, and which image first needed it (for
// messages: "blob sha256:… of image oci:dir:app:1.0").
struct BlobOrigin {
  ImageSource* source = nullptr;
  std::string repository;
  std::string image;
};

// Which of the ledger's blobs count as held by the far side.
enum class PlanBase {
  kSent,       // every blob the ledger records as shipped
  kDelivered,  // only those a receipt confirmed (delivered_sequence not 0)
};

struct PlanOptions {
  PlanBase base = PlanBase::kSent;
  // Ship again the blobs first shipped by the last `resend_last` bundles
  // (sent_sequence > ledger sequence - resend_last), whatever the base; 0:
  // none. A blob shipped again keeps the sequence that first shipped it, so
  // the window moves on: each blob travels in resend_last + 1 bundles.
  uint64_t resend_last = 0;
  // Empty: every child of every index ships. Otherwise, of each index
  // (nested ones too), only the children whose descriptor platform matches
  // one of these (oci::PlatformMatches), and those declaring no platform;
  // the others are listed as absent Manifest records (format/SPEC.md
  // section 4) and nothing below them ships or is listed because of them.
  std::vector<oci::Platform> platforms{};
  // What else travels with every manifest carried (index children included,
  // absent ones not): the manifests its source holds attached to it
  // (ImageSource::FindAttached), and theirs in turn, up to
  // oci::kMaxAttachDepth. Each is carried with its tag as a ref of its own,
  // or pinned by digest when only the referrers API names it. Both false:
  // nothing is looked up.
  AttachedKinds attached{};
  // Go on past an image that cannot be planned (a source that cannot list
  // its images, a manifest missing or not matching its digest, a registry
  // that cannot be reached, a name no import would take): it is left out,
  // with everything only it needed, and listed in ExportPlan::skipped. Two
  // different images under one name still stop the export (that is the
  // list's mistake, not the source's), and so does the failure of every
  // image asked for.
  bool keep_going = false;
};

// One source of an export, and which platforms of its images to keep.
struct ExportSource {
  // A source taking the export's PlanOptions::platforms.
  ExportSource(ImageSource* source_in) : source(source_in) {}  // NOLINT: implicit by design
  ExportSource(ImageSource* source_in, std::vector<oci::Platform> platforms_in)
      : source(source_in), platforms(std::move(platforms_in)) {}

  ImageSource* source = nullptr;
  // Of this source's indexes, the children kept, as PlanOptions::platforms
  // says; empty: PlanOptions::platforms. An image two sources name keeps
  // what either asks for (every child, when either asks for all).
  std::vector<oci::Platform> platforms;
};

// An image, or a whole source, left out under PlanOptions::keep_going.
struct SkippedImage {
  size_t source = 0;  // index in the sources given to PlanExport
  std::string image;  // SourceImage::display; "" when the source could not list its images
  Status reason;
};

// Whether an export planned with `options`, on a ledger at `ledger_sequence`,
// leaves out a blob the ledger has `record` of (a blob the ledger has no
// record of always ships).
bool FarSideHolds(const Ledger::BlobRecord& record, uint64_t ledger_sequence,
                  const PlanOptions& options);

// What a plan counts as images are added; the export's report carries the
// same counts (ExportReport).
struct PlanCounts {
  uint64_t shipped_blobs = 0;
  uint64_t shipped_bytes = 0;
  uint64_t skipped_blobs = 0;
  uint64_t skipped_bytes = 0;
  // Of the shipped: blobs the ledger records as sent before, shipped again
  // (PlanOptions).
  uint64_t resent_blobs = 0;
  uint64_t resent_bytes = 0;
  uint64_t manifest_bytes = 0;
  // Index children left out by PlanOptions::platforms (absent records).
  uint64_t absent_manifests = 0;
  // Refs added for manifests attached to the images (PlanOptions::attached).
  uint64_t attached_refs = 0;
};

struct ExportPlan : PlanCounts {
  // Refs, manifests (children before the indexes that list them) and blobs.
  // The header is left for the exporter to fill.
  format::Catalog catalog;
  std::vector<BlobOrigin> origins;  // parallel to catalog.blobs
  // What PlanOptions::keep_going left out, in the order met.
  std::vector<SkippedImage> skipped;
};

// Walks every image of every source (oci/graph.h). kInvalidArgument, before
// any image is walked, for a ref whose name an import would refuse
// (CheckRefName, reference/ref_name.h: the rule verify applies) or two
// different images under one name. kCorruption if a manifest does not match
// its digest or one digest is declared with two sizes. With platforms (the
// source's, or PlanOptions::platforms), kNotFound for an index none of whose
// children is kept, naming the image and the platforms it has.
//
// With PlanOptions::keep_going, each of those failures of one image (or of
// one source's listing) leaves that image (or source) out instead, as if it
// had never been asked for: nothing it alone needed is in the plan. When
// every image failed, the error is the first one's, saying so.
Result<ExportPlan> PlanExport(const std::vector<ExportSource>& sources, const Ledger& ledger,
                              const PlanOptions& options = {});

}  // namespace sluice
