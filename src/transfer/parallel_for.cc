#include "transfer/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

namespace sluice {

Status ForEachInParallel(const std::vector<size_t>& items, size_t threads,
                         const std::function<Status(size_t)>& job) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  size_t first_failed = items.size();  // position in items
  Status first_error;
  auto work = [&] {
    while (!failed.load()) {
      size_t position = next.fetch_add(1);
      if (position >= items.size()) return;
      Status s = job(items[position]);
      if (s.ok()) continue;
      failed.store(true);
      std::lock_guard<std::mutex> lock(mu);
      if (position < first_failed) {
        first_failed = position;
        first_error = std::move(s);
      }
    }
  };
  size_t n = std::min(std::max<size_t>(threads, 1), items.size());
  std::vector<std::thread> workers;
  for (size_t i = 1; i < n; ++i) workers.emplace_back(work);
  work();  // the calling thread is one of them
  for (std::thread& w : workers) w.join();
  return first_error;
}

}  // namespace sluice
