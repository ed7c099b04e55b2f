#include "source/tar_index.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <vector>

namespace sluice {
namespace {

constexpr size_t kReadBlock = 256u << 10;

// libarchive pulls bytes through these callbacks, so every read of the
// archive goes through io::FileSystem like any other file access.
struct Cursor {
  const io::PositionalReader* file = nullptr;
  uint64_t position = 0;
  std::vector<uint8_t> buffer = std::vector<uint8_t>(kReadBlock);
  Status error;  // the first failure of the file itself (not of the format)
};

la_ssize_t ReadCallback(struct archive* a, void* data, const void** out) {
  auto* c = static_cast<Cursor*>(data);
  auto n = c->file->ReadAt(c->position, c->buffer);
  if (!n.ok()) {
    c->error = n.status();
    archive_set_error(a, EIO, "%s", n.status().message().c_str());
    return -1;
  }
  c->position += *n;
  *out = c->buffer.data();
  return static_cast<la_ssize_t>(*n);
}

// Skipping is what makes indexing a plain tar cheap: layer data is never read.
// Skipping past the end skips only what is there; libarchive then reports the
// archive as truncated.
la_int64_t SkipCallback(struct archive*, void* data, la_int64_t request) {
  auto* c = static_cast<Cursor*>(data);
  uint64_t size = c->file->Size();
  uint64_t available = c->position < size ? size - c->position : 0;
  uint64_t skip =
      std::min<uint64_t>(static_cast<uint64_t>(std::max<la_int64_t>(request, 0)), available);
  c->position += skip;
  return static_cast<la_int64_t>(skip);
}

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveFree>;

Status ArchiveError(struct archive* a, const Cursor& cursor, const std::string& path,
                    const std::string& what) {
  if (!cursor.error.ok()) return cursor.error.WithContext("archive " + path + ": " + what);
  const char* message = archive_error_string(a);
  return Status::Corruption("archive " + path + ": " + what + ": " +
                            (message != nullptr ? message : "libarchive failed"));
}

Result<ArchivePtr> OpenArchive(Cursor* cursor, const std::string& path) {
  ArchivePtr a(archive_read_new());
  if (!a) return Status::IoError("archive " + path + ": libarchive is out of memory");
  // "all" may warn that an external program for an exotic filter is missing.
  (void)archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_set_callback_data(a.get(), cursor);
  archive_read_set_read_callback(a.get(), ReadCallback);
  archive_read_set_skip_callback(a.get(), SkipCallback);
  if (archive_read_open1(a.get()) != ARCHIVE_OK) {
    return ArchiveError(a.get(), *cursor, path, "not a tar archive sluice can read");
  }
  return a;
}

// Reads up to buf.size() bytes of the current entry, looping over short reads.
Result<size_t> ReadEntryData(struct archive* a, const Cursor& cursor, const std::string& path,
                             const std::string& entry, io::MutableBytes buf) {
  size_t done = 0;
  while (done < buf.size()) {
    la_ssize_t n = archive_read_data(a, buf.data() + done, buf.size() - done);
    if (n < 0) return ArchiveError(a, cursor, path, "reading entry '" + entry + "'");
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status Truncated(const std::string& path, const TarEntry& entry, uint64_t got) {
  return Status::Corruption("archive " + path + " is truncated: entry '" + entry.name + "' has " +
                            std::to_string(got) + " of its " + std::to_string(entry.size) +
                            " bytes");
}

// A plain tar: the entry is a byte range of the file.
class SliceReader final : public io::SequentialReader {
 public:
  SliceReader(const io::PositionalReader* file, const std::string& path, const TarEntry& entry)
      : file_(file), path_(path), entry_(entry), name_(path + ":" + entry.name) {}

  Result<size_t> Read(io::MutableBytes buf) override {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), entry_.size - done_));
    size_t got = 0;
    while (got < want) {
      SLUICE_ASSIGN_OR_RETURN(
          size_t n, file_->ReadAt(entry_.offset + done_ + got, buf.subspan(got, want - got)));
      if (n == 0) return Truncated(path_, entry_, done_ + got);
      got += n;
    }
    done_ += got;
    return got;
  }
  const std::string& name() const override { return name_; }

 private:
  const io::PositionalReader* file_;
  const std::string& path_;
  const TarEntry& entry_;
  std::string name_;
  uint64_t done_ = 0;
};

// A compressed tar: decompress up to the entry, then stream it.
struct Stream {
  Cursor cursor;
  ArchivePtr archive;
  uint64_t next_ordinal = 0;  // of the next header archive_read_next_header returns
};

}  // namespace

struct TarParking {
  std::mutex mutex;
  std::unique_ptr<Stream> stream;
};

namespace {

class StreamReader final : public io::SequentialReader {
 public:
  StreamReader(TarParking* parking, const io::PositionalReader* file, const std::string& path,
               const TarEntry& entry)
      : parking_(parking),
        file_(file),
        path_(path),
        entry_(entry),
        name_(path + ":" + entry.name) {}

  // A reader that read without error hands its decompressor on.
  ~StreamReader() override {
    if (!stream_ || failed_) return;
    std::lock_guard<std::mutex> lock(parking_->mutex);
    parking_->stream = std::move(stream_);
  }

