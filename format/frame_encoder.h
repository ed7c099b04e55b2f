// Encodes frames (SPEC.md section 7) on worker threads: zstd compression,
// the frame header and its checksum. Frames come back in the order they were
// submitted, so the bundle writer compresses on every core while it still
// writes one frame after another.
//
// Bounded: at most `max_pending` frames are submitted and not yet taken
// back (the caller takes the oldest back while HasRoom() is false). Buffers
// are recycled, so a long blob allocates nothing per frame.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "format/bundle_format.h"
#include "format/frame_codec.h"
#include "io/file.h"
#include "io/status.h"

namespace sluice::format {

// One frame on its way through the encoder.
struct EncodedFrame {
  FrameHeader header;            // codec, stored_size and checksum set once encoded
  std::vector<uint8_t> raw;      // the frame's raw bytes
  std::vector<uint8_t> packed;   // zstd output, when it shrank the frame
  std::array<uint8_t, kFrameHeaderSize> header_bytes{};
  io::ByteView payload;          // into raw or packed
  Status status;                 // a failed compression, naming nothing yet
};

// Compresses `frame.raw` with `cctx` at the level set on it when it shrinks
// the frame (a frame that does not shrink is stored raw: cheaper to read,
// and already-compressed layers cost no extra space), then fills in the
// header bytes. Used on the writer's thread and by the pool alike.
void EncodeFrame(void* zstd_cctx, bool compress, EncodedFrame* frame);

// Compresses frames on the caller's thread, one at a time, at one zstd
// level, as the pool's threads do: for a frame's stored size without a
// writer (an export's plan estimates its bundle so). Not thread-safe: one
// per thread.
class FrameEncoder {
 public:
  explicit FrameEncoder(int zstd_level);
  ~FrameEncoder();
  FrameEncoder(const FrameEncoder&) = delete;
  FrameEncoder& operator=(const FrameEncoder&) = delete;

  // EncodeFrame with compression; frame->status says when zstd could not
  // be set up (out of memory).
  void Encode(EncodedFrame* frame);

 private:
  void* cctx_;  // ZSTD_CCtx
};

class FrameEncoderPool {
 public:
  // threads >= 1; max_pending >= threads.
  FrameEncoderPool(size_t threads, size_t max_pending, int zstd_level);
  ~FrameEncoderPool();
  FrameEncoderPool(const FrameEncoderPool&) = delete;
  FrameEncoderPool& operator=(const FrameEncoderPool&) = delete;

  // A frame to fill, from the recycled ones when there are any.
  std::unique_ptr<EncodedFrame> NewFrame();
  // Whether another frame may be submitted; when not, the caller takes the
  // oldest back (TakeOldest) first.
  bool HasRoom();
  // Queues `frame` (header fields other than codec, sizes and checksum set)
  // for compression.
  void Submit(std::unique_ptr<EncodedFrame> frame);
  // Whether no frame is pending.
  bool Empty();
  // The oldest submitted frame, once encoded; null when none is pending.
  std::unique_ptr<EncodedFrame> TakeOldest();
  // Gives a written frame's buffers back for reuse.
  void Recycle(std::unique_ptr<EncodedFrame> frame);

 private:
  struct Job {
    std::unique_ptr<EncodedFrame> frame;
    bool started = false;
    bool done = false;
  };
  void Work(int zstd_level);

  const size_t max_pending_;
  std::mutex mu_;
  std::condition_variable work_ready_;
  std::condition_variable job_done_;
  std::deque<std::shared_ptr<Job>> jobs_;  // submission order
  std::vector<std::unique_ptr<EncodedFrame>> spare_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace sluice::format
