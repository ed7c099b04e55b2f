#include "io/atomic_file.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <utility>
#include <vector>

#include "io/errno_status.h"

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
  void Reserve(uint64_t bytes) override { base_->Reserve(bytes); }

  bool exclusive() const { return exclusive_; }

 private:
  std::unique_ptr<SequentialWriter> base_;
  const bool exclusive_;
};

constexpr std::string_view kTempMarker = ".tmp-";
constexpr size_t kIdDigits = 8;       // of the boot and machine ids
constexpr size_t kRandomDigits = 16;  // of the random part

std::string RandomHex() {
  // Uniqueness, not secrecy: the temp file is opened O_EXCL anyway.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  uint64_t bits = rng();
  std::string hex(kRandomDigits, '0');
  for (char& c : hex) {
    c = kDigits[bits & 0xf];
    bits >>= 4;
  }
  return hex;
}

bool IsLowerHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

bool IsUnknown(std::string_view part) {
  return std::all_of(part.begin(), part.end(), [](char c) { return c == '0'; });
}

// The first kIdDigits hex digits of the id in the file at `path` (dashes
// skipped, as in a boot id), or zeros when it cannot be read.
std::string IdPrefix(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  std::string id;
  for (char c : line) {
    if (c == '-') continue;
    if (!IsLowerHex(std::string_view(&c, 1))) break;
    id.push_back(c);
  }
  // systemd writes 32 digits; an empty or odd file (some container images)
  // is no machine id at all.
  if (id.size() != 32) return std::string(kIdDigits, '0');
  return id.substr(0, kIdDigits);
}

// Who made a temp file, in the terms of its name.
struct Owner {
  std::string pid;
  std::string pidns;
  std::string boot;
  std::string machine;
};

// This process. The pid is asked for each time (a forked child has its own).
Owner Self() {
  static const Owner fixed = [] {
    Owner o;
    struct stat st {};
    if (::stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(st.st_ino));
      o.pidns = buf;
    } else {
      o.pidns = "0";
    }
    o.boot = IdPrefix("/proc/sys/kernel/random/boot_id");
    o.machine = IdPrefix("/etc/machine-id");
    return o;
  }();
  Owner self = fixed;
  self.pid = std::to_string(::getpid());
  return self;
}

std::string NewTempPath(const std::string& path, const std::string& temp_dir) {
  Owner self = Self();
  std::string base = temp_dir.empty() ? path : JoinPath(temp_dir, Basename(path));
  return base + std::string(kTempMarker) + self.pid + "-" + self.pidns + "-" + self.boot + "-" +
         self.machine + "-" + RandomHex();
}

