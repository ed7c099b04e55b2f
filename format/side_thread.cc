#include "format/side_thread.h"

#include <utility>

namespace sluice::format {

SideThread::SideThread() {
  if (std::thread::hardware_concurrency() > 1) thread_ = std::thread([this] { Loop(); });
}

SideThread::~SideThread() {
  if (!thread_.joinable()) return;
  Join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SideThread::Start(std::function<void()> job) {
  if (!thread_.joinable()) {
    job();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = std::move(job);
  }
  cv_.notify_all();
}

void SideThread::Join() {
  if (!thread_.joinable()) return;
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !job_; });
}

void SideThread::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || job_; });
    if (stop_) return;
    // The job stays set while it runs: Join waits for it to be cleared.
    std::function<void()> job = job_;
    lock.unlock();
    job();
    lock.lock();
    job_ = nullptr;
    cv_.notify_all();
  }
}

}  // namespace sluice::format
