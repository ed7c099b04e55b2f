// `sluice verify` and `sluice import`: one forward pass over a bundle, from a
// file or a pipe, never unpacked to a staging directory.
//
// Import order, so nothing is ever half-visible at the destination:
//   1. signature and catalog checked; catalog graph checked;
//   2. every blob the bundle assumes present is present at the destination,
//      names are valid, and there is room: otherwise refuse, writing nothing;
//   3. shipped blobs are written, each verified before it is published;
//   4. the trailer is checked (the whole bundle has been read and verified);
//   5. manifests are published, children before indexes;
//   6. tags are published last, in one atomic step where the sink allows.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "format/bundle_reader.h"
#include "io/file.h"
#include "sink/image_sink.h"
#include "transfer/limits.h"

namespace sluice {

struct BundleSummary {
  std::string bundle_id;  // hex
  std::string signer;     // "sha256:…" fingerprint of the signing key
  bool signature_verified = false;
  uint64_t base_sequence = 0;
  uint64_t sequence = 0;
  uint64_t refs = 0;
  uint64_t manifests = 0;
  uint64_t shipped_blobs = 0;
  uint64_t shipped_bytes = 0;  // raw
  uint64_t assumed_blobs = 0;  // not shipped: expected at the destination
};

struct ImportReport {
  BundleSummary bundle;
  uint64_t blobs_written = 0;
  uint64_t bytes_written = 0;
  uint64_t blobs_already_present = 0;
  uint64_t manifests_written = 0;
  struct Ref {
    std::string source;       // the reference the exporter read it from (else "repository:tag")
    std::string destination;  // where it now is, e.g. "oci:DIR:tag"; pinned: "oci:DIR@sha256:..."
    std::string digest;
    bool pinned = false;      // no tag: known by its digest only (source and destination too)
  };
  std::vector<Ref> refs;
};

using ProgressFunction = std::function<void(uint64_t done, uint64_t total, uint64_t bytes_done,
                                            uint64_t bytes_total)>;

// Reads and checks everything; writes nothing.
Result<BundleSummary> VerifyBundle(io::SequentialReader* in, const format::TrustPolicy& trust,
                                   const ProgressFunction& progress = {});

// `destination` is used in messages and the report ("oci:DIR").
// `blobs_in_flight`: blobs written at once, capped by the sink's
// MaxBlobsInFlight(); memory for them stays bounded (transfer/limits.h).
Result<ImportReport> ImportBundle(io::SequentialReader* in, const format::TrustPolicy& trust,
                                  ImageSink* sink, const std::string& destination,
                                  const ProgressFunction& progress = {},
                                  size_t blobs_in_flight = kDefaultBlobsInFlight);

}  // namespace sluice
