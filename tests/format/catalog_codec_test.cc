#include "format/catalog_codec.h"

#include <catch2/catch.hpp>
#include <functional>

#include "format/bundle_format.h"
#include "format/checksum.h"
#include "tests/format/bundle_test_util.h"

namespace sluice::format {
namespace {

// Builds catalog bytes field by field, so tests can say things the encoder
// refuses to say.
class RawCatalog {
 public:
  RawCatalog& U8(uint8_t v) {
    bytes_.push_back(static_cast<char>(v));
    return *this;
  }
  RawCatalog& U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  RawCatalog& U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<char>(v >> (8 * i)));
    return *this;
  }
  RawCatalog& Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    bytes_.append(s);
    return *this;
  }
  // Rec() starts a record (its u32 record_size, set by End() to the bytes
  // appended in between).
  RawCatalog& Rec() {
    record_at_ = bytes_.size();
    return U32(0);
  }
  RawCatalog& End() {
    const uint32_t size = static_cast<uint32_t>(bytes_.size() - record_at_ - 4);
    for (int i = 0; i < 4; ++i) bytes_[record_at_ + i] = static_cast<char>(size >> (8 * i));
    return *this;
  }
  RawCatalog& Ref(std::string_view repo, std::string_view tag, std::string_view digest,
                  std::string_view source) {
    return Rec().Str(repo).Str(tag).Str(digest).Str(source).End();
  }
  RawCatalog& Manifest(std::string_view digest, std::string_view media_type,
                       std::string_view bytes) {
    return Rec().Str(digest).Str(media_type).U8(0).Str(bytes).End();
  }
  RawCatalog& Blob(std::string_view digest, uint64_t size, std::string_view media_type,
                   uint8_t flags) {
    return Rec().Str(digest).U64(size).Str(media_type).U8(flags).End();
  }
  // Appends the checksum and returns the whole catalog.
  std::string Seal() const {
    std::string out = bytes_;
    uint64_t sum = Xxh3(io::AsBytes(out));
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(sum >> (8 * i)));
    return out;
  }

 private:
  std::string bytes_;
  size_t record_at_ = 0;
};

const std::string kManifest = R"({"schemaVersion":2})";
const std::string kManifestDigest = Sha256::Of(kManifest).str();
const std::string kBlobDigest = Sha256::Of("hello").str();

RawCatalog GoodPrefix() {
  RawCatalog c;
  c.U32(1).Ref("repo", "tag", kManifestDigest, "reg.example/repo:tag");
  c.U32(1).Manifest(kManifestDigest, "application/vnd.oci.image.manifest.v1+json", kManifest);
  return c;
}

Status Decode(const std::string& bytes) {
  Catalog c;
  return DecodeCatalog(io::AsBytes(bytes), 96, &c);
}

TEST_CASE("catalog codec round-trips refs, manifests and blobs") {
  Catalog c = testing::MakeCatalog({{"a", true}, {"", false}, {"ccc", true}});
  REQUIRE(!c.refs[0].source.empty());
  // An OCI layout ref (no repository) and a ref with no recorded source.
  c.refs.push_back({"", "v1", c.manifests[0].digest, "oci:/srv/layout:v1"});
  c.refs.push_back({"", "v2", c.manifests[0].digest, ""});
  auto bytes = EncodeCatalog(c);
  REQUIRE(bytes.ok());
  Catalog back;
  back.header = c.header;
  REQUIRE(DecodeCatalog(io::AsBytes(*bytes), 96, &back).ok());
  CHECK(back == c);
  CHECK(back.refs[1].source == "oci:/srv/layout:v1");
  CHECK(back.refs[2].source.empty());
}

TEST_CASE("catalog codec round-trips a source of exactly the string limit") {
  Catalog c = testing::MakeCatalog({{"a", true}});
  c.refs[0].source = std::string(kMaxStringSize, 's');
  auto bytes = EncodeCatalog(c);
  REQUIRE(bytes.ok());
  Catalog back;
  back.header = c.header;
  REQUIRE(DecodeCatalog(io::AsBytes(*bytes), 96, &back).ok());
  CHECK(back == c);
}

TEST_CASE("catalog encoder writes the source last in the ref record") {
  Catalog c = testing::MakeCatalog({{"a", true}});
  c.refs[0] = {"team/app", "1.0", c.manifests[0].digest, "127.0.0.1:5000/team/app:1.0"};
  auto bytes = EncodeCatalog(c);
  REQUIRE(bytes.ok());
  RawCatalog expected;
  expected.U32(1).Ref("team/app", "1.0", c.manifests[0].digest.str(),
                      "127.0.0.1:5000/team/app:1.0");
  std::string prefix = expected.Seal();
  prefix.resize(prefix.size() - 8);  // without the checksum
  CHECK(bytes->substr(0, prefix.size()) == prefix);
}

