#include "registry/http.h"

#include <curl/curl.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstring>
#include <mutex>

namespace sluice::registry {
namespace {

// A paused transfer holds at most about this much undelivered body.
constexpr size_t kMaxBuffered = 1 << 20;

void GlobalInit() {
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)init;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsFollowedRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

TransportFailure Classify(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return TransportFailure::kNone;
    case CURLE_PEER_FAILED_VERIFICATION:
      return TransportFailure::kTlsTrust;
    case CURLE_SSL_CONNECT_ERROR:
      return TransportFailure::kTlsHandshake;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportFailure::kTimeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return TransportFailure::kRetryable;
    default:
      return TransportFailure::kOther;
  }
}

// Whether a TLS server asked for a client certificate. libcurl cannot say,
// so OpenSSL's client certificate callback records it: the flag hangs off the
// connection's SSL_CTX (freed with it) and is shared with the transfer, as a
// cached connection may outlive the transfer that opened it.
using CertRequestFlag = std::shared_ptr<std::atomic<bool>>;

void FreeCertRequestFlag(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<CertRequestFlag*>(ptr);
}

int CertRequestIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &FreeCertRequestFlag);
  return index;
}

// Called by OpenSSL only when the server requests a certificate and none is set.
int OnClientCertRequest(SSL* ssl, X509**, EVP_PKEY**) {
  auto* flag =
      static_cast<CertRequestFlag*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), CertRequestIndex()));
  if (flag != nullptr) (*flag)->store(true);
  return 0;  // no certificate to send
}

// A TLS alert about our certificate, as OpenSSL words it.
bool IsClientCertAlert(std::string_view detail) {
  for (std::string_view alert :
       {"alert bad certificate", "alert certificate required", "alert unknown ca",
        "alert certificate expired", "alert certificate revoked", "alert certificate unknown",
        "alert unsupported certificate", "alert access denied"}) {
    if (detail.find(alert) != std::string_view::npos) return true;
  }
  return false;
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using UrlPtr = std::unique_ptr<CURLU, UrlDeleter>;

Result<std::string> GetUrlPart(CURLU* url, CURLUPart part, const std::string& what) {
  char* out = nullptr;
  CURLUcode rc = curl_url_get(url, part, &out, 0);
  if (rc != CURLUE_OK) {
    return Status::InvalidArgument("URL '" + what + "': " + curl_url_strerror(rc));
  }
  std::string s(out);
  curl_free(out);
  return s;
}

Result<UrlPtr> ParseUrl(const std::string& text) {
  GlobalInit();
  UrlPtr url(curl_url());
  CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, text.c_str(), 0);
  if (rc != CURLUE_OK) {
    return Status::InvalidArgument("URL '" + text + "': " + curl_url_strerror(rc));
  }
  return url;
}

// The host[:port] of `url` for messages, or the whole URL if it has none.
std::string HostOrUrl(const std::string& url) {
  auto host = UrlHostPort(url);
  return host.ok() ? *host : url;
}

// kAuth for a TLS failure over the client certificate: the server asked for
// one and none is configured (no_cert), or it refused the one sent.
Status ClientCertStatus(const std::string& url, const TlsSettings& tls, bool no_cert,
                        const std::string& detail) {
  std::string who = HostOrUrl(url);
  std::string what = no_cert ? who + " asked for a TLS client certificate and none is configured"
                             : who + " refused the TLS client certificate " + tls.client_cert;
  std::string hint =
      no_cert ? tls.client_cert_hint : std::string("is it signed by a CA the registry trusts?");
  return Status::Auth(what + " (" + detail + ")" + (hint.empty() ? "" : ": " + hint));
}

}  // namespace

void HttpHeaders::Add(std::string name, std::string value) {
  entries_.emplace_back(Lower(name), std::move(value));
}

std::string HttpHeaders::Get(std::string_view name) const {
  for (const auto& [k, v] : entries_) {
    if (k == name) return v;
  }
  return std::string();
}

Result<std::optional<uint64_t>> HttpHeaders::GetUint(std::string_view name, uint64_t max) const {
  auto found = std::find_if(entries_.begin(), entries_.end(),
                            [&](const auto& entry) { return entry.first == name; });
  if (found == entries_.end()) return std::optional<uint64_t>();
  std::string_view text = found->second;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value > max) {
    return Status::Network("the server sent a " + std::string(name) + " header of '" +
                           found->second.substr(0, 100) + "', expected a number of at most " +
                           std::to_string(max));
  }
  return std::optional<uint64_t>(value);
}

std::vector<std::string> HttpHeaders::GetAll(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : entries_) {
    if (k == name) out.push_back(v);
  }
  return out;
}

struct HttpStream::Transfer {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  std::string url;
  std::string trust_hint;
  bool follow = false;
  CertRequestFlag cert_requested = std::make_shared<std::atomic<bool>>(false);

