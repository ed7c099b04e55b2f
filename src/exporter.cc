#include "exporter.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "bundle_estimate.h"
#include "bundle_output.h"
#include "format/blob_check.h"
#include "format/bundle_format.h"
#include "image_changes.h"
#include "io/atomic_file.h"
#include "layer_deltas.h"
#include "ledger.h"
#include "plan.h"
#include "reference/ref_name.h"
#include "signing.h"
#include "parity_files.h"
#include "transfer/blob_prefetcher.h"
#include "volume_set.h"
#include "transfer/limits.h"

namespace sluice {
namespace {

constexpr size_t kCopyBufferSize = 1u << 20;

// An upper bound of the bundle's size, for the free-space check: compression
// only shrinks frames, so raw sizes plus framing overhead always suffice.
uint64_t PlannedBundleSize(const ExportPlan& plan, uint32_t frame_size) {
  uint64_t size = 64 * 1024 + plan.manifest_bytes;  // header, catalog, signature, trailer
  for (const format::BlobEntry& blob : plan.catalog.blobs) {
    size += 256;  // catalog and trailer entry
    if (!blob.shipped) continue;
    uint64_t frames = blob.carried_size() / frame_size + 1;
    size += blob.carried_size() + frames * format::kFrameHeaderSize;
  }
  return size;
}

Status CopyBlob(io::SequentialReader* reader, const format::BlobEntry& blob, size_t index,
                format::BundleWriter* writer, std::vector<uint8_t>* buffer,
                ProgressCounter* progress) {
  uint64_t total = 0;
  bool begun = false;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, reader->Read(*buffer));
    io::ByteView chunk(buffer->data(), n);
    if (!begun) {
      SLUICE_RETURN_IF_ERROR(writer->BeginBlob(index, format::ChooseCompression(chunk)));
      begun = true;
    }
    if (n == 0) break;
    total += n;
    if (total > blob.carried_size()) {
      return Status::Corruption("source has more than the declared " +
                                std::to_string(blob.carried_size()) + " bytes");
    }
    SLUICE_RETURN_IF_ERROR(writer->Append(chunk));
    // Counted once written (a rate-limited output takes them at its pace),
    // so a large blob moves the count as it goes, not only at its end.
    if (progress != nullptr) progress->AddBytes(n);
  }
  SLUICE_RETURN_IF_ERROR(writer->EndBlob());
  if (progress != nullptr) progress->AddItem();
  return Status::Ok();
}

// How many blobs to read at once: what was asked, and what every source
// that ships a blob allows.
size_t BlobsInFlight(const ExportPlan& plan, size_t asked) {
  size_t n = std::max<size_t>(asked, 1);
  for (size_t i = 0; i < plan.catalog.blobs.size(); ++i) {
    if (plan.catalog.blobs[i].shipped) n = std::min(n, plan.origins[i].source->MaxBlobsInFlight());
  }
  return n;
}

struct WrittenBundle {
  uint64_t bytes = 0;  // of every volume
  std::array<uint8_t, 32> signed_digest{};
};

Result<WrittenBundle> WriteBundle(BundleOutput* output, ExportPlan* plan,
                                  const LayerDeltas* deltas, const format::PrivateKey& key,
                                  const ExportOptions& options) {
  io::SequentialWriter* out = output->writer();
  format::BundleWriterOptions writer_options = options.writer;
  writer_options.check_digests = false;  // the readers below check them
  writer_options.volume_size = output->volume_size();
  writer_options.volumes = output->volume_sink();
  SLUICE_ASSIGN_OR_RETURN(auto writer,
                          format::BundleWriter::Start(out, plan->catalog, key, writer_options));
  // The bundle takes blobs in catalog order, one after another; the sources
  // are read ahead of it, several blobs at once.
  const auto& blobs = writer->catalog().blobs;
  std::vector<size_t> shipped;
  std::vector<BlobPrefetcher::Blob> reads;
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (!blobs[i].shipped) continue;
    const BlobOrigin& origin = plan->origins[i];
    shipped.push_back(i);
    // Each blob is hashed on the thread that reads it, so hashing overlaps
    // with compressing and writing the bundle (the writer checks sizes only).
    reads.push_back({blobs[i].digest.str(),
                     [&origin, &blob = blobs[i], deltas,
                      i]() -> Result<std::unique_ptr<io::SequentialReader>> {
                       if (blob.delta) return deltas->OpenDelta(i);
                       SLUICE_ASSIGN_OR_RETURN(
                           auto reader,
                           origin.source->OpenBlob(origin.repository, blob.digest, blob.size));
                       return format::NewVerifyingReader(std::move(reader), blob.digest, blob.size);
                     }});
  }
  BlobPrefetcher prefetcher(std::move(reads), BlobsInFlight(*plan, options.blobs_in_flight),
                            kBlobBufferBytes);

  std::vector<uint8_t> buffer(kCopyBufferSize);
  if (options.progress != nullptr) {
    options.progress->BeginPhase("exporting", "blobs", plan->shipped_blobs, plan->shipped_bytes);
  }
  for (size_t i : shipped) {
    std::unique_ptr<io::SequentialReader> reader = prefetcher.Next();
    const BlobOrigin& origin = plan->origins[i];
    SLUICE_RETURN_IF_ERROR(
        CopyBlob(reader.get(), blobs[i], i, writer.get(), &buffer, options.progress)
            .WithContext("blob " + blobs[i].digest.str() + " of image " + origin.image));
  }
  SLUICE_RETURN_IF_ERROR(writer->Finish());
  if (options.progress != nullptr) options.progress->EndPhase();
  SLUICE_RETURN_IF_ERROR(output->CompleteVolumes(writer->volumes(), writer->volume_record_offset()));
  return WrittenBundle{writer->bytes_written(), writer->signed_digest()};
}

