// A second thread for fork-join work within one call: Start(job) hands it a
// job, Join() waits until the job is done. The parity writer and rebuilder
// read and hash half of a row's shards on it while the calling thread does
// the other half, so hashing (SHA-256 above all) costs about half as long on
// two cores.
//
// Without a second core (std::thread::hardware_concurrency() <= 1) there is
// no thread: Start runs the job at once. Not thread-safe: one caller.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace sluice::format {

class SideThread {
 public:
  SideThread();
  // Waits for a started job, then ends the thread.
  ~SideThread();
  SideThread(const SideThread&) = delete;
  SideThread& operator=(const SideThread&) = delete;

  // Runs `job` on the side thread. At most one job at a time: Join() first.
  void Start(std::function<void()> job);
  // Returns once the started job (if any) has finished.
  void Join();

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;  // set by Start, cleared when done
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sluice::format
