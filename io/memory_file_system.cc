#include "io/memory_file_system.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "io/atomic_file.h"

namespace sluice::io {

namespace {

// A file or a directory: the in-memory counterpart of an inode. Names live
// in the State maps; a Node may be reachable under no name (removed while
// open, or lost in a simulated crash).
struct Node {
  bool is_directory = false;
  unsigned mode = 0;
  std::string data;    // what readers see now
  std::string synced;  // what survives DropUnsyncedData()
};

using NodeMap = std::map<std::string, std::shared_ptr<Node>>;

// "a//b/./c/" -> "a/b/c"; "" -> "."; "/.." stays "/..".
std::string Normalize(std::string_view path) {
  const bool absolute = !path.empty() && path.front() == '/';
  std::string out = absolute ? "/" : "";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") {
      if (!out.empty() && out.back() != '/') out += '/';
      out += part;
    }
    start = end + 1;
  }
  // (Not `out = "."`: GCC 12 warns about that assignment with -Wrestrict.)
  return out.empty() ? std::string(".") : out;
}

bool IsRoot(const std::string& path) { return path == "/" || path == "."; }

// True if `path` lies strictly inside directory `dir` (both normalised).
bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir == ".") return path.front() != '/' && path != ".";
  if (dir == "/") return path.size() > 1 && path.front() == '/';
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

Status NoEntry(std::string_view op, const std::string& path) {
  return Status::NotFound(std::string(op) + " " + path + ": No such file or directory");
}
Status IsADirectory(std::string_view op, const std::string& path) {
  return Status::IoError(std::string(op) + " " + path + ": Is a directory");
}
Status NotADirectory(std::string_view op, const std::string& path) {
  return Status::IoError(std::string(op) + " " + path + ": Not a directory");
}

}  // namespace

struct MemoryFileSystem::State {
  explicit State(uint64_t cap) : capacity(cap) {}

  // Requires mu. Null for the implicit roots and for absent paths.
  std::shared_ptr<Node> Find(const std::string& path) const {
    auto it = live.find(path);
    return it == live.end() ? nullptr : it->second;
  }
  // Requires mu. OK if `path` is an existing directory.
  Status CheckDirectory(std::string_view op, const std::string& path) const {
    if (IsRoot(path)) return Status::Ok();
    std::shared_ptr<Node> node = Find(path);
    if (node == nullptr) return NoEntry(op, path);
    if (!node->is_directory) return NotADirectory(op, path);
    return Status::Ok();
  }

  const uint64_t capacity;
  std::mutex mu;
  NodeMap live;     // every name that exists now
  NodeMap durable;  // the names each directory held at its last SyncDir
  std::map<std::string, std::string> locks;  // path -> holder
  std::condition_variable lock_released;
};

namespace {

using State = MemoryFileSystem::State;

class MemoryWriter final : public SequentialWriter {
 public:
  MemoryWriter(std::shared_ptr<State> state, std::shared_ptr<Node> node, std::string name)
      : state_(std::move(state)), node_(std::move(node)), name_(std::move(name)) {}

  Status Append(ByteView data) override {
    if (closed_) return Status::InvalidArgument("write to " + name_ + " after close");
    std::lock_guard<std::mutex> lock(state_->mu);
    node_->data.append(AsChars(data));
    size_ += data.size();
    return Status::Ok();
  }
  Status Sync() override {
    if (closed_) return Status::InvalidArgument("sync " + name_ + " after close");
    std::lock_guard<std::mutex> lock(state_->mu);
    node_->synced = node_->data;
    return Status::Ok();
  }
  Status Close() override {
    closed_ = true;
    return Status::Ok();
  }
  uint64_t Size() const override { return size_; }

 private:
  std::shared_ptr<State> state_;
  std::shared_ptr<Node> node_;
  const std::string name_;
  uint64_t size_ = 0;
  bool closed_ = false;
};

// Copies from node->data at offset; requires nothing, takes mu.
size_t CopyOut(State& state, const Node& node, uint64_t offset, MutableBytes buf) {
  std::lock_guard<std::mutex> lock(state.mu);
  if (offset >= node.data.size()) return 0;
  size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), node.data.size() - offset));
  std::memcpy(buf.data(), node.data.data() + offset, n);
  return n;
}

class MemorySequentialReader final : public SequentialReader {
 public:
  MemorySequentialReader(std::shared_ptr<State> state, std::shared_ptr<Node> node, std::string name)
      : state_(std::move(state)), node_(std::move(node)), name_(std::move(name)) {}

  Result<size_t> Read(MutableBytes buf) override {
    size_t n = CopyOut(*state_, *node_, offset_, buf);
    offset_ += n;
    return n;
  }
  const std::string& name() const override { return name_; }

 private:
  std::shared_ptr<State> state_;
  std::shared_ptr<Node> node_;
  const std::string name_;
  uint64_t offset_ = 0;
};

class MemoryPositionalReader final : public PositionalReader {
 public:
  MemoryPositionalReader(std::shared_ptr<State> state, std::shared_ptr<Node> node, std::string name,
                         uint64_t size)
      : state_(std::move(state)), node_(std::move(node)), name_(std::move(name)), size_(size) {}

