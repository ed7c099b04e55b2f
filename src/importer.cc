#include "importer.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "delta_rebuild.h"
#include "destination_state.h"
#include "format/blob_check.h"
#include "oci/graph.h"
#include "reference/ref_name.h"
#include "transfer/limits.h"
#include "transfer/parallel_blob_writer.h"
#include "transfer/parallel_for.h"

namespace sluice {
namespace {


// What the report (and the mapping file) calls the image's origin: the
// exporter's own reference when the bundle records one.
std::string RefSource(const format::RefEntry& ref) {
  return ref.source.empty() ? JoinRefName(ref.repository, ref.tag) : ref.source;
}

// The repositories each manifest and blob belongs to, in the order refs name
// them: a registry keeps repositories apart, so a layer shared by two images
// of two repositories must end up in both. The first is where it is written;
// the sink makes it available in the others (a registry mounts it). An OCI
// layout has one namespace and ignores all this.
using RepositoryMap = std::map<format::Digest, std::vector<std::string>>;

Result<RepositoryMap> RepositoriesOfEachDigest(const format::Catalog& catalog) {
  std::map<format::Digest, const format::ManifestEntry*> manifests;
  for (const format::ManifestEntry& m : catalog.manifests) manifests[m.digest] = &m;
  RepositoryMap owners;
  auto carried = [&](const oci::Descriptor&, const oci::Descriptor& child) {
    return !manifests.at(child.digest)->absent;
  };
  for (const format::RefEntry& ref : catalog.refs) {
    auto own = [&](const format::Digest& digest) {
      auto& repos = owners[digest];
      if (std::find(repos.begin(), repos.end(), ref.repository) == repos.end()) {
        repos.push_back(ref.repository);
      }
      return Status::Ok();
    };
    oci::GraphHooks hooks;
    // CheckCatalogGraph has found every manifest the graph names.
    hooks.fetch = [&](const oci::Descriptor& d) -> Result<oci::FetchedManifest> {
      const format::ManifestEntry& m = *manifests.at(d.digest);
      return oci::FetchedManifest{m.bytes, m.media_type};
    };
    hooks.keep_child = carried;  // nothing of an absent one arrives
    hooks.blob = [&](const oci::Descriptor& d, const oci::Descriptor&) { return own(d.digest); };
    hooks.manifest = [&](const oci::Descriptor& d, const oci::Manifest&, std::string&) {
      return own(d.digest);
    };
    oci::Descriptor root;
    root.digest = ref.manifest;
    SLUICE_RETURN_IF_ERROR(oci::GraphWalk(std::move(hooks)).Walk(root));
  }
  // Listed but unreachable from any ref: keep it with the first repository.
  std::string fallback = catalog.refs.empty() ? "" : catalog.refs.front().repository;
  for (const auto& b : catalog.blobs) owners.try_emplace(b.digest, std::vector{fallback});
  for (const auto& m : catalog.manifests) owners.try_emplace(m.digest, std::vector{fallback});
  return owners;
}

}  // namespace

namespace {

// One import, phase by phase (importer.h): nothing is written before
// Preflight has passed, no manifest before every blob is verified and
// committed, no tag before every manifest.
class Import {
 public:
  Import(format::BundleReader* reader, ImageSink* sink, const std::string& destination,
         RepositoryMap repos, ImportReport* report)
      : reader_(reader),
        catalog_(reader->catalog()),
        sink_(sink),
        destination_(destination),
        repos_(std::move(repos)),
        report_(report) {}

