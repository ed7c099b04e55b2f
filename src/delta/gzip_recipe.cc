#include "delta/gzip_recipe.h"

#include <zlib.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "delta/deflate_replay.h"
#include "delta/gzip_member.h"
#include "format/endian.h"
#include "transfer/parallel_for.h"

namespace sluice::delta {

std::string DescribeRecipe(const GzipRecipe& recipe) {
  const std::string block = " block " + std::to_string(recipe.block_size / 1024) + " KiB";
  switch (recipe.encoder) {
    case GzipRecipe::Encoder::kZlib:
      return "zlib level " + std::to_string(recipe.level) + " memLevel " + std::to_string(recipe.mem_level) +
             " strategy " + std::to_string(recipe.strategy);
    case GzipRecipe::Encoder::kPigz:
      return "pigz level " + std::to_string(recipe.level) + block;
    case GzipRecipe::Encoder::kPigzSingleThread:
      return "pigz -p 1 level " + std::to_string(recipe.level) + block;
    case GzipRecipe::Encoder::kPigzIndependent:
      return "pigz -i level " + std::to_string(recipe.level) + block;
  }
  return "unknown encoder";
}

namespace {

// pigz's threaded and -i modes start a fresh deflate stream for every block,
// primed only with the 32 KiB of content before it, so blocks are compressed
// several at once here, as pigz itself does, and written out in order. The
// last block is held back until Finish: it alone ends with Z_FINISH.
class PigzBlocks {
 public:
  explicit PigzBlocks(const GzipRecipe& recipe)
      : recipe_(recipe),
        threads_(std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4)),
        // Blocks per batch: a few per thread, in at most 32 MiB.
        batch_(std::clamp<size_t>((32u << 20) / recipe.block_size, 1, 4 * threads_)) {}

  Status Write(io::ByteView content, const ByteConsumer& out) {
    pending_.insert(pending_.end(), content.begin(), content.end());
    const size_t batch_bytes = batch_ * recipe_.block_size;
    while (pending_.size() > batch_bytes) SLUICE_RETURN_IF_ERROR(Compress(batch_, false, out));
    return Status::Ok();
  }

  Status Finish(const ByteConsumer& out) {
    const size_t blocks =
        pending_.empty() ? 1 : (pending_.size() + recipe_.block_size - 1) / recipe_.block_size;
    return Compress(blocks, true, out);
  }

 private:
  // Compresses the first `blocks` blocks of pending_; with `final`, the
  // last of them ends the stream.
  Status Compress(size_t blocks, bool final, const ByteConsumer& out) {
    const size_t block_size = recipe_.block_size;
    std::vector<std::string> outputs(blocks);
    std::vector<size_t> items(blocks);
    for (size_t i = 0; i < blocks; ++i) items[i] = i;
    const size_t end = std::min(pending_.size(), blocks * block_size);
    SLUICE_RETURN_IF_ERROR(ForEachInParallel(items, threads_, [&](size_t i) -> Status {
      const size_t from = i * block_size;
      io::ByteView block(pending_.data() + from, std::min(block_size, end - from));
      io::ByteView dictionary;
      if (i > 0) {
        dictionary = io::ByteView(pending_.data() + from - kDictionary, kDictionary);
      } else if (!dictionary_.empty()) {
        dictionary = io::ByteView(dictionary_);
      }
      SLUICE_ASSIGN_OR_RETURN(auto replay, DeflateReplay::Make(recipe_));
      return replay->ReplayBlock(dictionary, block, final && i + 1 == blocks,
                                 [&out = outputs[i]](io::ByteView bytes) {
                                   out.append(reinterpret_cast<const char*>(bytes.data()),
                                              bytes.size());
                                   return Status::Ok();
                                 });
    }));
    for (const std::string& bytes : outputs) SLUICE_RETURN_IF_ERROR(out(io::AsBytes(bytes)));
    if (end >= kDictionary) {
      dictionary_.assign(pending_.begin() + static_cast<ptrdiff_t>(end - kDictionary),
                         pending_.begin() + static_cast<ptrdiff_t>(end));
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(end));
    return Status::Ok();
  }

  static constexpr size_t kDictionary = 32768;  // pigz's DICT
  GzipRecipe recipe_;
  size_t threads_;
  size_t batch_;
  std::vector<uint8_t> pending_;     // content not compressed yet
  std::vector<uint8_t> dictionary_;  // the 32 KiB of content before pending_
};

bool HasIndependentBlocks(GzipRecipe::Encoder encoder) {
  return encoder == GzipRecipe::Encoder::kPigz || encoder == GzipRecipe::Encoder::kPigzIndependent;
}

}  // namespace

struct GzipEncoder::State {
  std::unique_ptr<DeflateReplay> deflate;  // one stream: zlib, pigz -p 1
  std::unique_ptr<PigzBlocks> blocks;      // independent blocks: pigz, pigz -i
  ByteConsumer out;
  uint32_t crc = 0;
  uint32_t size = 0;
};