// The reader of a stream went away (`-o - | head`, a diode's sender that
// stopped): no fault of the disk or of sluice, so say it in the user's
// words, and that the ledger did not count what was cut off.
Status ExplainBrokenPipe(Status s, BundleOutput* output) {
  if (s.kind() != ErrorKind::kBrokenPipe) return s;
  return Status::BrokenPipe("the reader of " + output->Describe() + " went away after " +
                            std::to_string(output->writer()->Size()) +
                            " bytes of the bundle; nothing was recorded in the ledger");
}

}  // namespace

bool SettlePending(io::FileSystem* fs, Ledger* ledger) {
  if (!ledger->pending()) return false;
  const Ledger::PendingBundle& pending = *ledger->pending();
  if (OutputHoldsBundle(fs, pending.output, pending.record.bundle_id)) {
    ledger->CommitPending();
  } else {
    ledger->DropPending();
  }
  return true;
}

Result<Ledger> LoadLedger(io::FileSystem* fs, const std::string& path, std::string_view who) {
  // Settling writes the ledger: only under its lock, or an export running
  // meanwhile would see its pending record dropped under it.
  SLUICE_ASSIGN_OR_RETURN(Ledger ledger, Ledger::LoadLocked(fs, path, who));
  if (SettlePending(fs, &ledger)) SLUICE_RETURN_IF_ERROR(ledger.Save(fs, path));
  return ledger;
}

Result<ExportPreview> PreviewExport(io::FileSystem* fs, const std::vector<ExportSource>& sources,
                                    const ExportOptions& options) {
  // Read without its lock, and settled in memory only: a plan writes
  // nothing, not even a lock file, and does not stop an export that runs
  // meanwhile (it then shows what the ledger held before that one).
  ExportPreview preview;
  preview.ledger_exists = fs->Exists(options.ledger_path);
  SLUICE_ASSIGN_OR_RETURN(Ledger ledger, Ledger::Load(fs, options.ledger_path));
  SettlePending(fs, &ledger);
  SLUICE_ASSIGN_OR_RETURN(preview.plan, PlanExport(sources, ledger, options.plan));
  if (options.delta) {
    // Made as the export would make them (in a scratch directory, removed
    // at once), so that what the plan shows is what the export ships.
    LayerDeltaOptions delta_options = *options.delta;
    delta_options.plan = options.plan;
    SLUICE_ASSIGN_OR_RETURN(auto deltas, LayerDeltas::Make(fs, &preview.plan, ledger, delta_options,
                                                           options.progress));
    preview.deltas = deltas->layers();
  }
  preview.ledger_id = format::HexEncode(ledger.id());
  preview.base_sequence = ledger.sequence();
  preview.sequence = ledger.sequence() + 1;
  preview.images = Ledger::ImagesOf(preview.plan.catalog);
  preview.changes = CompareWithLastBundle(preview.images, ledger);
  SLUICE_ASSIGN_OR_RETURN(preview.estimate,
                          EstimateBundle(preview.plan, {options.writer.frame_size,
                                                        options.writer.zstd_level,
                                                        options.volume_size,
                                                        options.blobs_in_flight}));
  return preview;
}

