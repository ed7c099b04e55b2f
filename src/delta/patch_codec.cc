#include "delta/patch_codec.h"

// ZSTD_getFrameHeader (the frame header checked before zstd allocates for it)
// is in zstd's "experimental" section; Debian's libzstd exports it, and its
// struct has kept its layout since zstd 1.3.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace sluice::delta {
namespace {

// zstd's smallest window (ZSTD_WINDOWLOG_ABSOLUTEMIN).
constexpr int kMinDeltaWindowLog = 10;

int DeltaWindowLog(uint64_t span) {
  int log = span <= 1 ? 0 : static_cast<int>(std::bit_width(span - 1));
  return std::clamp(log, kMinDeltaWindowLog, kMaxDeltaWindowLog);
}

std::string ZstdError(size_t code) { return ZSTD_getErrorName(code); }

Status CheckSpan(const DeltaBase& base, uint64_t content_size) {
  if (content_size > kMaxDeltaSpan || base.size() > kMaxDeltaSpan - content_size) {
    return Status::Unsupported("a delta of " + std::to_string(content_size) +
                               " content bytes against a base of " + std::to_string(base.size()) +
                               " bytes spans more than the limit of " +
                               std::to_string(kMaxDeltaSpan) + " bytes: ship the layer whole");
  }
  return Status::Ok();
}

struct CCtxFree {
  void operator()(ZSTD_CCtx* cctx) const { ZSTD_freeCCtx(cctx); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* dctx) const { ZSTD_freeDCtx(dctx); }
};

}  // namespace

uint64_t DeltaWindowSize(uint64_t span) { return uint64_t{1} << DeltaWindowLog(span); }

// ---------------------------------------------------------------------------
// Encoder

struct DeltaEncoder::State {
  std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx;
  ByteConsumer delta_out;
  uint64_t content_size = 0;
  uint64_t written = 0;  // content bytes given to Write
  std::vector<uint8_t> out;
  size_t out_pos = 0;  // delta bytes in `out` not yet passed on
  bool finished = false;
  Status broken;

  Status Fail(Status status) {
    broken = status;
    return status;
  }
  Status Flush() {
    if (out_pos == 0) return Status::Ok();
    Status status = delta_out(io::ByteView(out.data(), out_pos));
    out_pos = 0;
    return status.ok() ? status : Fail(status);
  }
  // One compression step; passes the output on when the buffer fills.
  Result<size_t> Step(ZSTD_inBuffer* in, ZSTD_EndDirective directive) {
    ZSTD_outBuffer o{out.data(), out.size(), out_pos};
    size_t remaining = ZSTD_compressStream2(cctx.get(), &o, in, directive);
    out_pos = o.pos;
    if (ZSTD_isError(remaining)) {
      return Fail(Status::IoError("delta encoder: zstd failed at content offset " +
                                  std::to_string(written) + ": " + ZstdError(remaining)));
    }
    if (out_pos == out.size()) SLUICE_RETURN_IF_ERROR(Flush());
    return remaining;
  }
};

Result<std::unique_ptr<DeltaEncoder>> DeltaEncoder::Make(const DeltaBase& base,
                                                         uint64_t content_size,
                                                         const DeltaEncoderOptions& options,
                                                         ByteConsumer delta_out) {
  SLUICE_RETURN_IF_ERROR(CheckSpan(base, content_size));
  if (options.level < 1 || options.level > ZSTD_maxCLevel()) {
    return Status::InvalidArgument("delta level " + std::to_string(options.level) +
                                   " is outside zstd's levels 1.." +
                                   std::to_string(ZSTD_maxCLevel()));
  }
  auto state = std::make_unique<State>();
  state->cctx.reset(ZSTD_createCCtx());
  if (state->cctx == nullptr) return Status::IoError("delta encoder: out of memory");
  ZSTD_CCtx* cctx = state->cctx.get();
  auto set = [&](ZSTD_cParameter param, int value, const char* what) -> Status {
    size_t rc = ZSTD_CCtx_setParameter(cctx, param, value);
    if (ZSTD_isError(rc)) {
      return Status::InvalidArgument("delta encoder: zstd refuses " + std::string(what) + " " +
                                     std::to_string(value) + ": " + ZstdError(rc));
    }
    return Status::Ok();
  };
  SLUICE_RETURN_IF_ERROR(set(ZSTD_c_compressionLevel, options.level, "level"));
  // The window reaches from the end of the content back to the start of the
  // base; long-distance matching finds the unchanged files however far back.
  SLUICE_RETURN_IF_ERROR(
      set(ZSTD_c_windowLog, DeltaWindowLog(base.size() + content_size), "window log"));
  SLUICE_RETURN_IF_ERROR(set(ZSTD_c_enableLongDistanceMatching, 1, "long-distance matching"));
  SLUICE_RETURN_IF_ERROR(set(ZSTD_c_checksumFlag, 1, "content checksum"));
  SLUICE_RETURN_IF_ERROR(set(ZSTD_c_contentSizeFlag, 1, "content size flag"));
  if (options.threads > 0)
    SLUICE_RETURN_IF_ERROR(set(ZSTD_c_nbWorkers, options.threads, "threads"));
  size_t rc = ZSTD_CCtx_setPledgedSrcSize(cctx, content_size);
  if (ZSTD_isError(rc)) {
    return Status::InvalidArgument("delta encoder: zstd refuses content size " +
                                   std::to_string(content_size) + ": " + ZstdError(rc));
  }
  if (base.size() > 0) {
    rc = ZSTD_CCtx_refPrefix(cctx, base.bytes().data(), base.size());
    if (ZSTD_isError(rc))
      return Status::IoError("delta encoder: zstd refuses the base: " + ZstdError(rc));
  }
  state->delta_out = std::move(delta_out);
  state->content_size = content_size;
  state->out.resize(ZSTD_CStreamOutSize());
  return std::unique_ptr<DeltaEncoder>(new DeltaEncoder(std::move(state)));
}

