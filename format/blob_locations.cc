// ReadBlobLocations: random access to a bundle file through its footer and
// trailer (SPEC.md sections 8 and 10).
#include <algorithm>
#include <string>
#include <vector>

#include "format/blob_frames.h"
#include "format/bundle_format.h"
#include "format/bundle_reader.h"
#include "format/catalog_codec.h"
#include "format/checksum.h"
#include "format/endian.h"
#include "format/frame_codec.h"
#include "io/range_reader.h"

namespace sluice::format {
namespace {

std::string At(uint64_t offset) { return " at offset " + std::to_string(offset); }

// Reads exactly buf.size() bytes at offset; a short read means the file is
// shorter than its own structures say: damage, not an I/O error.
Status ReadFully(const io::PositionalReader& file, uint64_t offset, io::MutableBytes buf,
                 std::string_view what) {
  size_t done = 0;
  while (done < buf.size()) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, file.ReadAt(offset + done, buf.subspan(done)));
    if (n == 0) {
      return Status::Corruption("truncated bundle: " + std::string(what) + At(offset) +
                                " needs " + std::to_string(buf.size()) + " bytes");
    }
    done += n;
  }
  return Status::Ok();
}

// Where the header says the frames start, the catalog size, which bounds
// how many blobs the trailer may list, and the volume record.
struct Head {
  uint64_t catalog_size = 0;
  uint64_t frames_start = 0;  // after header, catalog, signature and volume record
  VolumeRecord volume;
};

// The header tells where frames start, which bounds where the trailer's
// entries may point.
Result<Head> ReadHead(const io::PositionalReader& file) {
  std::string header(kHeaderPrefixSize, '\0');
  auto as_mutable = [](std::string& s, size_t from) {
    return io::MutableBytes(reinterpret_cast<uint8_t*>(s.data()) + from, s.size() - from);
  };
  SLUICE_RETURN_IF_ERROR(ReadFully(file, 0, as_mutable(header, 0), "header"));
  SLUICE_ASSIGN_OR_RETURN(uint32_t header_size, DecodeHeaderPrefix(io::AsBytes(header)));
  header.resize(header_size);
  SLUICE_RETURN_IF_ERROR(
      ReadFully(file, kHeaderPrefixSize, as_mutable(header, kHeaderPrefixSize), "header"));
  SLUICE_ASSIGN_OR_RETURN(HeaderFields fields, DecodeHeader(io::AsBytes(header)));
  Head head;
  head.catalog_size = fields.catalog_size;
  const uint64_t volume_at = header_size + fields.catalog_size + kSignatureSize;
  std::array<uint8_t, kMaxVolumeRecordSize> record{};
  SLUICE_RETURN_IF_ERROR(
      ReadFully(file, volume_at, io::MutableBytes(record.data(), 8), "volume record"));
  const uint32_t record_size = LoadU32(record.data() + 4);
  if (record_size < kVolumeRecordSize || record_size > kMaxVolumeRecordSize ||
      record_size % 8 != 0) {
    return Status::Corruption("volume record" + At(volume_at) + ": size " +
                              std::to_string(record_size) + " is out of range");
  }
  SLUICE_RETURN_IF_ERROR(ReadFully(file, volume_at + 8,
                                   io::MutableBytes(record.data() + 8, record_size - 8),
                                   "volume record"));
  auto volume = DecodeVolumeRecord(io::ByteView(record.data(), record_size));
  if (!volume.ok()) {
    return Status::Corruption("volume record" + At(volume_at) + ": " + volume.status().message());
  }
  head.volume = *volume;
  head.frames_start = volume_at + record_size;
  return head;
}

struct FooterInFile {
  uint64_t offset = 0;
  std::array<uint8_t, kFooterSize> bytes{};
  Footer fields;
};

// Reads the footer, the last bytes of a file of `size` bytes, and checks that
// the trailer it describes lies between the frames and the footer.
Result<FooterInFile> ReadFooter(const io::PositionalReader& file, uint64_t size,
                                uint64_t frames_start) {
  if (size < frames_start + kTrailerHeaderSize + kFooterSize) {
    return Status::Corruption("truncated bundle: " + std::to_string(size) +
                              " bytes cannot hold header, catalog, signature, trailer and footer");
  }
  FooterInFile footer;
  footer.offset = size - kFooterSize;
  SLUICE_RETURN_IF_ERROR(ReadFully(file, footer.offset, footer.bytes, "footer"));
  auto f = DecodeFooter(footer.bytes);
  if (!f.ok()) return Status::Corruption("footer" + At(footer.offset) + ": " + f.status().message());
  if (f->trailer_offset < frames_start || f->trailer_offset > footer.offset ||
      f->trailer_size != footer.offset - f->trailer_offset) {
    return Status::Corruption("footer" + At(footer.offset) + ": trailer_offset " +
                              std::to_string(f->trailer_offset) + " and trailer_size " +
                              std::to_string(f->trailer_size) +
                              " do not describe the bytes between the frames and the footer");
  }
  if (f->trailer_size < kTrailerHeaderSize) {
    return Status::Corruption("footer" + At(footer.offset) + ": trailer_size " +
                              std::to_string(f->trailer_size) + " is too small");
  }
  footer.fields = *f;
  return footer;
}

