#include "registry/registry_client.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "io/atomic_file.h"
#include "oci/media_types.h"
#include "registry/certs_dir.h"
#include "registry/http.h"

namespace sluice::registry {
namespace {

constexpr size_t kMaxManifestSize = 8 << 20;
constexpr size_t kMaxListPageSize = 32 << 20;
constexpr size_t kMaxErrorBody = 64 << 10;
constexpr size_t kMaxCaBundle = 16 << 20;
constexpr int kMaxBackoffMs = 30000;

std::string PullScope(const std::string& repository) {
  return "repository:" + repository + ":pull";
}
std::string PushScope(const std::string& repository) {
  return "repository:" + repository + ":pull,push";
}

std::string ScopeKey(std::vector<std::string> scopes) {
  std::sort(scopes.begin(), scopes.end());
  std::string key;
  for (const std::string& s : scopes) key += s + " ";
  return key;
}

std::string StripParams(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  return std::string(content_type);
}

// "CODE: message; CODE: message" from a registry error body, or "".
std::string RegistryErrors(const std::string& body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::string();
  auto errors = doc.find("errors");
  if (errors == doc.end() || !errors->is_array()) return std::string();
  std::string out;
  for (const auto& e : *errors) {
    if (!e.is_object()) continue;
    if (!out.empty()) out += "; ";
    out += e.value("code", std::string("?"));
    std::string message = e.value("message", std::string());
    if (!message.empty()) out += ": " + message;
  }
  return out;
}

bool HasErrorCode(const std::string& body, std::string_view code) {
  return RegistryErrors(body).find(code) != std::string::npos;
}

// The target of a Link header's rel="next", or "".
std::string NextLink(const std::string& link) {
  size_t open = link.find('<');
  size_t close = link.find('>', open);
  if (open == std::string::npos || close == std::string::npos) return std::string();
  std::string params = link.substr(close + 1);
  if (params.find("rel=\"next\"") == std::string::npos &&
      params.find("rel=next") == std::string::npos) {
    return std::string();
  }
  return link.substr(open + 1, close - open - 1);
}

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

struct RegistryClient::Call {
  std::string method = "GET";
  std::string path;  // "/v2/..." below the registry, or an absolute URL
  std::vector<std::string> headers;
  std::string_view body;
  bool has_body = false;
  bool follow = false;
  bool retry = true;  // safe to send again after a failure
  std::string repository;
  std::vector<std::string> scopes;
  std::string what;  // "manifest HOST/REPO:TAG", for messages
};

struct RegistryClient::Response {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  std::string url;
};

RegistryClient::RegistryClient(std::string host, ClientOptions options)
    : host_(std::move(host)), options_(std::move(options)) {}

RegistryClient::~RegistryClient() = default;

Result<std::unique_ptr<RegistryClient>> RegistryClient::Create(std::string host,
                                                               ClientOptions options) {
  if (host.empty()) return Status::InvalidArgument("registry host is empty");
  if (options.fs == nullptr) options.fs = io::DefaultFileSystem();
  if (options.certs_d_roots.empty()) options.certs_d_roots = DefaultCertsDirRoots();
  if (options.auth_files.empty()) options.auth_files = DefaultAuthFiles();
  if (options.chunk_size == 0) options.chunk_size = 16 << 20;
  return std::unique_ptr<RegistryClient>(new RegistryClient(std::move(host), std::move(options)));
}

std::string RegistryClient::base_url() {
  std::lock_guard<std::mutex> lock(mu_);
  return (scheme_.empty() ? std::string("https") : scheme_) + "://" + host_;
}

Status RegistryClient::EnsureSession() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (session_) return Status::Ok();
  }
  TlsSettings tls;
  tls.verify = options_.tls_verify;
  SLUICE_ASSIGN_OR_RETURN(
      CertsDir certs, FindCertsDir(options_.fs, host_, options_.cert_dir, options_.certs_d_roots));
  if (!certs.ca_files.empty()) {
    // One bundle: the system CAs plus the registry's own (CAINFO_BLOB
    // replaces the default CA file rather than adding to it).
    std::string system = DefaultCaBundlePath();
    if (!system.empty()) {
      auto text = io::ReadSmallFile(options_.fs, system, kMaxCaBundle);
      if (text.ok()) tls.ca_bundle_pem = *text + "\n";
    }
    for (const std::string& file : certs.ca_files) {
      SLUICE_ASSIGN_OR_RETURN(std::string pem, io::ReadSmallFile(options_.fs, file, kMaxCaBundle));
      tls.ca_bundle_pem += pem + "\n";
    }
  }
  tls.client_cert = certs.client_cert;
  tls.client_key = certs.client_key;
  if (!options_.cert_dir.empty()) {
    tls.trust_hint = "no CA certificate (*.crt) in " + options_.cert_dir + " signs it";
  } else {
    tls.trust_hint = "put the CA certificate in " +
                     io::JoinPath(io::JoinPath("/etc/containers/certs.d", host_), "ca.crt") +
                     " or pass " + options_.cert_dir_flag + " with a directory holding it" +
                     (options_.tls_verify ? "" : "");
  }
  if (!options_.cert_dir.empty()) {
    tls.client_cert_hint =
        "no client certificate (NAME.cert with NAME.key, e.g. client.cert and "
        "client.key) in " +
        options_.cert_dir;
  } else {
    tls.client_cert_hint = "put client.cert and client.key in " +
                           io::JoinPath("/etc/containers/certs.d", host_) + " or pass " +
                           options_.cert_dir_flag + " with a directory holding them";
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!session_) {
    cert_hint_ = tls.trust_hint;
    session_ = std::make_unique<HttpSession>(std::move(tls), options_.user_agent);
  }
  return Status::Ok();
}

