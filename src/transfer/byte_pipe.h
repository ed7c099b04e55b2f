// A bounded byte stream from one thread to another: what lets an export read
// the next blobs while the bundle writer compresses this one, and an import
// read the bundle on while earlier blobs upload.
//
// One producer writes, one consumer reads. Memory stays bounded: Write blocks
// while `capacity` bytes wait unread (one Write may overshoot by its own size).
// Either side can end the stream early: the producer by closing it with an
// error, which the consumer gets once the queued bytes no longer fill its
// buffer, or by cancelling it, which drops the queued bytes too; the
// consumer by abandoning it, which makes every later Write return false.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "io/file.h"

namespace sluice {

class BytePipe {
 public:
  explicit BytePipe(size_t capacity);
  BytePipe(const BytePipe&) = delete;
  BytePipe& operator=(const BytePipe&) = delete;

  // Producer. Copies `data` in; false if the consumer has abandoned the pipe
  // (the bytes are dropped and the producer should stop).
  bool Write(io::ByteView data);
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
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::vector<uint8_t>> chunks_;
  size_t front_offset_ = 0;  // bytes of chunks_.front() already read
  size_t queued_ = 0;        // unread bytes in chunks_
  bool closed_ = false;
  Status end_;
  bool abandoned_ = false;
};

}  // namespace sluice