struct TrailerInFile {
  uint64_t offset = 0;
  std::array<uint8_t, kTrailerHeaderSize> header{};
  TrailerHeader fields;
  std::vector<uint8_t> entries;  // entry_count entries of entry_size bytes
};

// Reads the trailer's header and entries (not its extension, if any).
Result<TrailerInFile> ReadTrailer(const io::PositionalReader& file, const FooterInFile& footer,
                                  uint64_t catalog_size) {
  TrailerInFile trailer;
  trailer.offset = footer.fields.trailer_offset;
  SLUICE_RETURN_IF_ERROR(ReadFully(file, trailer.offset, trailer.header, "trailer"));
  auto fields = DecodeTrailerHeader(trailer.header);
  if (!fields.ok()) {
    return Status::Corruption("trailer" + At(trailer.offset) + ": " + fields.status().message());
  }
  trailer.fields = *fields;
  if (fields->trailer_size != footer.fields.trailer_size) {
    return Status::Corruption("trailer" + At(trailer.offset) + ": trailer_size " +
                              std::to_string(fields->trailer_size) + ", but the footer says " +
                              std::to_string(footer.fields.trailer_size));
  }
  // A volume holds at most one part of each blob, and each blob has a
  // catalog record, so the catalog's size bounds the count before anything
  // is allocated for it.
  const uint64_t entries_size = uint64_t{fields->entry_count} * fields->entry_size;
  if (uint64_t{fields->entry_count} * kMinBlobRecordSize > catalog_size) {
    return Status::Corruption("trailer" + At(trailer.offset) + ": entry_count " +
                              std::to_string(fields->entry_count) + " does not fit");
  }
  trailer.entries.resize(entries_size);
  SLUICE_RETURN_IF_ERROR(
      ReadFully(file, trailer.offset + kTrailerHeaderSize, trailer.entries, "trailer entries"));
  return trailer;
}

// Checks the footer's checksum, which covers the whole trailer (a trailer
// extension, SPEC.md section 13, included) and the footer's first 16 bytes.
Status CheckTrailerChecksum(const io::PositionalReader& file, const TrailerInFile& trailer,
                            const FooterInFile& footer) {
  Xxh3Stream sum;
  sum.Update(trailer.header);
  sum.Update(trailer.entries);
  std::vector<uint8_t> chunk(64 * 1024);
  for (uint64_t at = trailer.offset + kTrailerHeaderSize + trailer.entries.size();
       at < footer.offset;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), footer.offset - at));
    SLUICE_RETURN_IF_ERROR(
        ReadFully(file, at, io::MutableBytes(chunk.data(), n), "trailer extension"));
    sum.Update(io::ByteView(chunk.data(), n));
    at += n;
  }
  sum.Update(io::ByteView(footer.bytes.data(), 16));
  if (sum.Digest() != footer.fields.checksum) {
    return Status::Corruption("footer" + At(footer.offset) + ": checksum mismatch (stored " +
                              ChecksumText(footer.fields.checksum) + ", computed " +
                              ChecksumText(sum.Digest()) + ")");
  }
  return Status::Ok();
}