  Result<size_t> ReadAt(uint64_t offset, MutableBytes buf) const override {
    return CopyOut(*state_, *node_, offset, buf);
  }
  uint64_t Size() const override { return size_; }
  const std::string& name() const override { return name_; }

 private:
  std::shared_ptr<State> state_;
  std::shared_ptr<Node> node_;
  const std::string name_;
  const uint64_t size_;  // at open, like fstat() on a descriptor
};

}  // namespace

MemoryFileSystem::MemoryFileSystem(uint64_t capacity) : state_(std::make_shared<State>(capacity)) {}

MemoryFileSystem::~MemoryFileSystem() = default;

Result<std::unique_ptr<SequentialWriter>> MemoryFileSystem::NewWriter(
    const std::string& raw_path, const WriterOptions& options) {
  const std::string path = Normalize(raw_path);
  constexpr std::string_view kOp = "open for writing";
  std::lock_guard<std::mutex> lock(state_->mu);
  if (IsRoot(path)) return IsADirectory(kOp, path);
  SLUICE_RETURN_IF_ERROR(state_->CheckDirectory(kOp, Dirname(path)));
  std::shared_ptr<Node> node = state_->Find(path);
  if (node != nullptr) {
    if (node->is_directory) return IsADirectory(kOp, path);
    if (options.exclusive)
      return Status::AlreadyExists(std::string(kOp) + " " + path + ": File exists");
    node->data.clear();  // O_TRUNC: same file, and durable only once synced
  } else {
    node = std::make_shared<Node>();
    node->mode = options.mode & 07777;
    state_->live[path] = node;
  }
  return std::unique_ptr<SequentialWriter>(new MemoryWriter(state_, node, path));
}

Result<std::unique_ptr<SequentialReader>> MemoryFileSystem::NewSequentialReader(
    const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  std::lock_guard<std::mutex> lock(state_->mu);
  std::shared_ptr<Node> node = state_->Find(path);
  if (node == nullptr && !IsRoot(path)) return NoEntry("open for reading", path);
  if (node == nullptr || node->is_directory) return IsADirectory("open for reading", path);
  return std::unique_ptr<SequentialReader>(new MemorySequentialReader(state_, node, path));
}

Result<std::unique_ptr<PositionalReader>> MemoryFileSystem::NewPositionalReader(
    const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  std::lock_guard<std::mutex> lock(state_->mu);
  std::shared_ptr<Node> node = state_->Find(path);
  if (node == nullptr && !IsRoot(path)) return NoEntry("open for reading", path);
  if (node == nullptr || node->is_directory) return IsADirectory("open for reading", path);
  return std::unique_ptr<PositionalReader>(
      new MemoryPositionalReader(state_, node, path, node->data.size()));
}

Result<FileInfo> MemoryFileSystem::Stat(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  std::lock_guard<std::mutex> lock(state_->mu);
  FileInfo info;
  if (IsRoot(path)) {
    info.is_directory = true;
    return info;
  }
  std::shared_ptr<Node> node = state_->Find(path);
  if (node == nullptr) return NoEntry("stat", path);
  info.is_directory = node->is_directory;
  info.size = node->is_directory ? 0 : node->data.size();
  return info;
}

