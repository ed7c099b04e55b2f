#include "plan.h"

#include <map>
#include <set>
#include <utility>

#include "oci/graph.h"
#include "reference/ref_name.h"

namespace sluice {
namespace {

// The plan of one export: every image's graph walked once (oci::GraphWalk),
// manifests in the order the walk finishes them (children first), blobs
// marked shipped unless the ledger says the far side holds them.
class Planner {
 public:
  Planner(ExportPlan* plan, const Ledger& ledger, const PlanOptions& options)
      : plan_(plan), ledger_(ledger), options_(options) {}

  Status AddImage(ImageSource* source, const SourceImage& image) {
    oci::GraphWalk walk(Hooks(source, image));
    oci::Descriptor root;
    root.media_type = image.media_type;
    root.digest = image.digest;
    attached_refs_.clear();
    SLUICE_RETURN_IF_ERROR(walk.Walk(root).WithContext(image.display));
    // The image's own ref first, then what is attached to it: an importer
    // publishing tags in catalog order tags a subject before its signature.
    SLUICE_RETURN_IF_ERROR(AddRef(image));
    for (const SourceImage& attached : attached_refs_) {
      SLUICE_RETURN_IF_ERROR(AddRef(attached));
      plan_->attached_refs += 1;
    }
    return Status::Ok();
  }

  // Lists every child left out and carried by no other image as absent,
  // after the manifests that are carried (the importer publishes in catalog
  // order and skips these).
  void AddAbsent() {
    for (const auto& [digest, media_type] : absent_) {
      if (manifests_.contains(digest)) continue;  // another index or ref carries it
      plan_->catalog.manifests.push_back({digest, media_type, "", /*absent=*/true});
      plan_->absent_manifests += 1;
    }
  }

 private:
  // One ref per (repository, tag), or per (repository, digest) when pinned:
  // the same name found twice (an operator listing a .sig tag that also
  // travels with its image) is one ref; two images under one name cannot be.
  Status AddRef(const SourceImage& image) {
    std::string name = image.tag.empty() ? "@" + image.digest.str() : image.tag;
    auto [it, added] = ref_names_.try_emplace({image.repository, name}, image);
    if (!added) {
      if (it->second.digest == image.digest) return Status::Ok();
      return Status::InvalidArgument("'" + image.display + "' and '" + it->second.display +
                                     "' would both be imported as '" + image.tag +
                                     "' but are different images");
    }
    plan_->catalog.refs.push_back({image.repository, image.tag, image.digest, image.display});
    return Status::Ok();
  }

  // Whether the index child `child` ships under PlanOptions::platforms.
  bool Wanted(const oci::Descriptor& child) const {
    if (options_.platforms.empty() || !child.platform) return true;
    for (const oci::Platform& p : options_.platforms) {
      if (oci::PlatformMatches(p, *child.platform)) return true;
    }
    return false;
  }

  // An index of which --platform keeps nothing: shipping it would carry an
  // image no one can run, so the export stops and says what there is.
  Status CheckSomeChildKept(const oci::Descriptor& d, const oci::Manifest& m) const {
    if (m.kind != oci::ManifestKind::kIndex || m.manifests.empty()) return Status::Ok();
    std::string has;
    for (const oci::Descriptor& child : m.manifests) {
      if (Wanted(child)) return Status::Ok();
      has += (has.empty() ? "" : ", ") + child.platform->ToString();
    }
    std::string asked;
    for (const oci::Platform& p : options_.platforms) {
      asked += (asked.empty() ? "" : ", ") + p.ToString();
    }
    return Status::NotFound("index " + d.digest.str() + " has no manifest for --platform " + asked +
                            "; it has " + has + ": ask for one of those, or leave this image out");
  }

  oci::GraphHooks Hooks(ImageSource* source, const SourceImage& image) {
    oci::GraphHooks hooks;
    hooks.fetch = [source, &image](const oci::Descriptor& d) -> Result<oci::FetchedManifest> {
      auto fetched = source->FetchManifest(image.repository, d.digest);
      if (!fetched.ok() && fetched.status().IsNotFound() && d.platform) {
        // An index child the source lacks: most likely a platform an earlier
        // export --platform left out of what was imported here.
        return Status::NotFound(fetched.status().message() + " (the " + d.platform->ToString() +
                                " manifest of an index; if the source holds only some platforms, "
                                "export with --platform for those)");
      }
      if (!fetched.ok()) return fetched.status();
      return oci::FetchedManifest{std::move(fetched->bytes), std::move(fetched->media_type)};
    };
    hooks.blob = [this, source, &image](const oci::Descriptor& d, const oci::Descriptor&) {
      return AddBlob(source, image, d);
    };
    if (!options_.platforms.empty()) {
      hooks.keep_child = [this](const oci::Descriptor&, const oci::Descriptor& child) {
        if (Wanted(child)) return true;
        absent_.emplace(child.digest, child.media_type);
        return false;
      };
    }
    if (options_.attached.signatures || options_.attached.referrers) {
      hooks.attached = [this, source, &image](
                           const oci::Descriptor& d,
                           const oci::Manifest&) -> Result<std::vector<oci::Descriptor>> {
        auto found = source->FindAttached(image.repository, d.digest, options_.attached);
        if (!found.ok()) return found.status().WithContext(image.display);
        std::vector<oci::Descriptor> roots;
        for (SourceImage& attached : *found) {
          // The ref is checked as every ref is: a name no import would take
          // stops the export here, not the import there.
          if (Status s = CheckRefName(attached.repository, attached.tag); !s.ok()) {
            return Status::InvalidArgument(QuoteName(attached.display) + ", attached to " +
                                           image.display + ": " + s.message());
          }
          oci::Descriptor root;
          root.media_type = attached.media_type;
          root.digest = attached.digest;
          roots.push_back(std::move(root));
          attached_refs_.push_back(std::move(attached));
        }
        return roots;
      };
    }
    hooks.manifest = [this](const oci::Descriptor& d, const oci::Manifest& m, std::string& bytes) {
      if (!options_.platforms.empty()) SLUICE_RETURN_IF_ERROR(CheckSomeChildKept(d, m));
      if (!manifests_.insert(d.digest).second) return Status::Ok();  // another image's too
      plan_->manifest_bytes += bytes.size();
      plan_->catalog.manifests.push_back({d.digest, m.media_type, std::move(bytes)});
      return Status::Ok();
    };
    return hooks;
  }

