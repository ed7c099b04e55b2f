#include "transfer/parallel_blob_writer.h"

#include <algorithm>

#include "transfer/byte_pipe.h"

namespace sluice {
namespace {

constexpr size_t kChunkSize = 1u << 20;

}  // namespace

struct ParallelBlobWriter::Job {
  Job(std::string n, Opener o, size_t buffer_bytes)
      : name(std::move(n)), open(std::move(o)), pipe(buffer_bytes) {}
  const std::string name;
  Opener open;
  BytePipe pipe;
  // Written by the worker before `done`; read by others only after it, under mu_.
  Status result;
  bool done = false;
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
    : max_in_flight_(std::max<size_t>(max_in_flight, 1)), buffer_bytes_(buffer_bytes) {
  for (size_t i = 0; i < max_in_flight_; ++i) workers_.emplace_back([this] { Work(); });
}

ParallelBlobWriter::~ParallelBlobWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    // Jobs not yet picked up never start; running ones see their pipe end.
    for (size_t i = next_to_run_; i < jobs_.size(); ++i) jobs_[i]->done = true;
    next_to_run_ = jobs_.size();
    for (auto& job : jobs_) {
      if (!job->done) job->pipe.Close(Status::IoError(job->name + ": import stopped"));
    }
  }
  changed_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

Status ParallelBlobWriter::FirstError() {
  for (const auto& job : jobs_) {
    if (job->done && !job->result.ok()) return job->result;
  }
  return Status::Ok();
}

Result<std::unique_ptr<BlobWriter>> ParallelBlobWriter::Start(std::string name, Opener open) {
  auto job = std::make_shared<Job>(std::move(name), std::move(open), buffer_bytes_);
  {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return unfinished_ < max_in_flight_ || !FirstError().ok(); });
    SLUICE_RETURN_IF_ERROR(FirstError());
    jobs_.push_back(job);
    ++unfinished_;
  }
  changed_.notify_all();
  return std::unique_ptr<BlobWriter>(new Handle(this, std::move(job)));
}

Status ParallelBlobWriter::Finish() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return unfinished_ == 0; });
  return FirstError();
}

void ParallelBlobWriter::Work() {
  while (true) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&] { return stopping_ || next_to_run_ < jobs_.size(); });
      if (stopping_) return;
      job = jobs_[next_to_run_++];
    }
    Status result = [&]() -> Status {
      SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, job->open());
      std::vector<uint8_t> chunk(kChunkSize);
      while (true) {
        SLUICE_ASSIGN_OR_RETURN(size_t n, job->pipe.Read(chunk));
        if (n == 0) break;
        SLUICE_RETURN_IF_ERROR(writer->Append(io::ByteView(chunk.data(), n)));
      }
      return writer->Commit();
    }();
    if (!result.ok()) job->pipe.Abandon();  // a blocked Append returns and reports it
    {
      std::lock_guard<std::mutex> lock(mu_);
      job->result = result.ok() ? result : result.WithContext(job->name);
      job->done = true;
      --unfinished_;
    }
    changed_.notify_all();
  }
}

}  // namespace sluice