Status RegistryClient::EnsureScheme() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!scheme_.empty()) return Status::Ok();
    if (options_.tls_verify) {
      scheme_ = "https";
      return Status::Ok();
    }
  }
  // --tls-verify=false: https if the registry speaks it, else plain http.
  HttpRequest probe;
  probe.url = "https://" + host_ + "/v2/";
  TransportFailure why = TransportFailure::kNone;
  auto https = session_->Open(probe, &why);
  std::string scheme = "https";
  if (!https.ok()) {
    probe.url = "http://" + host_ + "/v2/";
    auto http = session_->Open(probe, &why);
    if (!http.ok()) return https.status();
    scheme = "http";
  }
  std::lock_guard<std::mutex> lock(mu_);
  scheme_ = scheme;
  return Status::Ok();
}

Result<std::optional<Credentials>> RegistryClient::CredentialsFor(const std::string& repository) {
  // Explicit credentials win over everything in the auth files.
  if (options_.credentials) return options_.credentials;
  if (!options_.use_auth_files) return std::optional<Credentials>();
  std::lock_guard<std::mutex> lock(creds_mu_);
  auto it = creds_.find(repository);
  if (it != creds_.end()) return it->second;
  std::string key_host = host_ == "registry-1.docker.io" ? std::string("docker.io") : host_;
  auto creds = LookupCredentials(options_.fs, options_.auth_files, key_host, repository);
  creds_.emplace(repository, creds);
  return creds;
}

std::string RegistryClient::AuthHeader(const Call& call) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tokens_.find(ScopeKey(call.scopes));
    if (it != tokens_.end()) return "Authorization: Bearer " + it->second;
    if (!basic_) return std::string();
  }
  auto creds = CredentialsFor(call.repository);
  if (!creds.ok() || !*creds) return std::string();
  return "Authorization: Basic " + Base64Encode((*creds)->username + ":" + (*creds)->password);
}