  // Refuses before writing anything: bad names, missing base blobs, no room.
  Status Preflight() {
    for (const format::RefEntry& ref : catalog_.refs) {
      SLUICE_RETURN_IF_ERROR(sink_->CheckRef(ref.repository, ref.tag));
    }
    std::vector<std::string> missing;
    uint64_t needed_bytes = 0;
    for (const format::BlobEntry& blob : catalog_.blobs) {
      const std::string& repository = repos_[blob.digest].front();
      // The bundle's bytes are verified; what is there may not be.
      SLUICE_ASSIGN_OR_RETURN(bool has, blob.shipped ? HasIntact(repository, blob.digest)
                                                     : sink_->HasBlob(repository, blob.digest));
      if (!has && !blob.shipped) {
        // Delivered earlier, perhaps to another repository than this image's.
        SLUICE_ASSIGN_OR_RETURN(has, sink_->FindBlob(repository, blob.digest));
      }
      if (has) {
        present_.insert(blob.digest);
      } else if (!blob.shipped) {
        missing.push_back(blob.digest.str());
      } else {
        needed_bytes += blob.size;
        // A delta is rebuilt from its base, which must be here already.
        if (blob.delta) {
          SLUICE_ASSIGN_OR_RETURN(bool base, sink_->HasBlob(repository, blob.delta->base));
          if (!base) {
            SLUICE_ASSIGN_OR_RETURN(base, sink_->FindBlob(repository, blob.delta->base));
          }
          if (!base) missing.push_back(blob.delta->base.str() + " (the base of delta blob " +
                                       blob.digest.str() + ")");
        }
      }
    }
    if (!missing.empty()) return MissingBlobs(missing);
    for (const format::ManifestEntry& m : catalog_.manifests) needed_bytes += m.bytes.size();
    SLUICE_ASSIGN_OR_RETURN(uint64_t free_bytes, sink_->FreeSpace());
    if (free_bytes < needed_bytes) {
      return Status::NoSpace(destination_ + " has " + std::to_string(free_bytes) +
                             " bytes free but the import needs " + std::to_string(needed_bytes));
    }
    return Status::Ok();
  }

  // Each blob is verified by the reader (size and sha256) before Read reports
  // its end, and only then committed by the sink. The sink's writes run on
  // worker threads, overlapping with reading the bundle on.
  Status WriteBlobs(ProgressCounter* progress, size_t blobs_in_flight) {
    BlobPhase phase(progress, "importing", report_->bundle);
    std::vector<uint8_t> buffer(kCopyBufferSize);
    ParallelBlobWriter writers(std::min(blobs_in_flight, sink_->MaxBlobsInFlight()),
                               kBlobBufferBytes);
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(std::optional<size_t> index, reader_->NextBlob());
      if (!index) break;
      const format::BlobEntry& blob = catalog_.blobs[*index];
      if (present_.contains(blob.digest)) {
        // The reader leaves hashing to the sink; nothing writes this one.
        format::BlobCheck check = CheckOf(blob);
        SLUICE_RETURN_IF_ERROR(Drain(reader_, &buffer, progress, &check));
      } else {
        SLUICE_RETURN_IF_ERROR(WriteBlob(&writers, blob, &buffer, progress));
      }
    }
    SLUICE_RETURN_IF_ERROR(writers.Finish());
    report_->blobs_already_present = present_.size();
    return Status::Ok();
  }

  // The same for a bundle file: several blobs at once, each read, checked
  // and written by one thread, hashed once (by the sink as it writes, or
  // here when the destination has it already).
  Status WriteBlobsAt(const io::PositionalReader& file, ProgressCounter* progress,
                      size_t blobs_in_flight) {
    auto located = BlobsAt::Locate(file, catalog_);
    if (!located.ok()) return located.status().WithContext(file.name());
    const BlobsAt& blobs = *located;
    BlobPhase phase(progress, "importing", report_->bundle);
    std::mutex report_mu;
    size_t threads = std::min(blobs_in_flight, sink_->MaxBlobsInFlight());
    Status written = ForEachInParallel(blobs.order, threads, [&](size_t position) -> Status {
      const format::BlobEntry& blob = catalog_.blobs[blobs.locations[position].blob_index];
      bool present = present_.contains(blob.digest);
      auto reader = blobs.Open(&file, &catalog_, position, /*check_digest=*/false);
      std::vector<uint8_t> buffer(kCopyBufferSize);
      if (present) {
        format::BlobCheck check = CheckOf(blob);
        SLUICE_RETURN_IF_ERROR(
            Drain(reader.get(), &buffer, progress, &check).WithContext(file.name()));
      } else {
        SLUICE_ASSIGN_OR_RETURN(auto writer,
                                NewBlobWriter(repos_.at(blob.digest).front(), blob));
        SLUICE_RETURN_IF_ERROR(
            Copy(reader.get(), writer.get(), &buffer, progress).WithContext(file.name()));
        std::lock_guard<std::mutex> lock(report_mu);
        report_->blobs_written += 1;
        report_->bytes_written += blob.size;
      }
      return Status::Ok();
    });
    SLUICE_RETURN_IF_ERROR(written);
    report_->blobs_already_present = present_.size();
    return Status::Ok();
  }

