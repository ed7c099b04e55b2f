// A client for one OCI distribution registry (the /v2/ API), on libcurl.
//
// What it promises:
//   - Manifests come back byte for byte; their sha256 is computed here and
//     compared with the digest asked for (kCorruption on mismatch). A
//     Docker-Content-Digest header is checked against the bytes, never trusted.
//   - Blobs are streamed (a SequentialReader; bounded memory). Checking their
//     size and sha256 is the reader's caller's job (format/blob_check.h).
//   - Redirects are followed for blob and manifest reads; Authorization is
//     never sent to a host other than the registry.
//   - Auth: anonymous, Basic, and Bearer token challenges (realm/service/scope;
//     tokens cached per scope). A request answered 401 is retried once with
//     fresh credentials. Credentials: ClientOptions::credentials, else the
//     auth files with their credential helpers (see LookupCredentials in
//     auth.h), looked up once per repository.
//   - TLS: system CAs plus the registry's certs.d directory (see certs_dir.h),
//     whose NAME.cert/NAME.key pair is presented as a client certificate. A
//     registry that asks for a client certificate we lack, or refuses ours,
//     is kAuth saying so (not retried).
//     tls_verify=false accepts any certificate and falls back to plain HTTP
//     when the registry does not speak TLS, as skopeo --tls-verify=false.
//   - 429, 5xx and broken connections are retried with exponential backoff
//     honouring Retry-After (retry.h), at most max_retries times; a blob
//     stream that breaks mid-body resumes where it stopped (see OpenBlob).
//   - Errors: 401/403 kAuth naming host and repository; 404 kNotFound naming
//     the reference; no response kNetwork; untrusted certificate kAuth
//     naming the host and the certs.d path that would trust it; bytes that do
//     not match a digest kCorruption. Any other refusal (400
//     MANIFEST_INVALID, ...), an answer larger than its limit, or one that
//     makes no sense is kNetwork, a failure of the remote side, naming the
//     host, the repository and what the registry said (never
//     kInvalidArgument, which is the caller's mistake).
//   - Listings (tags/list, _catalog) are bounded: at most max_list_entries
//     names over at most max_list_pages pages, and a Link that leads back to
//     a page already read is a loop; each is kNetwork, not memory without end.
//
// Thread safety: the methods may be called from several threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "format/crypto.h"
#include "io/file.h"
#include "registry/auth.h"
#include "registry/http.h"

namespace sluice::registry {

class HttpSession;
class HttpStream;
class TokenAuth;
struct HttpRequest;
enum class TransportFailure;

// The default bounds of a tags/list or _catalog listing: generous, far above
// what a registry in use lists, they only stop one whose Link pages never
// end (or that lists without end).
inline constexpr size_t kDefaultMaxListEntries = 1'000'000;
inline constexpr size_t kDefaultMaxListPages = 100'000;
// No registry grammar allows a longer repository (255) or tag (128) name;
// a longer one is garbage, and bounds the bytes a listing holds.
inline constexpr size_t kMaxListNameSize = 1024;

struct ClientOptions {
  io::FileSystem* fs = nullptr;  // for auth files and certificates; null: the default
  bool tls_verify = true;
  std::string cert_dir;                      // explicit certs.d-style directory
  std::vector<std::string> certs_d_roots;    // empty: DefaultCertsDirRoots()
  std::string cert_dir_flag = "--cert-dir";  // the option named in TLS errors
  std::string creds_flag = "--creds";        // the options named in auth errors
  std::string authfile_flag = "--authfile";
  std::optional<Credentials> credentials;    // explicit: no auth file is read
  std::vector<std::string> auth_files;       // empty: DefaultAuthFiles()
  bool use_auth_files = true;
  int max_retries = 4;
  int initial_backoff_ms = 250;  // doubles after every retry
  // Blobs up to this size are uploaded in one PUT; larger ones in PATCH
  // chunks of chunk_size. Both bound the memory an upload holds.
  uint64_t monolithic_limit = 16 << 20;
  uint64_t chunk_size = 16 << 20;
  // Bounds of ListTags and Catalog (names in all, requests in all).
  size_t max_list_entries = kDefaultMaxListEntries;
  size_t max_list_pages = kDefaultMaxListPages;
  std::string user_agent = "sluice/0.1";
  // How long the registry may stay silent (connecting, or mid-answer)
  // before a request fails, naming the host; not retried (--timeout).
  std::chrono::seconds timeout = kDefaultHttpTimeout;
};

struct Manifest {
  std::string bytes;       // exactly as served
  std::string media_type;  // Content-Type, parameters stripped
  format::Digest digest;   // sha256 of bytes
};

struct ManifestInfo {
  format::Digest digest;  // from Docker-Content-Digest: a claim, not checked (HEAD has no bytes)
  std::string media_type;
  uint64_t size = 0;
};

// An upload in progress. Destroying it before Commit() cancels it (DELETE of
// the upload session). It must not outlive the RegistryClient that made it.
class BlobUpload {
 public:
  virtual ~BlobUpload() = default;
  virtual Status Append(io::ByteView data) = 0;
  // Finishes the upload under the digest it was started with. The registry
  // checks the bytes; kCorruption if it refuses them as not matching.
  virtual Status Commit() = 0;
};

class RegistryClient {
 public:
  // `host` is "HOST[:PORT]" as the registry is reached (registry-1.docker.io,
  // not docker.io). No I/O happens until the first request.
  static Result<std::unique_ptr<RegistryClient>> Create(std::string host, ClientOptions options);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  const std::string& host() const { return host_; }
  // "https://HOST" or "http://HOST"; known after the first request.
  std::string base_url();

