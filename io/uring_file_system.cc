// The io_uring file system: bulk reads and writes keep several large requests
// in flight, so the device stays busy while the caller hashes or compresses
// the previous buffer. Everything else (opening, directories, positional
// reads, pipes) is the posix code: io_uring would only add ceremony there.
#include <liburing.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "io/errno_status.h"
#include "io/file.h"
#include "io/posix_file.h"

namespace sluice::io {
namespace {

// Requests in flight per file, each kWriteBufferSize (1 MiB) long. Four keep
// a disk queue fed without costing much memory per open file.
constexpr size_t kSlots = 4;
constexpr size_t kReadChunk = kWriteBufferSize;
// Submission queue depth: every slot plus an fsync.
constexpr unsigned kRingEntries = 8;
constexpr uint64_t kFsyncTag = ~uint64_t{0};

std::string AtOffset(std::string_view op, uint64_t offset) {
  return std::string(op) + " at offset " + std::to_string(offset) + " of";
}

// One io_uring instance. Not copyable or movable: the kernel maps its queues
// at the address of `ring_`.
class Ring {
 public:
  Ring() = default;
  ~Ring() {
    if (initialized_) io_uring_queue_exit(&ring_);
  }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Returns the negative errno of io_uring_queue_init, or 0.
  int Init(unsigned entries) {
    int rc = io_uring_queue_init(entries, &ring_, 0);
    initialized_ = rc == 0;
    return rc;
  }

  // A free submission entry. The queue is sized so it never runs out: each
  // file keeps at most kSlots + 1 requests.
  io_uring_sqe* NextEntry() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    assert(sqe != nullptr);
    return sqe;
  }

  Status Submit(const std::string& name) {
    int rc;
    do {
      rc = io_uring_submit(&ring_);
    } while (rc == -EINTR);
    if (rc < 0) return ErrnoStatus(-rc, "submit I/O for", name);
    return Status::Ok();
  }

  // Waits for one completion and returns its tag and result (bytes or
  // -errno) after marking it seen.
  Status WaitOne(const std::string& name, uint64_t* tag, int* res) {
    io_uring_cqe* cqe = nullptr;
    int rc;
    do {
      rc = io_uring_wait_cqe(&ring_, &cqe);
    } while (rc == -EINTR);
    if (rc < 0) return ErrnoStatus(-rc, "wait for I/O on", name);
    *tag = io_uring_cqe_get_data64(cqe);
    *res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    return Status::Ok();
  }

 private:
  io_uring ring_{};
  bool initialized_ = false;
};

// Fills kSlots buffers in turn; a full buffer is written at its file offset
// while the caller fills the next. Completions may arrive in any order, each
// write covers its own range of the file.
//
// Full slots are written with O_DIRECT where the file system allows it: a
// buffered write through a ring is copied into the page cache by a kernel
// worker thread (io-wq), which measured here 2-3 times slower than write(2)
// doing the same copy, while a direct write is truly asynchronous, copies
// nothing, and leaves the final fsync little to do. The last, partial slot
// is written direct too, padded with zeros to the block size, and the file
// is then cut back to its real size: written buffered, the tails of 500
// small blobs cost an import 13 % of its time in that copy.
//
// The ring is set up when the first slot fills: until then the file may end
// in one write, done with pwrite(2) (see HaveRing). A file whose size the
// caller announces (Reserve) has its space reserved first, so that its
// direct writes are overwrites the kernel sends to the device at once,
// not extensions it hands to a worker thread (see ReserveSpace).
class UringWriter final : public SequentialWriter {
 public:
  explicit UringWriter(std::string name) : name_(std::move(name)) {}
  ~UringWriter() override { (void)Close(); }

  void Start(UniqueFd fd) {
    fd_ = std::move(fd);
    direct_ = SetDirect(fd_.get(), true);
  }