  // Body bytes received but not yet read.
  std::string buffer;
  size_t pos = 0;
  bool paused = false;

  bool done = false;
  CURLcode result = CURLE_OK;

  int status = 0;
  HttpHeaders headers;
  bool has_location = false;
  bool headers_complete = false;

  ~Transfer() {
    if (multi != nullptr && easy != nullptr) curl_multi_remove_handle(multi, easy);
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
    curl_slist_free_all(header_list);
  }

  static size_t OnHeader(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view line(data, size * count);
    if (line.starts_with("HTTP/")) {
      // A new response (after a redirect or a 100 Continue) starts over.
      t->headers.Clear();
      t->has_location = false;
      t->headers_complete = false;
      size_t sp = line.find(' ');
      t->status = 0;
      if (sp != std::string_view::npos) {
        for (size_t i = sp + 1; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
          t->status = t->status * 10 + (line[i] - '0');
        }
      }
    } else if (Trim(line).empty()) {
      bool interim = t->status < 200;
      bool redirected = t->follow && IsFollowedRedirect(t->status) && t->has_location;
      if (!interim && !redirected) t->headers_complete = true;
    } else {
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name(Trim(line.substr(0, colon)));
        if (Lower(name) == "location") t->has_location = true;
        t->headers.Add(std::move(name), std::string(Trim(line.substr(colon + 1))));
      }
    }
    return size * count;
  }

  static CURLcode OnSslCtx(CURL*, void* ssl_ctx, void* user) {
    auto* t = static_cast<Transfer*>(user);
    auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
    auto* flag = new CertRequestFlag(t->cert_requested);
    if (CertRequestIndex() < 0 || SSL_CTX_set_ex_data(ctx, CertRequestIndex(), flag) != 1) {
      delete flag;
      return CURLE_OK;
    }
    SSL_CTX_set_client_cert_cb(ctx, &OnClientCertRequest);
    return CURLE_OK;
  }

  static size_t OnBody(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    if (t->buffer.size() - t->pos >= kMaxBuffered) {
      // The reader is behind: let curl hold the data until it catches up.
      t->paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    if (t->pos > 0 && t->pos == t->buffer.size()) {
      t->buffer.clear();
      t->pos = 0;
    }
    t->buffer.append(data, size * count);
    return size * count;
  }

  // What every request gets: where it goes, the session's shared caches, the
  // callbacks that fill this transfer, redirects, and when to give up.
  void SetCommonOptions(const HttpRequest& request, CURLSH* share, const std::string& user_agent,
                        std::chrono::seconds timeout);
  void SetMethodAndBody(const HttpRequest& request);
  void SetHeaders(const std::vector<std::string>& request_headers);
  void SetTlsOptions(const TlsSettings& tls);
  // The error for a request that got no response, naming the host and what
  // to do where that is known; *failure (if not null) says why.
  Status NoResponseStatus(const HttpRequest& request, const TlsSettings& tls,
                          TransportFailure* failure) const;

  long timeout_seconds = 0;  // for the message of a timeout
};

void HttpStream::Transfer::SetCommonOptions(const HttpRequest& request, CURLSH* share,
                                            const std::string& user_agent,
                                            std::chrono::seconds timeout) {
  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_SHARE, share);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  // A stalled server, not a slow one, aborts the transfer: silence while
  // connecting, or not a byte for `timeout` in the middle of an answer.
  timeout_seconds = static_cast<long>(timeout.count());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, timeout_seconds);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, timeout_seconds);
  if (request.follow_redirects) {
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_UNRESTRICTED_AUTH, 0L);
  }
}

void HttpStream::Transfer::SetMethodAndBody(const HttpRequest& request) {
  if (request.method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.has_body || request.method != "DELETE") {
      // POSTFIELDS sends the body with any method and sets Content-Length;
      // an empty body still gets "Content-Length: 0", as registries expect.
      const char* data = request.body.empty() ? "" : request.body.data();
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, data);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
  }
}

void HttpStream::Transfer::SetHeaders(const std::vector<std::string>& request_headers) {
  for (const std::string& header : request_headers) {
    header_list = curl_slist_append(header_list, header.c_str());
  }
  // No "Expect: 100-continue" round trip before bodies.
  header_list = curl_slist_append(header_list, "Expect:");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list);
}

void HttpStream::Transfer::SetTlsOptions(const TlsSettings& tls) {
  if (!tls.verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!tls.ca_bundle_pem.empty()) {
    curl_blob blob{const_cast<char*>(tls.ca_bundle_pem.data()), tls.ca_bundle_pem.size(),
                   CURL_BLOB_COPY};
    curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!tls.client_cert.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, tls.client_cert.c_str());
    curl_easy_setopt(easy, CURLOPT_SSLKEY, tls.client_key.c_str());
  } else if (url.starts_with("https:")) {
    // Only a TLS backend that is OpenSSL takes this; others leave the
    // failure unexplained.
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_FUNCTION, &OnSslCtx);
    curl_easy_setopt(easy, CURLOPT_SSL_CTX_DATA, this);
  }
}