// The parts of shipped blobs lie back to back from the first frame to the
// trailer.
Result<std::vector<BlobLocation>> DecodeTrailerEntries(const TrailerInFile& trailer,
                                                       uint64_t frames_start) {
  std::vector<BlobLocation> out;
  const uint32_t count = trailer.fields.entry_count;
  const uint32_t entry_size = trailer.fields.entry_size;
  out.reserve(count);
  uint64_t expected_offset = frames_start;
  for (uint32_t i = 0; i < count; ++i) {
    BlobLocation l = DecodeTrailerEntry(trailer.entries.data() + uint64_t{i} * entry_size);
    bool ordered = out.empty() || l.blob_index > out.back().blob_index;
    if (!ordered || l.offset != expected_offset || l.frame_count == 0 ||
        l.stored_size < uint64_t{l.frame_count} * kFrameHeaderSize ||
        l.stored_size > trailer.offset - l.offset) {
      return Status::Corruption("trailer entry " + std::to_string(i) +
                                At(trailer.offset + kTrailerHeaderSize + uint64_t{i} * entry_size) +
                                ": blob " + std::to_string(l.blob_index) + " at " +
                                std::to_string(l.offset) + ", " + std::to_string(l.stored_size) +
                                " bytes in " + std::to_string(l.frame_count) +
                                " frames does not follow the previous entry (expected offset " +
                                std::to_string(expected_offset) + ")");
    }
    expected_offset = l.offset + l.stored_size;
    out.push_back(l);
  }
  if (expected_offset != trailer.offset) {
    return Status::Corruption("trailer" + At(trailer.offset) + ": entries end at " +
                              std::to_string(expected_offset) + ", not where the trailer starts");
  }
  return out;
}

// One shipped blob of a bundle file: its frames, read from their range.
class BlobAtReader final : public io::SequentialReader {
 public:
  BlobAtReader(const io::PositionalReader* file, const Catalog* catalog,
               const BlobLocation& location, uint64_t first_frame, bool check_digest)
      : range_(io::NewRangeReader(file, location.offset, location.offset + location.stored_size)),
        location_(location),
        frames_(*catalog) {
    frames_.StartPart(range_.get(), location, first_frame, check_digest);
  }
  Result<size_t> Read(io::MutableBytes buf) override {
    SLUICE_ASSIGN_OR_RETURN(size_t n, frames_.Read(buf));
    if (n == 0 && !buf.empty()) SLUICE_RETURN_IF_ERROR(CheckFilled());
    return n;
  }
  const std::string& name() const override { return range_->name(); }

 private:
  // The last frame came where the trailer says the blob ends: the frames
  // filled exactly the blob's range (the trailer was checked against the
  // catalog and the ranges against each other by LocateShippedBlobs).
  Status CheckFilled() const {
    const BlobLocation& seen = frames_.location();
    if (seen != location_) {
      return Status::Corruption("trailer entry for blob " + std::to_string(location_.blob_index) +
                                At(location_.offset) + " says " +
                                std::to_string(location_.stored_size) + " bytes in " +
                                std::to_string(location_.frame_count) + " frames for raw bytes [" +
                                std::to_string(location_.raw_offset) + ", " +
                                std::to_string(location_.raw_offset + location_.raw_size) +
                                "); the frames show " + std::to_string(seen.stored_size) +
                                " bytes in " + std::to_string(seen.frame_count) + " for [" +
                                std::to_string(seen.raw_offset) + ", " +
                                std::to_string(seen.raw_offset + seen.raw_size) + ")");
    }
    return Status::Ok();
  }

  std::unique_ptr<io::SequentialReader> range_;
  const BlobLocation location_;
  BlobFrames frames_;
};

}  // namespace

Result<std::vector<BlobLocation>> LocateShippedBlobs(const io::PositionalReader& file,
                                                     const Catalog& catalog) {
  SLUICE_ASSIGN_OR_RETURN(VolumeLocations volume, ReadVolumeLocations(file));
  if (volume.record.count != 1) {
    return Status::Unsupported("volume " + std::to_string(volume.record.number) + " of " +
                               std::to_string(volume.record.count) +
                               ": a bundle of several volumes is read in order, not located");
  }
  std::vector<BlobLocation>& locations = volume.parts;
  size_t next = 0;
  for (size_t i = 0; i < catalog.blobs.size(); ++i) {
    if (!catalog.blobs[i].shipped) continue;
    if (next < locations.size() && locations[next].blob_index == i &&
        (locations[next].raw_offset != 0 ||
         locations[next].raw_size != catalog.blobs[i].carried_size())) {
      return Status::Corruption("trailer: entry " + std::to_string(next) + " holds raw bytes [" +
                                std::to_string(locations[next].raw_offset) + ", " +
                                std::to_string(locations[next].raw_offset +
                                               locations[next].raw_size) +
                                ") of blob " + std::to_string(i) + " " +
                                catalog.blobs[i].digest.str() + ", which carries " +
                                std::to_string(catalog.blobs[i].carried_size()) + " bytes");
    }
    if (next == locations.size() || locations[next].blob_index != i) {
      return Status::Corruption(
          "trailer: " +
          (next == locations.size() ? "has no entry" : "entry " + std::to_string(next) +
                                                           " is for blob " +
                                                           std::to_string(locations[next].blob_index)) +
          ", but shipped blob " + std::to_string(i) + " " + catalog.blobs[i].digest.str() +
          " comes next in the catalog");
    }
    ++next;
  }
  if (next != locations.size()) {
    return Status::Corruption("trailer: entry " + std::to_string(next) + " is for blob " +
                              std::to_string(locations[next].blob_index) +
                              ", which the catalog does not ship");
  }
  return locations;
}

