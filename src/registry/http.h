// HTTP for the registry client, on libcurl. Knows nothing about registries:
// requests, responses, TLS settings, and a streaming body reader.
//
// One HttpSession per registry client. Its easy handles share one connection
// cache, DNS cache and TLS session cache (a curl share handle), so requests to
// the same host reuse connections. A session may be used from several threads;
// one HttpStream from one thread at a time. Streams must not outlive their
// session.
#pragma once

#include <chrono>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/file.h"

namespace sluice::registry {

struct TlsSettings {
  bool verify = true;         // false: accept any certificate and host name
  std::string ca_bundle_pem;  // empty: curl's default CAs; else the whole bundle to trust
  std::string client_cert;    // PEM file, or empty
  std::string client_key;     // PEM file, or empty
  std::string trust_hint;     // appended to certificate-verification errors
  // Appended to the error when the server asks for a client certificate
  // and none is configured, or refuses the one sent.
  std::string client_cert_hint;
};

// Response headers with lower-cased names, in arrival order.
class HttpHeaders {
 public:
  void Add(std::string name, std::string value);
  void Clear() { entries_.clear(); }
  // The first value of `name` (lower-case), or "".
  std::string Get(std::string_view name) const;
  std::vector<std::string> GetAll(std::string_view name) const;
  // The first value of `name` as a decimal unsigned integer (Content-Length,
  // Retry-After in seconds): nullopt when absent; kNetwork naming the header
  // and its value when it is anything but digits (surrounding spaces
  // allowed) or exceeds `max`. Never throws, whatever a server sends.
  Result<std::optional<uint64_t>> GetUint(std::string_view name, uint64_t max = UINT64_MAX) const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

struct HttpRequest {
  std::string method = "GET";  // GET HEAD POST PUT PATCH DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string_view body;             // sent when has_body; must outlive the stream
  bool has_body = false;
  // Follow 3xx (GET/HEAD only). Custom headers such as Authorization are sent
  // only to the original host, port and scheme; curl drops them on a
  // redirect elsewhere, so a blob store never sees registry credentials.
  bool follow_redirects = false;
};

// Why a request got no HTTP response.
enum class TransportFailure {
  kNone,
  kRetryable,      // refused or reset connection, truncated response
  kTimeout,        // no answer, or nothing more, for the session's timeout: not retried
  kTlsTrust,       // the server's certificate was not trusted
  kTlsHandshake,   // TLS failed (e.g. the server speaks plain HTTP)
  kTlsClientCert,  // the server wanted a client certificate, or refused ours
  kOther,
};

// A registry silent this long is taken for down: long enough for a slow one
// behind a proxy, short enough that an operator is not left waiting.
inline constexpr std::chrono::seconds kDefaultHttpTimeout{60};

// A response whose headers have arrived; the body is read with Read().
class HttpStream final : public io::SequentialReader {
 public:
  ~HttpStream() override;

  int status() const { return status_; }
  const HttpHeaders& headers() const { return headers_; }
  // The URL that answered, after redirects.
  const std::string& effective_url() const { return effective_url_; }

  // Body bytes; 0 at the end. A transfer that breaks mid-body is kNetwork,
  // and failure() then says why.
  Result<size_t> Read(io::MutableBytes buf) override;
  // Why the body's transfer broke (kNone while it has not).
  TransportFailure failure() const { return failure_; }
  // The whole body; kInvalidArgument (naming the URL) beyond max_size bytes.
  Result<std::string> ReadAll(size_t max_size);
  const std::string& name() const override { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  friend class HttpSession;
  struct Transfer;
  explicit HttpStream(std::unique_ptr<Transfer> transfer);
  Status Pump();
  Status TransferStatus();

  std::unique_ptr<Transfer> t_;
  int status_ = 0;
  HttpHeaders headers_;
  std::string effective_url_;
  std::string name_;
  TransportFailure failure_ = TransportFailure::kNone;
};

class HttpSession {
 public:
  // `timeout`: how long a server may stay silent, while connecting or in
  // the middle of a response, before the request fails (kTimeout).
  HttpSession(TlsSettings tls, std::string user_agent,
              std::chrono::seconds timeout = kDefaultHttpTimeout);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // Sends the request and returns when the final response's headers are in,
  // whatever its status. With no response at all: kNetwork (or kAuth for
  // an untrusted certificate, with the trust hint; kAuth when the server
  // asked for a client certificate and none is configured, or refused the
  // one sent, with the client certificate hint), and *failure says why.
  Result<std::unique_ptr<HttpStream>> Open(const HttpRequest& request,
                                           TransportFailure* failure = nullptr);

 private:
  struct Shared;
  std::unique_ptr<Shared> shared_;
  TlsSettings tls_;
  std::string user_agent_;
  std::chrono::seconds timeout_;
};

// The CA bundle file libcurl uses by default (the system's), or "".
std::string DefaultCaBundlePath();

// RFC 3986 reference resolution (Location headers may be relative), via curl's URL API.
Result<std::string> ResolveUrl(const std::string& base, const std::string& reference);
// Appends "key=value" (value URL-encoded) to the URL's query.
Result<std::string> AppendQuery(const std::string& url, std::string_view key,
                                std::string_view value);
// The host[:port] of a URL, as written in it.
Result<std::string> UrlHostPort(const std::string& url);

}  // namespace sluice::registry