Result<std::string> RegistryClient::FetchToken(const std::string& realm, const std::string& service,
                                               const std::vector<std::string>& scopes,
                                               const std::string& repository) {
  if (realm.empty()) {
    return Status::Auth(host_ + " asked for a bearer token without naming a realm");
  }
  std::string url = realm;
  if (!service.empty()) {
    SLUICE_ASSIGN_OR_RETURN(url, AppendQuery(url, "service", service));
  }
  for (const std::string& scope : scopes) {
    SLUICE_ASSIGN_OR_RETURN(url, AppendQuery(url, "scope", scope));
  }
  HttpRequest request;
  request.url = url;
  request.follow_redirects = true;
  SLUICE_ASSIGN_OR_RETURN(auto creds, CredentialsFor(repository));
  if (creds) {
    request.headers.push_back("Authorization: Basic " +
                              Base64Encode(creds->username + ":" + creds->password));
  }
  int backoff = options_.initial_backoff_ms;
  for (int attempt = 0;; ++attempt) {
    TransportFailure why = TransportFailure::kNone;
    auto stream = session_->Open(request, &why);
    if (!stream.ok()) {
      if (why == TransportFailure::kRetryable && attempt < options_.max_retries) {
        Sleep(backoff);
        backoff = std::min(backoff * 2, kMaxBackoffMs);
        continue;
      }
      return stream.status().WithContext("getting a token for " + host_);
    }
    int status = (*stream)->status();
    if ((status == 429 || status >= 500) && attempt < options_.max_retries) {
      Sleep(backoff);
      backoff = std::min(backoff * 2, kMaxBackoffMs);
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(std::string body, (*stream)->ReadAll(kMaxErrorBody));
    if (status == 401 || status == 403) {
      return Status::Auth("token server " + realm + " refused " +
                          (creds ? "the credentials of user '" + creds->username + "'"
                                 : std::string("anonymous access")) +
                          " for " + host_ + (repository.empty() ? "" : "/" + repository) +
                          " (HTTP " + std::to_string(status) + ")");
    }
    if (status != 200) {
      return Status::Network("token server " + realm + " answered HTTP " + std::to_string(status));
    }
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_object()) {
      for (const char* field : {"token", "access_token"}) {
        auto it = doc.find(field);
        if (it != doc.end() && it->is_string() && !it->get<std::string>().empty()) {
          return it->get<std::string>();
        }
      }
    }
    return Status::Auth("token server " + realm + " sent no token");
  }
}

Result<std::unique_ptr<HttpStream>> RegistryClient::Send(const Call& call,
                                                         TransportFailure* failure) {
  if (failure != nullptr) *failure = TransportFailure::kNone;
  SLUICE_RETURN_IF_ERROR(EnsureSession());
  SLUICE_RETURN_IF_ERROR(EnsureScheme());
  std::string url = call.path.starts_with("http") ? call.path : base_url() + call.path;
  SLUICE_ASSIGN_OR_RETURN(std::string url_host, UrlHostPort(url));
  // Credentials go to the registry only, never to a host it points elsewhere.
  bool same_host = url_host == host_;

  bool auth_retried = false;
  int backoff = options_.initial_backoff_ms;
  int attempt = 0;
  while (true) {
    HttpRequest request;
    request.method = call.method;
    request.url = url;
    request.headers = call.headers;
    request.body = call.body;
    request.has_body = call.has_body;
    request.follow_redirects = call.follow;
    std::string auth = same_host ? AuthHeader(call) : std::string();
    if (!auth.empty()) request.headers.push_back(auth);

    TransportFailure why = TransportFailure::kNone;
    auto stream = session_->Open(request, &why);
    if (!stream.ok()) {
      if (why == TransportFailure::kRetryable && call.retry && attempt < options_.max_retries) {
        ++attempt;
        Sleep(backoff);
        backoff = std::min(backoff * 2, kMaxBackoffMs);
        continue;
      }
      if (failure != nullptr) *failure = why;
      return stream.status();
    }
    int status = (*stream)->status();
    if (status == 401 && same_host && !auth_retried) {
      auth_retried = true;
      std::string header;
      for (const std::string& h : (*stream)->headers().GetAll("www-authenticate")) {
        header += (header.empty() ? "" : ", ") + h;
      }
      auto challenges = ParseWwwAuthenticate(header);
      if (challenges.ok()) {
        const Challenge* bearer = nullptr;
        const Challenge* basic = nullptr;
        for (const Challenge& c : *challenges) {
          if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
          if (c.scheme == "basic" && basic == nullptr) basic = &c;
        }
        if (bearer != nullptr) {
          std::vector<std::string> scopes = call.scopes;
          std::string asked = bearer->Param("scope");
          for (size_t pos = 0; pos < asked.size();) {
            size_t sp = asked.find(' ', pos);
            std::string scope = asked.substr(pos, sp == std::string::npos ? sp : sp - pos);
            if (!scope.empty() && std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
              scopes.push_back(scope);
            }
            pos = sp == std::string::npos ? asked.size() : sp + 1;
          }
          SLUICE_ASSIGN_OR_RETURN(std::string token,
                                  FetchToken(bearer->Param("realm"), bearer->Param("service"),
                                             scopes, call.repository));
          std::lock_guard<std::mutex> lock(mu_);
          tokens_[ScopeKey(call.scopes)] = token;
          continue;
        }
        if (basic != nullptr) {
          SLUICE_ASSIGN_OR_RETURN(auto creds, CredentialsFor(call.repository));
          bool sent_basic = auth.starts_with("Authorization: Basic");
          if (creds && !sent_basic) {
            std::lock_guard<std::mutex> lock(mu_);
            basic_ = true;
            continue;
          }
        }
      }
    }
    bool transient = status == 429 || (status >= 500 && status != 501 && status != 505);
    if (transient && call.retry && attempt < options_.max_retries) {
      ++attempt;
      int wait = backoff;
      std::string retry_after = (*stream)->headers().Get("retry-after");
      if (!retry_after.empty() && std::all_of(retry_after.begin(), retry_after.end(), ::isdigit) &&
          retry_after.size() < 6) {
        wait = std::max(wait, std::stoi(retry_after) * 1000);
      }
      Sleep(std::min(wait, kMaxBackoffMs));
      backoff = std::min(backoff * 2, kMaxBackoffMs);
      continue;
    }
    return stream;
  }
}