TEST_CASE("catalog encoder refuses a source over the limit") {
  Catalog c = testing::MakeCatalog({{"a", true}});
  c.refs[0].source = std::string(kMaxStringSize + 1, 's');
  auto bytes = EncodeCatalog(c);
  REQUIRE(!bytes.ok());
  CHECK(bytes.status().kind() == ErrorKind::kInvalidArgument);
  CHECK(bytes.status().message().find("source is 4097 bytes, over the limit of 4096") !=
        std::string::npos);
}

TEST_CASE("catalog decoder accepts a hand-built catalog") {
  std::string bytes =
      GoodPrefix().U32(1).Blob(kBlobDigest, 5, "text/plain", kBlobFlagShipped).Seal();
  Catalog c;
  REQUIRE(DecodeCatalog(io::AsBytes(bytes), 96, &c).ok());
  REQUIRE(c.refs.size() == 1);
  CHECK(c.refs[0].repository == "repo");
  CHECK(c.refs[0].tag == "tag");
  CHECK(c.refs[0].manifest.str() == kManifestDigest);
  CHECK(c.refs[0].source == "reg.example/repo:tag");
  REQUIRE(c.blobs.size() == 1);
  CHECK(c.blobs[0].size == 5);
  CHECK(c.blobs[0].shipped);
}

TEST_CASE("catalog decoder rejects a bad checksum") {
  std::string bytes = GoodPrefix().U32(0).Seal();
  bytes.back() ^= 1;
  Status s = Decode(bytes);
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("checksum") != std::string::npos);
}

TEST_CASE("catalog decoder rejects a count larger than the bytes that remain") {
  Status s = Decode(GoodPrefix().U32(0xffffffff).Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("blob_count") != std::string::npos);
}

TEST_CASE("catalog decoder rejects a string longer than the catalog") {
  RawCatalog c;
  c.U32(1).U32(100).U32(1000).Str("x");
  CHECK(Decode(c.Seal()).kind() == ErrorKind::kCorruption);
}

TEST_CASE("catalog decoder rejects a string over the limit") {
  RawCatalog c;
  c.U32(1).Ref(std::string(kMaxStringSize + 1, 'r'), "tag", kManifestDigest, "");
  Status s = Decode(c.U32(0).U32(0).Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("over the limit") != std::string::npos);
}