  Status Seek() {
    {
      // Resume a parked decompressor that has not yet passed the entry.
      std::lock_guard<std::mutex> lock(parking_->mutex);
      if (parking_->stream && parking_->stream->next_ordinal <= entry_.ordinal) {
        stream_ = std::move(parking_->stream);
      }
    }
    if (!stream_) {
      stream_ = std::make_unique<Stream>();
      stream_->cursor.file = file_;
      SLUICE_ASSIGN_OR_RETURN(stream_->archive, OpenArchive(&stream_->cursor, path_));
    }
    while (stream_->next_ordinal <= entry_.ordinal) {
      struct archive_entry* e = nullptr;
      int r = archive_read_next_header(stream_->archive.get(), &e);
      if (r == ARCHIVE_EOF || r < ARCHIVE_WARN) {
        failed_ = true;
        if (r == ARCHIVE_EOF) {
          return Status::Corruption("archive " + path_ + " changed: entry '" + entry_.name +
                                    "' is no longer there");
        }
        return ArchiveError(stream_->archive.get(), stream_->cursor, path_,
                            "looking for entry '" + entry_.name + "'");
      }
      ++stream_->next_ordinal;
    }
    return Status::Ok();
  }

  Result<size_t> Read(io::MutableBytes buf) override {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), entry_.size - done_));
    auto got =
        ReadEntryData(stream_->archive.get(), stream_->cursor, path_, entry_.name, buf.first(want));
    if (!got.ok() || *got < want) {
      failed_ = true;
      if (!got.ok()) return got.status();
      return Truncated(path_, entry_, done_ + *got);
    }
    done_ += *got;
    return *got;
  }
  const std::string& name() const override { return name_; }

 private:
  TarParking* parking_;
  const io::PositionalReader* file_;
  std::unique_ptr<Stream> stream_;
  bool failed_ = false;
  const std::string& path_;
  const TarEntry& entry_;
  std::string name_;
  uint64_t done_ = 0;
};

class StringReader final : public io::SequentialReader {
 public:
  StringReader(std::string_view data, std::string name) : data_(data), name_(std::move(name)) {}
  Result<size_t> Read(io::MutableBytes buf) override {
    size_t n = std::min(buf.size(), data_.size());
    std::copy_n(data_.data(), n, buf.data());
    data_.remove_prefix(n);
    return n;
  }
  const std::string& name() const override { return name_; }

 private:
  std::string_view data_;
  std::string name_;
};

TarEntry::Type TypeOf(struct archive_entry* e) {
  if (archive_entry_hardlink(e) != nullptr) return TarEntry::Type::kHardlink;
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      return TarEntry::Type::kFile;
    case AE_IFDIR:
      return TarEntry::Type::kDirectory;
    case AE_IFLNK:
      return TarEntry::Type::kSymlink;
    default:
      return TarEntry::Type::kOther;
  }
}

std::string_view DirOf(std::string_view name) {
  size_t slash = name.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : name.substr(0, slash);
}

}  // namespace

std::string CleanTarPath(std::string_view name) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view part = name.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  if (parts.empty()) return ".";
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

TarIndex::TarIndex(std::string path, std::unique_ptr<io::PositionalReader> file)
    : path_(std::move(path)), file_(std::move(file)), parking_(std::make_unique<TarParking>()) {}

TarIndex::~TarIndex() = default;