  Status Append(ByteView data) override {
    SLUICE_RETURN_IF_ERROR(CheckUsable());
    size_ += data.size();
    while (!data.empty()) {
      Slot& slot = slots_[current_];
      // Round robin: the slot to fill next is the one submitted longest ago.
      while (slot.in_flight) SLUICE_RETURN_IF_ERROR(Fail(ReapOne()));
      if (slot.data == nullptr) slot.data = NewWriteBuffer();
      size_t n = std::min(data.size(), kWriteBufferSize - slot.length);
      std::memcpy(slot.data.get() + slot.length, data.data(), n);
      slot.length += n;
      data = data.subspan(n);
      if (slot.length == kWriteBufferSize) SLUICE_RETURN_IF_ERROR(Fail(SubmitCurrent()));
    }
    return Status::Ok();
  }

  Status Sync() override {
    SLUICE_RETURN_IF_ERROR(CheckUsable());
    SLUICE_RETURN_IF_ERROR(Fail(Drain()));
    SLUICE_RETURN_IF_ERROR(Fail(CutToSize()));
    if (ring_state_ != RingState::kReady) return Fail(SyncFd(fd_.get(), name_));
    // IORING_OP_FSYNC runs after the writes only because Drain() waited for
    // them: requests in a ring are not ordered unless linked.
    io_uring_sqe* sqe = ring_.NextEntry();
    io_uring_prep_fsync(sqe, fd_.get(), 0);
    io_uring_sqe_set_data64(sqe, kFsyncTag);
    SLUICE_RETURN_IF_ERROR(Fail(ring_.Submit(name_)));
    uint64_t tag = 0;
    int res = 0;
    SLUICE_RETURN_IF_ERROR(Fail(ring_.WaitOne(name_, &tag, &res)));
    assert(tag == kFsyncTag);
    if (res < 0) return Fail(ErrnoStatus(-res, "fsync", name_));
    return Status::Ok();
  }

  Status Close() override {
    if (closed_) return status_;
    closed_ = true;
    // A broken writer sends nothing more, but still waits until the kernel
    // is done with the buffers before they are freed.
    (void)Fail(Drain(/*submit_partial=*/status_.ok()));
    if (status_.ok()) (void)Fail(CutToSize());
    Status close_status = fd_.Close(name_);
    if (status_.ok()) status_ = std::move(close_status);
    return status_;
  }

  uint64_t Size() const override { return size_; }

  // Only a file that fills a slot goes through the ring (see HaveRing).
  void Reserve(uint64_t bytes) override {
    if (closed_ || size_ > 0 || bytes <= kWriteBufferSize) return;
    reserved_ = ReserveSpace(fd_.get(), bytes);
  }

 private:
  struct Slot {
    AlignedBuffer data;  // kWriteBufferSize bytes, allocated on first use
    size_t length = 0;                // bytes filled
    size_t written = 0;               // bytes the kernel has taken, while in flight
    uint64_t offset = 0;              // where data[0] goes in the file
    bool in_flight = false;
  };

  Status CheckUsable() {
    if (!status_.ok()) return status_;
    if (closed_) return Status::InvalidArgument("write to " + name_ + " after close");
    return Status::Ok();
  }
  Status Fail(Status s) {
    if (!s.ok() && status_.ok()) status_ = s;
    return s;
  }

  // Direct I/O takes only aligned offsets and lengths: the rest of a slot
  // that is not (a tail after an unaligned one) goes buffered.
  void FitMode(const Slot& slot) {
    uint64_t offset = slot.offset + slot.written;
    size_t length = slot.length - slot.written;
    if (direct_ && (offset % kDirectAlignment != 0 || length % kDirectAlignment != 0)) {
      StopDirect();
    }
  }

  void PrepareWrite(size_t index) {
    Slot& slot = slots_[index];
    FitMode(slot);
    io_uring_sqe* sqe = ring_.NextEntry();
    io_uring_prep_write(sqe, fd_.get(), slot.data.get() + slot.written,
                        static_cast<unsigned>(slot.length - slot.written),
                        slot.offset + slot.written);
    io_uring_sqe_set_data64(sqe, index);
  }

