// Blob downloads: HEAD, and a streamed GET that resumes a broken transfer
// with Range requests (see RegistryClient::OpenBlob).
#include <algorithm>

#include "registry/client_internal.h"
#include "registry/http.h"
#include "registry/registry_client.h"
#include "registry/retry.h"

namespace sluice::registry {

// A blob's body that survives broken transfers: on a retryable break it asks
// again for the rest (Range: bytes=N-) and carries on from byte N.
class RegistryClient::BlobReader final : public io::SequentialReader {
 public:
  BlobReader(RegistryClient* client, Call call, std::unique_ptr<HttpStream> stream,
             std::string name)
      : client_(client),
        call_(std::move(call)),
        stream_(std::move(stream)),
        name_(std::move(name)),
        backoff_(client->options_.max_retries, client->options_.initial_backoff_ms) {}

  Result<size_t> Read(io::MutableBytes buf) override {
    while (true) {
      auto n = stream_->Read(buf);
      if (n.ok()) {
        offset_ += *n;
        return n;
      }
      if (stream_->failure() != TransportFailure::kRetryable) {
        return n.status().WithContext(name_ + " at offset " + std::to_string(offset_));
      }
      SLUICE_RETURN_IF_ERROR(Resume(n.status()));
    }
  }

  const std::string& name() const override { return name_; }

 private:
  std::string At() const { return name_ + " at offset " + std::to_string(offset_); }

  // Replaces stream_ with one positioned at offset_, retrying transient
  // failures within the blob's budget.
  Status Resume(Status broke) {
    Status last = std::move(broke);
    while (true) {
      if (!backoff_.Retry(retry_after_)) {
        int tries = backoff_.retries();
        return Status::Network("blob " + At() + ": the transfer broke and " +
                               std::to_string(tries) + (tries == 1 ? " attempt" : " attempts") +
                               " to resume it failed: " + last.message());
      }
      retry_after_.clear();

      Call call = call_;
      call.retry = false;  // retries of a resume count against the blob's budget
      call.headers.push_back("Range: bytes=" + std::to_string(offset_) + "-");
      TransportFailure why = TransportFailure::kNone;
      auto stream = client_->Send(call, &why);
      if (!stream.ok()) {
        if (why != TransportFailure::kRetryable) {
          return stream.status().WithContext("resuming blob " + At());
        }
        last = stream.status();
        continue;
      }
      int status = (*stream)->status();
      if (status == 206) {
        std::string range = (*stream)->headers().Get("content-range");
        if (RangeStart(range) != std::optional<uint64_t>(offset_)) {
          return Status::Network("resuming blob " + At() +
                                 ": asked for bytes=" + std::to_string(offset_) +
                                 "- and got Content-Range '" + range + "'");
        }
        stream_ = std::move(*stream);
        return Status::Ok();
      }
      if (status == 200) {
        // The registry (or its blob store) ignores Range: skip what was
        // already delivered.
        Status skipped = Skip(stream->get(), offset_);
        if (skipped.ok()) {
          stream_ = std::move(*stream);
          return Status::Ok();
        }
        if ((*stream)->failure() != TransportFailure::kRetryable) return skipped;
        last = skipped;
        continue;
      }
      if (IsTransientStatus(status)) {
        last = Status::Network(client_->host_ + " answered HTTP " + std::to_string(status));
        retry_after_ = (*stream)->headers().Get("retry-after");
        continue;
      }
      Status error = status == 416 ? Status::Network("the registry refused the range (HTTP 416)")
                                   : client_->ErrorFor(stream->get(), call);
      return error.WithContext("resuming blob " + At());
    }
  }

  // The first byte position of "bytes FIRST-LAST/TOTAL".
  static std::optional<uint64_t> RangeStart(std::string_view range) {
    if (!range.starts_with("bytes ")) return std::nullopt;
    range.remove_prefix(6);
    uint64_t start = 0;
    size_t i = 0;
    for (; i < range.size() && range[i] >= '0' && range[i] <= '9' && i < 18; ++i) {
      start = start * 10 + (range[i] - '0');
    }
    if (i == 0 || i >= range.size() || range[i] != '-') return std::nullopt;
    return start;
  }

  Status Skip(HttpStream* stream, uint64_t n) {
    std::string scratch(std::min<uint64_t>(n, 64 << 10), '\0');
    uint64_t left = n;
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, scratch.size()));
      auto got = stream->Read(io::MutableBytes(reinterpret_cast<uint8_t*>(scratch.data()), want));
      if (!got.ok()) return got.status().WithContext("resuming blob " + At());
      if (*got == 0) {
        return Status::Corruption("resuming blob " + At() +
                                  ": the registry sent the blob again, but only " +
                                  std::to_string(n - left) + " bytes of it");
      }
      left -= *got;
    }
    return Status::Ok();
  }

  RegistryClient* client_;
  Call call_;
  std::unique_ptr<HttpStream> stream_;
  std::string name_;
  uint64_t offset_ = 0;      // bytes delivered to the caller
  Backoff backoff_;          // the blob's budget of resumes
  std::string retry_after_;  // of the last answer, when it asked for a wait
};

Result<std::unique_ptr<io::SequentialReader>> RegistryClient::OpenBlob(
    const std::string& repository, const format::Digest& digest) {
  Call call;
  call.path = "/v2/" + repository + "/blobs/" + digest.str();
  call.follow = true;
  call.repository = repository;
  call.scopes = {PullScope(repository)};
  call.what = "blob " + host_ + "/" + repository + "@" + digest.str();
  SLUICE_ASSIGN_OR_RETURN(auto stream, Send(call));
  if (stream->status() != 200) return ErrorFor(stream.get(), call);
  std::string name = host_ + "/" + repository + "@" + digest.str();
  stream->set_name(name);
  return std::unique_ptr<io::SequentialReader>(
      new BlobReader(this, std::move(call), std::move(stream), std::move(name)));
}

Result<std::optional<uint64_t>> RegistryClient::HeadBlob(const std::string& repository,
                                                         const format::Digest& digest) {
  Call call;
  call.method = "HEAD";
  call.path = "/v2/" + repository + "/blobs/" + digest.str();
  call.follow = true;
  call.repository = repository;
  call.scopes = {PullScope(repository)};
  call.what = "blob " + host_ + "/" + repository + "@" + digest.str();
  SLUICE_ASSIGN_OR_RETURN(Response response, SendBuffered(call, 0));
  if (response.status == 404) return std::optional<uint64_t>();
  if (response.status != 200) return ErrorFor(response, call);
  auto length = response.headers.GetUint("content-length");
  if (!length.ok()) return length.status().WithContext(call.what);
  return std::optional<uint64_t>(length->value_or(0));
}

}  // namespace sluice::registry