TEST_CASE("catalog decoder rejects a ref source over the limit, naming it") {
  RawCatalog c;
  c.U32(1).Ref("repo", "tag", kManifestDigest, std::string(kMaxStringSize + 1, 's'));
  c.U32(1).Manifest(kManifestDigest, "application/vnd.oci.image.manifest.v1+json", kManifest);
  Status s = Decode(c.U32(0).Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  INFO(s.ToString());
  // 96 (catalog offset) + 4 (ref_count) + 4 (record_size) + 8 + 7 + 75:
  // where the source's length is.
  CHECK(s.message() == "catalog at offset 194: ref 0 source is 4097 bytes, over the limit of 4096");
}

TEST_CASE("catalog decoder rejects a ref record without a source (version 1 layout)") {
  RawCatalog c;
  c.U32(1).Rec().Str("repo").Str("tag").Str(kManifestDigest).End();  // no source
  c.U32(1).Manifest(kManifestDigest, "application/vnd.oci.image.manifest.v1+json", kManifest);
  Status s = Decode(c.U32(0).Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("ref 0 source runs past its record's end") != std::string::npos);
}

TEST_CASE("catalog decoder skips fields a later revision appended to a record") {
  // Record lengths exist so that fields can be added without a new version.
  RawCatalog c;
  c.U32(1).Rec().Str("repo").Str("tag").Str(kManifestDigest).Str("src").Str("later").End();
  c.U32(1).Rec().Str(kManifestDigest).Str("m").U8(0).Str(kManifest).U64(7).End();
  c.U32(1).Rec().Str(kBlobDigest).U64(5).Str("").U8(1).U32(99).End();
  Catalog out;
  REQUIRE(DecodeCatalog(io::AsBytes(c.Seal()), 96, &out).ok());
  CHECK(out.refs[0].source == "src");
  CHECK(out.manifests[0].bytes == kManifest);
  CHECK(out.blobs[0].size == 5);
  CHECK(out.blobs[0].shipped);
}

TEST_CASE("catalog codec round-trips an absent manifest, and refs may not name one") {
  Catalog c = testing::MakeCatalog({{"a", true}});
  const Digest child = Sha256::Of("a platform left out");
  c.manifests.push_back({child, "application/vnd.oci.image.manifest.v1+json", "", true});
  auto bytes = EncodeCatalog(c);
  REQUIRE(bytes.ok());
  Catalog back;
  back.header = c.header;
  REQUIRE(DecodeCatalog(io::AsBytes(*bytes), 96, &back).ok());
  CHECK(back == c);
  CHECK(back.manifests.back().absent);

  Catalog named = c;
  named.refs.push_back({"repo", "gone", child, ""});
  Status s = EncodeCatalog(named).status();
  CHECK(s.kind() == ErrorKind::kInvalidArgument);
  CHECK(s.message().find("not a manifest this bundle carries") != std::string::npos);

  RawCatalog with_bytes;
  with_bytes.U32(0).U32(1).Rec().Str(child.str()).Str("m").U8(kManifestFlagAbsent).Str("x").End();
  s = Decode(with_bytes.U32(0).Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("marked absent but has bytes") != std::string::npos);

  RawCatalog flags;
  flags.U32(0).U32(1).Rec().Str(kManifestDigest).Str("m").U8(0x02).Str(kManifest).End();
  s = Decode(flags.U32(0).Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("unknown flags") != std::string::npos);
}

TEST_CASE("catalog decoder rejects a record_size larger than the catalog") {
  RawCatalog c;
  c.U32(1).U32(1u << 30).Str("repo").Str(std::string(100, 'x'));
  Status s = Decode(c.Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("record_size") != std::string::npos);
}

TEST_CASE("catalog decoder rejects a digest that is not sha256 hex") {
  std::string upper = kBlobDigest;
  upper[10] = 'A';
  for (const std::string& bad : {upper, std::string("md5:abc"), kBlobDigest.substr(0, 70)}) {
    Status s = Decode(GoodPrefix().U32(1).Blob(bad, 5, std::string(80, 'm'), 1).Seal());
    CHECK(s.kind() == ErrorKind::kCorruption);
    INFO(s.ToString());
    CHECK(s.message().find("blob 0 digest") != std::string::npos);
  }
}

TEST_CASE("catalog decoder rejects a ref to a digest that is not a manifest") {
  RawCatalog c;
  c.U32(1).Ref("repo", "tag", kBlobDigest, "");
  c.U32(0).U32(1).Blob(kBlobDigest, 5, "", 1);
  Status s = Decode(c.Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("not a manifest") != std::string::npos);
}

TEST_CASE("catalog decoder rejects manifest bytes that do not hash to their digest") {
  RawCatalog c;
  c.U32(0).U32(1).Manifest(kManifestDigest, "m", kManifest + " ").U32(0);
  Status s = Decode(c.Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find(kManifestDigest) != std::string::npos);
}

TEST_CASE("catalog decoder rejects a digest listed twice") {
  Status s = Decode(GoodPrefix().U32(1).Blob(kManifestDigest, 5, "", 0).Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("twice") != std::string::npos);
}

TEST_CASE("catalog refs are one per tag, and one per digest among refs pinned by digest") {
  const std::string other = R"({"schemaVersion":2,"other":1})";
  const std::string other_digest = Sha256::Of(other).str();
  auto catalog = [&](std::vector<std::pair<std::string, std::string>> refs) {
    RawCatalog c;
    c.U32(static_cast<uint32_t>(refs.size()));
    for (const auto& [tag, digest] : refs) c.Ref("repo", tag, digest, "");
    c.U32(2).Manifest(kManifestDigest, "m", kManifest).Manifest(other_digest, "m", other);
    return c.U32(0).Seal();
  };
  // Two images of one repository pinned by digest, beside a tag of one.
  CHECK(Decode(catalog({{"", kManifestDigest}, {"", other_digest}, {"1", kManifestDigest}})).ok());
  Status s = Decode(catalog({{"1", kManifestDigest}, {"1", other_digest}}));
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("twice") != std::string::npos);
  s = Decode(catalog({{"", other_digest}, {"", other_digest}}));
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("twice") != std::string::npos);
}

TEST_CASE("catalog validation compares digests and names a number of times linear in the refs") {
  // n refs with a tag and n refs pinned by digest, all naming the last of n
  // manifests or each its own: a search of the manifests per ref would make
  // about n^2 comparisons (issue 9: 40,000 refs took 26 s).
  for (size_t n : {size_t{500}, size_t{2000}, size_t{8000}}) {
    Catalog c = testing::MakeCatalog({{"a", true}, {"b", false}});
    c.refs.clear();
    for (size_t i = 0; i < n; ++i) {
      std::string bytes = R"({"schemaVersion":2,"n":)" + std::to_string(i) + "}";
      c.manifests.push_back(
          {Sha256::Of(bytes), "application/vnd.oci.image.manifest.v1+json", bytes});
    }
    for (size_t i = 0; i < n; ++i) {
      c.refs.push_back({"app", "t" + std::to_string(i), c.manifests.back().digest, ""});
      c.refs.push_back({"app", "", c.manifests[i + 1].digest, ""});
    }
    CatalogValidationCost cost;
    REQUIRE(ValidateCatalog(c, ErrorKind::kInvalidArgument, &cost).ok());
    const uint64_t records = c.refs.size() + c.manifests.size() + c.blobs.size();
    INFO(n << " manifests, " << c.refs.size() << " refs: " << cost.comparisons << " comparisons");
    CHECK(cost.comparisons >= c.refs.size());  // each ref's manifest was found
    CHECK(cost.comparisons <= 2 * records);
  }
}

