// Writes blobs to an import's destination several at once: the importer
// reads the bundle (which yields blobs one after another) and hands each
// blob's bytes over; worker threads open, append and commit them, so a
// registry's round trips for one blob overlap with the next blobs' uploads
// and with reading and verifying the bundle.
//
// Bounded: at most `max_in_flight` blobs are unfinished at once (Start blocks
// for a free place), each with at most `buffer_bytes` waiting to be written;
// as much again of emptied buffers is kept for reuse.
//
// The order promise the sinks rely on is kept: a blob is committed only after
// the importer called Commit() on its handle (that is, after the bundle reader
// verified every byte), and Finish() returns only when every blob started is
// committed or has failed, so manifests can follow.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sink/image_sink.h"

namespace sluice {

class BufferPool;

class ParallelBlobWriter {
 public:
  // Runs on a worker: makes the destination's writer for one blob.
  using Opener = std::function<Result<std::unique_ptr<BlobWriter>>()>;

  ParallelBlobWriter(size_t max_in_flight, size_t buffer_bytes);
  // Cancels every blob not yet committed by the sink, even one whose bytes
  // all arrived (its sink writer is destroyed uncommitted, which discards
  // it), and joins the workers. Handles must not outlive it.
  ~ParallelBlobWriter();
  ParallelBlobWriter(const ParallelBlobWriter&) = delete;
  ParallelBlobWriter& operator=(const ParallelBlobWriter&) = delete;

  // Starts a blob. Returns a writer whose Append queues bytes for the worker
  // (blocking while its buffer is full) and whose Commit hands over the end
  // and returns without waiting. Destroying it uncommitted abandons the blob.
  // Fails at once with the first error of an earlier blob, so an import
  // stops early instead of reading on.
  Result<std::unique_ptr<BlobWriter>> Start(std::string name, Opener open);

  // Waits until every blob started is done: committed, or failed. The first
  // failure, naming the blob.
  Status Finish();

 private:
  struct Job;
  class Handle;
  void Work();
  Status Run(Job* job);

  const size_t max_in_flight_;
  const size_t buffer_bytes_;
  const std::shared_ptr<BufferPool> buffers_;  // of every job's pipe

  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<Job>> unfinished_;  // in start order; at most max_in_flight_
  Status first_error_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace sluice
