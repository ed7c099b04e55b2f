#include "delta/gzip_recipe.h"

#include <zlib.h>

#include "delta/deflate_replay.h"
#include "delta/gzip_member.h"

namespace sluice::delta {
namespace {

constexpr uint8_t kRecipeVersion = 1;
constexpr size_t kRecipeFixed = 13;  // version .. header length

void PutLe32(std::string& out, uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

uint32_t GetLe32(std::string_view in) {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

}  // namespace

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
  PutLe32(trailer, state_->crc);
  PutLe32(trailer, state_->size);
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

std::string EncodeRecipe(const GzipRecipe& recipe) {
  std::string out;
  out.push_back(static_cast<char>(kRecipeVersion));
  out.push_back(static_cast<char>(recipe.encoder));
  out.push_back(static_cast<char>(recipe.level));
  out.push_back(static_cast<char>(recipe.mem_level));
  out.push_back(static_cast<char>(recipe.strategy));
  PutLe32(out, recipe.block_size);
  PutLe32(out, static_cast<uint32_t>(recipe.header.size()));
  out += recipe.header;
  return out;
}

Result<GzipRecipe> DecodeRecipe(std::string_view bytes) {
  auto bad = [](const std::string& what) { return Status::Corruption("gzip recipe: " + what); };
  if (bytes.size() < kRecipeFixed) {
    return bad(std::to_string(bytes.size()) + " bytes, shorter than its fixed " + std::to_string(kRecipeFixed));
  }
  if (static_cast<uint8_t>(bytes[0]) != kRecipeVersion) {
    return bad("version " + std::to_string(static_cast<uint8_t>(bytes[0])) + ", this build reads 1");
  }
  GzipRecipe recipe;
  recipe.encoder = static_cast<GzipRecipe::Encoder>(bytes[1]);
  recipe.level = static_cast<uint8_t>(bytes[2]);
  recipe.mem_level = static_cast<uint8_t>(bytes[3]);
  recipe.strategy = static_cast<uint8_t>(bytes[4]);
  recipe.block_size = GetLe32(bytes.substr(5));
  const uint32_t header_length = GetLe32(bytes.substr(9));
  if (bytes.size() - kRecipeFixed != header_length) {
    return bad("header length " + std::to_string(header_length) + " but " +
               std::to_string(bytes.size() - kRecipeFixed) + " bytes follow");
  }
  recipe.header = std::string(bytes.substr(kRecipeFixed));
  if (Status values = CheckRecipeValues(recipe); !values.ok()) return bad(values.message());
  auto length = GzipHeaderLength(recipe.header);
  if (!length.ok()) return bad("header: " + length.status().message());
  if (!length->has_value() || **length != recipe.header.size()) {
    return bad("header is not exactly one gzip member header");
  }
  return recipe;
}

}  // namespace sluice::delta
