#include "transfer/blob_prefetcher.h"

#include <algorithm>

#include "transfer/byte_pipe.h"

namespace sluice {
namespace {

constexpr size_t kChunkSize = 1u << 20;

}  // namespace

class BlobPrefetcher::Reader final : public io::SequentialReader {
 public:
  Reader(BlobPrefetcher* owner, size_t index, std::shared_ptr<BytePipe> pipe,
         const std::string& name)
      : owner_(owner), index_(index), pipe_(std::move(pipe)), name_(name) {}
  ~Reader() override {
    pipe_->Abandon();
    owner_->Release(index_, /*read_to_end=*/ended_);
  }
  Result<size_t> Read(io::MutableBytes buf) override {
    Result<size_t> n = pipe_->Read(buf);
    if (n.ok() && *n < buf.size()) ended_ = true;
    return n;
  }
  const std::string& name() const override { return name_; }

 private:
  BlobPrefetcher* owner_;
  const size_t index_;
  std::shared_ptr<BytePipe> pipe_;
  const std::string& name_;
  bool ended_ = false;
};

BlobPrefetcher::BlobPrefetcher(std::vector<Blob> blobs, size_t max_in_flight, size_t buffer_bytes)
    : blobs_(std::move(blobs)),
      max_in_flight_(std::max<size_t>(max_in_flight, 1)),
      buffer_bytes_(buffer_bytes),
      buffers_(std::make_shared<BufferPool>(max_in_flight_ * buffer_bytes)),
      pipes_(blobs_.size()) {
  size_t threads = std::min(max_in_flight_, blobs_.size());
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

BlobPrefetcher::~BlobPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& pipe : pipes_) {
      if (pipe) pipe->Abandon();
    }
  }
  window_moved_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

std::shared_ptr<BytePipe> BlobPrefetcher::PipeFor(size_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  return PipeForLocked(index);
}

std::shared_ptr<BytePipe> BlobPrefetcher::PipeForLocked(size_t index) {
  if (!pipes_[index]) pipes_[index] = std::make_shared<BytePipe>(buffer_bytes_, buffers_);
  return pipes_[index];
}

std::unique_ptr<io::SequentialReader> BlobPrefetcher::Next() {
  if (handed_out_ == blobs_.size()) return nullptr;
  size_t i = handed_out_++;
  std::shared_ptr<BytePipe> pipe = PipeFor(i);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // No worker will ever take it: fail rather than wait.
    if (stopping_ && i >= next_to_fetch_) {
      pipe->Close(Status::IoError(blobs_[i].name + ": not read, an earlier blob was given up"));
    }
  }
  return std::make_unique<Reader>(this, i, std::move(pipe), blobs_[i].name);
}

void BlobPrefetcher::Release(size_t index, bool read_to_end) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pipes_[index].reset();  // a pipe lives only while its blob is in flight
    ++released_;
    // A blob given up half-way means the consumer is failing: fetching more
    // (an archive may decompress gigabytes to reach the next) helps nobody.
    if (!read_to_end) stopping_ = true;
  }
  window_moved_.notify_all();
}

void BlobPrefetcher::Work() {
  while (true) {
    size_t index;
    std::shared_ptr<BytePipe> pipe;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Blob i may start once fewer than max_in_flight_ blobs before it are
      // still held by the consumer or being fetched.
      window_moved_.wait(lock, [&] {
        return stopping_ || next_to_fetch_ >= blobs_.size() ||
               next_to_fetch_ < released_ + max_in_flight_;
      });
      if (stopping_ || next_to_fetch_ >= blobs_.size()) return;
      index = next_to_fetch_++;
      // Under the same lock as the check: a stop after it finds this pipe
      // and abandons it. Made later, it could escape the destructor's
      // sweep, fill up with nobody to read it, and never be joined.
      pipe = PipeForLocked(index);
    }
    Fetch(index, std::move(pipe));
  }
}

void BlobPrefetcher::Fetch(size_t index, std::shared_ptr<BytePipe> pipe) {
  auto reader = blobs_[index].open();
  if (!reader.ok()) {
    pipe->Close(reader.status());
    return;
  }
  while (true) {
    // Read straight into the buffer the pipe passes on: the bytes are
    // hashed there (a verifying reader) and never copied on this thread.
    // Filled up, since a network stream hands over what it has so far.
    std::vector<uint8_t> chunk = pipe->TakeBuffer(kChunkSize);
    size_t filled = 0;
    Result<size_t> n = size_t{0};
    while (filled < kChunkSize) {
      n = (*reader)->Read(io::MutableBytes(chunk.data() + filled, kChunkSize - filled));
      if (!n.ok() || *n == 0) break;
      filled += *n;
    }
    if (filled > 0 && !pipe->Write(std::move(chunk), filled)) return;  // abandoned
    if (!n.ok() || *n == 0) {
      // The source's reader goes before the end is announced, so the next
      // blob never opens while this one still holds the source's resources
      // (an archive's decompressor is handed on this way).
      reader->reset();
      if (filled == 0) pipe->ReturnBuffer(std::move(chunk));
      pipe->Close(n.status());
      return;
    }
  }
}

}  // namespace sluice