GzipEncoder::GzipEncoder(std::unique_ptr<State> state) : state_(std::move(state)) {}
GzipEncoder::~GzipEncoder() = default;

Result<std::unique_ptr<GzipEncoder>> GzipEncoder::Make(const GzipRecipe& recipe, ByteConsumer out) {
  auto header = GzipHeaderLength(recipe.header);
  if (!header.ok() || !header->has_value() || **header != recipe.header.size()) {
    return Status::InvalidArgument("gzip recipe: its header is not one gzip member header");
  }
  auto state = std::make_unique<State>();
  if (HasIndependentBlocks(recipe.encoder)) {
    SLUICE_RETURN_IF_ERROR(CheckRecipeValues(recipe));
    state->blocks = std::make_unique<PigzBlocks>(recipe);
  } else {
    SLUICE_ASSIGN_OR_RETURN(state->deflate, DeflateReplay::Make(recipe));
  }
  state->out = std::move(out);
  state->crc = crc32(0, Z_NULL, 0);
  SLUICE_RETURN_IF_ERROR(state->out(io::AsBytes(recipe.header)));
  return std::unique_ptr<GzipEncoder>(new GzipEncoder(std::move(state)));
}

Status GzipEncoder::Write(io::ByteView content) {
  state_->crc = crc32(state_->crc, content.data(), static_cast<uInt>(content.size()));
  state_->size += static_cast<uint32_t>(content.size());
  if (state_->blocks) return state_->blocks->Write(content, state_->out);
  return state_->deflate->Write(content, state_->out);
}

Status GzipEncoder::Finish() {
  SLUICE_RETURN_IF_ERROR(state_->blocks ? state_->blocks->Finish(state_->out)
                                         : state_->deflate->Finish(state_->out));
  std::string trailer;
  format::PutU32(&trailer, state_->crc);
  format::PutU32(&trailer, state_->size);
  return state_->out(io::AsBytes(trailer));
}

namespace {

class ContentVisitor : public MemberVisitor {
 public:
  explicit ContentVisitor(const ByteConsumer& content) : content_(content) {}
  Status OnHeader(std::string_view) override { return Status::Ok(); }
  Status OnDeflate(io::ByteView, io::ByteView content) override {
    return content.empty() ? Status::Ok() : content_(content);
  }

 private:
  const ByteConsumer& content_;
};

}  // namespace

Status Gunzip(io::SequentialReader& blob, const ByteConsumer& content) {
  ChunkedInput input(blob);
  ContentVisitor visitor(content);
  bool first = true;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(io::ByteView next, input.Next());
    if (next.empty()) {
      if (first) return Status::Corruption(blob.name() + ": empty, not a gzip member");
      return Status::Ok();
    }
    input.Unread(next.size());
    const uint64_t at = input.offset();
    Status member = ReadGzipMember(input, visitor);
    if (member.kind() == ErrorKind::kUnsupported) {
      // A wrong magic is damage here: this blob was meant to be gzip.
      return Status::Corruption(blob.name() + ": at offset " + std::to_string(at) + ": " + member.message());
    }
    SLUICE_RETURN_IF_ERROR(member);
    first = false;
  }
}

format::ContentEncoding ToContentEncoding(const GzipRecipe& recipe) {
  format::ContentEncoding encoding;
  // The encoder numbers are the format's encoding numbers (SPEC.md section 4).
  encoding.kind = static_cast<format::ContentEncoding::Kind>(recipe.encoder);
  encoding.level = recipe.level;
  encoding.mem_level = recipe.mem_level;
  encoding.strategy = recipe.strategy;
  encoding.block_size = recipe.block_size;
  encoding.gzip_header = recipe.header;
  return encoding;
}

std::string DescribeContentEncoding(const format::ContentEncoding& encoding) {
  if (encoding.kind == format::ContentEncoding::Kind::kNone) return "none (the tar is the blob)";
  auto recipe = FromContentEncoding(encoding);
  if (!recipe.ok()) return "unknown encoding " + std::to_string(static_cast<int>(encoding.kind));
  return DescribeRecipe(*recipe);
}

Result<GzipRecipe> FromContentEncoding(const format::ContentEncoding& encoding) {
  GzipRecipe recipe;
  recipe.encoder = static_cast<GzipRecipe::Encoder>(encoding.kind);
  recipe.level = encoding.level;
  recipe.mem_level = encoding.mem_level;
  recipe.strategy = encoding.strategy;
  recipe.block_size = encoding.block_size;
  recipe.header = encoding.gzip_header;
  if (Status values = CheckRecipeValues(recipe); !values.ok()) {
    return Status::Corruption(values.message());
  }
  auto length = GzipHeaderLength(recipe.header);
  if (!length.ok() || !length->has_value() || **length != recipe.header.size()) {
    return Status::Corruption("gzip recipe: header is not exactly one gzip member header");
  }
  return recipe;
}

}  // namespace sluice::delta