Status HttpStream::Transfer::NoResponseStatus(const HttpRequest& request, const TlsSettings& tls,
                                              TransportFailure* failure) const {
  TransportFailure why = Classify(result);
  if (result == CURLE_OK) why = TransportFailure::kOther;
  if (failure != nullptr) *failure = why;
  std::string detail = error[0] != '\0' ? error : curl_easy_strerror(result);
  bool no_cert = tls.client_cert.empty() && cert_requested->load();
  bool cert_refused = !tls.client_cert.empty() && IsClientCertAlert(detail);
  if (no_cert || cert_refused) {
    if (failure != nullptr) *failure = TransportFailure::kTlsClientCert;
    return ClientCertStatus(request.url, tls, no_cert, detail);
  }
  if (why == TransportFailure::kTlsTrust) {
    // The registry's identity, not a bundle's: a failure to reach it
    // (kAuth, exit 4), never bad data (exit 3).
    return Status::Auth("TLS certificate of " + HostOrUrl(request.url) + " is not trusted (" +
                             detail + ")" + (tls.trust_hint.empty() ? "" : ": " + tls.trust_hint));
  }
  if (why == TransportFailure::kTimeout) {
    return Status::Network(request.method + " " + request.url + ": " + HostOrUrl(request.url) +
                           " did not answer for " + std::to_string(timeout_seconds) + " s (" +
                           detail + "); check that the registry is up, or give --timeout more "
                           "seconds for a slow one");
  }
  return Status::Network(request.method + " " + request.url + ": " + detail);
}

HttpStream::HttpStream(std::unique_ptr<Transfer> transfer) : t_(std::move(transfer)) {}
HttpStream::~HttpStream() = default;

Status HttpStream::Pump() {
  size_t buffered = t_->buffer.size() - t_->pos;
  bool had_headers = t_->headers_complete;
  int running = 0;
  CURLMcode mc = curl_multi_perform(t_->multi, &running);
  if (mc != CURLM_OK) {
    return Status::Network("curl multi error for " + t_->url + ": " + curl_multi_strerror(mc));
  }
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(t_->multi, &left)) {
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == t_->easy) {
      t_->done = true;
      t_->result = msg->data.result;
    }
  }
  bool progressed = t_->buffer.size() - t_->pos != buffered || t_->headers_complete != had_headers;
  if (!t_->done && !progressed) {
    // Nothing new: sleep until the socket has something (or a second passes).
    curl_multi_poll(t_->multi, nullptr, 0, 1000, nullptr);
  }
  return Status::Ok();
}

Status HttpStream::TransferStatus() {
  if (t_->result == CURLE_OK) return Status::Ok();
  failure_ = Classify(t_->result);
  std::string detail = t_->error[0] != '\0' ? t_->error : curl_easy_strerror(t_->result);
  return Status::Network("transfer from " + t_->url + " broke: " + detail);
}

Result<size_t> HttpStream::Read(io::MutableBytes buf) {
  if (buf.empty()) return size_t{0};
  while (true) {
    size_t avail = t_->buffer.size() - t_->pos;
    if (avail > 0) {
      size_t n = std::min(avail, buf.size());
      std::memcpy(buf.data(), t_->buffer.data() + t_->pos, n);
      t_->pos += n;
      if (t_->paused && t_->buffer.size() - t_->pos < kMaxBuffered / 2) {
        t_->paused = false;
        // May call OnBody right away with the data it held back.
        curl_easy_pause(t_->easy, CURLPAUSE_CONT);
      }
      return n;
    }
    if (t_->done) {
      SLUICE_RETURN_IF_ERROR(TransferStatus());
      return size_t{0};
    }
    if (t_->paused) {
      t_->paused = false;
      curl_easy_pause(t_->easy, CURLPAUSE_CONT);
    }
    SLUICE_RETURN_IF_ERROR(Pump());
  }
}

Result<std::string> HttpStream::ReadAll(size_t max_size) {
  std::string out;
  std::array<uint8_t, 64 << 10> chunk;
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, Read(chunk));
    if (n == 0) return out;
    if (out.size() + n > max_size) {
      // The remote's answer, not the caller's request, is at fault.
      return Status::Network("the answer from " + t_->url + " is larger than " +
                             std::to_string(max_size) + " bytes, the most sluice takes for it");
    }
    out.append(reinterpret_cast<const char*>(chunk.data()), n);
  }
}

