#include "io/atomic_file.h"

#include <algorithm>
#include <random>
#include <utility>

namespace sluice::io {
namespace {

// The writer an AtomicFile hands out. It also remembers whether the file is
// to be published exclusively, which Commit() needs and AtomicFile has no
// member of its own for.
class TempFileWriter final : public SequentialWriter {
 public:
  TempFileWriter(std::unique_ptr<SequentialWriter> base, bool exclusive)
      : base_(std::move(base)), exclusive_(exclusive) {}

  Status Append(ByteView data) override { return base_->Append(data); }
  Status Sync() override { return base_->Sync(); }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

  bool exclusive() const { return exclusive_; }

 private:
  std::unique_ptr<SequentialWriter> base_;
  const bool exclusive_;
};

std::string RandomHex() {
  // Uniqueness, not secrecy: the temp file is opened O_EXCL anyway.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  uint64_t bits = rng();
  std::string hex(16, '0');
  for (char& c : hex) {
    c = kDigits[bits & 0xf];
    bits >>= 4;
  }
  return hex;
}

// OK if nothing is at path, kAlreadyExists if something is, or the error
// that prevented finding out.
Status CheckAbsent(FileSystem* fs, const std::string& path) {
  Result<FileInfo> info = fs->Stat(path);
  if (info.ok()) return Status::AlreadyExists("publish " + path + ": a file is already there");
  if (info.status().IsNotFound()) return Status::Ok();
  return info.status();
}

}  // namespace

AtomicFile::AtomicFile(FileSystem* fs, std::string path, std::string temp_path,
                       std::unique_ptr<SequentialWriter> writer)
    : fs_(fs),
      path_(std::move(path)),
      temp_path_(std::move(temp_path)),
      writer_(std::move(writer)) {}

AtomicFile::~AtomicFile() { Abandon(); }

Result<std::unique_ptr<AtomicFile>> AtomicFile::Create(FileSystem* fs, const std::string& path,
                                                       const WriterOptions& options) {
  // Refuse early rather than after writing a large file for nothing; Commit
  // checks again.
  if (options.exclusive) SLUICE_RETURN_IF_ERROR(CheckAbsent(fs, path));

  WriterOptions temp_options = options;
  temp_options.exclusive = true;  // never truncate someone else's temp file
  for (int attempt = 0;; ++attempt) {
    std::string temp_path = path + ".tmp-" + RandomHex();
    Result<std::unique_ptr<SequentialWriter>> writer = fs->NewWriter(temp_path, temp_options);
    if (writer.ok()) {
      auto temp = std::make_unique<TempFileWriter>(std::move(writer).value(), options.exclusive);
      return std::unique_ptr<AtomicFile>(
          new AtomicFile(fs, path, std::move(temp_path), std::move(temp)));
    }
    if (writer.status().kind() != ErrorKind::kAlreadyExists || attempt == 3) {
      return writer.status();
    }
  }
}

Status AtomicFile::Commit() {
  if (done_)
    return Status::InvalidArgument("publish " + path_ + ": already committed or abandoned");
  auto commit = [this]() -> Status {
    SLUICE_RETURN_IF_ERROR(writer_->Sync());
    SLUICE_RETURN_IF_ERROR(writer_->Close());
    // rename(2) always replaces, so exclusivity is a check just before it.
    // A file created at the target between the check and the rename is
    // replaced: a window of microseconds, acceptable because sluice never
    // races itself for the same target (link(2) + unlink(2) would close it
    // but is not part of the FileSystem interface).
    if (static_cast<TempFileWriter*>(writer_.get())->exclusive()) {
      SLUICE_RETURN_IF_ERROR(CheckAbsent(fs_, path_));
    }
    SLUICE_RETURN_IF_ERROR(fs_->Rename(temp_path_, path_));
    return fs_->SyncDir(Dirname(path_));
  };
  Status s = commit();
  if (!s.ok()) Abandon();  // after a successful rename this finds nothing to remove
  done_ = true;
  return s;
}

void AtomicFile::Abandon() {
  if (done_) return;
  done_ = true;
  (void)writer_->Close();
  (void)fs_->Remove(temp_path_);
}

Status WriteFileAtomically(FileSystem* fs, const std::string& path, ByteView data,
                           const WriterOptions& options) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file, AtomicFile::Create(fs, path, options));
  SLUICE_RETURN_IF_ERROR(file->writer()->Append(data));
  return file->Commit();
}

Result<std::string> ReadSmallFile(FileSystem* fs, const std::string& path, uint64_t max_size) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<SequentialReader> reader, fs->NewSequentialReader(path));
  // Read at most max_size + 1 bytes: enough to tell "too large" without
  // trusting a size that could change between a stat and the read.
  constexpr uint64_t kChunk = 64 * 1024;
  const uint64_t limit = max_size == UINT64_MAX ? max_size : max_size + 1;
  std::string data;
  for (;;) {
    size_t old_size = data.size();
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(kChunk, limit - old_size));
    if (chunk == 0) break;
    data.resize(old_size + chunk);
    Result<size_t> n = reader->Read({reinterpret_cast<uint8_t*>(data.data()) + old_size, chunk});
    if (!n.ok()) return n.status();
    data.resize(old_size + *n);
    if (*n < chunk) break;  // end of file
  }
  if (data.size() > max_size) {
    return Status::InvalidArgument("read " + path + ": larger than the limit of " +
                                   std::to_string(max_size) + " bytes");
  }
  return data;
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (name.empty()) return std::string(dir);
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  std::string out(dir);
  if (out.back() != '/') out += '/';
  out += name;
  return out;
}

std::string Dirname(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  std::string_view dir = path.substr(0, slash);
  while (!dir.empty() && dir.back() == '/') dir.remove_suffix(1);
  return dir.empty() ? "/" : std::string(dir);
}

}  // namespace sluice::io
