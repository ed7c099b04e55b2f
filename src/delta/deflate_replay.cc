#include "delta/deflate_replay.h"

#include <zlib.h>

#include <algorithm>
#include <string>

namespace sluice::delta {
namespace {

constexpr size_t kPigzDictionary = 32768;  // pigz's DICT
constexpr uint32_t kMaxPigzBlock = 1u << 29;  // pigz's own limit for -b

bool IsPigz(GzipRecipe::Encoder encoder) {
  return encoder == GzipRecipe::Encoder::kPigz || encoder == GzipRecipe::Encoder::kPigzSingleThread ||
         encoder == GzipRecipe::Encoder::kPigzIndependent;
}

Status ZlibFailure(const char* what, int code) {
  return Status::IoError(std::string("zlib ") + what + " failed (code " + std::to_string(code) + ")");
}

}  // namespace

Status CheckRecipeValues(const GzipRecipe& recipe) {
  const auto encoder = static_cast<unsigned>(recipe.encoder);
  if (encoder < 1 || encoder > 4) {
    return Status::InvalidArgument("gzip recipe: unknown encoder " + std::to_string(encoder));
  }
  if (recipe.level < 1 || recipe.level > 9) {
    return Status::InvalidArgument("gzip recipe: level " + std::to_string(recipe.level) + " is not 1..9");
  }
  if (recipe.mem_level < 1 || recipe.mem_level > 9) {
    return Status::InvalidArgument("gzip recipe: mem_level " + std::to_string(recipe.mem_level) +
                                   " is not 1..9");
  }
  if (recipe.strategy > Z_FIXED) {
    return Status::InvalidArgument("gzip recipe: strategy " + std::to_string(recipe.strategy) +
                                   " is not 0..4");
  }
  if (IsPigz(recipe.encoder)) {
    if (recipe.block_size < kPigzDictionary || recipe.block_size > kMaxPigzBlock ||
        recipe.block_size % 1024 != 0) {
      return Status::InvalidArgument("gzip recipe: pigz block size " + std::to_string(recipe.block_size) +
                                     " is not a whole KiB from 32 KiB to 512 MiB");
    }
  } else if (recipe.block_size != 0) {
    return Status::InvalidArgument("gzip recipe: zlib recipe with block size " +
                                   std::to_string(recipe.block_size));
  }
  return Status::Ok();
}

DeflateReplay::DeflateReplay(const GzipRecipe& recipe) : recipe_(recipe), stream_(new z_stream{}) {}

DeflateReplay::~DeflateReplay() {
  if (stream_live_) deflateEnd(stream_.get());
}

Result<std::unique_ptr<DeflateReplay>> DeflateReplay::Make(const GzipRecipe& recipe) {
  SLUICE_RETURN_IF_ERROR(CheckRecipeValues(recipe));
  std::unique_ptr<DeflateReplay> replay(new DeflateReplay(recipe));
  SLUICE_RETURN_IF_ERROR(replay->Init());
  return replay;
}

Status DeflateReplay::Init() {
  // Raw deflate (windowBits -15), as both zlib's gzip writers and pigz use.
  // pigz initialises at level 6 and sets its level with deflateParams right
  // after deflateReset, which selects the same configuration as this.
  const int code = deflateInit2(stream_.get(), recipe_.level, Z_DEFLATED, -15, recipe_.mem_level,
                                recipe_.strategy);
  if (code != Z_OK) return ZlibFailure("deflateInit2", code);
  stream_live_ = true;
  if (IsPigz(recipe_.encoder)) dictionary_.reserve(kPigzDictionary);
  return Status::Ok();
}

Status DeflateReplay::Run(int flush, const ByteConsumer& out) {
  do {
    stream_->next_out = out_buffer_.data();
    stream_->avail_out = static_cast<uInt>(out_buffer_.size());
    const int code = deflate(stream_.get(), flush);
    if (code == Z_STREAM_ERROR) return ZlibFailure("deflate", code);
    const size_t made = out_buffer_.size() - stream_->avail_out;
    if (made > 0) SLUICE_RETURN_IF_ERROR(out(io::ByteView(out_buffer_.data(), made)));
    if (flush == Z_FINISH && code == Z_STREAM_END) break;
  } while (stream_->avail_out == 0 || stream_->avail_in != 0 || flush == Z_FINISH);
  return Status::Ok();
}

Status DeflateReplay::EndPigzBlock(const ByteConsumer& out) {
  // pigz 2.6 with zlib >= 1.2.6: end the block's data with Z_BLOCK, then reach
  // a byte boundary: an odd number of pending bits (or -i) takes an empty
  // stored block (Z_SYNC_FLUSH); otherwise empty static blocks (10 bits each)
  // until the bits come to whole bytes. -i adds a Z_FULL_FLUSH marker.
  stream_->avail_in = 0;
  SLUICE_RETURN_IF_ERROR(Run(Z_BLOCK, out));
  int bits = 0;
  deflatePending(stream_.get(), Z_NULL, &bits);
  const bool independent = recipe_.encoder == GzipRecipe::Encoder::kPigzIndependent;
  if ((bits & 1) || independent) {
    SLUICE_RETURN_IF_ERROR(Run(Z_SYNC_FLUSH, out));
  } else if (bits & 7) {
    do {
      if (deflatePrime(stream_.get(), 10, 2) != Z_OK) return ZlibFailure("deflatePrime", Z_BUF_ERROR);
      deflatePending(stream_.get(), Z_NULL, &bits);
    } while (bits & 7);
    // The threaded pigz ends with Z_BLOCK, the single-threaded one with
    // Z_NO_FLUSH; with no input both only write out the pending bytes.
    SLUICE_RETURN_IF_ERROR(Run(recipe_.encoder == GzipRecipe::Encoder::kPigz ? Z_BLOCK : Z_NO_FLUSH, out));
  }
  if (independent) SLUICE_RETURN_IF_ERROR(Run(Z_FULL_FLUSH, out));
  return Status::Ok();
}

Status DeflateReplay::StartPigzBlock() {
  in_block_ = 0;
  if (recipe_.encoder == GzipRecipe::Encoder::kPigzSingleThread) return Status::Ok();  // one stream runs on
  if (deflateReset(stream_.get()) != Z_OK) return ZlibFailure("deflateReset", Z_STREAM_ERROR);
  if (recipe_.encoder == GzipRecipe::Encoder::kPigzIndependent) return Status::Ok();
  // The dictionary is the previous block's last 32 KiB (blocks are never
  // shorter), oldest byte first.
  std::vector<uint8_t> ordered(dictionary_.begin() + static_cast<ptrdiff_t>(dictionary_next_),
                               dictionary_.end());
  ordered.insert(ordered.end(), dictionary_.begin(),
                 dictionary_.begin() + static_cast<ptrdiff_t>(dictionary_next_));
  const int code = deflateSetDictionary(stream_.get(), ordered.data(), static_cast<uInt>(ordered.size()));
  if (code != Z_OK) return ZlibFailure("deflateSetDictionary", code);
  return Status::Ok();
}

void DeflateReplay::RememberDictionary(io::ByteView content) {
  if (content.size() >= kPigzDictionary) content = content.subspan(content.size() - kPigzDictionary);
  for (uint8_t byte : content) {
    if (dictionary_.size() < kPigzDictionary) {
      dictionary_.push_back(byte);
    } else {
      dictionary_[dictionary_next_] = byte;
      dictionary_next_ = (dictionary_next_ + 1) % kPigzDictionary;
    }
  }
}

Status DeflateReplay::Write(io::ByteView content, const ByteConsumer& out) {
  if (!IsPigz(recipe_.encoder)) {
    stream_->next_in = const_cast<Bytef*>(content.data());
    stream_->avail_in = static_cast<uInt>(content.size());
    return Run(Z_NO_FLUSH, out);
  }
  while (!content.empty()) {
    // A full block ends only when more content comes: pigz finishes the
    // stream (Z_FINISH) on the last block instead of flushing it.
    if (in_block_ == recipe_.block_size) {
      SLUICE_RETURN_IF_ERROR(EndPigzBlock(out));
      SLUICE_RETURN_IF_ERROR(StartPigzBlock());
    }
    const size_t take = std::min<uint64_t>(content.size(), recipe_.block_size - in_block_);
    stream_->next_in = const_cast<Bytef*>(content.data());
    stream_->avail_in = static_cast<uInt>(take);
    SLUICE_RETURN_IF_ERROR(Run(Z_NO_FLUSH, out));
    if (recipe_.encoder == GzipRecipe::Encoder::kPigz) RememberDictionary(content.first(take));
    in_block_ += take;
    content = content.subspan(take);
  }
  return Status::Ok();
}

Status DeflateReplay::ReplayBlock(io::ByteView dictionary, io::ByteView block, bool final,
                                  const ByteConsumer& out) {
  if (!dictionary.empty() && recipe_.encoder == GzipRecipe::Encoder::kPigz) {
    const int code = deflateSetDictionary(stream_.get(), dictionary.data(),
                                          static_cast<uInt>(dictionary.size()));
    if (code != Z_OK) return ZlibFailure("deflateSetDictionary", code);
  }
  stream_->next_in = const_cast<Bytef*>(block.data());
  stream_->avail_in = static_cast<uInt>(block.size());
  SLUICE_RETURN_IF_ERROR(Run(Z_NO_FLUSH, out));
  return final ? Finish(out) : EndPigzBlock(out);
}

Status DeflateReplay::Finish(const ByteConsumer& out) {
  stream_->next_in = nullptr;
  stream_->avail_in = 0;
  return Run(Z_FINISH, out);
}

}  // namespace sluice::delta
