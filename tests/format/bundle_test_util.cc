#include "tests/format/bundle_test_util.h"

#include <cstdlib>
#include <random>
#include <stdexcept>

#include "format/bundle_format.h"
#include "format/catalog_codec.h"
#include "format/checksum.h"
#include "format/endian.h"
#include "format/frame_codec.h"
#include "io/range_reader.h"
#include "tests/format/string_io.h"
#include "tests/support/files.h"

namespace sluice::format::testing {

std::string GoldenPath(const std::string& name) {
  return std::string(SLUICE_FORMAT_TEST_DIR) + "/golden/" + name;
}

std::string ReadFileOrDie(const std::string& path) { return ::sluice::testing::ReadFile(path); }

const PrivateKey& TestKey() {
  static const PrivateKey* key = [] {
    auto k = PrivateKey::FromPem(ReadFileOrDie(GoldenPath("tiny.key.pem")));
    if (!k.ok()) throw std::runtime_error(k.status().ToString());
    return new PrivateKey(std::move(k).value());
  }();
  return *key;
}

TrustPolicy TrustTestKey() { return TrustPolicy{{TestKey().public_key()}, false}; }

std::string CompressibleBytes(size_t n, uint64_t seed) {
  // Text-like: words from a small vocabulary, as in JSON configs and tar
  // headers, so zstd finds plenty to do.
  static const char* kWords[] = {"layer ", "usr/lib/", "config ", "\"digest\": ", "0000644 ",
                                 "sha256:", "libc.so.6 ", "\n", "etc/", "root "};
  std::mt19937_64 rng(seed);
  std::string out;
  out.reserve(n + 16);
  while (out.size() < n) out += kWords[rng() % 10];
  out.resize(n);
  return out;
}

std::string ZlibGzipHeader() { return std::string("\x1f\x8b\x08\0\0\0\0\0\x02\x03", 10); }

BlobSpec DeltaSpec(std::string delta, std::string rebuilt, Compression compression) {
  BlobSpec spec(std::move(delta), true, compression);
  spec.rebuilt = std::move(rebuilt);
  BlobDelta& d = spec.delta.emplace();
  d.base = Sha256::Of("the base of " + spec.rebuilt);
  d.base_decoding = BlobDelta::BaseDecoding::kGunzip;
  d.codec = kDeltaCodecZstdPrefix;
  d.content_size = 3 * spec.rebuilt.size() + 1;
  d.encoding.kind = ContentEncoding::Kind::kGzipZlib;
  d.encoding.level = 9;
  d.encoding.mem_level = 8;
  d.encoding.strategy = 0;
  d.encoding.gzip_header = ZlibGzipHeader();
  return spec;
}

Catalog MakeCatalog(const std::vector<BlobSpec>& blobs) {
  Catalog c;
  c.header.bundle_id = {1, 2, 3};
  c.header.ledger_id = {9, 8, 7};
  c.header.base_sequence = 41;
  c.header.sequence = 42;
  c.header.created_unix = 1700000000;
  std::string manifest = R"({"schemaVersion":2,"layers":[)";
  for (size_t i = 0; i < blobs.size(); ++i) {
    BlobEntry b;
    b.digest = Sha256::Of(blobs[i].data);
    b.size = blobs[i].data.size();
    b.media_type = "application/vnd.oci.image.layer.v1.tar";
    b.shipped = blobs[i].shipped;
    if (blobs[i].delta) {
      b.digest = Sha256::Of(blobs[i].rebuilt);
      b.size = blobs[i].rebuilt.size();
      b.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
      b.delta = blobs[i].delta;
      b.delta->size = blobs[i].data.size();
      b.delta->digest = Sha256::Of(blobs[i].data);
    }
    if (i > 0) manifest += ",";
    manifest += R"({"digest":")" + b.digest.str() + R"(","size":)" + std::to_string(b.size) + "}";
    c.blobs.push_back(b);
  }
  manifest += "]}";
  ManifestEntry m;
  m.digest = Sha256::Of(manifest);
  m.media_type = "application/vnd.oci.image.manifest.v1+json";
  m.bytes = manifest;
  c.manifests.push_back(m);
  c.refs.push_back({"test/repo", "latest", m.digest, "registry.example:5000/test/repo:latest"});
  return c;
}

std::string WriteBundle(const Catalog& catalog, const std::vector<BlobSpec>& blobs,
                        const BundleWriterOptions& options) {
  StringWriter out;
  auto writer = BundleWriter::Start(&out, catalog, TestKey(), options);
  if (!writer.ok()) throw std::runtime_error(writer.status().ToString());
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (!blobs[i].shipped) continue;
    Status s = (*writer)->BeginBlob(i, blobs[i].compression);
    // Odd-sized appends, so frame boundaries never line up with calls.
    io::ByteView data = io::AsBytes(blobs[i].data);
    for (size_t at = 0; s.ok() && at < data.size();) {
      size_t n = std::min<size_t>(data.size() - at, 100003);
      s = (*writer)->Append(data.subspan(at, n));
      at += n;
    }
    if (s.ok()) s = (*writer)->EndBlob();
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }
  Status s = (*writer)->Finish();
  if (!s.ok()) throw std::runtime_error(s.ToString());
  if ((*writer)->bytes_written() != out.contents().size()) {
    throw std::runtime_error("bytes_written disagrees with the output");
  }
  return out.contents();
}

