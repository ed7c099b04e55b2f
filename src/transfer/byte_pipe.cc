#include "transfer/byte_pipe.h"

#include <algorithm>
#include <cstring>

namespace sluice {

BytePipe::BytePipe(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

bool BytePipe::Write(io::ByteView data) {
  if (data.empty()) return true;
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return abandoned_ || closed_ || queued_ < capacity_; });
  if (abandoned_ || closed_) return false;
  chunks_.emplace_back(data.begin(), data.end());
  queued_ += data.size();
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
    std::vector<uint8_t>& chunk = chunks_.front();
    size_t n = std::min(buf.size() - filled, chunk.size() - front_offset_);
    std::memcpy(buf.data() + filled, chunk.data() + front_offset_, n);
    filled += n;
    front_offset_ += n;
    queued_ -= n;
    if (front_offset_ == chunk.size()) {
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
  front_offset_ = 0;
  changed_.notify_all();
}

}  // namespace sluice