struct HttpSession::Shared {
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Shared*>(user)->locks[data].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Shared*>(user)->locks[data].unlock();
  }
};

HttpSession::HttpSession(TlsSettings tls, std::string user_agent, std::chrono::seconds timeout)
    : shared_(std::make_unique<Shared>()),
      tls_(std::move(tls)),
      user_agent_(std::move(user_agent)),
      timeout_(timeout) {
  GlobalInit();
  shared_->share = curl_share_init();
  curl_share_setopt(shared_->share, CURLSHOPT_LOCKFUNC, &Shared::Lock);
  curl_share_setopt(shared_->share, CURLSHOPT_UNLOCKFUNC, &Shared::Unlock);
  curl_share_setopt(shared_->share, CURLSHOPT_USERDATA, shared_.get());
  curl_share_setopt(shared_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  curl_share_setopt(shared_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(shared_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

HttpSession::~HttpSession() { curl_share_cleanup(shared_->share); }

Result<std::unique_ptr<HttpStream>> HttpSession::Open(const HttpRequest& request,
                                                      TransportFailure* failure) {
  if (failure != nullptr) *failure = TransportFailure::kNone;
  auto t = std::make_unique<HttpStream::Transfer>();
  t->url = request.url;
  t->trust_hint = tls_.trust_hint;
  t->follow = request.follow_redirects;
  t->easy = curl_easy_init();
  t->multi = curl_multi_init();
  if (t->easy == nullptr || t->multi == nullptr) {
    return Status::Network("cannot create a curl handle for " + request.url);
  }
  t->SetCommonOptions(request, shared_->share, user_agent_, timeout_);
  t->SetMethodAndBody(request);
  t->SetHeaders(request.headers);
  t->SetTlsOptions(tls_);

  curl_multi_add_handle(t->multi, t->easy);
  auto stream = std::unique_ptr<HttpStream>(new HttpStream(std::move(t)));
  HttpStream::Transfer* tr = stream->t_.get();
  while (!tr->headers_complete && !tr->done) SLUICE_RETURN_IF_ERROR(stream->Pump());

  // A response whose headers arrived is returned even if its body already
  // broke: Read() delivers what came and then reports the break.
  if (tr->status == 0 || (tr->result != CURLE_OK && !tr->headers_complete)) {
    return tr->NoResponseStatus(request, tls_, failure);
  }
  stream->status_ = tr->status;
  stream->headers_ = tr->headers;
  char* effective = nullptr;
  curl_easy_getinfo(tr->easy, CURLINFO_EFFECTIVE_URL, &effective);
  stream->effective_url_ = effective != nullptr ? effective : request.url;
  stream->name_ = stream->effective_url_;
  return stream;
}

std::string DefaultCaBundlePath() {
  GlobalInit();
  CURL* h = curl_easy_init();
  if (h == nullptr) return std::string();
  char* path = nullptr;
  std::string out;
  if (curl_easy_getinfo(h, CURLINFO_CAINFO, &path) == CURLE_OK && path != nullptr) out = path;
  curl_easy_cleanup(h);
  return out;
}

Result<std::string> ResolveUrl(const std::string& base, const std::string& reference) {
  SLUICE_ASSIGN_OR_RETURN(UrlPtr url, ParseUrl(base));
  CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, reference.c_str(), 0);
  if (rc != CURLUE_OK) {
    return Status::InvalidArgument("URL '" + reference + "' relative to '" + base +
                                   "': " + curl_url_strerror(rc));
  }
  return GetUrlPart(url.get(), CURLUPART_URL, reference);
}

Result<std::string> AppendQuery(const std::string& url_text, std::string_view key,
                                std::string_view value) {
  SLUICE_ASSIGN_OR_RETURN(UrlPtr url, ParseUrl(url_text));
  std::string pair = std::string(key) + "=" + std::string(value);
  CURLUcode rc =
      curl_url_set(url.get(), CURLUPART_QUERY, pair.c_str(), CURLU_APPENDQUERY | CURLU_URLENCODE);
  if (rc != CURLUE_OK) {
    return Status::InvalidArgument("URL '" + url_text + "': " + curl_url_strerror(rc));
  }
  return GetUrlPart(url.get(), CURLUPART_URL, url_text);
}

Result<std::string> UrlHostPort(const std::string& url_text) {
  SLUICE_ASSIGN_OR_RETURN(UrlPtr url, ParseUrl(url_text));
  SLUICE_ASSIGN_OR_RETURN(std::string host, GetUrlPart(url.get(), CURLUPART_HOST, url_text));
  char* port = nullptr;
  if (curl_url_get(url.get(), CURLUPART_PORT, &port, 0) == CURLUE_OK && port != nullptr) {
    host += ":" + std::string(port);
    curl_free(port);
  }
  return host;
}

}  // namespace sluice::registry