TEST_CASE("catalog decoder rejects unknown blob flags") {
  Status s = Decode(GoodPrefix().U32(1).Blob(kBlobDigest, 5, "", 0x04).Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("flags") != std::string::npos);
}

TEST_CASE("catalog decoder rejects bytes after the last blob") {
  Status s = Decode(GoodPrefix().U32(0).U8(0).Seal());
  CHECK(s.kind() == ErrorKind::kCorruption);
  CHECK(s.message().find("after the last blob") != std::string::npos);
}

TEST_CASE("catalog decoder rejects a catalog cut short") {
  std::string good = GoodPrefix().U32(1).Blob(kBlobDigest, 5, "", 1).Seal();
  // Re-seal every prefix so only the structure, not the checksum, can fail.
  for (size_t n = 0; n + 8 < good.size(); ++n) {
    std::string body = good.substr(0, n);
    uint64_t sum = Xxh3(io::AsBytes(body));
    for (int i = 0; i < 8; ++i) body.push_back(static_cast<char>(sum >> (8 * i)));
    INFO("body length " << n);
    CHECK(Decode(body).kind() == ErrorKind::kCorruption);
  }
}

// --- Delta blobs (SPEC.md section 4, "Delta blobs" and "Encodings") ---

// A catalog whose blob 1 is a shipped delta against a base the far side
// holds, beside a whole shipped blob 0 and a blob 2 that is not shipped.
Catalog DeltaCatalog() {
  return testing::MakeCatalog({{"whole", true},
                               testing::DeltaSpec("the delta", "the rebuilt blob"),
                               {"the far side has it", false}});
}

// Encodes `c` both ways: EncodeCatalog must refuse it as kInvalidArgument,
// and the same bytes written without validation must be refused by the
// decoder as kCorruption; both name blob `index` and its digest. Returns
// the decoder's message.
std::string RefusedBothWays(const Catalog& c, size_t index) {
  const std::string blob = "blob " + std::to_string(index) + " " + c.blobs[index].digest.str();
  Status encoded = EncodeCatalog(c).status();
  INFO("encoder: " << encoded.ToString());
  CHECK(encoded.kind() == ErrorKind::kInvalidArgument);
  CHECK(encoded.message().find(blob) != std::string::npos);
  Status decoded = Decode(testing::EncodeCatalogUnchecked(c));
  INFO("decoder: " << decoded.ToString());
  CHECK(decoded.kind() == ErrorKind::kCorruption);
  CHECK(decoded.message().find("catalog at offset 96: " + blob) != std::string::npos);
  return decoded.message();
}

TEST_CASE("catalog codec round-trips a delta blob of every encoding and base decoding") {
  using Kind = ContentEncoding::Kind;
  const Kind kind = GENERATE(Kind::kNone, Kind::kGzipZlib, Kind::kGzipPigz,
                             Kind::kGzipPigzSingleThread, Kind::kGzipPigzIndependent);
  const auto base_decoding =
      GENERATE(BlobDelta::BaseDecoding::kNone, BlobDelta::BaseDecoding::kGunzip);
  Catalog c = DeltaCatalog();
  BlobDelta& d = *c.blobs[1].delta;
  d.base_decoding = base_decoding;
  d.encoding.kind = kind;
  if (kind == Kind::kNone) {
    d.encoding = ContentEncoding{};
    d.content_size = c.blobs[1].size;
  } else if (kind != Kind::kGzipZlib) {
    d.encoding.level = 6;
    d.encoding.mem_level = 8;
    // Strategies 1..3: not always the default.
    d.encoding.strategy = static_cast<uint8_t>(static_cast<uint8_t>(kind) - 1);
    d.encoding.block_size = 128 << 10;
  }
  INFO("encoding " << static_cast<int>(kind) << ", base decoding "
                   << static_cast<int>(base_decoding));
  auto bytes = EncodeCatalog(c);
  REQUIRE(bytes.ok());
  Catalog back;
  back.header = c.header;
  REQUIRE(DecodeCatalog(io::AsBytes(*bytes), 96, &back).ok());
  CHECK(back == c);
  REQUIRE(back.blobs[1].delta);
  CHECK(back.blobs[1].carried_size() == 9);  // "the delta"
  CHECK(back.blobs[1].carried_digest() == Sha256::Of("the delta"));
  CHECK(back.blobs[0].carried_digest() == Sha256::Of("whole"));
  // The encoder writes what SPEC.md section 4 lays out field by field.
  CHECK(*bytes == testing::EncodeCatalogUnchecked(c));
}