Result<RegistryClient::Response> RegistryClient::SendBuffered(const Call& call, size_t max_body) {
  int backoff = options_.initial_backoff_ms;
  for (int attempt = 0;; ++attempt) {
    SLUICE_ASSIGN_OR_RETURN(auto stream, Send(call));
    Response response;
    response.status = stream->status();
    response.headers = stream->headers();
    response.url = stream->effective_url();
    size_t limit = response.status >= 200 && response.status < 300 ? max_body : kMaxErrorBody;
    auto body = stream->ReadAll(limit);
    if (!body.ok()) {
      // A body cut short is asked for again, like a request with no answer.
      if (stream->failure() == TransportFailure::kRetryable && call.retry &&
          attempt < options_.max_retries) {
        Sleep(backoff);
        backoff = std::min(backoff * 2, kMaxBackoffMs);
        continue;
      }
      return body.status().WithContext(call.what);
    }
    response.body = std::move(*body);
    return response;
  }
}

Status RegistryClient::ErrorFor(const Response& response, const Call& call) {
  std::string errors = RegistryErrors(response.body);
  std::string detail =
      "HTTP " + std::to_string(response.status) + (errors.empty() ? std::string() : ", " + errors);
  switch (response.status) {
    case 401:
    case 403: {
      auto creds = CredentialsFor(call.repository);
      bool have = creds.ok() && creds->has_value();
      std::string target =
          call.repository.empty() ? "the registry" : "repository " + call.repository;
      return Status::Auth(host_ + " refused access to " + target + " (" + detail + ")" +
                          (have ? std::string(": wrong user name or password?")
                                : std::string(": no credentials found; pass --creds USER:PASS "
                                              "or log in with podman/skopeo/docker login")));
    }
    case 404:
      return Status::NotFound(call.what + " not found (" + detail + ")");
    default:
      break;
  }
  if (errors.find("DIGEST_INVALID") != std::string::npos) {
    return Status::Corruption(call.what + ": the registry says the bytes do not match (" + detail +
                              ")");
  }
  if (response.status >= 500 || response.status == 429) {
    return Status::Network(call.what + ": " + host_ + " answered " + detail);
  }
  return Status::InvalidArgument(call.what + ": " + host_ + " refused the request (" + detail +
                                 ")");
}

Status RegistryClient::Ping() {
  Call call;
  call.path = "/v2/";
  call.what = "registry API at " + host_;
  SLUICE_ASSIGN_OR_RETURN(Response response, SendBuffered(call, kMaxErrorBody));
  if (response.status == 200) return Status::Ok();
  if (response.status == 404) {
    return Status::Unsupported(host_ + " does not serve the registry API at /v2/");
  }
  return ErrorFor(response, call);
}

Result<Manifest> RegistryClient::GetManifest(const std::string& repository,
                                             const std::string& reference) {
  bool by_digest = reference.starts_with("sha256:");
  format::Digest wanted;
  if (by_digest) {
    SLUICE_ASSIGN_OR_RETURN(wanted, format::Digest::Parse(reference));
  }
  Call call;
  call.path = "/v2/" + repository + "/manifests/" + reference;
  call.headers.push_back("Accept: " + std::string(oci::kManifestAccept));
  call.follow = true;
  call.repository = repository;
  call.scopes = {PullScope(repository)};
  call.what = "manifest " + host_ + "/" + repository + (by_digest ? "@" : ":") + reference;
  SLUICE_ASSIGN_OR_RETURN(Response response, SendBuffered(call, kMaxManifestSize));
  if (response.status != 200) return ErrorFor(response, call);

  Manifest out;
  out.bytes = std::move(response.body);
  out.media_type = StripParams(response.headers.Get("content-type"));
  out.digest = format::Sha256::Of(out.bytes);
  if (by_digest && out.digest != wanted) {
    return Status::Corruption(call.what + ": the registry sent " +
                              std::to_string(out.bytes.size()) + " bytes with digest " +
                              out.digest.str());
  }
  std::string claimed = response.headers.Get("docker-content-digest");
  if (claimed.starts_with("sha256:") && claimed != out.digest.str()) {
    return Status::Corruption(call.what + ": Docker-Content-Digest says " + claimed +
                              " but the bytes hash to " + out.digest.str());
  }
  return out;
}