  // Blobs shared across repositories: makes them present in every one.
  Status ShareBlobs() {
    for (const format::BlobEntry& blob : catalog_.blobs) {
      const std::vector<std::string>& wanted_in = repos_[blob.digest];
      for (size_t i = 1; i < wanted_in.size(); ++i) {
        SLUICE_ASSIGN_OR_RETURN(bool has, sink_->HasBlob(wanted_in[i], blob.digest));
        if (!has) {
          return Status::NotFound("blob " + blob.digest.str() +
                                  " could not be made available in repository '" + wanted_in[i] +
                                  "' of " + destination_);
        }
      }
    }
    return Status::Ok();
  }

  // Catalog order puts children before the indexes that list them.
  Status PublishManifests() {
    for (const format::ManifestEntry& m : catalog_.manifests) {
      if (m.absent) sink_->ExpectAbsent(m.digest);
    }
    for (const format::ManifestEntry& m : catalog_.manifests) {
      if (m.absent) continue;  // left out by the exporter: not written, not required
      for (const std::string& repository : repos_[m.digest]) {
        SLUICE_ASSIGN_OR_RETURN(bool has, HasIntact(repository, m.digest));
        if (has) continue;
        Status put = sink_->PutManifest(repository, m.digest, m.media_type, m.bytes);
        if (!put.ok()) {
          SLUICE_ASSIGN_OR_RETURN(bool instead, UseKeptChild(m, put));
          if (instead) break;
          return put;
        }
        report_->manifests_written += 1;
      }
    }
    return Status::Ok();
  }

  // Tags (and digest pins) last, made visible in one step where the sink can.
  // With `keep_newer` (an older bundle of the destination's ledger), a tag
  // that names another manifest already stays as it is.
  Status PublishTags(bool keep_newer) {
    std::map<format::Digest, const format::ManifestEntry*> manifests;
    for (const format::ManifestEntry& m : catalog_.manifests) manifests[m.digest] = &m;
    for (const format::RefEntry* each : TagOrder()) {
      const format::RefEntry& ref = *each;
      if (keep_newer && !ref.tag.empty()) {
        SLUICE_ASSIGN_OR_RETURN(std::optional<format::Digest> now,
                                sink_->TagDigest(ref.repository, ref.tag));
        if (now && *now != ref.manifest) {
          report_->tags_left_alone.push_back(
              {sink_->Describe(ref.repository, ref.tag, ref.manifest), now->str(),
               ref.manifest.str()});
          continue;
        }
      }
      const format::ManifestEntry* root = manifests.at(ref.manifest);  // checked by the reader
      ImportReport::Ref reported{RefSource(ref), "", "", ref.tag.empty(), ref.repository, ref.tag};
      if (auto it = instead_.find(ref.manifest); it != instead_.end()) {
        reported.index = ref.manifest.str();
        reported.platform = it->second.platform;
        root = it->second.child;
      }
      SLUICE_RETURN_IF_ERROR(sink_->AddTag(ref.repository, ref.tag, root->digest, root->media_type,
                                           root->bytes.size()));
      reported.destination = sink_->Describe(ref.repository, ref.tag, root->digest);
      reported.digest = root->digest.str();
      reported.placement = sink_->Place(ref.repository);
      reported.artifact = oci::RecognizeArtifact(root->bytes, root->media_type);
      report_->refs.push_back(std::move(reported));
    }
    return sink_->Commit();
  }

