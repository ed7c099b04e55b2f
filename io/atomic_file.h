// Atomic publication: write a temp file beside the target (or in a temp
// directory of the caller's choosing on the same file system), fsync it,
// rename it over the target, fsync the target's directory. Until Commit() succeeds, nothing
// is visible at the target path; if the AtomicFile is destroyed uncommitted,
// the temp file is removed.
//
// Temp files are named "<path>.tmp-<pid>-<pidns>-<boot>-<machine>-<random>":
//   pid      the creating process, in decimal
//   pidns    the inode of its pid namespace (/proc/self/ns/pid), in hex
//   boot     the first 8 hex digits of the kernel's boot id
//            (/proc/sys/kernel/random/boot_id): one value per boot of a machine
//   machine  the first 8 hex digits of /etc/machine-id: one value per machine
//   random   16 hex digits, so names never collide
// A part that cannot be learnt is written as zeros and means "unknown". The
// owner parts let a later process tell a temp file that a killed process left
// (SIGKILL, power loss) from one a running process is still writing; see
// IsStaleTempName.
//
// A symlink at the target is written through: the temp file goes beside the
// file it points to and replaces that one, so the link stays a link and
// whoever else reads the target sees the update (a shared ledger). A target
// that is a directory, a FIFO, a device or a socket is refused, never
// replaced by a regular file; callers that mean to write into such a stream
// ask KindOfPath first (WriteFileOrStream does).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "io/file.h"

namespace sluice::io {

class AtomicFile {
 public:
  // Opens a temp file (named as above) for writing in the directory of path
  // (of its target, when path is a symlink to an existing file and the write
  // is not exclusive; see FollowSymlinks), or in `temp_dir` when it is not
  // empty. A temp_dir keeps unfinished files out of a directory whose
  // readers take every name in it for content (an OCI layout's
  // blobs/sha256, as containerd keeps an ingest directory); it must exist
  // and be on path's file system, so that the rename is atomic.
  // kInvalidArgument for a target that is a directory or a stream (above);
  // kNotFound naming the directory when it does not exist.
  static Result<std::unique_ptr<AtomicFile>> Create(FileSystem* fs, const std::string& path,
                                                    const WriterOptions& options = {},
                                                    const std::string& temp_dir = {});
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  SequentialWriter* writer() { return writer_.get(); }
  const std::string& temp_path() const { return temp_path_; }
  // The file Commit replaces: the path given, or the file its symlink points to.
  const std::string& path() const { return path_; }

  // Syncs and closes the temp file now, leaving the rename to Commit: for
  // files written one after another and published together (the volumes
  // of a bundle), so that each holds no buffers once written.
  Status Finish();
  // Sync and close (unless Finish did), rename over the target, sync the
  // directory. With
  // `exclusive`, fails with kAlreadyExists instead of replacing a file that
  // appeared at the target meanwhile.
  Status Commit();
  // Commit without the directory's fsync, for a caller that publishes many
  // files into one directory and syncs it once (FileSystem::SyncDir) before
  // anything that names them is written. The rename may then be undone by a
  // crash before that sync, but never exposes a partial file: the data was
  // synced before the rename.
  Status CommitLeavingDirUnsynced();
  // Removes the temp file now (also done by the destructor).
  void Abandon();

 private:
  AtomicFile(FileSystem* fs, std::string path, std::string temp_path,
             std::unique_ptr<SequentialWriter> writer);
  Status Publish(bool sync_dir);

