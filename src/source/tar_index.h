// An index of a tar archive (plain, or compressed with anything libarchive
// reads: gzip, zstd, xz, bzip2), built with one pass over its headers, so
// that any entry can later be streamed without holding it in memory.
//
// Private to the sources that read tars: the archive sources
// (src/source/archive_source.cc) and packaged Helm charts (helm_chart.cc).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "io/file.h"

namespace sluice {

struct TarParking;  // a decompressor kept between readers (tar_index.cc)

struct TarEntry {
  enum class Type { kFile, kDirectory, kSymlink, kHardlink, kOther };

  std::string name;  // CleanTarPath of the header's name
  Type type = Type::kOther;
  uint64_t size = 0;     // bytes of data (0 for links and directories)
  uint64_t offset = 0;   // of the data in the uncompressed tar stream
  std::string link;      // kSymlink: as written; kHardlink: the target's name
  bool sparse = false;   // GNU/pax sparse file: data is not contiguous
  uint64_t ordinal = 0;  // position among the archive's entries
  // The first bytes of the data (up to kHeadSize), read while indexing, so
  // callers can sniff compression without opening the entry.
  std::string head;
  // For compressed archives only: the whole data of small entries, read while
  // indexing, so manifests and configs need no second pass over the archive.
  std::optional<std::string> cached;
};

class TarIndex {
 public:
  static constexpr size_t kHeadSize = 16;
  // Compressed archives: entries up to this size are kept in memory, up to
  // kMaxCachedBytes in total.
  static constexpr uint64_t kMaxCachedEntry = 256u << 10;
  static constexpr uint64_t kMaxCachedBytes = 32u << 20;

  // Reads every header of the archive at `path` (and, for plain tars, checks
  // each entry's data offset against the bytes libarchive returned for it).
  // kCorruption for a damaged or truncated archive or one that is not a tar,
  // kNotFound/kIoError from the file system, each naming the path.
  static Result<std::unique_ptr<TarIndex>> Build(io::FileSystem* fs, const std::string& path);

  ~TarIndex();
  TarIndex(const TarIndex&) = delete;
  TarIndex& operator=(const TarIndex&) = delete;

  const std::string& path() const { return path_; }
  // True when the tar is compressed: entries are then read by decompressing
  // the archive again up to them.
  bool compressed() const { return compressed_; }
  const std::map<std::string, TarEntry>& entries() const { return entries_; }

  // The entry named `name` (cleaned first), without following links.
  const TarEntry* Find(std::string_view name) const;

  // The regular file `name` refers to, following at most one symbolic link
  // (relative to the link's directory, as containers/image does) or hard link.
  // kNotFound naming the archive and the entry; kCorruption if it is not a
  // regular, contiguous file.
  Result<const TarEntry*> Resolve(std::string_view name) const;

  // Streams an entry's data. The reader fails with kCorruption if the archive
  // ends before entry.size bytes. The index must outlive the reader. Safe to
  // call from several threads. For a compressed archive, a finished reader
  // leaves its decompressor to the next Open of a later entry, so blobs asked
  // for in archive order cost one pass over the archive in all.
  Result<std::unique_ptr<io::SequentialReader>> Open(const TarEntry& entry) const;

  // Resolve + read all of a small entry; kInvalidArgument if it is larger
  // than max_size.
  Result<std::string> ReadSmall(std::string_view name, uint64_t max_size) const;

 private:
  TarIndex(std::string path, std::unique_ptr<io::PositionalReader> file);

  std::string path_;
  std::unique_ptr<io::PositionalReader> file_;
  bool compressed_ = false;
  std::map<std::string, TarEntry> entries_;
  std::unique_ptr<TarParking> parking_;
};

// path.Clean for names inside a tar: "./a//b/../c/" -> "a/c"; leading "/"
// dropped, ".." that climbs above the root dropped. "" and "." give ".".
std::string CleanTarPath(std::string_view name);

}  // namespace sluice
