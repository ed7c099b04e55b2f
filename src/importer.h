// `sluice import`: one forward pass over a bundle, from a file or a pipe,
// never unpacked to a staging directory (VerifyBundle, bundle_check.h, is
// `sluice verify`'s pass).
//
// Import order, so nothing is ever half-visible at the destination:
//   1. signature and catalog checked; catalog graph checked;
//   2. every blob the bundle assumes present is present at the destination,
//      names are valid, and there is room: otherwise refuse, writing nothing;
//   3. shipped blobs are written, each verified before it is published;
//   4. the trailer is checked (the whole bundle has been read and verified);
//   5. manifests are published, children before indexes; absent ones (index
//      children the exporter left out, --platform) are neither required nor
//      written. A destination that refuses an index whose children are not
//      all there (a registry, HTTP 400 MANIFEST_BLOB_UNKNOWN or
//      MANIFEST_UNKNOWN) gets, under each ref naming that index, the index's
//      one kept child instead (ImportReport::Ref::index says so); with more
//      than one kept, the import fails naming the registry's answer;
//   6. tags are published last, in one atomic step where the sink allows,
//      under the destination's lock, and never moved back to a manifest of an
//      older bundle of the destination's ledger (destination_state.h).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bundle_check.h"
#include "format/bundle_reader.h"
#include "io/file.h"
#include "oci/artifact.h"
#include "progress.h"
#include "sink/image_sink.h"
#include "transfer/limits.h"

namespace sluice {

struct ImportReport {
  BundleSummary bundle;
  uint64_t blobs_written = 0;
  uint64_t bytes_written = 0;
  uint64_t blobs_already_present = 0;
  uint64_t manifests_written = 0;
  // Blobs and manifests the destination held damaged (bytes hashing to
  // another digest), replaced by the bundle's verified bytes.
  std::vector<std::string> repaired;
  // Tags this (older) bundle would have moved back, left as they were.
  struct KeptTag {
    std::string destination;  // as Describe() names it
    std::string kept;         // digest the tag keeps
    std::string refused;      // digest of this bundle's image
  };
  std::vector<KeptTag> tags_left_alone;
  // The destination was bound to another ledger and is now bound to this
  // bundle's (--accept-ledger); the id it was bound to.
  std::string rebound_from;
  struct Ref {
    std::string source;       // the reference the exporter read it from (else "repository:tag")
    std::string destination;  // where it now is, e.g. "oci:DIR:tag"; pinned: "oci:DIR@sha256:..."
    std::string digest;
    bool pinned = false;      // no tag: known by its digest only (source and destination too)
    std::string repository{};  // as the bundle names it ("" for a layout's bare tag)
    std::string tag{};         // "" when pinned
    // Set when the destination refused the bundle's index (a registry
    // checking that every child is there, when the bundle left platforms
    // out) and the ref names the index's one kept child instead: the
    // index's digest, and the child's platform. `digest` is then the child's.
    std::string index{};
    std::string platform{};
    // Where the image now is, split as Helm charts take an image apart
    // (ImageSink::Place): registry ("" when not a registry) and repository.
    Placement placement{};
    // Set when the image is a Helm chart or a file carried as an artifact
    // (oci/artifact.h): its kind, name, version and content layer.
    std::optional<oci::Artifact> artifact{};
    // import --files-to: the path the file artifact was written to.
    std::string file{};
  };
  std::vector<Ref> refs;
  // Every config and layer blob of the bundle's catalog, sorted: once the
  // import has succeeded the destination holds each one intact (written and
  // verified, found intact, or, assumed present, found there).
  std::vector<format::Digest> blobs;
};

struct ImportOptions {
  // Counts the shipped blobs' bytes as they are written (phase
  // "importing"); null: not counted.
  ProgressCounter* progress = nullptr;
  // Blobs written at once, capped by the sink's MaxBlobsInFlight(); memory
  // for them stays bounded (transfer/limits.h).
  size_t blobs_in_flight = kDefaultBlobsInFlight;
  // Where the state file is; null: io::DefaultFileSystem().
  io::FileSystem* fs = nullptr;
  // The destination's state file (destination_state.h). "" imports without
  // the lock, the ledger binding and the rollback rule: for tests and
  // library callers that serialise imports themselves.
  std::string state_path;
  // Move tags back to an older bundle's manifests on purpose.
  bool allow_rollback = false;
  // A ledger id (hex) the destination may be rebound to.
  std::string accept_ledger;
  // How long to wait for another import into the same destination.
  std::chrono::milliseconds lock_wait{std::chrono::minutes(5)};
  // The bundle as a file, the same bytes as the stream (null for a pipe):
  // its blobs are then read, checked and written several at once, each
  // hashed once, by the sink that writes it.
  const io::PositionalReader* bundle_file = nullptr;
};

// `destination` is used in messages and the report ("oci:DIR"). A bundle
// of another ledger than the destination's is refused (kUntrusted) before
// anything is written.
Result<ImportReport> ImportBundle(io::SequentialReader* in, const format::TrustPolicy& trust,
                                  ImageSink* sink, const std::string& destination,
                                  const ImportOptions& options);
// The same with default options but these.
Result<ImportReport> ImportBundle(io::SequentialReader* in, const format::TrustPolicy& trust,
                                  ImageSink* sink, const std::string& destination,
                                  ProgressCounter* progress = nullptr,
                                  size_t blobs_in_flight = kDefaultBlobsInFlight);

}  // namespace sluice