  FileSystem* fs_;
  std::string path_;
  std::string temp_path_;
  std::unique_ptr<SequentialWriter> writer_;
  bool finished_ = false;
  bool done_ = false;
};

// Writes `data` to path atomically (see AtomicFile; temp_dir as there).
Status WriteFileAtomically(FileSystem* fs, const std::string& path, ByteView data,
                           const WriterOptions& options = {}, const std::string& temp_dir = {});

// Writes `data` to path: into it directly when it is a stream (KindOfPath:
// a FIFO, a device, a socket; there is no file to replace, and renaming over
// /dev/null would replace the device), else atomically as
// WriteFileAtomically does.
Status WriteFileOrStream(FileSystem* fs, const std::string& path, ByteView data,
                         const WriterOptions& options = {});

// What is at a path, symlinks followed: how a writer must treat it.
enum class PathKind {
  kMissing,
  kRegular,
  kDirectory,
  kFifo,
  kCharDevice,
  kBlockDevice,
  kSocket,
};
// FIFOs, devices and sockets: written in place as streams, never replaced.
bool IsStream(PathKind kind);
// "FIFO", "character device", ... for messages.
std::string_view PathKindName(PathKind kind);

// What is at path. Only the host's file systems have streams and symlinks;
// in a MemoryFileSystem (and the wrappers of one) everything that is not a
// directory is a regular file. An error other than "nothing there" (a
// component that is no directory, a permission) is returned as is.
Result<PathKind> KindOfPath(FileSystem* fs, const std::string& path);

// The file a write to path replaces: when path is a symlink (or a chain of
// them) to an existing file, that file, spelled as the links give it
// (relative links taken from the link's directory); else path itself, so a
// dangling link, which could point anywhere, is replaced like any file and
// never followed. Whatever links lead to one file, the result names that
// file in its own directory (so "RESULT.lock" is one lock file for all).
Result<std::string> FollowSymlinks(FileSystem* fs, const std::string& path);

// Whether path names the very file standard output is (/dev/stdout,
// /proc/self/fd/1 on a pipe, a link to either, the FIFO or terminal stdout
// goes to): what is written there must not be mixed with other output.
// Never in memory.
bool IsStandardOutput(FileSystem* fs, const std::string& path);

// path made absolute against the current directory; in memory, path as is.
// For a path recorded for a later run, which may start elsewhere.
Result<std::string> AbsolutePath(FileSystem* fs, const std::string& path);

// A LockOptions::holder that tells whoever finds the lock taken who has it:
// "WHAT (pid 42 on HOST) since 2024-05-01T12:00:00Z".
std::string LockHolder(std::string_view what);

// Whether `name` (a file name, without directory) is a temp file of
// AtomicFile whose creator can no longer be writing it:
//   - made in this boot, in this pid namespace, by a process other than this
//     one that no longer exists (kill(pid, 0) says ESRCH); or
//   - made on this machine (same machine id) during an earlier boot, when no
//     process of that boot can still run.
// Anything else is kept: a temp file of a live process (or of a process
// whose pid was reused), of this process, of another pid namespace
// (container), of another machine sharing the directory, any part unknown,
// and every name not in exactly the format above (including the
// "<path>.tmp-<random>" of earlier versions). Never a false "stale" as long
// as machine ids are unique among the machines writing one directory.
bool IsStaleTempName(std::string_view name);

// Removes the files of `dir` (not recursively, never directories) whose names
// IsStaleTempName, so that temp files a killed run left behind do not pile
// up. Returns how many it removed; a missing `dir`, or a file gone
// meanwhile, is not an error.
Result<size_t> RemoveStaleTempFiles(FileSystem* fs, const std::string& dir);

// The kBusy status of a lock on `path` that `holder` ("" when unknown) kept
// for longer than `waited`: one wording for every FileSystem.
Status LockBusy(const std::string& path, const std::string& holder,
                std::chrono::milliseconds waited);

// Reads a whole small file. Refuses files larger than max_size with
// kInvalidArgument naming the path, so a hostile file cannot exhaust memory.
Result<std::string> ReadSmallFile(FileSystem* fs, const std::string& path, uint64_t max_size);

// "dir/name" without doubling slashes; Dirname("a/b") == "a", Dirname("b") == ".",
// Basename("a/b") == "b".
std::string JoinPath(std::string_view dir, std::string_view name);
std::string Dirname(std::string_view path);
std::string Basename(std::string_view path);

}  // namespace sluice::io