 private:
  // The refs in the order their tags are written: a cosign-style or fallback
  // tag (sha256-<hex>.sig, sha256-<hex>) after every tag of the manifest
  // sha256:<hex> it is attached to, and so on down a chain (a signature of a
  // signature), catalog order otherwise. Every manifest is written before
  // any tag (PublishManifests), but tags are what policy engines and
  // mirrors watch: none should see a signature's tag before its subject's.
  std::vector<const format::RefEntry*> TagOrder() const {
    std::map<format::Digest, int> depth_of;  // manifest -> deepest ref naming it
    std::vector<int> depth(catalog_.refs.size(), 0);
    auto subject_of = [](const std::string& tag) -> std::optional<format::Digest> {
      if (!tag.starts_with("sha256-") || tag.size() < 7 + 64) return std::nullopt;
      if (tag.size() > 7 + 64 && tag[7 + 64] != '.') return std::nullopt;
      auto digest = format::Digest::Parse("sha256:" + tag.substr(7, 64));
      if (!digest.ok()) return std::nullopt;
      return *digest;
    };
    // Relaxed once per level: chains are at most oci::kMaxAttachDepth long
    // as sluice exports them, and a longer or cyclic one just stops growing.
    for (int round = 0; round <= oci::kMaxAttachDepth; ++round) {
      for (size_t i = 0; i < catalog_.refs.size(); ++i) {
        std::optional<format::Digest> subject = subject_of(catalog_.refs[i].tag);
        if (!subject) continue;
        auto it = depth_of.find(*subject);
        if (it != depth_of.end()) depth[i] = std::max(depth[i], it->second + 1);
      }
      for (size_t i = 0; i < catalog_.refs.size(); ++i) {
        int& d = depth_of[catalog_.refs[i].manifest];
        d = std::max(d, depth[i]);
      }
    }
    std::vector<size_t> order(catalog_.refs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return depth[a] < depth[b]; });
    std::vector<const format::RefEntry*> out;
    for (size_t i : order) out.push_back(&catalog_.refs[i]);
    return out;
  }

  // The index `index` was refused with `refusal`. If the refusal is a
  // registry's for children it lacks, and the bundle left children of this
  // index out (--platform), and exactly one image manifest of it is carried:
  // remembers that refs to the index get that child instead, and says true.
  // Otherwise false, or an error naming the registry's answer when only the
  // left-out children stand in the way.
  Result<bool> UseKeptChild(const format::ManifestEntry& index, const Status& refusal) {
    auto parsed = oci::ParseManifest(index.bytes, index.media_type);
    if (!parsed.ok() || parsed->kind != oci::ManifestKind::kIndex) return false;
    std::vector<const oci::Descriptor*> kept;
    bool left_out = false;
    for (const oci::Descriptor& child : parsed->manifests) {
      const format::ManifestEntry* entry = Entry(child.digest);
      if (entry == nullptr) return false;  // CheckCatalogGraph lists every child
      if (entry->absent) {
        left_out = true;
      } else {
        kept.push_back(&child);
      }
    }
    // distribution checks an index's children by default: an unknown one
    // is refused as MANIFEST_BLOB_UNKNOWN (older: MANIFEST_UNKNOWN).
    std::string_view answer = refusal.message();
    bool missing_children = answer.find("MANIFEST_BLOB_UNKNOWN") != std::string_view::npos ||
                            answer.find("MANIFEST_UNKNOWN") != std::string_view::npos;
    if (!left_out || !missing_children) return false;
    const format::ManifestEntry* child = kept.size() == 1 ? Entry(kept[0]->digest) : nullptr;
    if (child == nullptr || !oci::IsImageManifestMediaType(child->media_type)) {
      return Status::FromKind(
          refusal.kind(), destination_ + " refused index " + index.digest.str() +
                              ", whose other platforms this bundle left out (export --platform), "
                              "and it keeps " +
                              std::to_string(kept.size()) +
                              " children, so no one manifest can be tagged instead; export one "
                              "platform per image for this destination, or all of them (" +
                              std::string(refusal.message()) + ")");
    }
    instead_[index.digest] = {child, kept[0]->platform ? kept[0]->platform->ToString() : ""};
    return true;
  }

  const format::ManifestEntry* Entry(const format::Digest& digest) const {
    for (const format::ManifestEntry& m : catalog_.manifests) {
      if (m.digest == digest) return &m;
    }
    return nullptr;
  }