  // GET /v2/: the registry is there and speaks the API (auth included).
  Status Ping();

  // `reference` is a tag or a digest ("sha256:..."): when a digest, the bytes
  // must hash to it.
  Result<Manifest> GetManifest(const std::string& repository, const std::string& reference);
  // nullopt when absent.
  Result<std::optional<ManifestInfo>> HeadManifest(const std::string& repository,
                                                   const std::string& reference);
  // GET /v2/<repository>/referrers/<digest> (OCI distribution 1.1): the
  // image index of the manifests whose subject is `digest`, as served (its
  // first page: a registry paginating referrers with Link is not followed).
  // nullopt when the registry does not offer the API (404; a registry that
  // does answers an empty index for a digest nothing refers to).
  Result<std::optional<Manifest>> GetReferrers(const std::string& repository,
                                               const format::Digest& digest);
  // PUT /v2/<repository>/manifests/<reference> with the bytes as given.
  // Returns the digest of the bytes; kCorruption if the registry reports
  // another one.
  Result<format::Digest> PutManifest(const std::string& repository, const std::string& reference,
                                     const std::string& media_type, const std::string& bytes);

  // Streams a blob (redirects followed). The caller checks size and digest.
  // When the transfer breaks mid-body (a reset or closed connection, a
  // stall), the reader asks again from where it stopped (Range: bytes=N-,
  // after the usual backoff; a registry that ignores the range has its first
  // N bytes skipped), at most max_retries times for the blob: the caller
  // sees every byte once, in order. Beyond that, or when the registry's
  // answer cannot continue the blob, Read fails naming the blob and offset.
  // The reader must not outlive the client.
  Result<std::unique_ptr<io::SequentialReader>> OpenBlob(const std::string& repository,
                                                         const format::Digest& digest);
  // The blob's size, or nullopt when the repository does not have it.
  Result<std::optional<uint64_t>> HeadBlob(const std::string& repository,
                                           const format::Digest& digest);
  // Cross-repository mount. True when the registry mounted the blob; false
  // when it could not (it does not have it in `from`, or does not mount).
  Result<bool> MountBlob(const std::string& repository, const format::Digest& digest,
                         const std::string& from);
  // Starts an upload of a blob of `size` bytes: one PUT up to
  // monolithic_limit, PATCH chunks above it.
  Result<std::unique_ptr<BlobUpload>> StartUpload(const std::string& repository,
                                                  const format::Digest& digest, uint64_t size);

  // All tags of a repository / all repositories, following Link pagination
  // with `page_size` entries per request (0: the registry's default).
  // kNetwork past options.max_list_entries names or max_list_pages pages,
  // for a name longer than kMaxListNameSize, and for a Link to a page
  // already read (a loop).
  Result<std::vector<std::string>> ListTags(const std::string& repository, int page_size = 0);
  Result<std::vector<std::string>> Catalog(int page_size = 0);

 private:
  friend class ChunkedUpload;
  class BlobReader;
  struct Call;
  struct Response;

  RegistryClient(std::string host, ClientOptions options);
  Status EnsureSession();
  Status EnsureScheme();
  // Sends `call`, handling auth challenges and retries; returns the final
  // response with its headers read and body unread.
  // With no response at all, *failure (when given) says why.
  Result<std::unique_ptr<HttpStream>> Send(const Call& call, TransportFailure* failure = nullptr);
  // Send, with the body read (at most max_body bytes of a 2xx answer).
  Result<Response> SendBuffered(const Call& call, size_t max_body);
  // The error for a response that is not the one the call wanted.
  Status ErrorFor(const Response& response, const Call& call);
  Status ErrorFor(HttpStream* stream, const Call& call);
  Result<std::vector<std::string>> ListPaged(const std::string& path, const std::string& field,
                                             const std::string& scope, int page_size,
                                             const std::string& what);

  std::string host_;
  ClientOptions options_;
  std::unique_ptr<TokenAuth> auth_;
  std::string cert_hint_;

  std::mutex mu_;  // guards session_ and scheme_
  std::unique_ptr<HttpSession> session_;
  std::string scheme_;  // "https" or "http"; empty until known
};

}  // namespace sluice::registry
