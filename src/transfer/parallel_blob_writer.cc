#include "transfer/parallel_blob_writer.h"

#include <algorithm>

#include "transfer/byte_pipe.h"

namespace sluice {
namespace {

constexpr size_t kChunkSize = 1u << 20;

}  // namespace

struct ParallelBlobWriter::Job {
  Job(std::string n, Opener o, size_t buffer_bytes, std::shared_ptr<BufferPool> buffers)
      : name(std::move(n)), open(std::move(o)), pipe(buffer_bytes, std::move(buffers)) {}
  const std::string name;
  Opener open;
  BytePipe pipe;
  // Under the writer's mu_.
  bool taken = false;  // a worker runs it
  bool done = false;
  Status result;
};

// The importer's side of one job: bytes go into the pipe, the worker takes
// them out. Commit closes the pipe with OK, which is the worker's signal to
// commit; anything else (an early destruction) closes it with an error.
class ParallelBlobWriter::Handle final : public BlobWriter {
 public:
  Handle(ParallelBlobWriter* owner, std::shared_ptr<Job> job)
      : owner_(owner), job_(std::move(job)) {}
  ~Handle() override {
    if (!committed_) job_->pipe.Close(Status::IoError(job_->name + ": abandoned before its end"));
  }

  Status Append(io::ByteView data) override {
    if (job_->pipe.Write(data)) return Status::Ok();
    // The worker gave up on this blob: report why.
    std::unique_lock<std::mutex> lock(owner_->mu_);
    owner_->changed_.wait(lock, [&] { return job_->done; });
    return job_->result;
  }

  // Hands the end over and returns at once: the blob lands on the worker,
  // and ParallelBlobWriter::Finish() is what confirms it.
  Status Commit() override {
    committed_ = true;
    job_->pipe.Close(Status::Ok());
    return Status::Ok();
  }

 private:
  ParallelBlobWriter* owner_;
  std::shared_ptr<Job> job_;
  bool committed_ = false;
};

ParallelBlobWriter::ParallelBlobWriter(size_t max_in_flight, size_t buffer_bytes)
    : max_in_flight_(std::max<size_t>(max_in_flight, 1)),
      buffer_bytes_(buffer_bytes),
      buffers_(std::make_shared<BufferPool>(max_in_flight_ * buffer_bytes)) {
  for (size_t i = 0; i < max_in_flight_; ++i) workers_.emplace_back([this] { Work(); });
}

ParallelBlobWriter::~ParallelBlobWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    // The import is failing: no blob still in flight is committed, even one
    // whose bytes all arrived, and a worker waiting for bytes wakes up.
    for (const auto& job : unfinished_) {
      job->pipe.Cancel(Status::IoError(job->name + ": import stopped"));
    }
  }
  changed_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

Result<std::unique_ptr<BlobWriter>> ParallelBlobWriter::Start(std::string name, Opener open) {
  auto job = std::make_shared<Job>(std::move(name), std::move(open), buffer_bytes_, buffers_);
  {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock,
                  [&] { return unfinished_.size() < max_in_flight_ || !first_error_.ok(); });
    SLUICE_RETURN_IF_ERROR(first_error_);
    unfinished_.push_back(job);
  }
  changed_.notify_all();
  return std::unique_ptr<BlobWriter>(new Handle(this, std::move(job)));
}

Status ParallelBlobWriter::Finish() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return unfinished_.empty(); });
  return first_error_;
}

void ParallelBlobWriter::Work() {
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto untaken = [&] {
        return std::find_if(unfinished_.begin(), unfinished_.end(),
                            [](const auto& j) { return !j->taken; });
      };
      changed_.wait(lock, [&] { return stopping_ || untaken() != unfinished_.end(); });
      if (stopping_) return;
      job = *untaken();
      job->taken = true;
    }
    Status result = Run(job.get());
    if (!result.ok()) job->pipe.Abandon();  // a blocked Append returns and reports it
    {
      std::lock_guard<std::mutex> lock(mu_);
      job->result = result.ok() ? result : result.WithContext(job->name);
      job->done = true;
      if (!job->result.ok() && first_error_.ok()) first_error_ = job->result;
      unfinished_.erase(std::find(unfinished_.begin(), unfinished_.end(), job));
    }
    changed_.notify_all();
  }
}

Status ParallelBlobWriter::Run(Job* job) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, job->open());
  std::vector<uint8_t> chunk(kChunkSize);
  while (true) {
    // A read short of the chunk is the end: the importer committed.
    SLUICE_ASSIGN_OR_RETURN(size_t n, job->pipe.Read(chunk));
    if (n > 0) SLUICE_RETURN_IF_ERROR(writer->Append(io::ByteView(chunk.data(), n)));
    if (n < chunk.size()) break;
  }
  return writer->Commit();
  // An uncommitted writer is destroyed here, before the job counts as done.
}

}  // namespace sluice