  // Whether the destination holds `digest` intact; one it holds damaged is
  // reported as repaired, since the caller writes the bundle's bytes over it.
  // Asks HasBlob first: for a registry one HEAD answers, and a local file
  // is hashed only when it is there.
  Result<bool> HasIntact(const std::string& repository, const format::Digest& digest) {
    SLUICE_ASSIGN_OR_RETURN(bool held, sink_->HasBlob(repository, digest));
    if (!held) return false;
    SLUICE_ASSIGN_OR_RETURN(bool intact, sink_->HasIntactBlob(repository, digest));
    if (!intact) report_->repaired.push_back(digest.str());
    return intact;
  }

  // The bundle's bytes of `blob` to a worker of `writers` (counted as they
  // are handed over: the worker's buffer is bounded).
  Status WriteBlob(ParallelBlobWriter* writers, const format::BlobEntry& blob,
                   std::vector<uint8_t>* buffer, ProgressCounter* progress) {
    SLUICE_ASSIGN_OR_RETURN(
        auto writer, writers->Start("blob " + blob.digest.str(),
                                    [this, repository = repos_[blob.digest].front(), &blob] {
                                      return NewBlobWriter(repository, blob);
                                    }));
    SLUICE_RETURN_IF_ERROR(Copy(reader_, writer.get(), buffer, progress));
    report_->blobs_written += 1;
    report_->bytes_written += blob.size;
    return Status::Ok();
  }

  // The check of what the bundle carries for `blob`: the blob, or its delta.
  static format::BlobCheck CheckOf(const format::BlobEntry& blob) {
    return {blob.carried_digest(), blob.carried_size(),
            (blob.delta ? "the delta of blob " : "blob ") + blob.digest.str()};
  }

  // The sink's writer of `blob`; for a blob the bundle carries as a delta,
  // one that takes the delta and hands the sink the rebuilt blob.
  Result<std::unique_ptr<BlobWriter>> NewBlobWriter(const std::string& repository,
                                                    const format::BlobEntry& blob) {
    SLUICE_ASSIGN_OR_RETURN(auto writer, sink_->NewBlob(repository, blob.digest, blob.size));
    if (!blob.delta) return writer;
    return StartDeltaRebuild(io::DefaultFileSystem(), sink_, repository, blob, std::move(writer));
  }

  Status MissingBlobs(const std::vector<std::string>& missing) const {
    std::string list;
    for (const std::string& d : missing) list += (list.empty() ? " " : ", ") + d;
    // Sequences are all the far side can name: which of the earlier bundles
    // are lost is only known to whoever kept them.
    uint64_t base = catalog_.header.base_sequence;
    std::string remedy = base == 0 ? "the exporter's ledger says " + destination_ + " holds them"
                                   : "import bundle " + std::to_string(base) +
                                         " (and any earlier bundle not imported yet) first";
    return Status::NotFound(
        "bundle " + std::to_string(catalog_.header.sequence) + " builds on bundle " +
        std::to_string(base) + " of its ledger, but " + destination_ + " lacks " +
        std::to_string(missing.size()) + " blob(s) it assumes present; " + remedy +
        ", or resynchronise the exporter's ledger ('sluice inventory' here, then "
        "'sluice ledger rebuild --from-inventory'). Missing:" +
        list);
  }

  format::BundleReader* reader_;
  const format::Catalog& catalog_;
  ImageSink* sink_;
  const std::string& destination_;
  RepositoryMap repos_;
  ImportReport* report_;
  std::set<format::Digest> present_;  // blobs the destination holds already
  // Indexes the destination refused -> the one kept child tagged instead.
  struct KeptChild {
    const format::ManifestEntry* child;
    std::string platform;
  };
  std::map<format::Digest, KeptChild> instead_;
};

}  // namespace

namespace {

// Refuses a bundle of another ledger than the one `state` is bound to,
// unless the caller accepts that ledger; says so in the report when it does.
Status CheckLedgerBinding(const DestinationState& state, const format::BundleHeader& header,
                          const std::string& destination, const ImportOptions& options,
                          ImportReport* report) {
  std::string ledger = format::HexEncode(header.ledger_id);
  if (state.ledger_id.empty() || state.ledger_id == ledger) return Status::Ok();
  if (options.accept_ledger == ledger) {
    report->rebound_from = state.ledger_id;
    return Status::Ok();
  }
  return Status::Untrusted(destination + " takes bundles of ledger " + state.ledger_id +
                           ", but bundle " + std::to_string(header.sequence) +
                           " is of ledger " + ledger +
                           " (another site's exporter?); if this destination is to take that "
                           "ledger's bundles from now on, import with --accept-ledger " +
                           ledger);
}

// The state after importing a bundle with `header` into a destination in
// `state` (checked by CheckLedgerBinding).
DestinationState Advance(DestinationState state, const format::BundleHeader& header) {
  std::string ledger = format::HexEncode(header.ledger_id);
  if (state.ledger_id != ledger) return {ledger, header.sequence};
  state.sequence = std::max(state.sequence, header.sequence);
  return state;
}

}  // namespace

