// `sluice plan`: what the next export would write, written nowhere.
#include "cli/plan_command.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_util.h"
#include "cli/delta_report.h"
#include "cli/json_output.h"
#include "unix_time.h"

namespace sluice::cli {
namespace {

using nlohmann::ordered_json;

ordered_json ImageJson(const Ledger::BundleImage& image) {
  return RefJson(image.ref, image.repository, image.tag, image.digest.str());
}

// What --keep-going would leave out, as export --json lists it.
ordered_json SkippedJson(const std::vector<SkippedImage>& skipped,
                         const std::vector<SourceRef>& refs) {
  ordered_json out = ordered_json::array();
  for (const SkippedImage& s : skipped) {
    const SourceRef& ref = refs.at(s.source);
    out.push_back({{"ref", ref.text},
                   {"origin", ref.origin},
                   {"image", s.image},
                   {"error", ErrorKindName(s.reason.kind())},
                   {"reason", s.reason.message()}});
  }
  return out;
}

void PrintPlanJson(const ExportPreview& p, const std::vector<SourceRef>& refs,
               const std::string& ledger_path) {
  const ImageChanges& c = p.changes;
  ordered_json images = ordered_json::array();
  ordered_json removed = ordered_json::array();
  if (c.comparable) {
    for (const ImageChange& change : c.changes) {
      ordered_json image = ImageJson(change.image);
      if (change.kind == ImageChange::Kind::kRemoved) {
        removed.push_back(std::move(image));
        continue;
      }
      image["change"] = ImageChangeName(change.kind);
      if (change.kind == ImageChange::Kind::kRepointed) image["previous"] = change.previous.str();
      images.push_back(std::move(image));
    }
  } else {
    for (const Ledger::BundleImage& image : p.images) images.push_back(ImageJson(image));
  }
  ordered_json since = nullptr;
  if (c.since_sequence != 0) {
    since = {{"sequence", c.since_sequence},
             {"created", IsoTimeUtc(c.since_created_unix)},
             {"created_unix", c.since_created_unix},
             {"images_recorded", c.comparable}};
  }
  const BundleEstimate& e = p.estimate;
  // export --dry-run prints the same document: it is a plan.
  ordered_json doc = JsonDocument("plan");
  doc["ok"] = p.plan.skipped.empty();
  doc.update(ordered_json{{"ledger", ledger_path},
                      {"ledger_id", p.ledger_id},
                      {"ledger_exists", p.ledger_exists},
                      {"base_sequence", p.base_sequence},
                      {"sequence", p.sequence},
                      {"images", std::move(images)},
                      {"removed", std::move(removed)},
                      {"changes",
                       {{"since", std::move(since)},
                        {"comparable", c.comparable},
                        {"added", c.Count(ImageChange::Kind::kAdded)},
                        {"repointed", c.Count(ImageChange::Kind::kRepointed)},
                        {"unchanged", c.Count(ImageChange::Kind::kUnchanged)},
                        {"removed", c.Count(ImageChange::Kind::kRemoved)}}},
                      {"manifests", p.plan.catalog.manifests.size() - p.plan.absent_manifests},
                      {"manifest_bytes", p.plan.manifest_bytes},
                      {"absent_manifests", p.plan.absent_manifests},
                      {"attached_refs", p.plan.attached_refs},
                      {"new_blobs", p.plan.shipped_blobs},
                      {"new_bytes", p.plan.shipped_bytes},
                      {"held_blobs", p.plan.skipped_blobs},
                      {"held_bytes", p.plan.skipped_bytes},
                      {"resent_blobs", p.plan.resent_blobs},
                      {"resent_bytes", p.plan.resent_bytes},
                      {"estimate",
                       {{"raw_bytes", e.raw_bytes},
                        {"stored_bytes", e.stored_bytes},
                        {"bundle_bytes", e.bundle_bytes},
                        {"max_bundle_bytes", e.max_bundle_bytes},
                        {"volume_size", e.volume_size},
                        {"volumes", e.volumes},
                        {"max_volumes", e.max_volumes},
                        {"as_is_blobs", e.as_is_blobs},
                        {"as_is_bytes", e.as_is_bytes},
                        {"sampled_blobs", e.sampled_blobs},
                        {"sampled_bytes", e.sampled_bytes},
                        {"extrapolated_blobs", e.extrapolated_blobs},
                        {"extrapolated_bytes", e.extrapolated_bytes},
                        {"sample_bytes", e.sample_bytes}}},
                      {"deltas", DeltasJson(p.deltas)},
                      {"skipped", SkippedJson(p.plan.skipped, refs)},
                      {"written", false}});
  PrintJson(doc);
}

// "  re-pointed  oci:/srv/images:app:1.1 -> sha256:... (was sha256:...)"
// "  oci:/srv/images:app:1.0 -> sha256:..." without a status.
void PrintImage(const char* status, const Ledger::BundleImage& image, const std::string& note) {
  std::string column = status;
  if (!column.empty()) column.resize(std::max<size_t>(column.size(), 11), ' ');
  std::cout << "  " << column << (column.empty() ? "" : " ") << Printable(image.ref) << " -> "
            << image.digest.str() << note << "\n";
}

void PrintText(const ExportPreview& p, const std::vector<SourceRef>& refs,
               const std::string& ledger_path) {
  const ImageChanges& c = p.changes;
  std::cout << "plan: bundle " << p.sequence << " of ledger " << Printable(ledger_path) << " (on "
            << "sequence " << p.base_sequence
            << (p.ledger_exists ? "" : "; the ledger does not exist yet, so everything is new")
            << "); nothing written\n";
  std::cout << "images: " << p.images.size();
  if (c.since_sequence == 0) {
    std::cout << ", all added (the ledger has recorded no bundle yet)\n";
  } else if (!c.comparable) {
    std::cout << "; bundle " << c.since_sequence << " of " << IsoTimeUtc(c.since_created_unix)
              << " did not record its images (an earlier sluice wrote it): what changed is not "
                 "known\n";
  } else {
    std::cout << " (" << c.Count(ImageChange::Kind::kAdded) << " added, "
              << c.Count(ImageChange::Kind::kRepointed) << " re-pointed, "
              << c.Count(ImageChange::Kind::kUnchanged) << " unchanged), "
              << c.Count(ImageChange::Kind::kRemoved) << " removed, since bundle "
              << c.since_sequence << " of " << IsoTimeUtc(c.since_created_unix) << "\n";
  }
  if (c.comparable) {
    for (const ImageChange& change : c.changes) {
      std::string note;
      if (change.kind == ImageChange::Kind::kRepointed)
        note = " (was " + change.previous.str() + ")";
      if (change.kind == ImageChange::Kind::kRemoved) note = " (not in this plan)";
      PrintImage(ImageChangeName(change.kind), change.image, note);
    }
  } else {
    for (const Ledger::BundleImage& image : p.images) PrintImage("", image, "");
  }
  const ExportPlan& plan = p.plan;
  std::cout << "manifests: " << plan.catalog.manifests.size() - plan.absent_manifests << " ("
            << HumanBytes(plan.manifest_bytes) << ")";
  if (plan.absent_manifests > 0) {
    std::cout << "; " << plan.absent_manifests
              << " index children of other platforms left out (--platform)";
  }
  if (plan.attached_refs > 0) {
    std::cout << "; " << plan.attached_refs
              << " of the images are signatures, attestations or referrers found with the others";
  }
  std::cout << "\n";
  std::cout << "blobs: " << plan.shipped_blobs << " new, to ship ("
            << HumanBytes(plan.shipped_bytes) << "); " << plan.skipped_blobs
            << " held by the far side, left out (" << HumanBytes(plan.skipped_bytes) << ")\n";
  if (plan.resent_blobs > 0) {
    std::cout << "  " << plan.resent_blobs << " of the new (" << HumanBytes(plan.resent_bytes)
              << ") were sent before: shipped again (--base delivered, --resend-last)\n";
  }
  PrintDeltas(std::cout, p.deltas);
  const BundleEstimate& e = p.estimate;
  std::cout << "size: " << HumanBytes(e.raw_bytes) << " of blobs before compression; the bundle "
            << "about " << HumanBytes(e.bundle_bytes) << ", at most "
            << HumanBytes(e.max_bundle_bytes) << "\n";
  std::cout << "  " << e.as_is_blobs << " blobs (" << HumanBytes(e.as_is_bytes)
            << ") compressed already (gzip or zstd layers, by media type or first bytes): "
               "counted as they are\n"
            << "  " << e.sampled_blobs << " blobs (" << HumanBytes(e.sampled_bytes)
            << ") estimated by zstd on their first " << HumanBytes(kSampleBytesPerBlob)
            << " at most (" << HumanBytes(e.sample_bytes) << " read)\n";
  if (e.extrapolated_blobs > 0) {
    std::cout << "  " << e.extrapolated_blobs << " blobs (" << HumanBytes(e.extrapolated_bytes)
              << ") past the " << HumanBytes(kMaxSampleBytes)
              << " sampled in all, at the samples' ratio\n";
  }
  if (e.volume_size != 0) {
    std::cout << "volumes: " << e.volumes << " of " << HumanBytes(e.volume_size)
              << " (--volume-size); at most " << e.max_volumes << "\n";
  }
  if (!p.plan.skipped.empty()) {
    std::cout << "left out as failed (--keep-going, exit code " << kExitPartial
              << "): " << p.plan.skipped.size() << "\n";
    for (const SkippedImage& s : p.plan.skipped) {
      const SourceRef& ref = refs.at(s.source);
      std::cout << "  " << Printable(DescribeSourceRef(ref));
      if (!s.image.empty() && s.image != ref.text) std::cout << ": " << Printable(s.image);
      std::cout << ": " << Printable(s.reason.ToString()) << "\n";
    }
  }
}

}  // namespace

int RunPlan(const Args& args) { return RunExportCommand(args, ExportCommand::kPlan); }

int PlanAndReport(io::FileSystem* fs, const std::vector<ExportSource>& sources,
                  const std::vector<SourceRef>& refs, const ExportOptions& options, bool json) {
  auto preview = PreviewExport(fs, sources, options);
  if (!preview.ok()) return ReportError(preview.status());
  if (json) {
    PrintPlanJson(*preview, refs, options.ledger_path);
  } else {
    PrintText(*preview, refs, options.ledger_path);
  }
  return preview->plan.skipped.empty() ? kExitOk : kExitPartial;
}

}  // namespace sluice::cli
