// A bounded byte stream from one thread to another: what lets an export read
// the next blobs while the bundle writer compresses this one, and an import
// read the bundle on while earlier blobs upload.
//
// One producer writes, one consumer reads. Memory stays bounded: Write blocks
// while the buffers of unread bytes hold `capacity` bytes (one Write may
// overshoot by its own buffer). Buffers count whole, however few bytes of
// them are data: a producer handing on every short read of a network stream
// must not queue a megabyte buffer per 16 KiB.
// Either side can end the stream early: the producer by closing it with an
// error, which the consumer gets once the queued bytes no longer fill its
// buffer, or by cancelling it, which drops the queued bytes too; the
// consumer by abandoning it, which makes every later Write return false.
//
// The buffers the consumer empties go to a BufferPool, where the producer
// takes its next ones (TakeBuffer): a stream of gigabytes then allocates a
// pipe's worth of memory once. Fresh memory costs a page fault and a zeroed
// page per 4 KiB, as much as copying the bytes. Pipes made one after another
// for a run of blobs share one pool, so the next blob starts with the memory
// of the last.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "io/file.h"

namespace sluice {

// Byte buffers handed back for reuse, up to `max_bytes` of them (what is
// given beyond that is freed). Thread-safe.
class BufferPool {
 public:
  explicit BufferPool(size_t max_bytes) : max_bytes_(max_bytes) {}

  // A buffer of at least `size` bytes (its size() may be larger; its bytes
  // are stale): a pooled one if one is large enough, else a new one.
  std::vector<uint8_t> Take(size_t size);
  void Give(std::vector<uint8_t> buffer);

 private:
  const size_t max_bytes_;
  std::mutex mu_;
  std::vector<std::vector<uint8_t>> buffers_;
  size_t bytes_ = 0;  // sizes of buffers_
};

class BytePipe {
 public:
  // `pool` may be shared with other pipes; by default the pipe has its own,
  // of `capacity` bytes.
  explicit BytePipe(size_t capacity, std::shared_ptr<BufferPool> pool = nullptr);
  BytePipe(const BytePipe&) = delete;
  BytePipe& operator=(const BytePipe&) = delete;

  // Producer. A buffer of at least `size` bytes to fill and hand to Write.
  std::vector<uint8_t> TakeBuffer(size_t size) { return pool_->Take(size); }
  // Producer. Moves the first `size` bytes of `buffer` in, without a copy;
  // false if the consumer has abandoned the pipe (the bytes are dropped and
  // the producer should stop).
  bool Write(std::vector<uint8_t> buffer, size_t size);
  // Producer. As above, copying `data` into a buffer from TakeBuffer.
  bool Write(io::ByteView data);
  // Producer. A buffer from TakeBuffer that will not be written after all.
  void ReturnBuffer(std::vector<uint8_t> buffer) { pool_->Give(std::move(buffer)); }
  // Producer. No more bytes: the consumer reads what is queued, then gets
  // `end` (OK: a normal end of data). Later calls are ignored.
  void Close(Status end);
  // Producer. Ends the stream with `why` at once, even after Close(OK):
  // queued bytes are dropped and the consumer's next Read fails.
  void Cancel(Status why);

  // Consumer. Fills `buf` (blocking for the producer) unless the stream ends
  // first. A short read (0 included) means the end of the data; a stream
  // closed with an error fails the read that cannot be filled. Meets
  // io::SequentialReader::Read's contract.
  Result<size_t> Read(io::MutableBytes buf);
  // Consumer. Stops reading: queued bytes are freed and Write returns false.
  void Abandon();

 private:
  struct Chunk {
    std::vector<uint8_t> buffer;
    size_t size;  // bytes of buffer that are data
  };

  const size_t capacity_;
  const std::shared_ptr<BufferPool> pool_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Chunk> chunks_;
  size_t front_offset_ = 0;  // bytes of chunks_.front() already read
  size_t queued_ = 0;        // unread bytes in chunks_
  size_t held_ = 0;          // sizes of chunks_' buffers
  bool closed_ = false;
  Status end_;
  bool abandoned_ = false;
};

}  // namespace sluice
