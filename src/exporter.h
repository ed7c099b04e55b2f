// `sluice export`: plan, then stream every shipped blob from its source
// through the bundle writer into a temp file, publish the bundle, and only
// then record it in the ledger.
//
// A failed export leaves the ledger exactly as it was and nothing at the
// output path (the temp file is removed). A killed one leaves either that,
// or, killed in the instant after the bundle's rename, a complete bundle and
// a ledger whose pending record LoadLedger settles to count it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bundle_estimate.h"
#include "format/bundle_writer.h"
#include "image_changes.h"
#include "io/file.h"
#include "layer_deltas.h"
#include "ledger.h"
#include "plan.h"
#include "progress.h"
#include "source/image_source.h"
#include "transfer/limits.h"

namespace sluice {

struct ExportOptions {
  std::string ledger_path;
  std::string sign_key_path;
  std::string output_path;  // "-" writes to standard output
  // At most this many bytes a second written to the output, on average
  // (bundle_output.h); 0: no limit.
  uint64_t bytes_per_second = 0;
  // Cut the bundle into volumes of at most this many bytes (bundle_output.h,
  // volume_set.h); 0: one file or stream.
  uint64_t volume_size = 0;
  // Reed-Solomon parity files written beside the bundle (parity_files.h).
  uint32_t parity_count = 0;
  format::BundleWriterOptions writer;
  // What counts as held by the far side (plan.h): every blob sent, or only
  // those a receipt confirmed; and the last bundles' blobs sent again.
  PlanOptions plan;
  // Blobs read from the sources at once, capped by each source's
  // MaxBlobsInFlight(); memory for them stays bounded (transfer/limits.h).
  size_t blobs_in_flight = kDefaultBlobsInFlight;
  // Counts the shipped blobs' bytes as they go into the bundle (phase
  // "exporting"); null: not counted.
  ProgressCounter* progress = nullptr;
  // Ship layers whose previous version the far side holds as deltas
  // (layer_deltas.h); nullopt: every layer whole. Its `plan` is taken from
  // `plan` above.
  std::optional<LayerDeltaOptions> delta;
};

// The plan's counts (blobs and bytes shipped, held, resent; manifests left
// out; attached refs), and what writing the bundle made of it.
struct ExportReport : PlanCounts {
  std::string bundle_id;  // hex
  uint64_t base_sequence = 0;
  uint64_t sequence = 0;
  std::vector<Ledger::BundleImage> refs;  // the catalog's refs, in its order
  uint64_t manifests = 0;                 // carried
  uint64_t bundle_bytes = 0;   // as written, every volume together
  std::vector<std::string> files;  // the bundle's file, or its volumes; none for a stream
  std::vector<std::string> parity_files;
  // What PlanOptions::keep_going left out (plan.h): the bundle holds the
  // rest, and the ledger records only what it holds.
  std::vector<SkippedImage> skipped;
  // Each shipped layer that had a previous version: shipped as a delta, or
  // whole and why (ExportOptions::delta).
  std::vector<LayerDelta> deltas;
  // The bundle went to standard output (-o -, or -o /dev/stdout and the
  // like): a report printed there would be read as part of the bundle.
  bool bundle_on_stdout = false;
};

// What the next export would write, worked out without writing anything
// (`sluice plan`, `export --dry-run`): an export that stops before the
// bundle writer.
struct ExportPreview {
  std::string ledger_id;       // hex; a fresh one's when the ledger does not exist
  bool ledger_exists = false;  // false: a fresh ledger, so everything is new
  uint64_t base_sequence = 0;  // the ledger's sequence now
  uint64_t sequence = 0;       // the bundle's
  ExportPlan plan;             // what it would carry and ship (plan.h)
  std::vector<Ledger::BundleImage> images;  // its refs, in catalog order
  ImageChanges changes;        // against the ledger's last bundle
  BundleEstimate estimate;     // its size, and volumes of options.volume_size
  std::vector<LayerDelta> deltas;  // as ExportReport::deltas
};

// Plans as Export does, from the same options (ledger, sources, PlanOptions,
// frame size, level, volume size), and estimates the bundle
// (bundle_estimate.h), writing nothing: no bundle, no temp file, and the
// ledger neither changed nor locked (it is read as it is, an interrupted
// export's pending record settled in memory only). Fails as Export would
// for the same sources: a ref no import takes, a manifest that does not
// match its digest, a source that cannot be read (or, under
// PlanOptions::keep_going, leaves them out: ExportPlan::skipped); and as
// EstimateBundle.
Result<ExportPreview> PreviewExport(io::FileSystem* fs, const std::vector<ExportSource>& sources,
                                    const ExportOptions& options);

// Settles the pending record of `ledger` in memory, as LoadLedger does (see
// ledger.h): true when there was one, and the ledger changed.
bool SettlePending(io::FileSystem* fs, Ledger* ledger);

// Loads the ledger at `path` (a fresh one if there is none) under its lock
// (Ledger::LoadLocked: kBusy at once when another run holds it; `who` is
// what that run is told about this one), and settles an export that was
// interrupted while publishing its bundle (see ledger.h), saving the settled
// ledger. The lock is held while the returned ledger lives. Everything that
// reads a ledger to act on it goes through here.
Result<Ledger> LoadLedger(io::FileSystem* fs, const std::string& path,
                          std::string_view who = "sluice");

// Holds the ledger's lock from the start to the end, so a second export (or
// a `ledger rebuild`) on the same ledger fails at once instead of losing an
// update. Refuses before reading any source an output it cannot write
// (bundle_output.h) and before writing anything a ref name that an import
// would refuse (plan.h). A stream whose reader goes away before the bundle
// is written whole (`-o - | head`) fails with kBrokenPipe, saying how far it
// got, and records nothing: a stream's bundle counts once written whole.
//
// ExportOptions::plan.keep_going leaves out what cannot be planned (plan.h);
// a blob that fails while the bundle is being written (its bytes do not
// match its digest, its registry goes away) still fails the whole export,
// as without it: the signed catalog at the bundle's head already lists it.
Result<ExportReport> Export(io::FileSystem* fs, const std::vector<ExportSource>& sources,
                            const ExportOptions& options);

}  // namespace sluice
