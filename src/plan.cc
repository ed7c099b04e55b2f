#include "plan.h"

#include <map>
#include <set>
#include <utility>

#include "oci/graph.h"
#include "reference/ref_name.h"

namespace sluice {
namespace {

// The name a ref has in its repository: its tag, or "@DIGEST" when pinned
// (images pinned by digest are told apart by their digest: format/SPEC.md,
// "Ref").
std::string RefKey(const std::string& tag, const format::Digest& digest) {
  return tag.empty() ? "@" + digest.str() : tag;
}

// The platforms kept of an image that two sources name: what either keeps
// (empty, every child, when either keeps every child).
void MergePlatforms(std::vector<oci::Platform>* kept, const std::vector<oci::Platform>& more) {
  if (kept->empty()) return;
  if (more.empty()) {
    kept->clear();
    return;
  }
  for (const oci::Platform& p : more) {
    bool there = false;
    for (const oci::Platform& k : *kept) there = there || k.ToString() == p.ToString();
    if (!there) kept->push_back(p);
  }
}

// The plan of one export: every image's graph walked once (oci::GraphWalk),
// manifests in the order the walk finishes them (children first), blobs
// marked shipped unless the ledger says the far side holds them.
class Planner {
 public:
  Planner(ExportPlan* plan, const Ledger& ledger, const PlanOptions& options)
      : plan_(plan), ledger_(ledger), options_(options) {}