  // After a padded tail or a reservation, the file is longer than what was
  // appended (and a later Append, unaligned, goes buffered over the
  // padding): cut it back.
  Status CutToSize() {
    if (!padded_ && !reserved_) return Status::Ok();
    SLUICE_RETURN_IF_ERROR(TruncateFd(fd_.get(), size_, name_));
    padded_ = false;
    reserved_ = false;
    return Status::Ok();
  }

  // Buffered from here on. Writes already in flight keep the mode they
  // were submitted with.
  void StopDirect() {
    (void)SetDirect(fd_.get(), false);
    direct_ = false;
  }

  // Sends the current slot (full, or partial when draining) and moves on.
  // A partial slot at an aligned offset is padded with zeros to the block
  // size so it can go direct too; CutToSize then gives the file its size.
  Status SubmitCurrent() {
    Slot& slot = slots_[current_];
    const bool full = slot.length == kWriteBufferSize;
    slot.offset = next_offset_;
    slot.written = 0;
    next_offset_ += slot.length;
    const size_t unaligned = slot.length % kDirectAlignment;
    if (direct_ && unaligned != 0 && slot.offset % kDirectAlignment == 0) {
      const size_t pad = kDirectAlignment - unaligned;
      std::memset(slot.data.get() + slot.length, 0, pad);
      slot.length += pad;
      padded_ = true;
    }
    const size_t index = current_;
    current_ = (current_ + 1) % kSlots;
    if (!HaveRing(full)) return WriteNow(slot);
    slot.in_flight = true;
    ++in_flight_;
    PrepareWrite(index);
    return ring_.Submit(name_);
  }

  // Whether this slot goes through the ring, setting the ring up for the
  // first full slot. A file that never fills one slot (most files an import
  // writes: manifests, configs, links, small layers) is one pwrite(2) and
  // costs no ring; nor does a file whose ring cannot be set up (for
  // example when locked memory runs out on an older kernel).
  bool HaveRing(bool full_slot) {
    if (ring_state_ == RingState::kNotYet && full_slot) {
      ring_state_ = ring_.Init(kRingEntries) == 0 ? RingState::kReady : RingState::kUnavailable;
    }
    return ring_state_ == RingState::kReady;
  }

  // Writes a slot with pwrite(2) and returns once it is written.
  Status WriteNow(Slot& slot) {
    Status s = PwriteFully(fd_.get(), ByteView(slot.data.get(), slot.length), slot.offset, name_,
                           &direct_);
    slot.length = 0;
    return s;
  }

  // Takes one completion. A short write (the kernel may stop early, e.g.
  // near a quota) is resubmitted for the rest of the slot.
  Status ReapOne() {
    uint64_t tag = 0;
    int res = 0;
    Status s = ring_.WaitOne(name_, &tag, &res);
    if (!s.ok()) {
      ring_broken_ = true;
      return s;
    }
    assert(tag < kSlots);
    Slot& slot = slots_[tag];
    if (res == -EINVAL && direct_) {
      // A file system that took the O_DIRECT flag but not the write.
      StopDirect();
      PrepareWrite(tag);
      return ring_.Submit(name_);
    }
    if (res <= 0) {
      slot.in_flight = false;
      slot.length = 0;
      --in_flight_;
      // A write of zero bytes would repeat forever; report it as EIO.
      return ErrnoStatus(res < 0 ? -res : EIO, AtOffset("write", slot.offset + slot.written),
                         name_);
    }
    slot.written += static_cast<size_t>(res);
    if (slot.written < slot.length) {
      PrepareWrite(tag);
      return ring_.Submit(name_);
    }
    slot.in_flight = false;
    slot.length = 0;
    --in_flight_;
    return Status::Ok();
  }

