#include "transfer/byte_pipe.h"

#include <algorithm>
#include <cstring>

namespace sluice {

std::vector<uint8_t> BufferPool::Take(size_t size) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The smallest that fits, and none more than twice the size: a pipe
    // counts a buffer's whole size against its capacity.
    auto best = buffers_.end();
    for (auto it = buffers_.begin(); it != buffers_.end(); ++it) {
      if (it->size() < size || it->size() > 2 * std::max<size_t>(size, 4096)) continue;
      if (best == buffers_.end() || it->size() < best->size()) best = it;
    }
    if (best != buffers_.end()) {
      std::vector<uint8_t> buffer = std::move(*best);
      buffers_.erase(best);
      bytes_ -= buffer.size();
      return buffer;
    }
  }
  return std::vector<uint8_t>(size);
}

void BufferPool::Give(std::vector<uint8_t> buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  if (buffer.empty() || buffer.size() > max_bytes_) return;
  // Over the limit, smaller buffers make room: the last, short chunk of
  // every blob must not crowd out the full-sized ones that Take wants.
  while (bytes_ + buffer.size() > max_bytes_) {
    auto smallest =
        std::min_element(buffers_.begin(), buffers_.end(),
                         [](const auto& a, const auto& b) { return a.size() < b.size(); });
    if (smallest == buffers_.end() || smallest->size() >= buffer.size()) return;
    bytes_ -= smallest->size();
    buffers_.erase(smallest);
  }
  bytes_ += buffer.size();
  buffers_.push_back(std::move(buffer));
}

BytePipe::BytePipe(size_t capacity, std::shared_ptr<BufferPool> pool)
    : capacity_(std::max<size_t>(capacity, 1)),
      pool_(pool ? std::move(pool) : std::make_shared<BufferPool>(capacity_)) {}

bool BytePipe::Write(io::ByteView data) {
  if (data.empty()) return true;
  std::vector<uint8_t> buffer = TakeBuffer(data.size());
  std::memcpy(buffer.data(), data.data(), data.size());
  return Write(std::move(buffer), data.size());
}

bool BytePipe::Write(std::vector<uint8_t> buffer, size_t size) {
  if (size == 0) {
    ReturnBuffer(std::move(buffer));
    return true;
  }
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return abandoned_ || closed_ || held_ < capacity_; });
  if (abandoned_ || closed_) return false;
  queued_ += size;
  held_ += buffer.size();
  chunks_.push_back({std::move(buffer), size});
  changed_.notify_all();
  return true;
}

void BytePipe::Close(Status end) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;
  closed_ = true;
  end_ = std::move(end);
  changed_.notify_all();
}

void BytePipe::Cancel(Status why) {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  end_ = std::move(why);
  chunks_.clear();
  queued_ = 0;
  held_ = 0;
  front_offset_ = 0;
  changed_.notify_all();
}

Result<size_t> BytePipe::Read(io::MutableBytes buf) {
  size_t filled = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (filled < buf.size()) {
    changed_.wait(lock, [&] { return queued_ > 0 || closed_; });
    if (queued_ == 0) {
      // Closed and drained. A short read means the end of the data, so an
      // error is returned as it is, never after a short read.
      if (!end_.ok()) return end_;
      break;
    }
    Chunk& chunk = chunks_.front();
    size_t n = std::min(buf.size() - filled, chunk.size - front_offset_);
    std::memcpy(buf.data() + filled, chunk.buffer.data() + front_offset_, n);
    filled += n;
    front_offset_ += n;
    queued_ -= n;
    if (front_offset_ == chunk.size) {
      held_ -= chunk.buffer.size();
      pool_->Give(std::move(chunk.buffer));
      chunks_.pop_front();
      front_offset_ = 0;
    }
    changed_.notify_all();
  }
  return filled;
}

void BytePipe::Abandon() {
  std::lock_guard<std::mutex> lock(mu_);
  abandoned_ = true;
  chunks_.clear();
  queued_ = 0;
  held_ = 0;
  front_offset_ = 0;
  changed_.notify_all();
}

}  // namespace sluice