  // `platforms`: the index children kept (empty: all).
  Status AddImage(ImageSource* source, const SourceImage& image,
                  const std::vector<oci::Platform>& platforms) {
    oci::GraphWalk walk(Hooks(source, image, platforms));
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
  // order and skips these), in digest order.
  void AddAbsent() {
    std::map<format::Digest, std::string> absent(absent_.begin(), absent_.end());
    for (const auto& [digest, media_type] : absent) {
      if (manifests_.contains(digest)) continue;  // another index or ref carries it
      plan_->catalog.manifests.push_back({digest, media_type, "", /*absent=*/true});
      plan_->absent_manifests += 1;
    }
  }

  // Where the plan stands before an image: everything AddImage adds is
  // appended (refs, manifests, blobs, children left out) or counted, so an
  // image that fails halfway can be taken out again (PlanOptions::keep_going)
  // by cutting back to its mark.
  struct Mark {
    size_t refs, manifests, blobs, absent;
    PlanCounts counts;
  };

  Mark Here() const {
    const ExportPlan& p = *plan_;
    return {p.catalog.refs.size(), p.catalog.manifests.size(), p.catalog.blobs.size(),
            absent_.size(), p};
  }

  void CutBackTo(const Mark& mark) {
    ExportPlan& p = *plan_;
    for (size_t i = mark.refs; i < p.catalog.refs.size(); ++i) {
      const format::RefEntry& ref = p.catalog.refs[i];
      ref_names_.erase({ref.repository, RefKey(ref.tag, ref.manifest)});
    }
    p.catalog.refs.resize(mark.refs);
    for (size_t i = mark.manifests; i < p.catalog.manifests.size(); ++i) {
      manifests_.erase(p.catalog.manifests[i].digest);
    }
    p.catalog.manifests.resize(mark.manifests);
    for (size_t i = mark.blobs; i < p.catalog.blobs.size(); ++i) {
      blobs_.erase(p.catalog.blobs[i].digest);
    }
    p.catalog.blobs.resize(mark.blobs);
    p.origins.resize(mark.blobs);
    absent_.resize(mark.absent);
    static_cast<PlanCounts&>(p) = mark.counts;
  }

 private:
  // One ref per (repository, tag), or per (repository, digest) when pinned:
  // the same name found twice (an operator listing a .sig tag that also
  // travels with its image) is one ref; two images under one name cannot be.
  Status AddRef(const SourceImage& image) {
    auto [it, added] =
        ref_names_.try_emplace({image.repository, RefKey(image.tag, image.digest)}, image);
    if (!added) {
      if (it->second.digest == image.digest) return Status::Ok();
      return Status::InvalidArgument("'" + image.display + "' and '" + it->second.display +
                                     "' would both be imported as '" + image.tag +
                                     "' but are different images");
    }
    plan_->catalog.refs.push_back({image.repository, image.tag, image.digest, image.display});
    return Status::Ok();
  }

  // Whether the index child `child` ships when `platforms` are kept.
  static bool Wanted(const oci::Descriptor& child, const std::vector<oci::Platform>& platforms) {
    if (platforms.empty() || !child.platform) return true;
    for (const oci::Platform& p : platforms) {
      if (oci::PlatformMatches(p, *child.platform)) return true;
    }
    return false;
  }

  // An index of which the platforms asked for keep nothing: shipping it
  // would carry an image no one can run, so the export stops and says what
  // there is.
  static Status CheckSomeChildKept(const oci::Descriptor& d, const oci::Manifest& m,
                                   const std::vector<oci::Platform>& platforms) {
    if (m.kind != oci::ManifestKind::kIndex || m.manifests.empty()) return Status::Ok();
    std::string has;
    for (const oci::Descriptor& child : m.manifests) {
      if (Wanted(child, platforms)) return Status::Ok();
      has += (has.empty() ? "" : ", ") + child.platform->ToString();
    }
    std::string asked;
    for (const oci::Platform& p : platforms) {
      asked += (asked.empty() ? "" : ", ") + p.ToString();
    }
    return Status::NotFound("index " + d.digest.str() + " has no manifest for the platforms " +
                            "asked for (" + asked + "); it has " + has +
                            ": ask for one of those, or leave this image out");
  }

  oci::GraphHooks Hooks(ImageSource* source, const SourceImage& image,
                        const std::vector<oci::Platform>& platforms) {
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
    if (!platforms.empty()) {
      hooks.keep_child = [this, &platforms](const oci::Descriptor&, const oci::Descriptor& child) {
        if (Wanted(child, platforms)) return true;
        absent_.emplace_back(child.digest, child.media_type);
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
    hooks.manifest = [this, &platforms](const oci::Descriptor& d, const oci::Manifest& m,
                                        std::string& bytes) {
      if (!platforms.empty()) SLUICE_RETURN_IF_ERROR(CheckSomeChildKept(d, m, platforms));
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
    plan_->catalog.blobs.push_back({d.digest, d.size, d.media_type, shipped, std::nullopt});
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
  // Children left out, with their media types, as met (one may repeat).
  std::vector<std::pair<format::Digest, std::string>> absent_;
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

Result<ExportPlan> PlanExport(const std::vector<ExportSource>& sources, const Ledger& ledger,
                              const PlanOptions& options) {
  ExportPlan plan;
  // A failure of one image or source: the export's, or, going on past it,
  // one line of the report.
  auto fail = [&](size_t source, const std::string& image, Status reason) {
    if (!options.keep_going) return reason;
    plan.skipped.push_back({source, image, std::move(reason)});
    return Status::Ok();
  };

  // Every ref is named and checked before any image is walked: a name no
  // import would take is refused before anything is fetched or written.
  struct Root {
    ImageSource* source;
    size_t source_index;
    SourceImage image;
    std::vector<oci::Platform> platforms;  // empty: every child
  };
  std::vector<Root> roots;
  std::map<std::pair<std::string, std::string>, size_t> root_of;  // (repository, name) -> roots
  for (size_t i = 0; i < sources.size(); ++i) {
    const ExportSource& source = sources[i];
    const std::vector<oci::Platform>& platforms =
        source.platforms.empty() ? options.platforms : source.platforms;
    Result<std::vector<SourceImage>> images = source.source->ListImages();
    if (!images.ok()) {
      SLUICE_RETURN_IF_ERROR(fail(i, "", images.status()));
      continue;
    }
    for (SourceImage& image : *images) {
      // The rule verify and import apply to every catalog ref (catalog_check.h):
      // a bundle carrying a ref that breaks it would be refused whole on the
      // far side, after its blobs were recorded here as delivered.
      if (Status s = CheckRefName(image.repository, image.tag); !s.ok()) {
        SLUICE_RETURN_IF_ERROR(fail(
            i, image.display,
            Status::InvalidArgument("image " + QuoteName(image.display) + ": " + s.message() +
                                    "; no import would accept a bundle with it: rename it at the "
                                    "source or leave it out")));
        continue;
      }
      auto [it, added] =
          root_of.try_emplace({image.repository, RefKey(image.tag, image.digest)}, roots.size());
      if (!added) {
        Root& seen = roots[it->second];
        if (seen.image.digest != image.digest) {
          return Status::InvalidArgument("'" + image.display + "' and '" + seen.image.display +
                                         "' would both be imported as '" + image.tag +
                                         "' but are different images");
        }
        MergePlatforms(&seen.platforms, platforms);  // the same image named twice
        continue;
      }
      roots.push_back({source.source, i, std::move(image), platforms});
    }
  }
  Planner planner(&plan, ledger, options);
  for (const Root& root : roots) {
    Planner::Mark mark = planner.Here();
    Status added = planner.AddImage(root.source, root.image, root.platforms);
    if (added.ok()) continue;
    // Nothing this image alone needed stays in the plan.
    planner.CutBackTo(mark);
    SLUICE_RETURN_IF_ERROR(fail(root.source_index, root.image.display, std::move(added)));
  }
  planner.AddAbsent();
  if (plan.catalog.refs.empty() && !plan.skipped.empty()) {
    // No bundle: the failure is the export's, with the first one's kind
    // (and so exit code), naming a few of them.
    constexpr size_t kNamed = 5;
    std::string why;
    for (size_t i = 0; i < plan.skipped.size() && i < kNamed; ++i) {
      why += (i == 0 ? "" : "; ") + plan.skipped[i].reason.message();
    }
    if (plan.skipped.size() > kNamed) {
      why += "; and " + std::to_string(plan.skipped.size() - kNamed) + " more";
    }
    return Status::FromKind(plan.skipped.front().reason.kind(),
                            "nothing to export: every image asked for failed (" +
                                std::to_string(plan.skipped.size()) + "): " + why);
  }
  return plan;
}

}  // namespace sluice