  // Submits the partial slot (if asked) and waits until every write has
  // completed, even after an error. Returns the first error.
  Status Drain(bool submit_partial = true) {
    Status first;
    Slot& partial = slots_[current_];
    if (submit_partial && partial.length > 0 && !partial.in_flight) first = SubmitCurrent();
    while (in_flight_ > 0 && !ring_broken_) {
      Status s = ReapOne();
      if (first.ok()) first = s;
    }
    return first;
  }

  enum class RingState { kNotYet, kReady, kUnavailable };

  UniqueFd fd_;
  const std::string name_;
  Ring ring_;
  RingState ring_state_ = RingState::kNotYet;
  std::array<Slot, kSlots> slots_;
  size_t current_ = 0;    // the slot Append fills
  size_t in_flight_ = 0;  // slots the kernel holds
  bool ring_broken_ = false;
  bool direct_ = false;  // the fd has O_DIRECT set
  bool padded_ = false;  // a tail went out padded; the file needs cutting to size_
  bool reserved_ = false;  // space was reserved past size_; the file needs cutting too
  uint64_t next_offset_ = 0;
  uint64_t size_ = 0;
  bool closed_ = false;
  Status status_;
};

// Reads ahead: up to kSlots reads of kReadChunk at consecutive offsets are in
// flight; Read() hands their bytes out in file order.
//
// Bytes already in the page cache are read straight into the caller's
// buffer instead (preadv2 with RWF_NOWAIT): a ring gains nothing over a
// copy out of the cache, and its slots would cost a second copy. The first
// read that would have to wait for the device hands the rest of the file to
// the ring.
class UringSequentialReader final : public SequentialReader {
 public:
  UringSequentialReader(std::string name, uint64_t size_hint)
      : name_(std::move(name)), size_hint_(size_hint) {}
  ~UringSequentialReader() override {
    // The kernel may still be reading into the buffers.
    while (in_flight_ > 0 && !ring_broken_) (void)ReapOne();
  }

  // Sets up the ring and, if that works, takes `fd`. On failure `fd` is
  // left to the caller.
  bool Start(UniqueFd& fd) {
    if (ring_.Init(kRingEntries) != 0) return false;
    fd_ = std::move(fd);
    return true;
  }

  Result<size_t> Read(MutableBytes buf) override {
    if (!status_.ok()) return status_;
    size_t done = 0;
    while (done < buf.size() && !at_end_) {
      if (from_cache_ && active_ == 0) {
        SLUICE_ASSIGN_OR_RETURN(std::optional<size_t> n,
                                Fail(ReadCached(buf.subspan(done))));
        if (n.has_value()) {
          done += *n;
          at_end_ = *n == 0;
          continue;
        }
      }
      SLUICE_RETURN_IF_ERROR(Fail(ReadAhead()));
      if (active_ == 0) break;  // nothing left to read
      Slot& slot = slots_[head_];
      while (slot.in_flight) SLUICE_RETURN_IF_ERROR(Fail(ReapOne()));
      size_t n = std::min(buf.size() - done, slot.filled - slot.consumed);
      std::memcpy(buf.data() + done, slot.data.get() + slot.consumed, n);
      slot.consumed += n;
      done += n;
      if (slot.consumed == slot.filled) {
        // A slot that came back short met the end of the file. Later slots
        // lie beyond it and are ignored, so bytes are never handed out after
        // a gap even if the file grows meanwhile.
        at_end_ = slot.filled < kReadChunk;
        --active_;
        head_ = (head_ + 1) % kSlots;
      }
    }
    return done;
  }

  const std::string& name() const override { return name_; }

 private:
  struct Slot {
    std::unique_ptr<uint8_t[]> data;  // kReadChunk bytes, allocated on first use
    uint64_t offset = 0;
    size_t filled = 0;    // bytes read into data
    size_t consumed = 0;  // bytes handed out
    bool in_flight = false;
  };

