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
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "io/file.h"

namespace sluice::io {

class AtomicFile {
 public:
  // Opens a temp file (named as above) for writing in path's directory, or
  // in `temp_dir` when it is not empty. A temp_dir keeps unfinished files
  // out of a directory whose readers take every name in it for content (an
  // OCI layout's blobs/sha256, as containerd keeps an ingest directory); it
  // must exist and be on path's file system, so that the rename is atomic.
  static Result<std::unique_ptr<AtomicFile>> Create(FileSystem* fs, const std::string& path,
                                                    const WriterOptions& options = {},
                                                    const std::string& temp_dir = {});
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  SequentialWriter* writer() { return writer_.get(); }
  const std::string& temp_path() const { return temp_path_; }

  // Sync, close, rename over the target, sync the directory. With
  // `exclusive`, fails with kAlreadyExists instead of replacing a file that
  // appeared at the target meanwhile.
  Status Commit();
  // Removes the temp file now (also done by the destructor).
  void Abandon();

 private:
  AtomicFile(FileSystem* fs, std::string path, std::string temp_path,
             std::unique_ptr<SequentialWriter> writer);

  FileSystem* fs_;
  std::string path_;
  std::string temp_path_;
  std::unique_ptr<SequentialWriter> writer_;
  bool done_ = false;
};

// Writes `data` to path atomically (see AtomicFile; temp_dir as there).
Status WriteFileAtomically(FileSystem* fs, const std::string& path, ByteView data,
                           const WriterOptions& options = {}, const std::string& temp_dir = {});

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

// Reads a whole small file. Refuses files larger than max_size with
// kInvalidArgument naming the path, so a hostile file cannot exhaust memory.
Result<std::string> ReadSmallFile(FileSystem* fs, const std::string& path, uint64_t max_size);

// "dir/name" without doubling slashes; Dirname("a/b") == "a", Dirname("b") == ".",
// Basename("a/b") == "b".
std::string JoinPath(std::string_view dir, std::string_view name);
std::string Dirname(std::string_view path);
std::string Basename(std::string_view path);

}  // namespace sluice::io