TEST_CASE("catalog encoder writes a delta blob's fields after its flags, in the SPEC's order") {
  Catalog c = testing::MakeCatalog({testing::DeltaSpec("delta bytes", "blob bytes")});
  c.blobs[0].delta->encoding.kind = ContentEncoding::Kind::kGzipPigz;
  c.blobs[0].delta->encoding.block_size = 64 << 10;
  const BlobEntry& b = c.blobs[0];
  const BlobDelta& d = *b.delta;
  auto bytes = EncodeCatalog(c);
  REQUIRE(bytes.ok());
  RawCatalog expected;
  expected.Rec().Str(b.digest.str()).U64(b.size).Str(b.media_type).U8(0x03);
  expected.Str(d.base.str()).U8(1).U8(1).U64(d.content_size).U64(11).Str(d.digest.str());
  expected.U8(2).U8(9).U8(8).U8(0).U32(64 << 10).Str(testing::ZlibGzipHeader()).End();
  std::string record = expected.Seal();
  record.resize(record.size() - 8);
  // The blob record is the last: it ends where the checksum starts.
  REQUIRE(bytes->size() >= record.size() + 8);
  CHECK(bytes->substr(bytes->size() - 8 - record.size(), record.size()) == record);
}

TEST_CASE("required features are the delta bit exactly when a blob is a delta") {
  Catalog whole = testing::MakeCatalog({{"a", true}, {"b", false}});
  CHECK(RequiredFeatures(whole) == 0);
  Catalog delta = DeltaCatalog();
  CHECK(RequiredFeatures(delta) == kRequiredFeatureDelta);
  CHECK(kRequiredFeatureDelta == 1u);
  for (const auto& [catalog, bit] : {std::pair{whole, 0u}, std::pair{delta, 1u}}) {
    const std::string h = EncodeHeader(catalog.header, 20, RequiredFeatures(catalog));
    CHECK(testing::GetU32At(h, 12) == bit);
    auto fields = DecodeHeader(io::AsBytes(h));
    REQUIRE(fields.ok());
    CHECK(fields->required_features == bit);
  }
}

TEST_CASE("catalog codec refuses a delta that is not shipped or whose base is not elsewhere") {
  SECTION("delta flag without the shipped flag") {
    Catalog c = DeltaCatalog();
    c.blobs[1].shipped = false;
    CHECK(RefusedBothWays(c, 1).find("is a delta but not shipped") != std::string::npos);
  }
  SECTION("base is the blob itself") {
    Catalog c = DeltaCatalog();
    c.blobs[1].delta->base = c.blobs[1].digest;
    CHECK(RefusedBothWays(c, 1).find("is a delta against itself") != std::string::npos);
  }
  SECTION("base is a blob this bundle ships") {
    Catalog c = DeltaCatalog();
    c.blobs[1].delta->base = c.blobs[0].digest;
    CHECK(RefusedBothWays(c, 1).find("which this bundle ships") != std::string::npos);
  }
  SECTION("base is a blob this bundle lists but does not ship: fine") {
    Catalog c = DeltaCatalog();
    c.blobs[1].delta->base = c.blobs[2].digest;
    auto bytes = EncodeCatalog(c);
    REQUIRE(bytes.ok());
    CHECK(Decode(*bytes).ok());
  }
}

