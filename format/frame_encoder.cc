#include "format/frame_encoder.h"

#include <zstd.h>

#include <algorithm>

namespace sluice::format {

void EncodeFrame(void* zstd_cctx, bool compress, EncodedFrame* frame) {
  FrameHeader& h = frame->header;
  h.raw_size = static_cast<uint32_t>(frame->raw.size());
  h.codec = kCodecNone;
  frame->payload = io::ByteView(frame->raw.data(), frame->raw.size());
  frame->status = Status::Ok();
  if (compress && !frame->raw.empty()) {
    auto* cctx = static_cast<ZSTD_CCtx*>(zstd_cctx);
    frame->packed.resize(ZSTD_compressBound(frame->raw.size()));
    size_t n = ZSTD_compress2(cctx, frame->packed.data(), frame->packed.size(),
                              frame->raw.data(), frame->raw.size());
    if (ZSTD_isError(n)) {
      frame->status = Status::InvalidArgument(std::string("zstd compression failed: ") +
                                              ZSTD_getErrorName(n));
      return;
    }
    if (n < frame->raw.size()) {
      h.codec = kCodecZstd;
      frame->payload = io::ByteView(frame->packed.data(), n);
    }
  }
  h.stored_size = static_cast<uint32_t>(frame->payload.size());
  frame->header_bytes = EncodeFrameHeader(h, frame->payload);
}

FrameEncoder::FrameEncoder(int zstd_level) : cctx_(ZSTD_createCCtx()) {
  if (cctx_ != nullptr) {
    ZSTD_CCtx_setParameter(static_cast<ZSTD_CCtx*>(cctx_), ZSTD_c_compressionLevel, zstd_level);
  }
}

FrameEncoder::~FrameEncoder() { ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_)); }

void FrameEncoder::Encode(EncodedFrame* frame) {
  if (cctx_ == nullptr) {
    frame->status = Status::InvalidArgument("zstd compression failed: out of memory");
    return;
  }
  EncodeFrame(cctx_, /*compress=*/true, frame);
}

FrameEncoderPool::FrameEncoderPool(size_t threads, size_t max_pending, int zstd_level)
    : max_pending_(std::max(max_pending, threads)) {
  for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
    workers_.emplace_back([this, zstd_level] { Work(zstd_level); });
  }
}

FrameEncoderPool::~FrameEncoderPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

std::unique_ptr<EncodedFrame> FrameEncoderPool::NewFrame() {
  std::lock_guard<std::mutex> lock(mu_);
  if (spare_.empty()) return std::make_unique<EncodedFrame>();
  std::unique_ptr<EncodedFrame> frame = std::move(spare_.back());
  spare_.pop_back();
  frame->raw.clear();
  return frame;
}

bool FrameEncoderPool::HasRoom() {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.size() < max_pending_;
}

bool FrameEncoderPool::Empty() {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.empty();
}

void FrameEncoderPool::Submit(std::unique_ptr<EncodedFrame> frame) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto job = std::make_shared<Job>();
    job->frame = std::move(frame);
    jobs_.push_back(std::move(job));
  }
  work_ready_.notify_one();
}

std::unique_ptr<EncodedFrame> FrameEncoderPool::TakeOldest() {
  std::unique_lock<std::mutex> lock(mu_);
  if (jobs_.empty()) return nullptr;
  std::shared_ptr<Job> job = jobs_.front();
  job_done_.wait(lock, [&] { return job->done; });
  jobs_.pop_front();
  return std::move(job->frame);
}

void FrameEncoderPool::Recycle(std::unique_ptr<EncodedFrame> frame) {
  std::lock_guard<std::mutex> lock(mu_);
  // Enough for every frame of a full window, and no more.
  if (spare_.size() < max_pending_ + 1) spare_.push_back(std::move(frame));
}

void FrameEncoderPool::Work(int zstd_level) {
  FrameEncoder encoder(zstd_level);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    std::shared_ptr<Job> job;
    work_ready_.wait(lock, [&] {
      if (stopping_) return true;
      for (const auto& j : jobs_) {
        if (!j->started) return true;
      }
      return false;
    });
    if (stopping_) return;
    for (const auto& j : jobs_) {
      if (!j->started) {
        job = j;
        break;
      }
    }
    job->started = true;
    lock.unlock();
    encoder.Encode(job->frame.get());
    lock.lock();
    job->done = true;
    job_done_.notify_all();
  }
}

}  // namespace sluice::format