namespace {

// Keeps every volume in memory.
class StringVolumes final : public VolumeSink {
 public:
  StringVolumes() { volumes_.emplace_back(std::make_unique<StringWriter>()); }
  Result<io::SequentialWriter*> NextVolume(uint32_t number) override {
    if (number != volumes_.size() + 1) throw std::runtime_error("volumes asked out of order");
    volumes_.emplace_back(std::make_unique<StringWriter>());
    return volumes_.back().get();
  }
  io::SequentialWriter* first() { return volumes_.front().get(); }
  std::vector<std::string> contents() const {
    std::vector<std::string> out;
    for (const auto& v : volumes_) out.push_back(v->contents());
    return out;
  }

 private:
  std::vector<std::unique_ptr<StringWriter>> volumes_;
};

}  // namespace

std::vector<std::string> WriteVolumes(const Catalog& catalog, const std::vector<BlobSpec>& blobs,
                                      uint64_t volume_size, BundleWriterOptions options) {
  StringVolumes sink;
  options.volume_size = volume_size;
  options.volumes = &sink;
  auto writer = BundleWriter::Start(sink.first(), catalog, TestKey(), options);
  if (!writer.ok()) throw std::runtime_error(writer.status().ToString());
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (!blobs[i].shipped) continue;
    Status s = (*writer)->BeginBlob(i, blobs[i].compression);
    if (s.ok()) s = (*writer)->Append(io::AsBytes(blobs[i].data));
    if (s.ok()) s = (*writer)->EndBlob();
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }
  Status s = (*writer)->Finish();
  if (!s.ok()) throw std::runtime_error(s.ToString());
  std::vector<std::string> volumes = sink.contents();
  if (volumes.size() != (*writer)->volumes().size()) {
    throw std::runtime_error("the writer's volume records disagree with the volumes written");
  }
  for (size_t i = 0; i < volumes.size(); ++i) {
    const std::string record = EncodeVolumeRecord((*writer)->volumes()[i]);
    volumes[i].replace((*writer)->volume_record_offset(), record.size(), record);
  }
  return volumes;
}