TEST_CASE("catalog codec refuses every out-of-range delta field, naming the blob") {
  using Kind = ContentEncoding::Kind;
  struct Bad {
    const char* what;
    std::function<void(BlobEntry&)> change;
    const char* message;
  };
  auto pigz = [](BlobEntry& b) {
    b.delta->encoding.kind = Kind::kGzipPigz;
    b.delta->encoding.block_size = 128 << 10;
  };
  auto none = [](BlobEntry& b) {
    b.delta->encoding = ContentEncoding{};
    b.delta->content_size = b.size;
  };
  const std::vector<Bad> bads = {
      {"base decoding 2", [](BlobEntry& b) { b.delta->base_decoding = BlobDelta::BaseDecoding{2}; },
       "has unknown base decoding 2"},
      {"codec 0", [](BlobEntry& b) { b.delta->codec = 0; }, "has unknown delta codec 0"},
      {"codec 2", [](BlobEntry& b) { b.delta->codec = 2; }, "has unknown delta codec 2"},
      {"content over 2^31",
       [](BlobEntry& b) { b.delta->content_size = kMaxDeltaContentSize + 1; },
       "rebuilds 2147483649 bytes of content, over the limit of 2147483648"},
      {"encoding 5", [](BlobEntry& b) { b.delta->encoding.kind = Kind{5}; },
       "has unknown encoding 5"},
      {"encoding 255", [](BlobEntry& b) { b.delta->encoding.kind = Kind{255}; },
       "has unknown encoding 255"},
      {"encoding 0 with a level", [&](BlobEntry& b) { none(b); b.delta->encoding.level = 9; },
       "has encoding parameters for no encoding"},
      {"encoding 0 with a mem_level",
       [&](BlobEntry& b) { none(b); b.delta->encoding.mem_level = 8; },
       "has encoding parameters for no encoding"},
      {"encoding 0 with a strategy", [&](BlobEntry& b) { none(b); b.delta->encoding.strategy = 1; },
       "has encoding parameters for no encoding"},
      {"encoding 0 with a block size",
       [&](BlobEntry& b) { none(b); b.delta->encoding.block_size = 64 << 10; },
       "has encoding parameters for no encoding"},
      {"encoding 0 with a gzip header",
       [&](BlobEntry& b) { none(b); b.delta->encoding.gzip_header = testing::ZlibGzipHeader(); },
       "has encoding parameters for no encoding"},
      {"encoding 0 with content_size != size",
       [&](BlobEntry& b) { none(b); b.delta->content_size = b.size + 1; },
       "with no encoding"},
      {"level 0", [](BlobEntry& b) { b.delta->encoding.level = 0; }, "(level 0, mem_level 8"},
      {"level 10", [](BlobEntry& b) { b.delta->encoding.level = 10; }, "(level 10, mem_level 8"},
      {"mem_level 0", [](BlobEntry& b) { b.delta->encoding.mem_level = 0; }, "mem_level 0,"},
      {"mem_level 10", [](BlobEntry& b) { b.delta->encoding.mem_level = 10; }, "mem_level 10,"},
      {"strategy 5", [](BlobEntry& b) { b.delta->encoding.strategy = 5; }, "strategy 5)"},
      {"pigz block of 31 KiB",
       [&](BlobEntry& b) { pigz(b); b.delta->encoding.block_size = 31 << 10; },
       "has block size 31744, not allowed for its encoding"},
      {"pigz block of 0", [&](BlobEntry& b) { pigz(b); b.delta->encoding.block_size = 0; },
       "has block size 0, not allowed"},
      {"pigz block not whole KiB",
       [&](BlobEntry& b) { pigz(b); b.delta->encoding.block_size = (128 << 10) + 1; },
       "has block size 131073, not allowed"},
      {"pigz block over 512 MiB",
       [&](BlobEntry& b) { pigz(b); b.delta->encoding.block_size = (512u << 20) + 1024; },
       "has block size 536871936, not allowed"},
      {"pigz -i block over 512 MiB",
       [&](BlobEntry& b) {
         pigz(b);
         b.delta->encoding.kind = Kind::kGzipPigzIndependent;
         b.delta->encoding.block_size = 1u << 30;
       },
       "not allowed for its encoding"},
      {"zlib with a block size", [](BlobEntry& b) { b.delta->encoding.block_size = 32 << 10; },
       "has block size 32768, not allowed for its encoding"},
  };
  for (const Bad& bad : bads) {
    Catalog c = DeltaCatalog();
    bad.change(c.blobs[1]);
    INFO(bad.what);
    CHECK(RefusedBothWays(c, 1).find(bad.message) != std::string::npos);
  }
  // The edges themselves are allowed.
  for (uint32_t block : {kMinPigzBlockSize, kMaxPigzBlockSize}) {
    Catalog c = DeltaCatalog();
    pigz(c.blobs[1]);
    c.blobs[1].delta->encoding.block_size = block;
    c.blobs[1].delta->content_size = kMaxDeltaContentSize;
    INFO("block size " << block);
    auto bytes = EncodeCatalog(c);
    REQUIRE(bytes.ok());
    CHECK(Decode(*bytes).ok());
  }
}

