// libFuzzer target: arbitrary bytes read as a bundle, the way `sluice verify`
// and `sluice import` read one: Open, every shipped blob through NextBlob and
// Read, Finish; once with signature checks skipped (so mutations reach the
// catalog and frame decoders) and once with the golden test key trusted (so
// the signature path runs on real signed seeds). Also the random-access
// footer/trailer reader and the importer's catalog graph check.
//
// Beyond "no crash, no leak, no UB" it checks the reader's promises: a blob
// never yields more bytes than its catalog size, and a blob the reader ends
// without error has exactly the catalog's size and sha256.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "catalog_check.h"
#include "bytes_file.h"
#include "format/bundle_reader.h"
#include "format/crypto.h"

namespace {

using namespace sluice;
using fuzz::BytesFile;

class BytesReader final : public io::SequentialReader {
 public:
  BytesReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  Result<size_t> Read(io::MutableBytes buf) override {
    size_t n = std::min(buf.size(), size_ - pos_);
    if (n > 0) std::memcpy(buf.data(), data_ + pos_, n);
    pos_ += n;
    return n;
  }
  const std::string& name() const override { return name_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string name_ = "<fuzz>";
};

// The golden test key (tests/format/golden/tiny.key.pem: seed 00 01 .. 1f),
// which signed tests/format/golden/tiny.bundle and the writer-made seeds.
constexpr const char* kGoldenKeyPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
    "-----END PRIVATE KEY-----\n";

const format::TrustPolicy& TrustedGoldenKey() {
  static const format::TrustPolicy* policy = [] {
    auto key = format::PrivateKey::FromPem(kGoldenKeyPem);
    if (!key.ok()) std::abort();
    auto* p = new format::TrustPolicy;
    p->keys.push_back(key->public_key());
    return p;
  }();
  return *policy;
}

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

void ReadBundle(const uint8_t* data, size_t size, const format::TrustPolicy& trust) {
  BytesReader in(data, size);
  auto reader = format::BundleReader::Open(&in, trust);
  if (!reader.ok()) return;
  const format::Catalog& catalog = (*reader)->catalog();
  Check(trust.skip_signature || (*reader)->signature().verified);
  (void)CheckCatalogGraph(catalog);

  std::vector<uint8_t> buf(4096);
  while (true) {
    auto next = (*reader)->NextBlob();
    if (!next.ok() || !*next) break;
    Check(**next < catalog.blobs.size() && catalog.blobs[**next].shipped);
    const format::BlobEntry& blob = catalog.blobs[**next];
    format::Sha256 hasher;
    uint64_t total = 0;
    bool ended = false;
    while (true) {
      auto n = (*reader)->Read(buf);
      if (!n.ok()) break;
      if (*n == 0) {
        ended = true;
        break;
      }
      total += *n;
      Check(total <= blob.carried_size());
      hasher.Update(io::ByteView(buf.data(), *n));
    }
    if (!ended) break;
    Check(total == blob.carried_size());
    Check(hasher.Finish() == blob.carried_digest());  // a delta blob: its delta
  }
  (void)(*reader)->Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  format::TrustPolicy skip;
  skip.skip_signature = true;
  ReadBundle(data, size, skip);
  ReadBundle(data, size, TrustedGoldenKey());

  BytesFile file(data, size);
  (void)format::ReadBlobLocations(file);
  return 0;
}