std::string EncodeCatalogUnchecked(const Catalog& catalog) {
  // Each record: its u32 size, then its fields (SPEC.md section 4).
  std::string out;
  std::string record;
  auto put_string = [&](const std::string& s) {
    PutU32(&record, static_cast<uint32_t>(s.size()));
    record += s;
  };
  auto end_record = [&] {
    PutU32(&out, static_cast<uint32_t>(record.size()));
    out += record;
    record.clear();
  };
  PutU32(&out, static_cast<uint32_t>(catalog.refs.size()));
  for (const RefEntry& r : catalog.refs) {
    for (const std::string* s : {&r.repository, &r.tag, &r.manifest.str(), &r.source}) {
      put_string(*s);
    }
    end_record();
  }
  PutU32(&out, static_cast<uint32_t>(catalog.manifests.size()));
  for (const ManifestEntry& m : catalog.manifests) {
    put_string(m.digest.str());
    put_string(m.media_type);
    PutU8(&record, m.absent ? 1 : 0);
    put_string(m.bytes);
    end_record();
  }
  PutU32(&out, static_cast<uint32_t>(catalog.blobs.size()));
  for (const BlobEntry& b : catalog.blobs) {
    put_string(b.digest.str());
    PutU64(&record, b.size);
    put_string(b.media_type);
    PutU8(&record, static_cast<uint8_t>((b.shipped ? 1 : 0) | (b.delta ? 2 : 0)));
    if (b.delta) {
      const BlobDelta& d = *b.delta;
      put_string(d.base.str());
      PutU8(&record, static_cast<uint8_t>(d.base_decoding));
      PutU8(&record, d.codec);
      PutU64(&record, d.content_size);
      PutU64(&record, d.size);
      put_string(d.digest.str());
      PutU8(&record, static_cast<uint8_t>(d.encoding.kind));
      PutU8(&record, d.encoding.level);
      PutU8(&record, d.encoding.mem_level);
      PutU8(&record, d.encoding.strategy);
      PutU32(&record, d.encoding.block_size);
      put_string(d.encoding.gzip_header);
    }
    end_record();
  }
  PutU64(&out, Xxh3(io::AsBytes(out)));
  return out;
}

std::string SignedBundlePrefix(const BundleHeader& header, const std::string& catalog_bytes,
                               const PrivateKey& key) {
  std::string b = EncodeHeader(header, catalog_bytes.size(), /*required_features=*/0) + catalog_bytes;
  PutU32(&b, 1);  // algorithm: Ed25519
  b.append(kSignatureSize - 4, '\0');
  FixCatalogAndSign(&b, key);
  return b;
}

ReadResult ReadAll(const std::string& bundle, const TrustPolicy& trust, size_t read_size,
                   size_t max_chunk) {
  ReadResult r;
  StringReader in(bundle, max_chunk);
  auto reader = BundleReader::Open(&in, trust);
  if (!reader.ok()) {
    r.status = reader.status();
    return r;
  }
  r.catalog = (*reader)->catalog();
  r.signature = (*reader)->signature();
  std::string buf(read_size, '\0');
  while (true) {
    auto next = (*reader)->NextBlob();
    if (!next.ok()) {
      r.status = next.status();
      return r;
    }
    if (!*next) break;
    std::string& data = r.blobs[**next];
    while (true) {
      auto n = (*reader)->Read(io::MutableBytes(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
      if (!n.ok()) {
        r.status = n.status();
        return r;
      }
      if (*n == 0) break;
      data.append(buf.data(), *n);
    }
  }
  r.status = (*reader)->Finish();
  r.locations = (*reader)->locations();
  return r;
}

Status VerifyAt(const std::string& bundle, const TrustPolicy& trust) {
  StringPositionalReader file(bundle);
  auto head = io::NewRangeReader(&file, 0, file.Size());
  auto reader = BundleReader::Open(head.get(), trust);
  if (!reader.ok()) return reader.status();
  const Catalog& catalog = (*reader)->catalog();
  auto locations = LocateShippedBlobs(file, catalog);
  if (!locations.ok()) return locations.status();
  uint64_t first_frame = 0;
  std::vector<uint8_t> buf(1000);
  for (const BlobLocation& location : *locations) {
    auto blob = OpenBlobAt(&file, &catalog, location, first_frame, /*check_digest=*/true);
    first_frame += location.frame_count;
    while (true) {
      auto n = blob->Read(buf);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
    }
  }
  return Status::Ok();
}

Status Verify(const std::string& bundle, const TrustPolicy& trust) {
  Status in_order = ReadAll(bundle, trust).status;
  Status at = VerifyAt(bundle, trust);
  if (in_order.ok() != at.ok()) {
    return Status::InvalidArgument("the streaming reader says '" + in_order.ToString() +
                                   "' but random access says '" + at.ToString() + "'");
  }
  return in_order;
}

uint32_t GetU32At(const std::string& b, uint64_t offset) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b.at(offset + i));
  return v;
}