Result<ImportReport> ImportBundle(io::SequentialReader* in, const format::TrustPolicy& trust,
                                  ImageSink* sink, const std::string& destination,
                                  const ImportOptions& options) {
  ImportReport report;
  // Each blob is hashed once: by the sink that writes it (or by Import when
  // the destination has it), not by the reader too.
  SLUICE_ASSIGN_OR_RETURN(auto reader,
                          OpenChecked(in, trust, &report.bundle, {.check_blob_digests = false}));
  const format::BundleHeader& header = reader->catalog().header;
  std::optional<DestinationStateFile> state_file;
  if (!options.state_path.empty()) {
    state_file.emplace(options.fs != nullptr ? options.fs : io::DefaultFileSystem(),
                       options.state_path);
    SLUICE_ASSIGN_OR_RETURN(DestinationState state, state_file->Load());
    SLUICE_RETURN_IF_ERROR(CheckLedgerBinding(state, header, destination, options, &report));
  }
  auto repos = RepositoriesOfEachDigest(reader->catalog());
  if (!repos.ok()) return repos.status().WithContext(in->name());
  Import import(reader.get(), sink, destination, std::move(repos).value(), &report);
  SLUICE_RETURN_IF_ERROR(import.Preflight());
  if (options.bundle_file != nullptr) {
    // The trailer was checked when the blobs were located.
    SLUICE_RETURN_IF_ERROR(
        import.WriteBlobsAt(*options.bundle_file, options.progress, options.blobs_in_flight));
  } else {
    SLUICE_RETURN_IF_ERROR(import.WriteBlobs(options.progress, options.blobs_in_flight));
    SLUICE_RETURN_IF_ERROR(reader->Finish().WithContext(in->name()));
  }
  SLUICE_RETURN_IF_ERROR(import.ShareBlobs());
  // Preflight found the assumed blobs, the shipped ones are written or found
  // intact, and ShareBlobs put each in every repository that needs it.
  for (const format::BlobEntry& blob : reader->catalog().blobs) report.blobs.push_back(blob.digest);
  std::sort(report.blobs.begin(), report.blobs.end());
  report.blobs.erase(std::unique(report.blobs.begin(), report.blobs.end()), report.blobs.end());
  SLUICE_RETURN_IF_ERROR(import.PublishManifests());
  if (!state_file) {
    SLUICE_RETURN_IF_ERROR(import.PublishTags(/*keep_newer=*/false));
    return report;
  }
  // From here to the new state, one import at a time: the state is read
  // again, as another import may have moved it since.
  SLUICE_ASSIGN_OR_RETURN(auto lock, state_file->Lock(options.lock_wait));
  SLUICE_ASSIGN_OR_RETURN(DestinationState state, state_file->Load());
  report.rebound_from.clear();
  SLUICE_RETURN_IF_ERROR(CheckLedgerBinding(state, header, destination, options, &report));
  bool older = state.ledger_id == format::HexEncode(header.ledger_id) &&
               header.sequence < state.sequence;
  SLUICE_RETURN_IF_ERROR(import.PublishTags(older && !options.allow_rollback));
  SLUICE_RETURN_IF_ERROR(state_file->Save(Advance(state, header)));
  return report;
}

Result<ImportReport> ImportBundle(io::SequentialReader* in, const format::TrustPolicy& trust,
                                  ImageSink* sink, const std::string& destination,
                                  ProgressCounter* progress, size_t blobs_in_flight) {
  ImportOptions options;
  options.progress = progress;
  options.blobs_in_flight = blobs_in_flight;
  return ImportBundle(in, trust, sink, destination, options);
}

}  // namespace sluice