Status MemoryFileSystem::CreateDirs(const std::string& raw_path) {
  if (raw_path.empty()) return Status::InvalidArgument("create directory: empty path");
  const std::string path = Normalize(raw_path);
  std::lock_guard<std::mutex> lock(state_->mu);
  // Parents first: collect the chain up to a root, then create downwards.
  std::vector<std::string> chain;
  for (std::string p = path; !IsRoot(p); p = Dirname(p)) chain.push_back(p);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    std::shared_ptr<Node> node = state_->Find(*it);
    if (node == nullptr) {
      node = std::make_shared<Node>();
      node->is_directory = true;
      node->mode = 0755;
      state_->live[*it] = node;
    } else if (!node->is_directory) {
      return NotADirectory("create directory", *it);
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> MemoryFileSystem::ListDir(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  std::lock_guard<std::mutex> lock(state_->mu);
  SLUICE_RETURN_IF_ERROR(state_->CheckDirectory("list directory", path));
  std::vector<std::string> names;
  for (const auto& [name, node] : state_->live) {
    if (Dirname(name) == path && name != path) names.emplace_back(Basename(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status MemoryFileSystem::Rename(const std::string& raw_from, const std::string& raw_to) {
  const std::string from = Normalize(raw_from);
  const std::string to = Normalize(raw_to);
  const std::string what = from + " to " + to;
  std::lock_guard<std::mutex> lock(state_->mu);
  std::shared_ptr<Node> source = state_->Find(from);
  if (source == nullptr) return NoEntry("rename", what);
  if (from == to) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(state_->CheckDirectory("rename", Dirname(to)));
  std::shared_ptr<Node> target = state_->Find(to);
  if (IsRoot(to) || (target != nullptr && target->is_directory)) {
    // rename(2) replaces a directory only with a directory, and only an empty one.
    if (!source->is_directory) return IsADirectory("rename", what);
    for (const auto& entry : state_->live) {
      if (IsUnder(entry.first, to)) {
        return Status::IoError("rename " + what + ": Directory not empty");
      }
    }
  } else if (target != nullptr && source->is_directory) {
    return NotADirectory("rename", what);
  }
  if (source->is_directory && IsUnder(to, from)) {
    return Status::InvalidArgument("rename " + what + ": a directory cannot move into itself");
  }
  // Move the entry and, for a directory, everything under it.
  NodeMap moved;
  for (auto it = state_->live.begin(); it != state_->live.end();) {
    if (it->first == from || IsUnder(it->first, from)) {
      moved[to + it->first.substr(from.size())] = it->second;
      it = state_->live.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [name, node] : moved) state_->live[name] = std::move(node);
  return Status::Ok();
}

Status MemoryFileSystem::Remove(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  std::lock_guard<std::mutex> lock(state_->mu);
  std::shared_ptr<Node> node = state_->Find(path);
  if (node == nullptr && !IsRoot(path)) return NoEntry("remove", path);
  if (node == nullptr) return IsADirectory("remove", path);
  if (node->is_directory) {
    const std::string prefix = path + "/";
    auto next = state_->live.lower_bound(prefix);
    if (next != state_->live.end() && next->first.compare(0, prefix.size(), prefix) == 0) {
      return Status::InvalidArgument("remove " + path + ": directory not empty");
    }
  }
  state_->live.erase(path);
  return Status::Ok();
}

Status MemoryFileSystem::OverwriteAt(const std::string& raw_path, uint64_t offset,
                                     ByteView data) {
  const std::string path = Normalize(raw_path);
  std::lock_guard<std::mutex> lock(state_->mu);
  std::shared_ptr<Node> node = state_->Find(path);
  if (node == nullptr) return NoEntry("overwrite", path);
  if (node->is_directory) return IsADirectory("overwrite", path);
  if (offset + data.size() > node->data.size()) {
    return Status::InvalidArgument("overwrite " + path + ": bytes past its end");
  }
  node->data.replace(offset, data.size(), AsChars(data));
  node->synced = node->data;  // fsynced
  return Status::Ok();
}

Status MemoryFileSystem::SyncDir(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  std::lock_guard<std::mutex> lock(state_->mu);
  SLUICE_RETURN_IF_ERROR(state_->CheckDirectory("sync directory", path));
  // The directory's durable entries become exactly its live entries.
  std::erase_if(state_->durable, [&](const auto& entry) { return Dirname(entry.first) == path; });
  for (const auto& [name, node] : state_->live) {
    if (Dirname(name) == path && name != path) state_->durable[name] = node;
  }
  return Status::Ok();
}

namespace {

class MemoryFileLock final : public FileLock {
 public:
  MemoryFileLock(std::shared_ptr<State> state, std::string path)
      : state_(std::move(state)), path_(std::move(path)) {}
  ~MemoryFileLock() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->locks.erase(path_);
    state_->lock_released.notify_all();
  }

 private:
  std::shared_ptr<State> state_;
  std::string path_;
};

}  // namespace

Result<std::unique_ptr<FileLock>> MemoryFileSystem::Lock(const std::string& raw_path,
                                                         const LockOptions& options) {
  const std::string path = Normalize(raw_path);
  std::unique_lock<std::mutex> lock(state_->mu);
  SLUICE_RETURN_IF_ERROR(state_->CheckDirectory("lock", Dirname(path)));
  const auto deadline = std::chrono::steady_clock::now() + options.wait;
  while (state_->locks.contains(path)) {
    if (state_->lock_released.wait_until(lock, deadline) == std::cv_status::timeout &&
        state_->locks.contains(path)) {
      return LockBusy(path, state_->locks[path], options.wait);
    }
  }
  state_->locks[path] = options.holder;
  return std::unique_ptr<FileLock>(new MemoryFileLock(state_, path));
}

Result<uint64_t> MemoryFileSystem::FreeSpace(const std::string& /*path*/) {
  std::lock_guard<std::mutex> lock(state_->mu);
  uint64_t used = 0;
  for (const auto& entry : state_->live) used += entry.second->data.size();
  return used >= state_->capacity ? 0 : state_->capacity - used;
}

void MemoryFileSystem::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(state_->mu);
  // A parent sorts before its children ("a" < "a/b"), so one pass in order
  // sees each directory before what it contains.
  NodeMap survivors;
  for (const auto& [name, node] : state_->durable) {
    std::string parent = Dirname(name);
    if (IsRoot(parent) || survivors.count(parent) != 0) survivors[name] = node;
  }
  state_->live = survivors;
  state_->durable = std::move(survivors);
  for (auto& [name, node] : state_->live) node->data = node->synced;
}

Result<unsigned> MemoryFileSystem::Mode(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  std::lock_guard<std::mutex> lock(state_->mu);
  std::shared_ptr<Node> node = state_->Find(path);
  if (node == nullptr) return NoEntry("stat", path);
  return node->mode;
}

}  // namespace sluice::io