Result<std::optional<ManifestInfo>> RegistryClient::HeadManifest(const std::string& repository,
                                                                 const std::string& reference) {
  Call call;
  call.method = "HEAD";
  call.path = "/v2/" + repository + "/manifests/" + reference;
  call.headers.push_back("Accept: " + std::string(oci::kManifestAccept));
  call.follow = true;
  call.repository = repository;
  call.scopes = {PullScope(repository)};
  call.what = "manifest " + host_ + "/" + repository +
              (reference.starts_with("sha256:") ? "@" : ":") + reference;
  SLUICE_ASSIGN_OR_RETURN(Response response, SendBuffered(call, 0));
  if (response.status == 404) return std::optional<ManifestInfo>();
  if (response.status != 200) return ErrorFor(response, call);
  ManifestInfo info;
  auto digest = format::Digest::Parse(response.headers.Get("docker-content-digest"));
  if (digest.ok()) info.digest = *digest;
  info.media_type = StripParams(response.headers.Get("content-type"));
  std::string length = response.headers.Get("content-length");
  if (!length.empty()) info.size = std::stoull(length);
  return std::optional<ManifestInfo>(info);
}

Result<format::Digest> RegistryClient::PutManifest(const std::string& repository,
                                                   const std::string& reference,
                                                   const std::string& media_type,
                                                   const std::string& bytes) {
  format::Digest digest = format::Sha256::Of(bytes);
  Call call;
  call.method = "PUT";
  call.path = "/v2/" + repository + "/manifests/" + reference;
  call.headers.push_back("Content-Type: " + media_type);
  call.body = bytes;
  call.has_body = true;
  call.repository = repository;
  call.scopes = {PushScope(repository)};
  call.what = "pushing manifest " + host_ + "/" + repository +
              (reference.starts_with("sha256:") ? "@" : ":") + reference;
  SLUICE_ASSIGN_OR_RETURN(Response response, SendBuffered(call, kMaxErrorBody));
  if (response.status != 201 && response.status != 200 && response.status != 202) {
    return ErrorFor(response, call);
  }
  std::string claimed = response.headers.Get("docker-content-digest");
  if (claimed.starts_with("sha256:") && claimed != digest.str()) {
    return Status::Corruption(call.what + ": the registry stored it as " + claimed + ", not " +
                              digest.str());
  }
  return digest;
}

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
        backoff_ms_(client->options_.initial_backoff_ms) {}

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
      if (resumes_ >= client_->options_.max_retries) {
        return Status::Network(
            "blob " + At() + ": the transfer broke and " + std::to_string(resumes_) +
            (resumes_ == 1 ? " attempt" : " attempts") + " to resume it failed: " + last.message());
      }
      ++resumes_;
      Sleep(backoff_ms_);
      backoff_ms_ = std::min(backoff_ms_ * 2, kMaxBackoffMs);

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
      bool transient = status == 429 || (status >= 500 && status != 501 && status != 505);
      if (transient) {
        last = Status::Network(client_->host_ + " answered HTTP " + std::to_string(status));
        continue;
      }
      Response response;
      response.status = status;
      auto body = (*stream)->ReadAll(kMaxErrorBody);
      if (body.ok()) response.body = std::move(*body);
      Status error = status == 416 ? Status::Network("the registry refused the range (HTTP 416)")
                                   : client_->ErrorFor(response, call);
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
  uint64_t offset_ = 0;  // bytes delivered to the caller
  int resumes_ = 0;
  int backoff_ms_;
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
  if (stream->status() != 200) {
    Response response;
    response.status = stream->status();
    auto body = stream->ReadAll(kMaxErrorBody);
    if (body.ok()) response.body = std::move(*body);
    return ErrorFor(response, call);
  }
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
  std::string length = response.headers.Get("content-length");
  uint64_t size = length.empty() ? 0 : std::stoull(length);
  return std::optional<uint64_t>(size);
}

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
        size_(size),
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
      if (response.status == 400 && HasErrorCode(response.body, "DIGEST_INVALID")) {
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
    SLUICE_ASSIGN_OR_RETURN(location_, ResolveUrl(response.url, location));
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
  uint64_t size_;
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

Result<std::vector<std::string>> RegistryClient::ListPaged(const std::string& path,
                                                           const std::string& field,
                                                           const std::string& scope, int page_size,
                                                           const std::string& what) {
  std::vector<std::string> out;
  std::string next = path;
  if (page_size > 0) next += "?n=" + std::to_string(page_size);
  for (int page = 0; !next.empty(); ++page) {
    if (page > 1000000) return Status::Network(what + ": pagination does not end");
    Call call;
    call.path = next;
    call.repository =
        scope.starts_with("repository:") ? scope.substr(11, scope.rfind(':') - 11) : std::string();
    call.scopes = {scope};
    call.what = what;
    SLUICE_ASSIGN_OR_RETURN(Response response, SendBuffered(call, kMaxListPageSize));
    if (response.status != 200) return ErrorFor(response, call);
    nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return Status::Network(what + ": the registry's answer is not a JSON object");
    }
    auto list = doc.find(field);
    if (list != doc.end() && list->is_array()) {
      for (const auto& item : *list) {
        if (item.is_string()) out.push_back(item.get<std::string>());
      }
    }
    std::string link = NextLink(response.headers.Get("link"));
    if (link.empty()) break;
    SLUICE_ASSIGN_OR_RETURN(std::string resolved, ResolveUrl(response.url, link));
    if (resolved == response.url) break;
    next = resolved;
  }
  return out;
}