DeltaEncoder::DeltaEncoder(std::unique_ptr<State> state) : state_(std::move(state)) {}
DeltaEncoder::~DeltaEncoder() = default;

Status DeltaEncoder::Write(io::ByteView content) {
  State& s = *state_;
  if (!s.broken.ok()) return s.broken;
  if (s.finished) return s.Fail(Status::InvalidArgument("delta encoder: Write after Finish"));
  if (content.size() > s.content_size - s.written) {
    return s.Fail(Status::InvalidArgument("delta encoder: content runs past its declared size of " +
                                          std::to_string(s.content_size) + " bytes (" +
                                          std::to_string(s.written + content.size()) + " given)"));
  }
  ZSTD_inBuffer in{content.data(), content.size(), 0};
  while (in.pos < in.size) {
    size_t before = in.pos;
    SLUICE_ASSIGN_OR_RETURN(size_t unused, s.Step(&in, ZSTD_e_continue));
    (void)unused;
    s.written += in.pos - before;
  }
  return Status::Ok();
}

Status DeltaEncoder::Finish() {
  State& s = *state_;
  if (!s.broken.ok()) return s.broken;
  if (s.finished) return Status::Ok();
  if (s.written != s.content_size) {
    return s.Fail(Status::InvalidArgument("delta encoder: " + std::to_string(s.written) +
                                          " content bytes written, " +
                                          std::to_string(s.content_size) + " declared"));
  }
  ZSTD_inBuffer in{nullptr, 0, 0};
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(size_t remaining, s.Step(&in, ZSTD_e_end));
    if (remaining == 0) break;
  }
  SLUICE_RETURN_IF_ERROR(s.Flush());
  s.finished = true;
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Decoder

struct DeltaDecoder::State {
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx;
  ByteConsumer content_out;
  uint64_t content_size = 0;
  uint64_t window_limit = 0;
  uint64_t received = 0;  // delta bytes given to Write
  uint64_t produced = 0;  // content bytes passed out
  // The frame header, gathered until zstd can parse it and we can check it.
  std::vector<uint8_t> header;
  bool header_checked = false;
  bool frame_done = false;
  std::vector<uint8_t> out;
  Status broken;

  Status Fail(Status status) {
    broken = status;
    return status;
  }
  Status Corrupt(uint64_t offset, const std::string& what) {
    return Fail(Status::Corruption("delta at offset " + std::to_string(offset) + ": " + what));
  }

  // Checks the frame header against what the caller expects, before zstd
  // allocates anything for it.
  Status CheckHeader(const ZSTD_frameHeader& fh) {
    if (fh.frameType != ZSTD_frame) return Corrupt(0, "a skippable frame, not a zstd frame");
    if (fh.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN) {
      return Corrupt(0, "the zstd frame does not declare its content size");
    }
    if (fh.frameContentSize != content_size) {
      return Corrupt(0, "the zstd frame declares " + std::to_string(fh.frameContentSize) +
                            " content bytes, expected " + std::to_string(content_size));
    }
    if (fh.windowSize > window_limit) {
      return Corrupt(0, "the zstd frame's window of " + std::to_string(fh.windowSize) +
                            " bytes exceeds the limit of " + std::to_string(window_limit) +
                            " for this base and content");
    }
    if (fh.dictID != 0) {
      return Corrupt(0, "the zstd frame names dictionary " + std::to_string(fh.dictID) +
                            "; a delta uses its base only");
    }
    if (!fh.checksumFlag) return Corrupt(0, "the zstd frame carries no content checksum");
    return Status::Ok();
  }

