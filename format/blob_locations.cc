// ReadBlobLocations: random access to a bundle file through its footer and
// trailer (SPEC.md sections 7 and 9).
#include <algorithm>
#include <string>
#include <vector>

#include "format/bundle_format.h"
#include "format/bundle_reader.h"
#include "format/catalog_codec.h"
#include "format/checksum.h"
#include "format/endian.h"
#include "format/frame_codec.h"

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

}  // namespace

Result<std::vector<BlobLocation>> ReadBlobLocations(const io::PositionalReader& file) {
  const uint64_t size = file.Size();

  // The header tells where frames start, which bounds where the trailer's
  // entries may point.
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
  const uint64_t frames_start = header_size + fields.catalog_size + kSignatureSize;

  if (size < frames_start + kTrailerHeaderSize + kFooterSize) {
    return Status::Corruption("truncated bundle: " + std::to_string(size) +
                              " bytes cannot hold header, catalog, signature, trailer and footer");
  }
  const uint64_t footer_offset = size - kFooterSize;
  std::array<uint8_t, kFooterSize> footer{};
  SLUICE_RETURN_IF_ERROR(ReadFully(file, footer_offset, footer, "footer"));
  auto f = DecodeFooter(footer);
  if (!f.ok()) return Status::Corruption("footer" + At(footer_offset) + ": " + f.status().message());
  if (f->trailer_offset < frames_start || f->trailer_offset > footer_offset ||
      f->trailer_size != footer_offset - f->trailer_offset) {
    return Status::Corruption("footer" + At(footer_offset) + ": trailer_offset " +
                              std::to_string(f->trailer_offset) + " and trailer_size " +
                              std::to_string(f->trailer_size) +
                              " do not describe the bytes between the frames and the footer");
  }
  if (f->trailer_size < kTrailerHeaderSize) {
    return Status::Corruption("footer" + At(footer_offset) + ": trailer_size " +
                              std::to_string(f->trailer_size) + " is too small");
  }

  const uint64_t trailer_offset = f->trailer_offset;
  std::array<uint8_t, kTrailerHeaderSize> th{};
  SLUICE_RETURN_IF_ERROR(ReadFully(file, trailer_offset, th, "trailer"));
  if (!std::equal(kTrailerMagic.begin(), kTrailerMagic.end(), th.begin())) {
    return Status::Corruption("trailer" + At(trailer_offset) + ": wrong magic");
  }
  const uint32_t count = LoadU32(&th[4]);
  // Each shipped blob has a catalog record, so the catalog's size bounds the
  // count before anything is allocated for it.
  const uint64_t entries_size = uint64_t{count} * kTrailerEntrySize;
  if (uint64_t{count} * kMinBlobRecordSize > fields.catalog_size ||
      entries_size > f->trailer_size - kTrailerHeaderSize) {
    return Status::Corruption("trailer" + At(trailer_offset) + ": entry_count " +
                              std::to_string(count) + " does not fit");
  }
  std::vector<uint8_t> entries(entries_size);
  SLUICE_RETURN_IF_ERROR(
      ReadFully(file, trailer_offset + kTrailerHeaderSize, entries, "trailer entries"));

  Xxh3Stream sum;
  sum.Update(th);
  sum.Update(entries);
  // A trailer extension (SPEC.md section 12) is covered by the checksum.
  std::vector<uint8_t> chunk(64 * 1024);
  for (uint64_t at = trailer_offset + kTrailerHeaderSize + entries_size; at < footer_offset;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), footer_offset - at));
    SLUICE_RETURN_IF_ERROR(
        ReadFully(file, at, io::MutableBytes(chunk.data(), n), "trailer extension"));
    sum.Update(io::ByteView(chunk.data(), n));
    at += n;
  }
  sum.Update(io::ByteView(footer.data(), 16));
  if (sum.Digest() != f->checksum) {
    return Status::Corruption("footer" + At(footer_offset) + ": checksum mismatch (stored " +
                              ChecksumText(f->checksum) + ", computed " +
                              ChecksumText(sum.Digest()) + ")");
  }

  // Shipped blobs lie back to back from the first frame to the trailer.
  std::vector<BlobLocation> out;
  out.reserve(count);
  uint64_t expected_offset = frames_start;
  for (uint32_t i = 0; i < count; ++i) {
    BlobLocation l = DecodeTrailerEntry(entries.data() + uint64_t{i} * kTrailerEntrySize);
    bool ordered = out.empty() || l.blob_index > out.back().blob_index;
    if (!ordered || l.offset != expected_offset || l.frame_count == 0 ||
        l.stored_size < uint64_t{l.frame_count} * kFrameHeaderSize ||
        l.stored_size > trailer_offset - l.offset) {
      return Status::Corruption("trailer entry " + std::to_string(i) +
                                At(trailer_offset + kTrailerHeaderSize + i * kTrailerEntrySize) +
                                ": blob " + std::to_string(l.blob_index) + " at " +
                                std::to_string(l.offset) + ", " + std::to_string(l.stored_size) +
                                " bytes in " + std::to_string(l.frame_count) +
                                " frames does not follow the previous entry (expected offset " +
                                std::to_string(expected_offset) + ")");
    }
    expected_offset = l.offset + l.stored_size;
    out.push_back(l);
  }
  if (expected_offset != trailer_offset) {
    return Status::Corruption("trailer" + At(trailer_offset) + ": entries end at " +
                              std::to_string(expected_offset) + ", not where the trailer starts");
  }
  return out;
}

}  // namespace sluice::format
