// Gzip recipes: how a gzip blob's exact bytes are made again from its
// uncompressed content, so that a layer rebuilt from a delta of its tar keeps
// its sha256 digest. A pure library: it knows gzip, zlib and pigz, nothing of
// bundles, sources or sinks.
//
// What can be reproduced is what stock zlib makes (Debian 12's 1.2.13):
//   - one raw deflate stream (Python's gzip and zlib, Java's java.util.zip,
//     libarchive): level, memLevel and strategy;
//   - pigz 2.x: zlib block by block. pigz cuts its input into blocks of
//     block_size bytes; with several threads (kPigz) each block is a fresh
//     deflate stream primed with the previous 32 KiB as dictionary; with one
//     thread (-p 1, or a one-CPU machine: kPigzSingleThread) one stream runs
//     on, which differs at levels 1-3 only; with -i (kPigzIndependent) blocks
//     have no dictionary. Non-last blocks end with pigz's flushes (Z_BLOCK,
//     then empty blocks or Z_SYNC_FLUSH up to a byte boundary).
// GNU gzip, Go's compress/gzip and klauspost/pgzip have encoders of their own:
// FindGzipRecipe says so (kUnsupported) and the blob ships whole.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "format/catalog.h"
#include "delta/byte_consumer.h"
#include "io/file.h"
#include "io/status.h"

namespace sluice::delta {

struct GzipRecipe {
  enum class Encoder : uint8_t {
    kZlib = 1,               // one raw deflate stream
    kPigz = 2,               // pigz, several threads: per-block streams, 32 KiB dictionary
    kPigzSingleThread = 3,   // pigz -p 1: one stream, pigz's flushes at block ends
    kPigzIndependent = 4,    // pigz -i: per-block streams without dictionary
  };
  Encoder encoder = Encoder::kZlib;
  uint8_t level = 6;        // 1..9
  uint8_t mem_level = 8;    // 1..9 (pigz always uses 8)
  uint8_t strategy = 0;     // Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED (0..4)
  uint32_t block_size = 0;  // pigz: uncompressed bytes per block (pigz -b KiB * 1024); 0 for zlib
  std::string header;       // the gzip member header, verbatim (RFC 1952, with its optional fields)

  bool operator==(const GzipRecipe&) const = default;
};

// "zlib level 6 memLevel 8 strategy 0", "pigz level 9 block 128 KiB": for reports.
std::string DescribeRecipe(const GzipRecipe& recipe);


// Reads the gzip blob front to back once, in bounded memory (a few MiB,
// whatever its size), and finds a recipe that reproduces it byte for byte.
// Every decoded byte goes to `content` as it is decoded, in order.
// Errors:
//   kUnsupported: no recipe reproduces the blob (another encoder, several
//     members, bytes after the member, not gzip); `content` may have seen only
//     a prefix, as the search stops when every candidate has failed;
//   kCorruption: the gzip is damaged (bad deflate data, CRC32 or ISIZE,
//     truncated), naming the offset;
//   the reader's and `content`'s own errors, unchanged.
Result<GzipRecipe> FindGzipRecipe(io::SequentialReader& blob, const ByteConsumer& content);

// Streams uncompressed content in and the recipe's exact gzip bytes out:
// header verbatim, deflate, CRC32 + ISIZE trailer. Not thread-safe; about
// 300 KiB of zlib state.
class GzipEncoder {
 public:
  // kInvalidArgument for a recipe out of range.
  static Result<std::unique_ptr<GzipEncoder>> Make(const GzipRecipe& recipe, ByteConsumer out);
  ~GzipEncoder();
  GzipEncoder(const GzipEncoder&) = delete;
  GzipEncoder& operator=(const GzipEncoder&) = delete;

  Status Write(io::ByteView content);
  // Ends the deflate stream and writes the trailer. Call once, last.
  Status Finish();

 private:
  struct State;
  explicit GzipEncoder(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Decodes a gzip blob to `content`: one member, or several concatenated (as
// gzip -d does). Damage (bad header, deflate data, CRC32, ISIZE, truncation,
// bytes that are not a member after one) is kCorruption naming the offset.
Status Gunzip(io::SequentialReader& blob, const ByteConsumer& content);

// The recipe as a bundle's Blob record carries it (SPEC.md section 4,
// "Encodings"), and back. FromContentEncoding refuses an encoding that is not
// gzip, values out of range, or a header that is not exactly one valid RFC
// 1952 member header (its CRC16 included), as kCorruption.
format::ContentEncoding ToContentEncoding(const GzipRecipe& recipe);
// DescribeRecipe of a bundle's encoding; "none (the tar is the blob)" for
// encoding none, "unknown encoding N" for one no recipe describes.
std::string DescribeContentEncoding(const format::ContentEncoding& encoding);
Result<GzipRecipe> FromContentEncoding(const format::ContentEncoding& encoding);

}  // namespace sluice::delta
