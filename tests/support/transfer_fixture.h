// The export/import fixture of the library-level tests: a temp dir with a
// signing key pair, and export, verify-on-read and import through the
// library as the CLI does them. No Catch2: results come back as Status
// values for the test to check.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "exporter.h"
#include "format/bundle_reader.h"
#include "importer.h"
#include "io/file.h"
#include "sink/image_sink.h"
#include "tests/support/temp_dir.h"

namespace sluice::testing {

// The media types the layouts of these tests are built with.
inline constexpr const char* kTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";

struct LibraryTransfer {
  // Makes the Ed25519 pair key/pub; throws std::runtime_error when that fails.
  LibraryTransfer();

  TempDir tmp;
  io::FileSystem* fs = io::DefaultFileSystem();
  std::string key = tmp / "key.pem";
  std::string pub = tmp / "key.pub";

  // Exports `tags` of the OCI layout at `layout` into the bundle `out` with
  // `ledger`, signed with key, every file through `through` (fs when null).
  Result<ExportReport> ExportTags(const std::string& layout, const std::vector<std::string>& tags,
                                  const std::string& ledger, const std::string& out,
                                  io::FileSystem* through = nullptr) const;
  // A policy that trusts pub alone.
  Result<format::TrustPolicy> TrustPub() const;
  // Imports the bundle file (read through fs, trusting pub) into `sink`;
  // `destination` names the sink in messages and the report.
  Result<ImportReport> ImportToSink(const std::string& bundle, ImageSink* sink,
                                    const std::string& destination) const;
  // Imports it into the OCI layout at dir, written through `through` (fs
  // when null).
  Result<ImportReport> ImportToLayout(const std::string& bundle, const std::string& dir,
                                      io::FileSystem* through = nullptr) const;
  // The digests the bundle's catalog marks shipped (its signature checked).
  Result<std::set<std::string>> ShippedDigests(const std::string& bundle) const;
};

}  // namespace sluice::testing