// Splits the part of `name` after its last ".tmp-" into the five parts of a
// temp name; false unless every part has its exact form.
bool ParseTempName(std::string_view name, Owner* owner) {
  size_t at = name.rfind(kTempMarker);
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view rest = name.substr(at + kTempMarker.size());
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t dash = rest.find('-', start);
    parts.push_back(rest.substr(start, dash == std::string_view::npos ? dash : dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  if (parts.size() != 5) return false;
  std::string_view pid = parts[0];
  if (pid.empty() || pid.size() > 10 || pid[0] == '0' ||
      !std::all_of(pid.begin(), pid.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  if (!IsLowerHex(parts[1]) || parts[1].size() > 16) return false;
  if (!IsLowerHex(parts[2]) || parts[2].size() != kIdDigits) return false;
  if (!IsLowerHex(parts[3]) || parts[3].size() != kIdDigits) return false;
  if (!IsLowerHex(parts[4]) || parts[4].size() != kRandomDigits) return false;
  *owner = {std::string(pid), std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
  return true;
}

// False only when no process `pid` exists in this pid namespace. A process
// of another user (EPERM) or a zombie counts as running.
bool ProcessExists(std::string_view pid_text) {
  long long pid = 0;
  auto [end, ec] = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
  // kill(0) and negative pids signal process groups: never ask about those.
  if (ec != std::errc() || pid <= 0 || pid > INT_MAX) return true;
  if (::kill(static_cast<pid_t>(pid), 0) == 0) return true;
  return errno != ESRCH;
}

// Whether fs stands for the host's files, where symlinks and special files
// exist: the posix and io_uring file systems and the test wrappers of them
// (FaultInjectionFileSystem, CrashFileSystem), which take their base's name.
// A MemoryFileSystem has neither, and its paths mean nothing to the kernel.
bool OnHost(FileSystem* fs) { return fs->name() != "memory"; }

// The reason part of an errno status ("open /a/b: Permission denied" ->
// "Permission denied"; io/errno_status.h), for a message that names the
// file the caller asked for rather than the temp file that failed.
std::string_view ErrnoReason(const Status& s) {
  std::string_view msg = s.message();
  size_t colon = msg.rfind(": ");
  return colon == std::string_view::npos ? msg : msg.substr(colon + 2);
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
                                                       const WriterOptions& options,
                                                       const std::string& temp_dir) {
  // Refuse early rather than after writing a large file for nothing; Commit
  // checks again.
  if (options.exclusive) SLUICE_RETURN_IF_ERROR(CheckAbsent(fs, path));

  // An exclusive write makes a new file and never follows a link: one
  // that resolves is refused above, and a dangling one is replaced.
  std::string target = path;
  if (!options.exclusive) {
    SLUICE_ASSIGN_OR_RETURN(target, FollowSymlinks(fs, path));
  }
  Result<PathKind> kind = KindOfPath(fs, target);
  if (kind.ok() && *kind == PathKind::kDirectory) {
    return Status::InvalidArgument("cannot write " + path +
                                   ": it is a directory; name a file to write");
  }
  if (kind.ok() && IsStream(*kind)) {
    // rename(2) would put a regular file in its place: as root, over
    // /dev/null itself.
    return Status::InvalidArgument("cannot write " + path + " as a file: it is a " +
                                   std::string(PathKindName(*kind)) +
                                   ", which sluice never replaces");
  }

  WriterOptions temp_options = options;
  temp_options.exclusive = true;  // never truncate someone else's temp file
  for (int attempt = 0;; ++attempt) {
    std::string temp_path = NewTempPath(target, temp_dir);
    Result<std::unique_ptr<SequentialWriter>> writer = fs->NewWriter(temp_path, temp_options);
    if (writer.ok()) {
      auto temp = std::make_unique<TempFileWriter>(std::move(writer).value(), options.exclusive);
      return std::unique_ptr<AtomicFile>(
          new AtomicFile(fs, target, std::move(temp_path), std::move(temp)));
    }
    if (writer.status().kind() == ErrorKind::kAlreadyExists && attempt < 3) continue;
    // Say what is wrong with the directory, not with a temp file nobody
    // asked for.
    std::string dir = temp_dir.empty() ? Dirname(target) : temp_dir;
    auto info = fs->Stat(dir);
    if (!info.ok() || !info->is_directory) {
      return Status::NotFound("cannot write " + path + ": directory " + dir +
                              (info.ok() ? " is not a directory" : " does not exist") +
                              "; create it first");
    }
    return Status::FromKind(writer.status().kind(),
                            "cannot write " + path + ": cannot create a file in " + dir + " (" +
                                std::string(ErrnoReason(writer.status())) + ")");
  }
}

Status AtomicFile::Finish() {
  if (done_ || finished_) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(writer_->Sync());
  SLUICE_RETURN_IF_ERROR(writer_->Close());
  finished_ = true;
  return Status::Ok();
}

Status AtomicFile::Commit() { return Publish(/*sync_dir=*/true); }

Status AtomicFile::CommitLeavingDirUnsynced() { return Publish(/*sync_dir=*/false); }

Status AtomicFile::Publish(bool sync_dir) {
  if (done_)
    return Status::InvalidArgument("publish " + path_ + ": already committed or abandoned");
  auto commit = [this, sync_dir]() -> Status {
    SLUICE_RETURN_IF_ERROR(Finish());
    // rename(2) always replaces, so exclusivity is a check just before it.
    // A file created at the target between the check and the rename is
    // replaced: a window of microseconds, acceptable because sluice never
    // races itself for the same target (link(2) + unlink(2) would close it
    // but is not part of the FileSystem interface).
    if (static_cast<TempFileWriter*>(writer_.get())->exclusive()) {
      SLUICE_RETURN_IF_ERROR(CheckAbsent(fs_, path_));
    }
    SLUICE_RETURN_IF_ERROR(fs_->Rename(temp_path_, path_));
    return sync_dir ? fs_->SyncDir(Dirname(path_)) : Status::Ok();
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
                           const WriterOptions& options, const std::string& temp_dir) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file,
                          AtomicFile::Create(fs, path, options, temp_dir));
  SLUICE_RETURN_IF_ERROR(file->writer()->Append(data));
  return file->Commit();
}

Status WriteFileOrStream(FileSystem* fs, const std::string& path, ByteView data,
                         const WriterOptions& options) {
  Result<PathKind> kind = KindOfPath(fs, path);
  if (!kind.ok() || !IsStream(*kind)) return WriteFileAtomically(fs, path, data, options);
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<SequentialWriter> out, fs->NewWriter(path));
  SLUICE_RETURN_IF_ERROR(out->Append(data));
  return out->Close();
}

bool IsStream(PathKind kind) {
  switch (kind) {
    case PathKind::kFifo:
    case PathKind::kCharDevice:
    case PathKind::kBlockDevice:
    case PathKind::kSocket:
      return true;
    case PathKind::kMissing:
    case PathKind::kRegular:
    case PathKind::kDirectory:
      return false;
  }
  return false;
}

std::string_view PathKindName(PathKind kind) {
  switch (kind) {
    case PathKind::kMissing:
      return "missing file";
    case PathKind::kRegular:
      return "regular file";
    case PathKind::kDirectory:
      return "directory";
    case PathKind::kFifo:
      return "FIFO";
    case PathKind::kCharDevice:
      return "character device";
    case PathKind::kBlockDevice:
      return "block device";
    case PathKind::kSocket:
      return "socket";
  }
  return "file";
}

Result<PathKind> KindOfPath(FileSystem* fs, const std::string& path) {
  if (!OnHost(fs)) {
    Result<FileInfo> info = fs->Stat(path);
    if (!info.ok()) {
      if (info.status().IsNotFound()) return PathKind::kMissing;
      return info.status();
    }
    return info->is_directory ? PathKind::kDirectory : PathKind::kRegular;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return PathKind::kMissing;
    return ErrnoStatus(errno, "stat", path);
  }
  if (S_ISDIR(st.st_mode)) return PathKind::kDirectory;
  if (S_ISFIFO(st.st_mode)) return PathKind::kFifo;
  if (S_ISCHR(st.st_mode)) return PathKind::kCharDevice;
  if (S_ISBLK(st.st_mode)) return PathKind::kBlockDevice;
  if (S_ISSOCK(st.st_mode)) return PathKind::kSocket;
  return PathKind::kRegular;
}

Result<std::string> FollowSymlinks(FileSystem* fs, const std::string& path) {
  if (!OnHost(fs)) return path;
  struct stat st {};
  // Nothing (or a dangling link) there: replace what is there, follow nothing.
  if (::stat(path.c_str(), &st) != 0) return path;
  std::string at = path;
  // The kernel has just resolved the chain, so it ends; the bound only
  // guards against links changed meanwhile into a loop.
  for (int hops = 0; hops < 64; ++hops) {
    if (::lstat(at.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", at);
    if (!S_ISLNK(st.st_mode)) return at;
    std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) + 1, '\0');
    ssize_t n = ::readlink(at.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoStatus(errno, "read symlink", at);
    if (static_cast<size_t>(n) == target.size()) {
      return Status::IoError("read symlink " + at + ": it changed while being read");
    }
    target.resize(static_cast<size_t>(n));
    // A relative link is relative to the directory holding the link.
    if (!target.empty() && target[0] != '/' && at.find('/') != std::string::npos) {
      target = JoinPath(Dirname(at), target);
    }
    at = std::move(target);
  }
  return Status::InvalidArgument("cannot write " + path + ": too many levels of symbolic links");
}

bool IsStandardOutput(FileSystem* fs, const std::string& path) {
  if (!OnHost(fs)) return false;
  struct stat out {};
  struct stat at {};
  return ::fstat(STDOUT_FILENO, &out) == 0 && ::stat(path.c_str(), &at) == 0 &&
         out.st_dev == at.st_dev && out.st_ino == at.st_ino;
}

Result<std::string> AbsolutePath(FileSystem* fs, const std::string& path) {
  if (!OnHost(fs) || path.starts_with('/')) return path;
  std::string cwd(PATH_MAX, '\0');
  if (::getcwd(cwd.data(), cwd.size()) == nullptr) {
    return ErrnoStatus(errno, "find the current directory for", path);
  }
  cwd.resize(std::char_traits<char>::length(cwd.data()));
  std::string_view rest = path;
  while (rest.starts_with("./")) rest.remove_prefix(2);
  return rest.empty() || rest == "." ? cwd : JoinPath(cwd, rest);
}

std::string LockHolder(std::string_view what) {
  char host[256] = "";
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  char when[32] = "";
  if (::gmtime_r(&now, &utc) != nullptr)
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
  std::string holder = std::string(what) + " (pid " + std::to_string(::getpid());
  if (host[0] != '\0') holder += std::string(" on ") + host;
  return holder + ") since " + when;
}

bool IsStaleTempName(std::string_view name) {
  Owner owner;
  if (!ParseTempName(name, &owner)) return false;
  Owner self = Self();
  if (IsUnknown(owner.boot) || IsUnknown(self.boot)) return false;
  if (owner.boot == self.boot) {
    // pids mean something only within one pid namespace.
    if (IsUnknown(owner.pidns) || owner.pidns != self.pidns) return false;
    // This process's own temp files may be in use by another of its threads.
    if (owner.pid == self.pid) return false;
    return !ProcessExists(owner.pid);
  }
  // Another boot: stale when it was this machine's.
  return !IsUnknown(owner.machine) && owner.machine == self.machine;
}

Result<size_t> RemoveStaleTempFiles(FileSystem* fs, const std::string& dir) {
  Result<std::vector<std::string>> names = fs->ListDir(dir);
  if (!names.ok()) {
    if (names.status().IsNotFound()) return size_t{0};
    return names.status();
  }
  size_t removed = 0;
  for (const std::string& name : *names) {
    if (!IsStaleTempName(name)) continue;
    std::string path = JoinPath(dir, name);
    Result<FileInfo> info = fs->Stat(path);
    if (!info.ok()) {
      if (info.status().IsNotFound()) continue;
      return info.status();
    }
    if (info->is_directory) continue;
    Status s = fs->Remove(path);
    if (s.IsNotFound()) continue;  // another process cleaned it first
    SLUICE_RETURN_IF_ERROR(s.WithContext("removing stale temp file " + path));
    ++removed;
  }
  return removed;
}

Status LockBusy(const std::string& path, const std::string& holder,
                std::chrono::milliseconds waited) {
  std::string who = holder.empty() ? std::string("another process") : holder;
  std::string how_long =
      waited.count() == 0 ? std::string()
                          : ", still after " + std::to_string((waited.count() + 999) / 1000) + " s";
  return Status::Busy(path + " is locked by " + who + how_long);
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

std::string Basename(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
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