Result<ExportReport> Export(io::FileSystem* fs, const std::vector<ExportSource>& sources,
                            const ExportOptions& options) {
  // Everything that can be refused is checked before a byte is written,
  // and what needs no source before any source is read.
  SLUICE_ASSIGN_OR_RETURN(format::PrivateKey key, LoadPrivateKey(fs, options.sign_key_path));
  // Locked until this returns (the ledger holds the lock): another export
  // on this ledger would build the same sequence on the same base, and one
  // of the two bundles would vanish from the ledger.
  SLUICE_ASSIGN_OR_RETURN(Ledger ledger, LoadLedger(fs, options.ledger_path, "sluice export"));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<BundleOutput> output,
                          OpenBundleOutput(fs, options.output_path,
                                           {options.bytes_per_second, options.volume_size,
                                            options.parity_count}));
  SLUICE_ASSIGN_OR_RETURN(ExportPlan plan, PlanExport(sources, ledger, options.plan));
  std::unique_ptr<LayerDeltas> deltas;
  if (options.delta) {
    LayerDeltaOptions delta_options = *options.delta;
    delta_options.plan = options.plan;
    SLUICE_ASSIGN_OR_RETURN(deltas,
                            LayerDeltas::Make(fs, &plan, ledger, delta_options, options.progress));
  }

  format::BundleHeader& header = plan.catalog.header;
  RAND_bytes(header.bundle_id.data(), static_cast<int>(header.bundle_id.size()));
  header.ledger_id = ledger.id();
  header.base_sequence = ledger.sequence();
  header.sequence = ledger.sequence() + 1;
  header.created_unix =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());

  std::vector<format::Digest> shipped;
  for (const format::BlobEntry& blob : plan.catalog.blobs) {
    if (blob.shipped) shipped.push_back(blob.digest);
  }
  SLUICE_RETURN_IF_ERROR(output->Prepare(PlannedBundleSize(plan, options.writer.frame_size)));
  Result<WrittenBundle> written = WriteBundle(output.get(), &plan, deltas.get(), key, options);
  SLUICE_RETURN_IF_ERROR(ExplainBrokenPipe(written.status(), output.get()));
  const uint64_t bundle_bytes = written->bytes;

  // Publish in three atomic steps (see ledger.h): a crash between any two
  // leaves a ledger that the next LoadLedger settles to match the output.
  // The location is absolute, fixed when the output was opened: the run
  // that settles may start in another directory.
  std::optional<std::string> location = output->Location();
  if (location) {
    Ledger::BundleRecord record;
    record.sequence = header.sequence;
    record.bundle_id = format::HexEncode(header.bundle_id);
    record.created_unix = header.created_unix;
    record.blobs = shipped.size();
    record.images = Ledger::ImagesOf(plan.catalog);
    ledger.SetPending({std::move(record), *location, shipped});
    SLUICE_RETURN_IF_ERROR(ledger.Save(fs, options.ledger_path));
  }
  if (Status published = output->Publish(); !published.ok()) {
    if (location) {
      ledger.DropPending();
      (void)ledger.Save(fs, options.ledger_path);  // else the next LoadLedger drops it
    }
    return ExplainBrokenPipe(published, output.get());
  }

  // The bundle is durable: now, and only now, the ledger may count it.
  ledger.RecordBundle(header, shipped, Ledger::ImagesOf(plan.catalog));
  SLUICE_RETURN_IF_ERROR(ledger.Save(fs, options.ledger_path));

  // Parity is an addition beside a complete bundle: a failure here leaves
  // the bundle valid (and counted), and says how to make the parity again.
  std::vector<std::string> parity_files;
  if (!output->Files().empty()) {
    auto made = WriteParityFiles(fs, VolumeStem(options.output_path), output->Files(),
                                 header.bundle_id, written->signed_digest, options.parity_count);
    if (!made.ok()) {
      return made.status().WithContext("the bundle is written and recorded, but its parity "
                                       "files are not");
    }
    parity_files = std::move(made).value();
  }

  ExportReport report;
  report.bundle_id = format::HexEncode(header.bundle_id);
  report.base_sequence = header.base_sequence;
  report.sequence = header.sequence;
  static_cast<PlanCounts&>(report) = plan;
  report.refs = Ledger::ImagesOf(plan.catalog);
  report.manifests = plan.catalog.manifests.size() - plan.absent_manifests;
  report.bundle_bytes = bundle_bytes;
  report.files = output->Files();
  report.parity_files = std::move(parity_files);
  report.skipped = std::move(plan.skipped);
  if (deltas) report.deltas = deltas->layers();
  report.bundle_on_stdout =
      !location && (options.output_path == "-" || io::IsStandardOutput(fs, options.output_path));
  return report;
}

}  // namespace sluice