  Status Fail(Status s) {
    if (!s.ok() && status_.ok()) status_ = s;
    return s;
  }
  template <typename T>
  Result<T> Fail(Result<T> r) {
    if (!r.ok()) (void)Fail(r.status());
    return r;
  }

  // Reads what the page cache holds at the current offset into `buf`, up
  // to its size: the count (0 at the end of the file), or nullopt once the
  // next byte is not cached, from which point the ring reads.
  Result<std::optional<size_t>> ReadCached(MutableBytes buf) {
    iovec part{buf.data(), buf.size()};
    ssize_t n;
    do {
      n = ::preadv2(fd_.get(), &part, 1, static_cast<off_t>(next_offset_), RWF_NOWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      // EAGAIN: not cached. EOPNOTSUPP: a file system without RWF_NOWAIT.
      if (errno == EAGAIN || errno == EOPNOTSUPP) {
        from_cache_ = false;
        return std::optional<size_t>();
      }
      return ErrnoStatus(errno, AtOffset("read", next_offset_), name_);
    }
    next_offset_ += static_cast<uint64_t>(n);
    if (n == 0) end_seen_ = true;
    return std::optional<size_t>(static_cast<size_t>(n));
  }

  void PrepareRead(size_t index) {
    Slot& slot = slots_[index];
    io_uring_sqe* sqe = ring_.NextEntry();
    io_uring_prep_read(sqe, fd_.get(), slot.data.get() + slot.filled,
                       static_cast<unsigned>(kReadChunk - slot.filled), slot.offset + slot.filled);
    io_uring_sqe_set_data64(sqe, index);
  }

  // Starts reads into free slots, in file order. Reads stop at the size the
  // file had when opened, except that one read always goes past it when
  // nothing else is pending: that read finds the end (or bytes appended
  // since).
  Status ReadAhead() {
    size_t submitted = 0;
    while (active_ < kSlots && !end_seen_ && (next_offset_ < size_hint_ || active_ == 0)) {
      size_t index = (head_ + active_) % kSlots;
      Slot& slot = slots_[index];
      // Not zeroed first: the kernel fills what is read.
      if (slot.data == nullptr) slot.data = std::make_unique_for_overwrite<uint8_t[]>(kReadChunk);
      slot.offset = next_offset_;
      slot.filled = 0;
      slot.consumed = 0;
      slot.in_flight = true;
      next_offset_ += kReadChunk;
      ++active_;
      ++in_flight_;
      PrepareRead(index);
      ++submitted;
    }
    return submitted > 0 ? ring_.Submit(name_) : Status::Ok();
  }

  // Takes one completion. A short read is continued until the slot is full
  // or a read returns 0 (end of file).
  Status ReapOne() {
    uint64_t tag = 0;
    int res = 0;
    Status s = ring_.WaitOne(name_, &tag, &res);
    if (!s.ok()) {
      ring_broken_ = true;
      return s;
    }
    assert(tag < kSlots);
    Slot& slot = slots_[tag];
    if (res < 0) {
      slot.in_flight = false;
      --in_flight_;
      return ErrnoStatus(-res, AtOffset("read", slot.offset + slot.filled), name_);
    }
    slot.filled += static_cast<size_t>(res);
    if (res > 0 && slot.filled < kReadChunk) {
      PrepareRead(tag);
      return ring_.Submit(name_);
    }
    if (res == 0) end_seen_ = true;
    slot.in_flight = false;
    --in_flight_;
    return Status::Ok();
  }

  UniqueFd fd_;
  const std::string name_;
  const uint64_t size_hint_;  // file size at open
  Ring ring_;
  std::array<Slot, kSlots> slots_;
  size_t head_ = 0;       // the slot Read hands out from
  size_t active_ = 0;     // slots in flight or holding unread bytes, from head_ on
  size_t in_flight_ = 0;  // slots the kernel holds
  uint64_t next_offset_ = 0;
  bool ring_broken_ = false;
  bool from_cache_ = true;  // reading cached bytes directly, not through the ring yet
  bool end_seen_ = false;  // some read returned 0: read no further
  bool at_end_ = false;    // handed out everything up to the end
  Status status_;
};

class UringFileSystemImpl final : public FileSystem {
 public:
  std::string_view name() const override { return "io_uring"; }