Result<std::unique_ptr<TarIndex>> TarIndex::Build(io::FileSystem* fs, const std::string& path) {
  auto file = fs->NewPositionalReader(path);
  if (!file.ok()) return file.status().WithContext("archive " + path);
  std::unique_ptr<TarIndex> index(new TarIndex(path, std::move(file).value()));

  Cursor cursor;
  cursor.file = index->file_.get();
  SLUICE_ASSIGN_OR_RETURN(ArchivePtr a, OpenArchive(&cursor, path));
  index->compressed_ = archive_filter_code(a.get(), 0) != ARCHIVE_FILTER_NONE;

  uint64_t cached_bytes = 0;
  std::string last = "the start";
  for (uint64_t ordinal = 0;; ++ordinal) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    // ARCHIVE_WARN still yields a usable entry (e.g. an odd charset in a name).
    if (r < ARCHIVE_WARN) {
      return ArchiveError(a.get(), cursor, path, "reading the entry after " + last);
    }
    const char* raw_name = archive_entry_pathname(e);
    TarEntry entry;
    entry.name = CleanTarPath(raw_name != nullptr ? raw_name : "");
    entry.type = TypeOf(e);
    entry.size = archive_entry_size_is_set(e) ? static_cast<uint64_t>(archive_entry_size(e)) : 0;
    // The tar reader has consumed this entry's headers (pax and GNU long-name
    // records included) and nothing of its data: the position of the
    // uncompressed stream is where the data starts. Checked below.
    entry.offset = static_cast<uint64_t>(archive_filter_bytes(a.get(), 0));
    entry.sparse = archive_entry_sparse_count(e) > 0;
    entry.ordinal = ordinal;
    if (entry.type == TarEntry::Type::kSymlink) {
      const char* link = archive_entry_symlink(e);
      entry.link = link != nullptr ? link : "";
    } else if (entry.type == TarEntry::Type::kHardlink) {
      entry.link = CleanTarPath(archive_entry_hardlink(e));
    }
    last = "'" + entry.name + "'";

    if (entry.type == TarEntry::Type::kFile && entry.size > 0) {
      bool cache = index->compressed_ && entry.size <= kMaxCachedEntry &&
                   cached_bytes + entry.size <= kMaxCachedBytes;
      std::string data(cache ? entry.size : std::min<uint64_t>(entry.size, kHeadSize), '\0');
      SLUICE_ASSIGN_OR_RETURN(
          size_t n, ReadEntryData(a.get(), cursor, path, entry.name,
                                  {reinterpret_cast<uint8_t*>(data.data()), data.size()}));
      if (n < data.size()) return Truncated(path, entry, n);
      entry.head = data.substr(0, kHeadSize);
      if (cache) {
        cached_bytes += entry.size;
        entry.cached = std::move(data);
      }
    }
    // The first of two entries with one name wins, as in containers/image.
    index->entries_.emplace(entry.name, std::move(entry));
  }

  if (!index->compressed_) {
    // Offsets come from libarchive's stream position; make sure they point at
    // the bytes libarchive itself returned for each entry, so a wrong offset
    // can never go unnoticed.
    uint64_t file_size = index->file_->Size();
    for (const auto& [name, entry] : index->entries_) {
      if (entry.type != TarEntry::Type::kFile || entry.size == 0) continue;
      if (entry.offset + entry.size > file_size) return Truncated(path, entry, 0);
      std::string head(entry.head.size(), '\0');
      SLUICE_ASSIGN_OR_RETURN(
          size_t n, index->file_->ReadAt(entry.offset,
                                         {reinterpret_cast<uint8_t*>(head.data()), head.size()}));
      if (n != head.size() || head != entry.head) {
        return Status::Corruption("archive " + path + ": the data of entry '" + name +
                                  "' is not at offset " + std::to_string(entry.offset) +
                                  " where its header says it starts");
      }
    }
  }
  return index;
}

const TarEntry* TarIndex::Find(std::string_view name) const {
  auto it = entries_.find(CleanTarPath(name));
  return it == entries_.end() ? nullptr : &it->second;
}

Result<const TarEntry*> TarIndex::Resolve(std::string_view name) const {
  const TarEntry* entry = Find(name);
  if (entry == nullptr) {
    return Status::NotFound("archive " + path_ + " has no entry '" + std::string(name) + "'");
  }
  if (entry->type == TarEntry::Type::kSymlink || entry->type == TarEntry::Type::kHardlink) {
    // One level only, as containers/image: no loops are possible.
    std::string target = entry->type == TarEntry::Type::kHardlink
                             ? entry->link
                             : CleanTarPath(std::string(DirOf(entry->name)) + "/" + entry->link);
    const TarEntry* resolved = Find(target);
    if (resolved == nullptr) {
      return Status::NotFound("archive " + path_ + ": entry '" + entry->name + "' links to '" +
                              target + "', which is not in the archive");
    }
    entry = resolved;
  }
  if (entry->type != TarEntry::Type::kFile) {
    return Status::Corruption("archive " + path_ + ": entry '" + entry->name +
                              "' is not a regular file");
  }
  if (entry->sparse) {
    return Status::Unsupported("archive " + path_ + ": entry '" + entry->name +
                               "' is a sparse file");
  }
  return entry;
}

Result<std::unique_ptr<io::SequentialReader>> TarIndex::Open(const TarEntry& entry) const {
  if (entry.cached) {
    return std::unique_ptr<io::SequentialReader>(
        std::make_unique<StringReader>(*entry.cached, path_ + ":" + entry.name));
  }
  if (!compressed_) {
    return std::unique_ptr<io::SequentialReader>(
        std::make_unique<SliceReader>(file_.get(), path_, entry));
  }
  auto reader = std::make_unique<StreamReader>(parking_.get(), file_.get(), path_, entry);
  SLUICE_RETURN_IF_ERROR(reader->Seek());
  return std::unique_ptr<io::SequentialReader>(std::move(reader));
}

Result<std::string> TarIndex::ReadSmall(std::string_view name, uint64_t max_size) const {
  SLUICE_ASSIGN_OR_RETURN(const TarEntry* entry, Resolve(name));
  if (entry->size > max_size) {
    return Status::InvalidArgument("archive " + path_ + ": entry '" + entry->name + "' has " +
                                   std::to_string(entry->size) + " bytes, more than the " +
                                   std::to_string(max_size) + " allowed");
  }
  if (entry->cached) return *entry->cached;
  SLUICE_ASSIGN_OR_RETURN(auto reader, Open(*entry));
  std::string data(entry->size, '\0');
  SLUICE_ASSIGN_OR_RETURN(size_t n,
                          reader->Read({reinterpret_cast<uint8_t*>(data.data()), data.size()}));
  if (n != data.size()) return Truncated(path_, *entry, n);
  return data;
}

}  // namespace sluice