  // Decodes `bytes`, which start at delta offset `offset`.
  Status Decode(io::ByteView bytes, uint64_t offset) {
    if (bytes.empty()) return Status::Ok();
    if (frame_done) return Corrupt(offset, std::to_string(bytes.size()) + " bytes after the frame");
    ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
    for (;;) {
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      size_t rc = ZSTD_decompressStream(dctx.get(), &o, &in);
      if (ZSTD_isError(rc)) {
        // zstd reads a block before it decodes it: the damage is at or before here.
        return Corrupt(offset + in.pos, "zstd: " + ZstdError(rc));
      }
      if (o.pos > 0) {
        if (o.pos > content_size - produced) {
          return Corrupt(offset + in.pos, "the content runs past its size of " +
                                              std::to_string(content_size) + " bytes");
        }
        produced += o.pos;
        Status status = content_out(io::ByteView(out.data(), o.pos));
        if (!status.ok()) return Fail(status);
      }
      if (rc == 0) {  // the frame is decoded, its checksum checked, its output passed on
        frame_done = true;
        if (in.pos < in.size) {
          return Corrupt(offset + in.pos,
                         std::to_string(in.size - in.pos) + " bytes after the frame");
        }
        return Status::Ok();
      }
      // zstd may hold decoded bytes back while the output buffer is full.
      if (in.pos == in.size && o.pos < o.size) return Status::Ok();
    }
  }
};

Result<std::unique_ptr<DeltaDecoder>> DeltaDecoder::Make(const DeltaBase& base,
                                                         uint64_t content_size,
                                                         ByteConsumer content_out) {
  SLUICE_RETURN_IF_ERROR(CheckSpan(base, content_size));
  auto state = std::make_unique<State>();
  state->dctx.reset(ZSTD_createDCtx());
  if (state->dctx == nullptr) return Status::IoError("delta decoder: out of memory");
  int window_log = DeltaWindowLog(base.size() + content_size);
  size_t rc = ZSTD_DCtx_setParameter(state->dctx.get(), ZSTD_d_windowLogMax, window_log);
  if (ZSTD_isError(rc)) {
    return Status::IoError("delta decoder: zstd refuses window log " + std::to_string(window_log) +
                           ": " + ZstdError(rc));
  }
  if (base.size() > 0) {
    rc = ZSTD_DCtx_refPrefix(state->dctx.get(), base.bytes().data(), base.size());
    if (ZSTD_isError(rc))
      return Status::IoError("delta decoder: zstd refuses the base: " + ZstdError(rc));
  }
  state->content_out = std::move(content_out);
  state->content_size = content_size;
  state->window_limit = uint64_t{1} << window_log;
  state->out.resize(ZSTD_DStreamOutSize());
  return std::unique_ptr<DeltaDecoder>(new DeltaDecoder(std::move(state)));
}

DeltaDecoder::DeltaDecoder(std::unique_ptr<State> state) : state_(std::move(state)) {}
DeltaDecoder::~DeltaDecoder() = default;

Status DeltaDecoder::Write(io::ByteView delta) {
  State& s = *state_;
  if (!s.broken.ok()) return s.broken;
  uint64_t offset = s.received;
  s.received += delta.size();
  if (s.header_checked) return s.Decode(delta, offset);

  // Gather the header: zstd says how many bytes it needs (at most
  // ZSTD_FRAMEHEADERSIZE_MAX), or that these are no zstd frame.
  size_t take = std::min(delta.size(), size_t{ZSTD_FRAMEHEADERSIZE_MAX} - s.header.size());
  s.header.insert(s.header.end(), delta.begin(), delta.begin() + static_cast<ptrdiff_t>(take));
  ZSTD_frameHeader fh{};
  size_t rc = ZSTD_getFrameHeader(&fh, s.header.data(), s.header.size());
  if (ZSTD_isError(rc)) return s.Corrupt(0, "no zstd frame header zstd can read: " + ZstdError(rc));
  if (rc > 0) return Status::Ok();  // needs more bytes; `take` was all of `delta`
  SLUICE_RETURN_IF_ERROR(s.CheckHeader(fh));
  s.header_checked = true;
  std::vector<uint8_t> header = std::move(s.header);
  SLUICE_RETURN_IF_ERROR(s.Decode(header, 0));
  return s.Decode(delta.subspan(take), offset + take);
}

Status DeltaDecoder::Finish() {
  State& s = *state_;
  if (!s.broken.ok()) return s.broken;
  if (!s.header_checked) {
    return s.Corrupt(s.received, "the delta ends inside its zstd frame header");
  }
  if (!s.frame_done) {
    return s.Corrupt(s.received, "the delta ends before its zstd frame does (truncated)");
  }
  if (s.produced != s.content_size) {
    return s.Corrupt(s.received, "the delta produced " + std::to_string(s.produced) +
                                     " content bytes, expected " + std::to_string(s.content_size));
  }
  return Status::Ok();
}

}  // namespace sluice::delta
