// The sub-layer delta codec: a new layer's uncompressed tar (the content)
// encoded against an old one the far side holds (the base: the old tar, mapped read-only, io/mapped_file.h).
//
// A delta is one zstd frame made with the base as a reference prefix
// ("patch-from": ZSTD_CCtx_refPrefix / ZSTD_DCtx_refPrefix), long-distance
// matching, and a window covering base + content, so that a file that did not
// change between the two tars is one long match into the base wherever it
// moved. The frame declares the content size and carries zstd's content
// checksum (XXH64 of the content), so a delta decoded against the wrong base
// almost always fails in zstd instead of producing wrong bytes. "Almost": the
// decoder cannot know the base; callers check the rebuilt blob's digest.
//
// Memory: the base is mapped, not copied (its pages count in RSS as file
// pages the kernel can drop). zstd keeps the content's window of history on
// each side as heap, min(window, content size) bytes, since a match may reach
// back that far; the encoder adds its match and long-distance tables. Measured
// for a 1 GiB content against a 1 GiB base at the default level: encoder peak
// RSS 2.2 GB, decoder 1.5 GB, base pages included. Bounding this below the
// content size needs the content mapped too (ZSTD_c_stableInBuffer /
// ZSTD_d_stableOutBuffer over a file), not done here.
//
// Neither class is thread-safe; each may use zstd worker threads of its own
// (DeltaEncoderOptions::threads).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "format/bundle_format.h"
#include "delta/byte_consumer.h"
#include "io/file.h"
#include "io/mapped_file.h"
#include "io/status.h"

namespace sluice::delta {

// The base content (an old layer's tar), mapped read-only from a file the
// caller wrote: page cache, not heap.
using DeltaBase = io::MappedFile;


// The largest base + content a delta may span: zstd's largest window on a
// 64-bit machine (ZSTD_WINDOWLOG_MAX, 2^31 bytes). A bigger pair cannot be
// reached by one window; such layers ship whole.
constexpr int kMaxDeltaWindowLog = static_cast<int>(format::kMaxDeltaWindowLog);
constexpr uint64_t kMaxDeltaSpan = uint64_t{1} << kMaxDeltaWindowLog;

// The window a delta of `span` = base + content bytes uses: the smallest power
// of two that covers the span (1 KiB at least). The decoder refuses a frame
// declaring a larger one, which would only cost memory.
uint64_t DeltaWindowSize(uint64_t span);

struct DeltaEncoderOptions {
  // zstd's level (1..22). Measured on a month of Debian 12 package updates
  // (bench/delta_data: 164 MB tars, 67.9 MB new .tar.gz), single-threaded:
  // level 1 5.25 MB, 3 5.29 MB, 9 5.33 MB, 15 4.91 MB, 19 4.34 MB; CPU 0.3,
  // 0.7, 2.9, 43 and 69 s against 19.5 s for `pigz --best` of the same tar.
  // Level 3 is within 1 % of the smallest of the fast levels, codes new bytes
  // 15 % smaller than level 1, and leaves the export's time budget (6x pigz)
  // to the gzip recipe's re-encodes; 15 and above cost 2-4x pigz for 7-18 %.
  int level = 3;
  // zstd worker threads (ZSTD_c_nbWorkers); 0 compresses on the calling
  // thread. Workers find the base only through long-distance matching and
  // the delta grows: 8.7 MB instead of 5.3 MB at level 3 on the pair above.
  int threads = 0;
};

// Streams the content in, the delta out.
class DeltaEncoder {
 public:
  // `base` must outlive the encoder. `content_size` is the exact number of
  // bytes Write will be given; the frame declares it. kUnsupported when
  // base + content exceeds kMaxDeltaSpan (ship the layer whole);
  // kInvalidArgument for a level or thread count zstd refuses.
  static Result<std::unique_ptr<DeltaEncoder>> Make(const DeltaBase& base, uint64_t content_size,
                                                    const DeltaEncoderOptions& options,
                                                    ByteConsumer delta_out);
  ~DeltaEncoder();
  DeltaEncoder(const DeltaEncoder&) = delete;
  DeltaEncoder& operator=(const DeltaEncoder&) = delete;

  // Compresses the next bytes of content, passing delta bytes out as they
  // fill the output buffer. kInvalidArgument past content_size. After an
  // error the encoder is broken and every later call returns that error.
  Status Write(io::ByteView content);
  // Ends the frame and passes out the rest of the delta. kInvalidArgument
  // unless exactly content_size bytes were written.
  Status Finish();

 private:
  struct State;
  explicit DeltaEncoder(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Streams the delta in, the content out. Never passes out more than
// content_size bytes. Damage is kCorruption naming the delta offset: a delta
// that is not one zstd frame, declares another content size, a window larger
// than DeltaWindowSize(base + content), a dictionary, or no content checksum;
// a frame zstd cannot decode or whose checksum fails; bytes after the frame.
class DeltaDecoder {
 public:
  // `base` must outlive the decoder and be the base the delta was made with.
  // kUnsupported when base + content exceeds kMaxDeltaSpan.
  static Result<std::unique_ptr<DeltaDecoder>> Make(const DeltaBase& base, uint64_t content_size,
                                                    ByteConsumer content_out);
  ~DeltaDecoder();
  DeltaDecoder(const DeltaDecoder&) = delete;
  DeltaDecoder& operator=(const DeltaDecoder&) = delete;

  // Decodes the next bytes of delta, passing content out as it comes. After
  // an error the decoder is broken and every later call returns that error.
  Status Write(io::ByteView delta);
  // kCorruption unless the frame ended exactly, having produced exactly
  // content_size bytes (a truncated delta fails here).
  Status Finish();

 private:
  struct State;
  explicit DeltaDecoder(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace sluice::delta
