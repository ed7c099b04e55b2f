// The raw deflate stream a recipe names, made again with stock zlib: one
// stream (zlib), or pigz's block-by-block streams and block-end flushes.
// Shared by GzipEncoder and by the recipe search, which runs several of these
// side by side against a blob's own deflate bytes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "delta/gzip_recipe.h"
#include "io/file.h"
#include "io/status.h"

typedef struct z_stream_s z_stream;

namespace sluice::delta {

// kInvalidArgument naming the field when a recipe's values are out of range
// (the header is not looked at).
Status CheckRecipeValues(const GzipRecipe& recipe);

class DeflateReplay {
 public:
  // `recipe` must pass CheckRecipeValues. kNoSpace-free: zlib's own failures
  // (out of memory) are kIoError.
  static Result<std::unique_ptr<DeflateReplay>> Make(const GzipRecipe& recipe);
  ~DeflateReplay();
  DeflateReplay(const DeflateReplay&) = delete;
  DeflateReplay& operator=(const DeflateReplay&) = delete;

  // Compresses `content`; compressed bytes go to `out` as zlib makes them.
  Status Write(io::ByteView content, const ByteConsumer& out);
  // Ends the stream (Z_FINISH). Call once, last.
  Status Finish(const ByteConsumer& out);

  // pigz (threaded) and pigz -i only: compresses one whole block on this
  // fresh replay, as the stream pigz starts for it: primed with
  // `dictionary` (the 32 KiB of content before the block; empty for the
  // first block and for -i), ended with pigz's block-end flushes, or with
  // Z_FINISH when `final`. Blocks are independent this way, so several can be
  // compressed at once and their outputs concatenated. Call once.
  Status ReplayBlock(io::ByteView dictionary, io::ByteView block, bool final,
                     const ByteConsumer& out);

 private:
  explicit DeflateReplay(const GzipRecipe& recipe);
  Status Init();
  // deflate() until it has taken all input and has room left, handing out
  // what it makes. Room left over means a flush never ends on a full buffer,
  // which would make zlib repeat the flush marker.
  Status Run(int flush, const ByteConsumer& out);
  // pigz's end of a non-last block: Z_BLOCK, then up to a byte boundary.
  Status EndPigzBlock(const ByteConsumer& out);
  Status StartPigzBlock();
  void RememberDictionary(io::ByteView content);

  GzipRecipe recipe_;
  std::unique_ptr<z_stream> stream_;
  bool stream_live_ = false;
  uint64_t in_block_ = 0;            // pigz: content bytes in the current block
  std::vector<uint8_t> dictionary_;  // pigz: the last 32 KiB of content, a ring
  size_t dictionary_next_ = 0;       // where the ring writes next once full
  std::array<uint8_t, 32768> out_buffer_{};
};

}  // namespace sluice::delta