uint64_t GetU64At(const std::string& b, uint64_t offset) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b.at(offset + i));
  return v;
}

void PutU32At(std::string* b, uint64_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) b->at(offset + i) = static_cast<char>(v >> (8 * i));
}

void PutU64At(std::string* b, uint64_t offset, uint64_t v) {
  for (int i = 0; i < 8; ++i) b->at(offset + i) = static_cast<char>(v >> (8 * i));
}

Layout ParseLayout(const std::string& b) {
  Layout l;
  l.header_size = GetU32At(b, 20);
  l.catalog_offset = l.header_size;
  l.catalog_size = GetU64At(b, 80);
  l.signature_offset = l.catalog_offset + l.catalog_size;
  l.volume_offset = l.signature_offset + 100;
  l.frames_offset = l.volume_offset + GetU32At(b, l.volume_offset + 4);
  uint64_t at = l.frames_offset;
  while (b.compare(at, 4, "SFRM") == 0) {
    l.frame_offsets.push_back(at);
    l.frame_stored_sizes.push_back(GetU32At(b, at + 20));
    at += 40 + GetU32At(b, at + 20);
  }
  l.trailer_offset = at;
  l.footer_offset = b.size() - 32;
  if (GetU64At(b, l.footer_offset) != l.trailer_offset) {
    throw std::runtime_error("ParseLayout: footer does not point at the trailer");
  }
  return l;
}

void FixHeaderChecksum(std::string* b) {
  uint32_t size = GetU32At(*b, 20);
  PutU64At(b, size - 8, Xxh3(io::AsBytes(std::string_view(*b).substr(0, size - 8))));
}

void FixCatalogAndSign(std::string* b, const PrivateKey& key) {
  uint64_t header_size = GetU32At(*b, 20);
  uint64_t catalog_size = GetU64At(*b, 80);
  uint64_t end = header_size + catalog_size;
  PutU64At(b, end - 8,
           Xxh3(io::AsBytes(std::string_view(*b).substr(header_size, catalog_size - 8))));
  // The signed message, written out from SPEC.md section 5.
  Sha256 h;
  h.Update(io::AsBytes(std::string_view(*b).substr(0, end)));
  auto digest = h.FinishRaw();
  std::string message("sluice bundle v1 signature");
  message.push_back('\0');
  message.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  auto sig = key.Sign(io::AsBytes(message));
  if (!sig.ok()) throw std::runtime_error(sig.status().ToString());
  auto fp = key.public_key().Fingerprint();
  b->replace(end + 4, 32, reinterpret_cast<const char*>(fp.data()), 32);
  b->replace(end + 36, 64, reinterpret_cast<const char*>(sig->data()), 64);
}

void FixFrameChecksum(std::string* b, uint64_t frame_offset) {
  uint32_t stored = GetU32At(*b, frame_offset + 20);
  Xxh3Stream sum;
  sum.Update(io::AsBytes(std::string_view(*b).substr(frame_offset, 32)));
  sum.Update(io::AsBytes(std::string_view(*b).substr(frame_offset + 40, stored)));
  PutU64At(b, frame_offset + 32, sum.Digest());
}

void FixFooterChecksum(std::string* b) {
  uint64_t footer = b->size() - 32;
  uint64_t trailer = GetU64At(*b, footer);
  Xxh3Stream sum;
  sum.Update(io::AsBytes(std::string_view(*b).substr(trailer, footer - trailer)));
  sum.Update(io::AsBytes(std::string_view(*b).substr(footer, 16)));
  PutU64At(b, footer + 16, sum.Digest());
}

}  // namespace sluice::format::testing