std::unique_ptr<io::SequentialReader> OpenBlobAt(const io::PositionalReader* file,
                                                 const Catalog* catalog,
                                                 const BlobLocation& location,
                                                 uint64_t first_frame, bool check_digest) {
  return std::make_unique<BlobAtReader>(file, catalog, location, first_frame, check_digest);
}

Result<VolumeLocations> ReadVolumeLocations(const io::PositionalReader& file) {
  const uint64_t size = file.Size();
  SLUICE_ASSIGN_OR_RETURN(Head head, ReadHead(file));
  SLUICE_ASSIGN_OR_RETURN(FooterInFile footer, ReadFooter(file, size, head.frames_start));
  SLUICE_ASSIGN_OR_RETURN(TrailerInFile trailer, ReadTrailer(file, footer, head.catalog_size));
  SLUICE_RETURN_IF_ERROR(CheckTrailerChecksum(file, trailer, footer));
  VolumeLocations out;
  out.record = head.volume;
  out.frames_start = head.frames_start;
  SLUICE_ASSIGN_OR_RETURN(out.parts, DecodeTrailerEntries(trailer, head.frames_start));
  return out;
}

Result<VolumeCheck> VerifyVolume(const io::PositionalReader& file, const TrustPolicy& trust) {
  auto stream = io::NewRangeReader(&file, 0, file.Size());
  BundleReaderOptions options;
  options.any_volume = true;
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<BundleReader> reader,
                          BundleReader::Open(stream.get(), trust, options));
  VolumeCheck check;
  check.catalog = reader->catalog();
  check.signature = reader->signature();
  check.record = reader->volume();
  SLUICE_ASSIGN_OR_RETURN(VolumeLocations located, ReadVolumeLocations(file));
  check.parts = std::move(located.parts);
  uint64_t frame = check.record.first_frame;
  std::vector<uint8_t> buf(1 << 20);
  for (size_t i = 0; i < check.parts.size(); ++i) {
    const BlobLocation& part = check.parts[i];
    const std::string where = "volume " + std::to_string(check.record.number) + ": trailer entry " +
                              std::to_string(i);
    if (part.blob_index >= check.catalog.blobs.size() ||
        !check.catalog.blobs[part.blob_index].shipped) {
      return Status::Corruption(where + " lists blob " + std::to_string(part.blob_index) +
                                ", which the catalog does not ship");
    }
    // Only the volume's first part may start inside a blob (it continues one
    // from the volume before) and only its last may stop short (it goes on
    // in the next): a part elsewhere would escape the sha256 check.
    const uint64_t size = check.catalog.blobs[part.blob_index].carried_size();
    if (part.raw_size > size || part.raw_offset > size - part.raw_size ||
        (part.raw_offset != 0 && (i != 0 || check.record.number == 1)) ||
        (part.raw_offset + part.raw_size != size &&
         (i + 1 != check.parts.size() || check.record.number == check.record.count))) {
      return Status::Corruption(where + " holds raw bytes [" + std::to_string(part.raw_offset) +
                                ", " + std::to_string(part.raw_offset + part.raw_size) +
                                ") of blob " + std::to_string(part.blob_index) + " of " +
                                std::to_string(size) +
                                " bytes, which only a volume's first or last part may");
    }
    auto blob = OpenBlobAt(&file, &check.catalog, part, frame, /*check_digest=*/true);
    while (true) {
      SLUICE_ASSIGN_OR_RETURN(size_t n, blob->Read(buf));
      if (n == 0) break;
    }
    frame += part.frame_count;
    check.frames += part.frame_count;
    if (part.raw_offset == 0 &&
        part.raw_size == check.catalog.blobs[part.blob_index].carried_size()) {
      ++check.whole_blobs;
    }
  }
  return check;
}

Result<std::vector<BlobLocation>> ReadBlobLocations(const io::PositionalReader& file) {
  SLUICE_ASSIGN_OR_RETURN(VolumeLocations volume, ReadVolumeLocations(file));
  return std::move(volume.parts);
}

}  // namespace sluice::format
