#include <catch2/catch.hpp>

#include "format/bundle_format.h"
#include "format/bundle_reader.h"
#include "format/checksum.h"
#include "tests/format/bundle_test_util.h"
#include "tests/format/string_io.h"

namespace sluice::format {
namespace {

using testing::BlobSpec;
using testing::MakeCatalog;
using testing::ReadAll;
using testing::TrustTestKey;

constexpr uint32_t kFrame = 1u << 20;

void CheckRoundTrip(const std::vector<BlobSpec>& blobs, const BundleWriterOptions& options,
                    size_t max_chunk = 0) {
  Catalog catalog = MakeCatalog(blobs);
  std::string bundle = testing::WriteBundle(catalog, blobs, options);
  testing::ReadResult r = ReadAll(bundle, TrustTestKey(), 65536, max_chunk);
  REQUIRE(r.status.ok());
  CHECK(r.catalog == catalog);
  CHECK(r.signature.verified);
  CHECK(r.signature.key_fingerprint == testing::TestKey().public_key().Fingerprint());
  size_t shipped = 0;
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (!blobs[i].shipped) {
      CHECK(r.blobs.count(i) == 0);
      continue;
    }
    ++shipped;
    REQUIRE(r.blobs.count(i) == 1);
    INFO("blob " << i << " of " << blobs[i].data.size() << " bytes");
    CHECK(r.blobs[i].size() == blobs[i].data.size());
    CHECK(r.blobs[i] == blobs[i].data);
  }
  CHECK(r.locations.size() == shipped);
  auto locations = ReadBlobLocations(testing::StringPositionalReader(bundle));
  REQUIRE(locations.ok());
  REQUIRE(locations->size() == r.locations.size());
  for (size_t i = 0; i < r.locations.size(); ++i) {
    CHECK((*locations)[i].blob_index == r.locations[i].blob_index);
    CHECK((*locations)[i].offset == r.locations[i].offset);
    CHECK((*locations)[i].stored_size == r.locations[i].stored_size);
    CHECK((*locations)[i].frame_count == r.locations[i].frame_count);
  }
}

TEST_CASE("reader returns every shipped blob byte for byte, at frame-size edges") {
  auto compression = GENERATE(Compression::kNone, Compression::kZstd);
  std::vector<BlobSpec> blobs;
  uint64_t seed = 1;
  for (size_t size : {size_t{0}, size_t{1}, size_t{kFrame - 1}, size_t{kFrame},
                      size_t{kFrame + 1}}) {
    blobs.push_back({testing::CompressibleBytes(size, seed++), true, compression});
  }
  blobs.push_back({testing::CompressibleBytes(3 * kFrame + 12345, seed++), true, compression});
  blobs.push_back({testing::RandomBytes(3 * kFrame + 777, seed++), true, compression});
  blobs.push_back({testing::RandomBytes(4096, seed++), false, compression});  // not shipped
  blobs.push_back({testing::RandomBytes(2 * kFrame, seed++), true, compression});
  CheckRoundTrip(blobs, {});
}

TEST_CASE("reader round-trips with small frames and a bundle with nothing shipped") {
  std::vector<BlobSpec> blobs = {{testing::CompressibleBytes(5000, 1), true, Compression::kZstd},
                                 {testing::RandomBytes(5000, 2), true, Compression::kZstd},
                                 {"", true, Compression::kZstd}};
  CheckRoundTrip(blobs, {128, 3});
  CheckRoundTrip({{"unshipped", false}}, {});
  CheckRoundTrip({}, {});
}

TEST_CASE("reader copes with input arriving a few bytes at a time") {
  std::vector<BlobSpec> blobs = {{testing::CompressibleBytes(20000, 1), true, Compression::kZstd},
                                 {testing::RandomBytes(3000, 2), true, Compression::kNone}};
  CheckRoundTrip(blobs, {4096, 3}, /*max_chunk=*/7);
}

TEST_CASE("reader hands out blob bytes in reads of one byte") {
  std::vector<BlobSpec> blobs = {{"hello, world", true, Compression::kNone}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs, {5, 3});
  testing::ReadResult r = ReadAll(bundle, TrustTestKey(), /*read_size=*/1);
  REQUIRE(r.status.ok());
  CHECK(r.blobs[0] == "hello, world");
}

TEST_CASE("reader rejects a bundle signed by a key that is not trusted") {
  std::vector<BlobSpec> blobs = {{"hello", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  auto other = PrivateKey::Generate();
  REQUIRE(other.ok());
  std::string fingerprint = testing::TestKey().public_key().FingerprintText();

  SECTION("a different key") {
    Status s = testing::Verify(bundle, TrustPolicy{{other->public_key()}, false});
    CHECK(s.kind() == ErrorKind::kUntrusted);
    CHECK(s.message().find(fingerprint) != std::string::npos);
  }
  SECTION("no keys at all") {
    Status s = testing::Verify(bundle, TrustPolicy{});
    CHECK(s.kind() == ErrorKind::kUntrusted);
    CHECK(s.message().find("no trusted keys") != std::string::npos);
  }
  SECTION("the trusted key among others is found by fingerprint") {
    CHECK(testing::Verify(bundle, TrustPolicy{{other->public_key(), testing::TestKey().public_key()},
                                              false})
              .ok());
  }
  SECTION("skip_signature accepts it and says it did not verify") {
    testing::ReadResult r = ReadAll(bundle, TrustPolicy{{}, true});
    CHECK(r.status.ok());
    CHECK_FALSE(r.signature.verified);
    CHECK(r.blobs[0] == "hello");
  }
}

TEST_CASE("reader rejects a catalog re-signed by an untrusted key") {
  std::vector<BlobSpec> blobs = {{"hello", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  auto mallory = PrivateKey::Generate();
  REQUIRE(mallory.ok());
  testing::FixCatalogAndSign(&bundle, *mallory);
  CHECK(testing::Verify(bundle).kind() == ErrorKind::kUntrusted);
}

TEST_CASE("reader rejects an unknown format version, naming it") {
  std::vector<BlobSpec> blobs = {{"hello", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  testing::PutU32At(&bundle, 8, 7);
  testing::FixHeaderChecksum(&bundle);
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kUnsupported);
  CHECK(s.message() == "bundle format version 7 is not supported (this sluice reads version 3)");
}

TEST_CASE("reader refuses a version 1 bundle as unsupported") {
  // Version 1 (refs without a source) was never released; no reader reads it.
  std::vector<BlobSpec> blobs = {{"hello", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  REQUIRE(bundle[8] == 3);
  testing::PutU32At(&bundle, 8, 1);
  testing::FixHeaderChecksum(&bundle);
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kUnsupported);
  CHECK(s.message() == "bundle format version 1 is not supported (this sluice reads version 3)");
}

TEST_CASE("reader rejects an unknown required feature, naming the bit") {
  std::vector<BlobSpec> blobs = {{"hello", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  testing::PutU32At(&bundle, 12, 1u << 5);
  testing::FixHeaderChecksum(&bundle);
  testing::FixCatalogAndSign(&bundle);
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kUnsupported);
  CHECK(s.message().find("bit 5") != std::string::npos);
}

TEST_CASE("reader ignores an unknown optional feature") {
  std::vector<BlobSpec> blobs = {{"hello", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  testing::PutU32At(&bundle, 16, 1u << 9);
  testing::FixHeaderChecksum(&bundle);
  testing::FixCatalogAndSign(&bundle);  // the signature covers the header
  CHECK(testing::Verify(bundle).ok());
}

// Inserts `extra` bytes at `at`, shifting everything behind it, and fixes the
// trailer entries and footer offset that point behind it.
void InsertAndShift(std::string* b, uint64_t at, const std::string& extra) {
  testing::Layout l = testing::ParseLayout(*b);
  uint32_t count = testing::GetU32At(*b, l.trailer_offset + 8);
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t field = l.trailer_offset + kTrailerHeaderSize + kTrailerEntrySize * i + 8;
    testing::PutU64At(b, field, testing::GetU64At(*b, field) + extra.size());
  }
  testing::PutU64At(b, l.footer_offset, l.trailer_offset + extra.size());
  b->insert(at, extra);
  testing::FixFooterChecksum(b);
}

TEST_CASE("reader and ReadBlobLocations accept a header extension") {
  std::vector<BlobSpec> blobs = {{"hello", true}, {"world", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  InsertAndShift(&bundle, 88, std::string(16, '\x5a'));
  testing::PutU32At(&bundle, 20, 112);
  testing::FixHeaderChecksum(&bundle);
  testing::FixCatalogAndSign(&bundle);
  testing::ReadResult r = ReadAll(bundle, TrustTestKey());
  REQUIRE(r.status.ok());
  CHECK(r.blobs[1] == "world");
  auto locations = ReadBlobLocations(testing::StringPositionalReader(bundle));
  REQUIRE(locations.ok());
  CHECK((*locations)[0].offset ==
        112 + testing::GetU64At(bundle, 80) + kSignatureSize + kVolumeRecordSize);
}

TEST_CASE("reader and ReadBlobLocations accept a trailer extension") {
  std::vector<BlobSpec> blobs = {{"hello", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  for (size_t size : {size_t{1}, size_t{31}, size_t{32}, size_t{200000}}) {
    std::string b = bundle;
    uint64_t footer = b.size() - kFooterSize;
    b.insert(footer, testing::RandomBytes(size, size));
    uint64_t trailer = testing::GetU64At(b, b.size() - kFooterSize);
    testing::PutU64At(&b, b.size() - kFooterSize + 8, b.size() - kFooterSize - trailer);
    testing::PutU64At(&b, trailer + 16, b.size() - kFooterSize - trailer);  // trailer_size
    testing::FixFooterChecksum(&b);
    INFO("extension of " << size << " bytes");
    CHECK(testing::Verify(b).ok());
    CHECK(ReadBlobLocations(testing::StringPositionalReader(b)).ok());
    // Without its checksum fixed, the same extension is damage.
    std::string stale = b;
    stale[footer] ^= 1;
    CHECK(testing::Verify(stale).kind() == ErrorKind::kCorruption);
  }
}

TEST_CASE("reader reports an I/O failure as an I/O error, wherever it happens") {
  std::vector<BlobSpec> blobs = {{testing::RandomBytes(3000, 1), true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs, {1024, 3});
  testing::Layout l = testing::ParseLayout(bundle);
  for (uint64_t at : {uint64_t{0}, uint64_t{30}, l.catalog_offset + 5, l.signature_offset + 1,
                      l.frame_offsets[1] + 3, l.trailer_offset + 2, l.footer_offset + 31,
                      uint64_t{bundle.size()}}) {
    testing::FailingReader in(bundle, at);
    Status s;
    auto reader = BundleReader::Open(&in, TrustTestKey());
    if (!reader.ok()) {
      s = reader.status();
    } else {
      s = (*reader)->Finish();
    }
    INFO("failing after " << at << " bytes: " << s.ToString());
    CHECK(s.kind() == ErrorKind::kIoError);
  }
}

TEST_CASE("Finish alone reads and verifies every blob") {
  std::vector<BlobSpec> blobs = {{"hello", true}, {"world", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  testing::StringReader in(bundle);
  auto reader = BundleReader::Open(&in, TrustTestKey());
  REQUIRE(reader.ok());
  CHECK((*reader)->Finish().ok());
  CHECK((*reader)->locations().size() == 2);
  CHECK(in.position() == bundle.size());
}

TEST_CASE("NextBlob verifies the unread rest of the previous blob") {
  std::vector<BlobSpec> blobs = {{"hello, world", true}, {"second", true}};
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs, {4, 3});
  // Damage the last frame of blob 0 so that only its digest can notice.
  testing::Layout l = testing::ParseLayout(bundle);
  bundle[l.frame_offsets[2] + 40] ^= 0x20;
  testing::FixFrameChecksum(&bundle, l.frame_offsets[2]);

  testing::StringReader in(bundle);
  auto reader = BundleReader::Open(&in, TrustTestKey());
  REQUIRE(reader.ok());
  auto first = (*reader)->NextBlob();
  REQUIRE(first.ok());
  CHECK(**first == 0);
  uint8_t byte = 0;
  REQUIRE((*reader)->Read(io::MutableBytes(&byte, 1)).ok());
  auto second = (*reader)->NextBlob();
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().kind() == ErrorKind::kCorruption);
  CHECK(second.status().message().find(Sha256::Of("hello, world").str()) != std::string::npos);
  // The reader stays failed.
  CHECK((*reader)->Finish().kind() == ErrorKind::kCorruption);
}

Status OpenStatus(const std::string& bytes, const TrustPolicy& trust) {
  testing::StringReader in(bytes);
  auto reader = BundleReader::Open(&in, trust);
  return reader.ok() ? Status::Ok() : reader.status();
}

// Recomputes the checksum at the end of catalog bytes after an edit, so the
// catalog is malformed rather than damaged.
void ResealCatalog(std::string* catalog) {
  catalog->resize(catalog->size() - 8);
  uint64_t sum = Xxh3(io::AsBytes(*catalog));
  for (int i = 0; i < 8; ++i) catalog->push_back(static_cast<char>(sum >> (8 * i)));
}

// Catalogs with a good checksum that parsing or validation refuses, each
// with what the refusal names.
std::vector<std::pair<std::string, std::string>> MalformedCatalogs() {
  const Catalog good = MakeCatalog({{"hello", true}});
  std::vector<std::pair<std::string, std::string>> out;
  std::string huge_count = testing::EncodeCatalogUnchecked(good);
  testing::PutU32At(&huge_count, 0, 0x7fffffff);  // far more refs than bytes
  ResealCatalog(&huge_count);
  out.push_back({huge_count, "ref_count"});
  Catalog bad_hash = good;
  bad_hash.manifests[0].bytes += " ";
  out.push_back({testing::EncodeCatalogUnchecked(bad_hash), "bytes hash to"});
  Catalog missing = good;
  missing.refs[0].manifest = Sha256::Of("no such manifest");
  out.push_back({testing::EncodeCatalogUnchecked(missing), "not a manifest this bundle carries"});
  Catalog twice = good;
  twice.refs.push_back(twice.refs[0]);
  out.push_back({testing::EncodeCatalogUnchecked(twice), "listed twice"});
  return out;
}

TEST_CASE("reader checks the signature before it parses or validates the catalog") {
  auto mallory = PrivateKey::Generate();
  REQUIRE(mallory.ok());
  const BundleHeader header = MakeCatalog({}).header;
  for (const auto& [catalog, problem] : MalformedCatalogs()) {
    INFO("a catalog refused for '" << problem << "'");
    std::string forged = testing::SignedBundlePrefix(header, catalog, *mallory);
    Status s = OpenStatus(forged, TrustTestKey());
    INFO(s.ToString());
    CHECK(s.kind() == ErrorKind::kUntrusted);
    CHECK(s.message().find(mallory->public_key().FingerprintText()) != std::string::npos);

    // Carrying the trusted key's fingerprint, but not its signature.
    std::string altered = testing::SignedBundlePrefix(header, catalog, testing::TestKey());
    altered.back() ^= 0x01;
    s = OpenStatus(altered, TrustTestKey());
    CHECK(s.kind() == ErrorKind::kUntrusted);
    CHECK(s.message().find("does not verify") != std::string::npos);

    // Signature checks skipped: the catalog is still parsed and validated.
    s = OpenStatus(forged, TrustPolicy{{}, true});
    CHECK(s.kind() == ErrorKind::kCorruption);
    CHECK(s.message().find(problem) != std::string::npos);

    // Damage is reported as damage, signed or not: the checksum comes first.
    std::string damaged = forged;
    damaged[kHeaderSize + 2] ^= 0x01;
    s = OpenStatus(damaged, TrustTestKey());
    CHECK(s.kind() == ErrorKind::kCorruption);
    CHECK(s.message().find("checksum mismatch") != std::string::npos);
  }
}

// Issue 9: n refs naming the last of n manifests, which a search of the
// manifests per ref makes cost n^2 digest comparisons (n = 40,000: a 10 MB
// catalog, 26 s). The last ref names a manifest that is not there, so a
// reader refuses it as corrupt only after validating all of it.
Catalog RefsToTheLastManifest(size_t n) {
  Catalog c;
  c.header = MakeCatalog({}).header;
  for (size_t i = 0; i < n; ++i) {
    ManifestEntry m;
    m.bytes = R"({"schemaVersion":2,"n":)" + std::to_string(i) + "}";
    m.digest = Sha256::Of(m.bytes);
    m.media_type = "application/vnd.oci.image.manifest.v1+json";
    c.manifests.push_back(std::move(m));
  }
  for (size_t i = 0; i < n; ++i) {
    c.refs.push_back({"app", "t" + std::to_string(i), c.manifests.back().digest, ""});
  }
  c.refs.back().manifest = Sha256::Of("no such manifest");
  return c;
}

TEST_CASE("reader refuses a large unsigned catalog before parsing or validating it") {
  const size_t n = 40000;
  std::string catalog = testing::EncodeCatalogUnchecked(RefsToTheLastManifest(n));
  REQUIRE(catalog.size() > (7u << 20));
  const BundleHeader header = MakeCatalog({}).header;
  auto mallory = PrivateKey::Generate();
  REQUIRE(mallory.ok());

  SECTION("signed by a key that is not trusted") {
    Status s = OpenStatus(testing::SignedBundlePrefix(header, catalog, *mallory), TrustTestKey());
    INFO(s.ToString());
    CHECK(s.kind() == ErrorKind::kUntrusted);
  }
  SECTION("with a signature that does not verify under the trusted key") {
    std::string b = testing::SignedBundlePrefix(header, catalog, testing::TestKey());
    b[b.size() - 10] ^= 0x40;
    Status s = OpenStatus(b, TrustTestKey());
    INFO(s.ToString());
    CHECK(s.kind() == ErrorKind::kUntrusted);
    CHECK(s.message().find("does not verify") != std::string::npos);
  }
  SECTION("with no keys trusted at all") {
    Status s = OpenStatus(testing::SignedBundlePrefix(header, catalog, *mallory), TrustPolicy{});
    CHECK(s.kind() == ErrorKind::kUntrusted);
  }
  SECTION("with signature checks skipped, validated in full and refused for the last ref") {
    Status s =
        OpenStatus(testing::SignedBundlePrefix(header, catalog, *mallory), TrustPolicy{{}, true});
    INFO(s.ToString());
    CHECK(s.kind() == ErrorKind::kCorruption);
    CHECK(s.message().find("ref " + std::to_string(n - 1)) != std::string::npos);
    CHECK(s.message().find("not a manifest this bundle carries") != std::string::npos);
  }
}

// --- Delta blobs (SPEC.md section 4, "Delta blobs") ---

// A whole blob, a delta blob of several zstd frames and a blob not shipped.
std::vector<BlobSpec> DeltaBlobs() {
  return {{testing::RandomBytes(700, 21), true},
          testing::DeltaSpec(testing::CompressibleBytes(5000, 22), testing::RandomBytes(300, 23),
                             Compression::kZstd),
          {"the far side has it", false}};
}

TEST_CASE("reader returns a delta blob's delta, whose frames carry delta_size bytes") {
  const std::vector<BlobSpec> blobs = DeltaBlobs();
  const Catalog catalog = MakeCatalog(blobs);
  BundleWriterOptions options;
  options.frame_size = 1024;
  const std::string bundle = testing::WriteBundle(catalog, blobs, options);
  CHECK(testing::GetU32At(bundle, 12) == kRequiredFeatureDelta);
  testing::ReadResult r = ReadAll(bundle, TrustTestKey());
  REQUIRE(r.status.ok());
  CHECK(r.catalog == catalog);
  REQUIRE(r.catalog.blobs[1].delta);
  CHECK(r.blobs[0] == blobs[0].data);
  CHECK(r.blobs[1] == blobs[1].data);  // the delta, not the blob it rebuilds
  CHECK(r.blobs[1].size() == r.catalog.blobs[1].delta->size);
  CHECK(Sha256::Of(r.blobs[1]) == r.catalog.blobs[1].delta->digest);
  CHECK(r.catalog.blobs[1].size == 300);
  // The frames of blob 1 run from raw offset 0 to delta_size, in order.
  const testing::Layout l = testing::ParseLayout(bundle);
  uint64_t raw = 0;
  size_t frames = 0;
  for (uint64_t at : l.frame_offsets) {
    if (testing::GetU32At(bundle, at + 4) != 1) continue;
    CHECK(testing::GetU64At(bundle, at + 8) == raw);
    raw += testing::GetU32At(bundle, at + 16);
    ++frames;
  }
  CHECK(frames == 5);
  CHECK(raw == 5000);
  REQUIRE(r.locations.size() == 2);
  CHECK(r.locations[1].raw_size == 5000);
  CHECK(testing::VerifyAt(bundle).ok());
}

TEST_CASE("reader refuses a delta blob whose frames do not hash to delta_digest") {
  std::vector<BlobSpec> blobs = DeltaBlobs();
  const Catalog catalog = MakeCatalog(blobs);
  // Other bytes of the same size, written by a writer that leaves digests to
  // its caller (as the exporter's does).
  std::string other = blobs[1].data;
  other[4321] ^= 0x20;
  blobs[1].data = other;
  BundleWriterOptions options;
  options.check_digests = false;
  const std::string bundle = testing::WriteBundle(catalog, blobs, options);
  testing::ReadResult r = ReadAll(bundle, TrustTestKey());
  INFO(r.status.ToString());
  CHECK(r.status.kind() == ErrorKind::kCorruption);
  CHECK(r.status.message().find("blob 1 " + catalog.blobs[1].digest.str()) != std::string::npos);
  CHECK(r.status.message().find("its delta hashes to " + Sha256::Of(other).str() +
                                ", expected " + catalog.blobs[1].delta->digest.str()) !=
        std::string::npos);
  Status at = testing::VerifyAt(bundle);
  CHECK(at.kind() == ErrorKind::kCorruption);
  CHECK(at.message().find("its delta hashes to") != std::string::npos);
}

TEST_CASE("reader refuses a delta bundle whose header does not require feature bit 0") {
  const std::vector<BlobSpec> blobs = DeltaBlobs();
  std::string bundle = testing::WriteBundle(MakeCatalog(blobs), blobs);
  // Bit 0 set is what makes a reader that knows no feature refuse the
  // bundle ("reader rejects an unknown required feature, naming the bit").
  REQUIRE(testing::GetU32At(bundle, 12) == kRequiredFeatureDelta);
  testing::PutU32At(&bundle, 12, 0);
  testing::FixHeaderChecksum(&bundle);
  testing::FixCatalogAndSign(&bundle);
  Status s = testing::Verify(bundle);
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("ships blobs as deltas, but the header does not require feature bit 0") !=
        std::string::npos);
  // A bundle without deltas requires nothing.
  const std::vector<BlobSpec> whole = {{"hello", true}};
  CHECK(testing::GetU32At(testing::WriteBundle(MakeCatalog(whole), whole), 12) == 0);
}

}  // namespace
}  // namespace sluice::format
