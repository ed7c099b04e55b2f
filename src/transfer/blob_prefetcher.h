// Reads the blobs an export ships ahead of the bundle writer, several at once,
// and hands them out in order: a registry's round trips, a disk's reads and a
// source's own checks overlap with each other and with compressing and
// writing the bundle, which must take blobs one after another.
//
// Bounded: at most `max_in_flight` blobs are open at once (the one being
// consumed included), each with at most `buffer_bytes` read ahead of the
// consumer, so memory stays under max_in_flight * buffer_bytes plus a chunk
// each, whatever the blob sizes; as much again of emptied buffers is kept for
// the next chunks.
//
// A blob that fails to open or read fails in its turn, as if read directly:
// its reader returns the error after the bytes that arrived before it.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/file.h"

namespace sluice {

class BufferPool;
class BytePipe;

class BlobPrefetcher {
 public:
  struct Blob {
    std::string name;  // for messages
    // Runs on a worker thread, concurrently with the other blobs' opens.
    std::function<Result<std::unique_ptr<io::SequentialReader>>()> open;
  };

  // Starts reading at once. max_in_flight >= 1.
  BlobPrefetcher(std::vector<Blob> blobs, size_t max_in_flight, size_t buffer_bytes);
  // Stops the workers (a blocked read of a source ends first). Every reader
  // handed out must have been destroyed.
  ~BlobPrefetcher();
  BlobPrefetcher(const BlobPrefetcher&) = delete;
  BlobPrefetcher& operator=(const BlobPrefetcher&) = delete;

  // The next blob, in the order given; nullptr after the last. Destroying
  // the reader after reading it to the end lets the next blob start;
  // destroying it earlier stops all fetching (the consumer is failing).
  std::unique_ptr<io::SequentialReader> Next();

 private:
  class Reader;
  void Work();
  void Fetch(size_t index, std::shared_ptr<BytePipe> pipe);
  void Release(size_t index, bool read_to_end);
  // The pipe of blob `index`, made by whichever of worker and consumer
  // needs it first.
  std::shared_ptr<BytePipe> PipeFor(size_t index);
  std::shared_ptr<BytePipe> PipeForLocked(size_t index);  // mu_ held

  const std::vector<Blob> blobs_;
  const size_t max_in_flight_;
  const size_t buffer_bytes_;
  const std::shared_ptr<BufferPool> buffers_;  // of every blob's pipe
  size_t handed_out_ = 0;  // consumer thread only

  std::mutex mu_;
  std::vector<std::shared_ptr<BytePipe>> pipes_;  // null unless in flight
  std::condition_variable window_moved_;
  size_t next_to_fetch_ = 0;
  size_t released_ = 0;  // readers destroyed
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace sluice
