#include "format/catalog_codec.h"

#include <catch2/catch.hpp>

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