  Status AddBlob(ImageSource* source, const SourceImage& image, const oci::Descriptor& d) {
    if (auto it = blobs_.find(d.digest); it != blobs_.end()) {
      const format::BlobEntry& seen = plan_->catalog.blobs[it->second];
      if (seen.size != d.size) {
        return Status::Corruption("blob " + d.digest.str() + " is declared with size " +
                                  std::to_string(d.size) + " here and " +
                                  std::to_string(seen.size) + " elsewhere");
      }
      return Status::Ok();
    }
    std::optional<Ledger::BlobRecord> record = ledger_.Record(d.digest);
    bool shipped = !record || !FarSideHolds(*record, ledger_.sequence(), options_);
    blobs_.emplace(d.digest, plan_->catalog.blobs.size());
    plan_->catalog.blobs.push_back({d.digest, d.size, d.media_type, shipped});
    plan_->origins.push_back({source, image.repository, image.display});
    (shipped ? plan_->shipped_blobs : plan_->skipped_blobs) += 1;
    (shipped ? plan_->shipped_bytes : plan_->skipped_bytes) += d.size;
    if (shipped && record) {
      plan_->resent_blobs += 1;
      plan_->resent_bytes += d.size;
    }
    return Status::Ok();
  }

  ExportPlan* plan_;
  const Ledger& ledger_;
  const PlanOptions& options_;
  std::set<format::Digest> manifests_;
  std::map<format::Digest, size_t> blobs_;
  std::map<format::Digest, std::string> absent_;  // children left out -> media type
  std::map<std::pair<std::string, std::string>, SourceImage> ref_names_;  // (repository, name) ->
  std::vector<SourceImage> attached_refs_;  // found during the current AddImage
};

}  // namespace

bool FarSideHolds(const Ledger::BlobRecord& record, uint64_t ledger_sequence,
                  const PlanOptions& options) {
  if (options.base == PlanBase::kDelivered && record.delivered_sequence == 0) return false;
  // sent_sequence > ledger_sequence - resend_last, without wrapping.
  if (options.resend_last == 0) return true;
  if (options.resend_last >= ledger_sequence) return false;
  return record.sent_sequence <= ledger_sequence - options.resend_last;
}

Result<ExportPlan> PlanExport(const std::vector<ImageSource*>& sources, const Ledger& ledger,
                              const PlanOptions& options) {
  // Every ref is named and checked before any image is walked: a name no
  // import would take is refused before anything is fetched or written.
  std::vector<std::pair<ImageSource*, SourceImage>> roots;
  std::map<std::pair<std::string, std::string>, SourceImage> refs;
  for (ImageSource* source : sources) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<SourceImage> images, source->ListImages());
    for (SourceImage& image : images) {
      // The rule verify and import apply to every catalog ref (catalog_check.h):
      // a bundle carrying a ref that breaks it would be refused whole on the
      // far side, after its blobs were recorded here as delivered.
      if (Status s = CheckRefName(image.repository, image.tag); !s.ok()) {
        return Status::InvalidArgument(
            "image " + QuoteName(image.display) + ": " + s.message() +
            "; no import would accept a bundle with it: rename it at the source or leave it out");
      }
      // A tag names one image; images pinned by digest are told apart by
      // their digest (format/SPEC.md, "Ref").
      std::string name = image.tag.empty() ? "@" + image.digest.str() : image.tag;
      auto [it, added] = refs.try_emplace({image.repository, name}, image);
      if (!added) {
        if (it->second.digest == image.digest) continue;  // the same image named twice
        return Status::InvalidArgument("'" + image.display + "' and '" + it->second.display +
                                       "' would both be imported as '" + image.tag +
                                       "' but are different images");
      }
      roots.emplace_back(source, std::move(image));
    }
  }
  ExportPlan plan;
  Planner planner(&plan, ledger, options);
  for (const auto& [source, image] : roots) {
    SLUICE_RETURN_IF_ERROR(planner.AddImage(source, image));
  }
  planner.AddAbsent();
  return plan;
}

}  // namespace sluice