TEST_CASE("catalog codec accepts a gzip header with every optional field") {
  // FTEXT, FHCRC, FEXTRA (2 + 4 bytes), FNAME, FCOMMENT: RFC 1952's order.
  std::string header("\x1f\x8b\x08\x1f\x00\x00\x00\x00\x02\x03", 10);
  header += std::string("\x04\x00" "ab\x01\x02", 6);
  header += std::string("layer.tar", 10);  // with its terminator
  header += std::string("a comment", 10);
  header += std::string("\x12\x34", 2);  // the CRC16 (not checked by the format)
  Catalog c = DeltaCatalog();
  c.blobs[1].delta->encoding.gzip_header = header;
  auto bytes = EncodeCatalog(c);
  REQUIRE(bytes.ok());
  Catalog back;
  back.header = c.header;
  REQUIRE(DecodeCatalog(io::AsBytes(*bytes), 96, &back).ok());
  CHECK(back.blobs[1].delta->encoding.gzip_header == header);
}

TEST_CASE("catalog codec refuses a gzip header that is not exactly one RFC 1952 header") {
  const std::string good = testing::ZlibGzipHeader();
  auto with_flags = [&](uint8_t flags, std::string_view rest) {
    std::string h = good;
    h[3] = static_cast<char>(flags);
    h.append(rest);
    return h;
  };
  const std::vector<std::pair<const char*, std::string>> bads = {
      {"empty", ""},
      {"nine bytes", good.substr(0, 9)},
      {"bad magic", "\x1f\x8c" + good.substr(2)},
      {"not deflate", good.substr(0, 2) + "\x07" + good.substr(3)},
      {"reserved flag bit 5", with_flags(0x20, "")},
      {"reserved flag bit 7", with_flags(0x80, "")},
      {"FNAME without terminator", with_flags(0x08, "layer.tar")},
      {"FCOMMENT without terminator", with_flags(0x10, "a comment")},
      {"FNAME then a missing FCOMMENT", with_flags(0x18, std::string("name", 5))},
      {"a trailing byte", good + "x"},
      {"a trailing byte after FNAME", with_flags(0x08, std::string("name\0x", 6))},
      {"FHCRC without its two bytes", with_flags(0x02, "\x12")},
      {"FEXTRA length running past the end", with_flags(0x04, std::string("\x05\x00" "abcd", 6))},
      {"FEXTRA without its length", with_flags(0x04, "\x05")},
      {"FEXTRA of 0xffff bytes", with_flags(0x04, "\xff\xff" "abc")},
  };
  for (const auto& [what, header] : bads) {
    Catalog c = DeltaCatalog();
    c.blobs[1].delta->encoding.gzip_header = header;
    INFO(what);
    CHECK(RefusedBothWays(c, 1).find("has a gzip header that is not one RFC 1952 header") !=
          std::string::npos);
  }
}

TEST_CASE("catalog encoder refuses a gzip header over the limit the decoder holds it to") {
  // A valid header made long by its FEXTRA field: the decoder refuses any
  // gzip_header over kMaxGzipHeaderSize, so the encoder must not write one.
  const uint16_t extra = kMaxGzipHeaderSize;  // 10 + 2 + 4096 bytes in all
  std::string header = testing::ZlibGzipHeader();
  header[3] = 0x04;
  header.push_back(static_cast<char>(extra & 0xff));
  header.push_back(static_cast<char>(extra >> 8));
  header.append(extra, 'e');
  Catalog c = DeltaCatalog();
  c.blobs[1].delta->encoding.gzip_header = header;
  Status encoded = EncodeCatalog(c).status();
  CHECK(encoded.kind() == ErrorKind::kInvalidArgument);
  CHECK(encoded.message().find("blob 1 " + c.blobs[1].digest.str()) != std::string::npos);
  Status decoded = Decode(testing::EncodeCatalogUnchecked(c));
  CHECK(decoded.kind() == ErrorKind::kCorruption);
  CHECK(decoded.message().find("gzip header is 4108 bytes, over the limit of 4096") !=
        std::string::npos);
  // One byte shorter in all is exactly the limit: written and read.
  header.resize(kMaxGzipHeaderSize);
  const uint16_t fits = kMaxGzipHeaderSize - 12;
  header[10] = static_cast<char>(fits & 0xff);
  header[11] = static_cast<char>(fits >> 8);
  c.blobs[1].delta->encoding.gzip_header = header;
  auto bytes = EncodeCatalog(c);
  REQUIRE(bytes.ok());
  CHECK(Decode(*bytes).ok());
}

