#include "delta/gzip_recipe.h"

#include <zlib.h>

#include "delta/deflate_replay.h"
#include "delta/gzip_member.h"
#include "format/endian.h"

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

struct GzipEncoder::State {
  std::unique_ptr<DeflateReplay> deflate;
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
  SLUICE_ASSIGN_OR_RETURN(state->deflate, DeflateReplay::Make(recipe));
  state->out = std::move(out);
  state->crc = crc32(0, Z_NULL, 0);
  SLUICE_RETURN_IF_ERROR(state->out(io::AsBytes(recipe.header)));
  return std::unique_ptr<GzipEncoder>(new GzipEncoder(std::move(state)));
}

Status GzipEncoder::Write(io::ByteView content) {
  state_->crc = crc32(state_->crc, content.data(), static_cast<uInt>(content.size()));
  state_->size += static_cast<uint32_t>(content.size());
  return state_->deflate->Write(content, state_->out);
}

Status GzipEncoder::Finish() {
  SLUICE_RETURN_IF_ERROR(state_->deflate->Finish(state_->out));
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