Result<std::vector<std::string>> RegistryClient::ListTags(const std::string& repository,
                                                          int page_size) {
  return ListPaged("/v2/" + repository + "/tags/list", "tags", PullScope(repository), page_size,
                   "repository " + host_ + "/" + repository);
}

Result<std::vector<std::string>> RegistryClient::Catalog(int page_size) {
  return ListPaged("/v2/_catalog", "repositories", "registry:catalog:*", page_size,
                   "catalog of " + host_);
}

namespace {

class VerifyingReader final : public io::SequentialReader {
 public:
  VerifyingReader(std::unique_ptr<io::SequentialReader> inner, format::Digest digest, uint64_t size)
      : inner_(std::move(inner)), digest_(std::move(digest)), size_(size) {}

  Result<size_t> Read(io::MutableBytes buf) override {
    if (!failure_.ok()) return failure_;
    if (finished_) return size_t{0};
    SLUICE_ASSIGN_OR_RETURN(size_t n, inner_->Read(buf));
    if (n == 0) {
      finished_ = true;
      format::Digest got = hasher_.Finish();
      if (count_ != size_) {
        failure_ = Status::Corruption("blob " + digest_.str() + " from " + inner_->name() + ": " +
                                      std::to_string(count_) + " bytes, expected " +
                                      std::to_string(size_));
      } else if (got != digest_) {
        failure_ = Status::Corruption("blob " + digest_.str() + " from " + inner_->name() +
                                      ": bytes hash to " + got.str());
      }
      if (!failure_.ok()) return failure_;
      return size_t{0};
    }
    if (count_ + n > size_) {
      failure_ = Status::Corruption("blob " + digest_.str() + " from " + inner_->name() +
                                    ": more than the expected " + std::to_string(size_) + " bytes");
      return failure_;
    }
    count_ += n;
    hasher_.Update(buf.first(n));
    return n;
  }
  const std::string& name() const override { return inner_->name(); }

 private:
  std::unique_ptr<io::SequentialReader> inner_;
  format::Digest digest_;
  uint64_t size_;
  uint64_t count_ = 0;
  format::Sha256 hasher_;
  bool finished_ = false;
  Status failure_;
};

}  // namespace

std::unique_ptr<io::SequentialReader> NewVerifyingReader(
    std::unique_ptr<io::SequentialReader> inner, format::Digest digest, uint64_t size) {
  return std::make_unique<VerifyingReader>(std::move(inner), std::move(digest), size);
}

}  // namespace sluice::registry