TEST_CASE("catalog decoder refuses every truncation of a delta blob record") {
  Catalog c = testing::MakeCatalog({testing::DeltaSpec("delta bytes", "blob bytes")});
  const std::string good = testing::EncodeCatalogUnchecked(c);
  REQUIRE(Decode(good).ok());
  // The one Blob record is the catalog's last: record_size, then the digest
  // string (its length, then the digest), ..., up to the checksum.
  const std::string body = good.substr(0, good.size() - 8);
  const size_t record_at = body.rfind(c.blobs[0].digest.str()) - 8;
  REQUIRE(record_at < body.size());
  const size_t record_size = body.size() - record_at - 4;
  auto sealed = [](std::string b) {
    uint64_t sum = Xxh3(io::AsBytes(b));
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<char>(sum >> (8 * i)));
    return b;
  };
  // Every shorter record, its record_size saying so: a field runs past it.
  for (size_t keep = 0; keep < record_size; ++keep) {
    std::string cut = body.substr(0, record_at + 4 + keep);
    testing::PutU32At(&cut, record_at, static_cast<uint32_t>(keep));
    Status s = Decode(sealed(cut));
    INFO("record of " << keep << " of its " << record_size << " bytes: " << s.ToString());
    CHECK(s.kind() == ErrorKind::kCorruption);
    // Below the smallest Blob record, blob_count itself is refused.
    CHECK((s.message().find("blob 0 ") != std::string::npos ||
           s.message().find("blob_count 1 needs at least") != std::string::npos));
  }
  // Every shorter catalog, the record_size left as it was.
  for (size_t n = record_at; n < body.size(); ++n) {
    INFO("catalog body cut to " << n << " bytes");
    CHECK(Decode(sealed(body.substr(0, n))).kind() == ErrorKind::kCorruption);
  }
}

TEST_CASE("catalog decoder skips fields a later revision appended to a delta blob record") {
  Catalog c = testing::MakeCatalog({testing::DeltaSpec("delta bytes", "blob bytes")});
  std::string bytes = testing::EncodeCatalogUnchecked(c);
  std::string body = bytes.substr(0, bytes.size() - 8);
  size_t record_at = body.rfind(c.blobs[0].digest.str()) - 8;
  const std::string later("\x07later fields", 13);
  testing::PutU32At(&body, record_at, testing::GetU32At(body, record_at) + later.size());
  body += later;
  uint64_t sum = Xxh3(io::AsBytes(body));
  for (int i = 0; i < 8; ++i) body.push_back(static_cast<char>(sum >> (8 * i)));
  Catalog back;
  back.header = c.header;
  REQUIRE(DecodeCatalog(io::AsBytes(body), 96, &back).ok());
  CHECK(back == c);
}

TEST_CASE("header decoder checks the checksum before the version") {
  std::string h = EncodeHeader(BundleHeader{}, 20, 0);
  REQUIRE(DecodeHeader(io::AsBytes(h)).ok());
  h[8] = 4;  // version 4, stale checksum: damage
  CHECK(DecodeHeader(io::AsBytes(h)).status().kind() == ErrorKind::kCorruption);
  testing::FixHeaderChecksum(&h);  // a genuine version 4 header
  Status s = DecodeHeader(io::AsBytes(h)).status();
  CHECK(s.kind() == ErrorKind::kUnsupported);
  CHECK(s.message() == "bundle format version 4 is not supported (this sluice reads version 3)");
}

TEST_CASE("header decoder writes version 3 and refuses versions 1 and 2 as unsupported") {
  std::string h = EncodeHeader(BundleHeader{}, 20, 0);
  CHECK(h[8] == 3);
  // 1 was never released; 2's records carry no length and it has no volumes.
  const int old = GENERATE(1, 2);
  h[8] = static_cast<char>(old);
  testing::FixHeaderChecksum(&h);
  Status s = DecodeHeader(io::AsBytes(h)).status();
  CHECK(s.kind() == ErrorKind::kUnsupported);
  CHECK(s.message() == "bundle format version " + std::to_string(old) +
                           " is not supported (this sluice reads version 3)");
}

TEST_CASE("header decoder rejects a catalog size out of bounds") {
  for (uint64_t size : {uint64_t{0}, uint64_t{19}, kMaxCatalogSize + 1, ~uint64_t{0}}) {
    std::string h = EncodeHeader(BundleHeader{}, size, 0);
    CHECK(DecodeHeader(io::AsBytes(h)).status().kind() == ErrorKind::kCorruption);
  }
}

TEST_CASE("header prefix decoder rejects bad magic and bad header sizes") {
  std::string h = EncodeHeader(BundleHeader{}, 20, 0);
  std::string text_mode = h;
  text_mode[0] = 0x09;  // high bit stripped
  CHECK(DecodeHeaderPrefix(io::AsBytes(text_mode)).status().kind() == ErrorKind::kCorruption);
  for (uint32_t size : {0u, 88u, 97u, 100u, 4104u}) {
    std::string bad = h;
    testing::PutU32At(&bad, 20, size);
    INFO("header_size " << size);
    CHECK(DecodeHeaderPrefix(io::AsBytes(bad)).status().kind() == ErrorKind::kCorruption);
  }
}

}  // namespace
}  // namespace sluice::format
