#include "tests/support/transfer_fixture.h"

#include <memory>
#include <stdexcept>

#include "signing.h"
#include "sink/oci_layout_sink.h"
#include "source/oci_layout_source.h"

namespace sluice::testing {

LibraryTransfer::LibraryTransfer() {
  Status made = GenerateKeyPair(fs, key, pub);
  if (!made.ok()) throw std::runtime_error("test key pair: " + made.ToString());
}

Result<ExportReport> LibraryTransfer::ExportTags(const std::string& layout,
                                                 const std::vector<std::string>& tags,
                                                 const std::string& ledger, const std::string& out,
                                                 io::FileSystem* through) const {
  io::FileSystem* files = through != nullptr ? through : fs;
  std::vector<std::unique_ptr<ImageSource>> sources;
  std::vector<ExportSource> ptrs;
  for (const std::string& tag : tags) {
    sources.push_back(NewOciLayoutSource(files, layout, tag));
    ptrs.push_back(sources.back().get());
  }
  ExportOptions options;
  options.ledger_path = ledger;
  options.sign_key_path = key;
  options.output_path = out;
  return sluice::Export(files, ptrs, options);
}

Result<format::TrustPolicy> LibraryTransfer::TrustPub() const {
  SLUICE_ASSIGN_OR_RETURN(std::vector<format::PublicKey> keys, LoadTrustedKeys(fs, {pub}));
  return format::TrustPolicy{std::move(keys), false};
}

Result<ImportReport> LibraryTransfer::ImportToSink(const std::string& bundle, ImageSink* sink,
                                                   const std::string& destination) const {
  SLUICE_ASSIGN_OR_RETURN(format::TrustPolicy trust, TrustPub());
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<io::SequentialReader> in,
                          fs->NewSequentialReader(bundle));
  return ImportBundle(in.get(), trust, sink, destination);
}

Result<ImportReport> LibraryTransfer::ImportToLayout(const std::string& bundle,
                                                     const std::string& dir,
                                                     io::FileSystem* through) const {
  auto sink = NewOciLayoutSink(through != nullptr ? through : fs, dir);
  return ImportToSink(bundle, sink.get(), "oci:" + dir);
}

Result<std::set<std::string>> LibraryTransfer::ShippedDigests(const std::string& bundle) const {
  SLUICE_ASSIGN_OR_RETURN(format::TrustPolicy trust, TrustPub());
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<io::SequentialReader> in,
                          fs->NewSequentialReader(bundle));
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<format::BundleReader> reader,
                          format::BundleReader::Open(in.get(), trust));
  std::set<std::string> out;
  for (const auto& b : reader->catalog().blobs) {
    if (b.shipped) out.insert(b.digest.str());
  }
  return out;
}

}  // namespace sluice::testing
