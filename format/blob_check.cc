#include "format/blob_check.h"

namespace sluice::format {

BlobCheck::BlobCheck(Digest digest, std::optional<uint64_t> size, std::string what)
    : digest_(std::move(digest)), size_(size), what_(std::move(what)) {}

Status BlobCheck::Update(io::ByteView data) {
  if (size_ && data.size() > *size_ - count_) {
    return Status::Corruption(what_ + ": more than the expected " + std::to_string(*size_) +
                              " bytes");
  }
  count_ += data.size();
  hasher_.Update(data);
  return Status::Ok();
}

Status BlobCheck::Finish() {
  Digest got = hasher_.Finish();
  if (size_ && count_ != *size_) {
    return Status::Corruption(what_ + ": " + std::to_string(count_) + " bytes, expected " +
                              std::to_string(*size_));
  }
  if (got != digest_) return Status::Corruption(what_ + ": bytes hash to " + got.str());
  return Status::Ok();
}

namespace {

class VerifyingReader final : public io::SequentialReader {
 public:
  VerifyingReader(std::unique_ptr<io::SequentialReader> inner, Digest digest,
                  std::optional<uint64_t> size, std::string what)
      : inner_(std::move(inner)),
        check_(digest, size,
               what.empty() ? "blob " + digest.str() + " from " + inner_->name() : what) {}

  Result<size_t> Read(io::MutableBytes buf) override {
    if (!failure_.ok()) return failure_;
    if (finished_) return size_t{0};
    auto n = inner_->Read(buf);
    if (!n.ok()) return n;
    if (*n == 0) {
      finished_ = true;
      failure_ = check_.Finish();
    } else {
      failure_ = check_.Update(buf.first(*n));
    }
    if (!failure_.ok()) return failure_;
    return n;
  }

  const std::string& name() const override { return inner_->name(); }

 private:
  std::unique_ptr<io::SequentialReader> inner_;
  BlobCheck check_;
  bool finished_ = false;
  Status failure_;
};

}  // namespace

std::unique_ptr<io::SequentialReader> NewVerifyingReader(
    std::unique_ptr<io::SequentialReader> inner, Digest digest, std::optional<uint64_t> size,
    std::string what) {
  return std::make_unique<VerifyingReader>(std::move(inner), std::move(digest), size,
                                           std::move(what));
}

}  // namespace sluice::format