  Result<std::unique_ptr<SequentialWriter>> NewWriter(const std::string& path,
                                                      const WriterOptions& options) override {
    SLUICE_ASSIGN_OR_RETURN(UniqueFd fd, OpenForWriting(path, options));
    // Offsets mean nothing to a FIFO or a device: write those in order.
    if (!IsRegularFile(fd.get())) return NewPosixWriter(std::move(fd), path);
    auto writer = std::make_unique<UringWriter>(path);
    writer->Start(std::move(fd));
    return std::unique_ptr<SequentialWriter>(std::move(writer));
  }

  Result<std::unique_ptr<SequentialReader>> NewSequentialReader(const std::string& path) override {
    SLUICE_ASSIGN_OR_RETURN(OpenedFile file, OpenForReading(path));
    // A pipe cannot be read at offsets, and a file smaller than one chunk
    // gains nothing from read-ahead but would pay for setting up a ring.
    if (!file.regular || file.size < kReadChunk) {
      return NewPosixSequentialReader(std::move(file.fd), path);
    }
    auto reader = std::make_unique<UringSequentialReader>(path, file.size);
    if (!reader->Start(file.fd)) return NewPosixSequentialReader(std::move(file.fd), path);
    return std::unique_ptr<SequentialReader>(std::move(reader));
  }

  // A single read through a ring is a pread(2) with extra steps, and sharing
  // one ring between threads would need a lock that pread(2) does not: the
  // positional reader is the posix one.
  Result<std::unique_ptr<PositionalReader>> NewPositionalReader(const std::string& path) override {
    return PosixFileSystem()->NewPositionalReader(path);
  }

  Result<FileInfo> Stat(const std::string& path) override { return posix_->Stat(path); }
  Status CreateDirs(const std::string& path) override { return posix_->CreateDirs(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return posix_->ListDir(path);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return posix_->Rename(from, to);
  }
  Status Remove(const std::string& path) override { return posix_->Remove(path); }
  Status SyncDir(const std::string& path) override { return posix_->SyncDir(path); }
  Status OverwriteAt(const std::string& path, uint64_t offset, ByteView data) override {
    return posix_->OverwriteAt(path, offset, data);
  }
  Result<uint64_t> FreeSpace(const std::string& path) override { return posix_->FreeSpace(path); }
  Result<std::unique_ptr<FileLock>> Lock(const std::string& path,
                                         const LockOptions& options) override {
    return posix_->Lock(path, options);
  }

 private:
  FileSystem* const posix_ = PosixFileSystem();
};

// True if this process may use io_uring with the operations we need. Kernels
// before 5.6 lack IORING_OP_READ/WRITE; containers often refuse
// io_uring_setup(2) outright (seccomp: EPERM or ENOSYS), and
// /proc/sys/kernel/io_uring_disabled can forbid it.
bool UringWorks() {
  Ring ring;
  if (ring.Init(1) != 0) return false;
  io_uring_probe* probe = io_uring_get_probe();
  if (probe == nullptr) return false;
  bool ok = io_uring_opcode_supported(probe, IORING_OP_READ) &&
            io_uring_opcode_supported(probe, IORING_OP_WRITE) &&
            io_uring_opcode_supported(probe, IORING_OP_FSYNC);
  io_uring_free_probe(probe);
  return ok;
}

}  // namespace

FileSystem* UringFileSystem() {
  static FileSystem* const fs = UringWorks() ? new UringFileSystemImpl() : nullptr;
  return fs;
}

}  // namespace sluice::io
