// Blob uploads: cross-repository mounts, and uploads sent in one PUT or in
// PATCH chunks (see RegistryClient::StartUpload).
#include "registry/client_internal.h"
#include "registry/http.h"
#include "registry/registry_client.h"

namespace sluice::registry {

Result<bool> RegistryClient::MountBlob(const std::string& repository, const format::Digest& digest,
                                       const std::string& from) {
  Call call;
  call.method = "POST";
  call.path = "/v2/" + repository + "/blobs/uploads/?mount=" + digest.str() + "&from=" + from;
  call.repository = repository;
  call.scopes = {PushScope(repository), PullScope(from)};
  call.what =
      "mounting blob " + digest.str() + " from " + from + " into " + host_ + "/" + repository;
  SLUICE_ASSIGN_OR_RETURN(Response response, SendBuffered(call, kMaxErrorBody));
  if (response.status == 201) return true;
  if (response.status == 202) {
    // The registry started a plain upload instead; drop it.
    std::string location = response.headers.Get("location");
    if (!location.empty()) {
      auto url = ResolveUrl(response.url, location);
      if (url.ok()) {
        Call cancel;
        cancel.method = "DELETE";
        cancel.path = *url;
        cancel.repository = repository;
        cancel.scopes = call.scopes;
        cancel.what = "cancelling upload";
        (void)SendBuffered(cancel, kMaxErrorBody);
      }
    }
    return false;
  }
  return ErrorFor(response, call);
}

// Uploads a blob: buffered and sent in one PUT when small, PATCHed in chunks
// of chunk_size when large, finished by PUT ?digest=.
class ChunkedUpload final : public BlobUpload {
 public:
  ChunkedUpload(RegistryClient* client, std::string repository, format::Digest digest,
                uint64_t size)
      : client_(client),
        repository_(std::move(repository)),
        digest_(std::move(digest)),
        chunked_(size > client->options_.monolithic_limit) {}

  ~ChunkedUpload() override {
    if (!location_.empty() && !committed_) {
      RegistryClient::Call call = MakeCall("DELETE", location_, "cancelling upload");
      (void)client_->SendBuffered(call, kMaxErrorBody);
    }
  }

  Status Append(io::ByteView data) override {
    buffer_.append(io::AsChars(data));
    if (!chunked_ && buffer_.size() > client_->options_.monolithic_limit) chunked_ = true;
    while (chunked_ && buffer_.size() >= client_->options_.chunk_size) {
      SLUICE_RETURN_IF_ERROR(SendChunk(client_->options_.chunk_size));
    }
    return Status::Ok();
  }

  Status Commit() override {
    SLUICE_RETURN_IF_ERROR(EnsureStarted());
    SLUICE_ASSIGN_OR_RETURN(std::string url, AppendQuery(location_, "digest", digest_.str()));
    RegistryClient::Call call = MakeCall("PUT", url, "finishing upload of " + Name());
    call.headers.push_back("Content-Type: application/octet-stream");
    call.body = buffer_;
    call.has_body = true;
    call.retry = false;
    SLUICE_ASSIGN_OR_RETURN(RegistryClient::Response response,
                            client_->SendBuffered(call, kMaxErrorBody));
    if (response.status != 201 && response.status != 204 && response.status != 200) {
      if (response.status == 400 &&
          RegistryErrors(response.body).find("DIGEST_INVALID") != std::string::npos) {
        return Status::Corruption(Name() + ": the registry refused the " +
                                  std::to_string(offset_ + buffer_.size()) +
                                  " uploaded bytes as not matching the digest");
      }
      return client_->ErrorFor(response, call);
    }
    std::string claimed = response.headers.Get("docker-content-digest");
    if (claimed.starts_with("sha256:") && claimed != digest_.str()) {
      return Status::Corruption(Name() + ": the registry stored it as " + claimed);
    }
    committed_ = true;
    buffer_.clear();
    return Status::Ok();
  }

 private:
  std::string Name() const {
    return "blob " + client_->host_ + "/" + repository_ + "@" + digest_.str();
  }

  RegistryClient::Call MakeCall(std::string method, std::string url, std::string what) {
    RegistryClient::Call call;
    call.method = std::move(method);
    call.path = std::move(url);
    call.repository = repository_;
    call.scopes = {PushScope(repository_)};
    call.what = std::move(what);
    return call;
  }

  Status NextLocation(const RegistryClient::Response& response) {
    std::string location = response.headers.Get("location");
    if (location.empty()) {
      return Status::Network(Name() + ": upload response has no Location header");
    }
    auto url = ResolveUrl(response.url, location);
    if (!url.ok()) {
      return Status::Network(
          Name() + ": the registry's Location header names no URL: " + url.status().message());
    }
    location_ = std::move(*url);
    return Status::Ok();
  }

  Status EnsureStarted() {
    if (!location_.empty()) return Status::Ok();
    RegistryClient::Call call =
        MakeCall("POST", "/v2/" + repository_ + "/blobs/uploads/", "starting upload of " + Name());
    SLUICE_ASSIGN_OR_RETURN(RegistryClient::Response response,
                            client_->SendBuffered(call, kMaxErrorBody));
    if (response.status != 202) return client_->ErrorFor(response, call);
    return NextLocation(response);
  }

  Status SendChunk(uint64_t n) {
    SLUICE_RETURN_IF_ERROR(EnsureStarted());
    RegistryClient::Call call = MakeCall("PATCH", location_, "uploading " + Name());
    call.headers.push_back("Content-Type: application/octet-stream");
    call.headers.push_back("Content-Range: " + std::to_string(offset_) + "-" +
                           std::to_string(offset_ + n - 1));
    call.body = std::string_view(buffer_).substr(0, n);
    call.has_body = true;
    call.retry = false;  // the registry may have taken part of it
    SLUICE_ASSIGN_OR_RETURN(RegistryClient::Response response,
                            client_->SendBuffered(call, kMaxErrorBody));
    if (response.status != 202) return client_->ErrorFor(response, call);
    SLUICE_RETURN_IF_ERROR(NextLocation(response));
    offset_ += n;
    buffer_.erase(0, n);
    return Status::Ok();
  }

  RegistryClient* client_;
  std::string repository_;
  format::Digest digest_;
  bool chunked_;
  std::string buffer_;
  std::string location_;
  uint64_t offset_ = 0;
  bool committed_ = false;
};

Result<std::unique_ptr<BlobUpload>> RegistryClient::StartUpload(const std::string& repository,
                                                                const format::Digest& digest,
                                                                uint64_t size) {
  return std::unique_ptr<BlobUpload>(new ChunkedUpload(this, repository, digest, size));
}

}  // namespace sluice::registry
