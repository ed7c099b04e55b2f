#include "transfer/blob_prefetcher.h"

#include <algorithm>

#include "transfer/byte_pipe.h"

namespace sluice {
namespace {

constexpr size_t kChunkSize = 1u << 20;

}  // namespace

class BlobPrefetcher::Reader final : public io::SequentialReader {
 public:
  Reader(BlobPrefetcher* owner, BytePipe* pipe, const std::string& name)
      : owner_(owner), pipe_(pipe), name_(name) {}
  ~Reader() override {
    pipe_->Abandon();
    owner_->Release();
  }
  Result<size_t> Read(io::MutableBytes buf) override { return pipe_->Read(buf); }
  const std::string& name() const override { return name_; }

 private:
  BlobPrefetcher* owner_;
  BytePipe* pipe_;
  const std::string& name_;
};

BlobPrefetcher::BlobPrefetcher(std::vector<Blob> blobs, size_t max_in_flight, size_t buffer_bytes)
    : blobs_(std::move(blobs)), max_in_flight_(std::max<size_t>(max_in_flight, 1)) {
  pipes_.reserve(blobs_.size());
  for (size_t i = 0; i < blobs_.size(); ++i) pipes_.push_back(std::make_unique<BytePipe>(buffer_bytes));
  size_t threads = std::min(max_in_flight_, blobs_.size());
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

BlobPrefetcher::~BlobPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  window_moved_.notify_all();
  for (auto& pipe : pipes_) pipe->Abandon();
  for (std::thread& worker : workers_) worker.join();
}

std::unique_ptr<io::SequentialReader> BlobPrefetcher::Next() {
  if (handed_out_ == blobs_.size()) return nullptr;
  size_t i = handed_out_++;
  return std::make_unique<Reader>(this, pipes_[i].get(), blobs_[i].name);
}

void BlobPrefetcher::Release() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++released_;
  }
  window_moved_.notify_all();
}

void BlobPrefetcher::Work() {
  while (true) {
    size_t index;
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
    }
    Fetch(index);
  }
}

void BlobPrefetcher::Fetch(size_t index) {
  BytePipe* pipe = pipes_[index].get();
  auto reader = blobs_[index].open();
  if (!reader.ok()) {
    pipe->Close(reader.status());
    return;
  }
  std::vector<uint8_t> chunk(kChunkSize);
  while (true) {
    Result<size_t> n = (*reader)->Read(chunk);
    if (!n.ok() || *n == 0) {
      // The source's reader goes before the end is announced, so the next
      // blob never opens while this one still holds the source's resources
      // (an archive's decompressor is handed on this way).
      reader->reset();
      pipe->Close(n.status());
      return;
    }
    if (!pipe->Write(io::ByteView(chunk.data(), *n))) return;  // abandoned
  }
}

}  // namespace sluice
