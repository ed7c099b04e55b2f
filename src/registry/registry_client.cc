#include "registry/registry_client.h"

#include <nlohmann/json.hpp>
#include <set>

#include "io/atomic_file.h"
#include "oci/media_types.h"
#include "registry/certs_dir.h"
#include "registry/client_internal.h"
#include "registry/http.h"
#include "registry/retry.h"
#include "registry/token_auth.h"

namespace sluice::registry {
namespace {

std::string StripParams(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  return std::string(content_type);
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

// Where credentials were looked for, for a refusal without any: " in A, B"
// (the auth files that exist), " (no auth file found)", or "" when explicit
// credentials or none at all were asked for.
std::string SearchedAuthFiles(const ClientOptions& options) {
  if (options.credentials || !options.use_auth_files) return std::string();
  std::string found;
  for (const std::string& file : options.auth_files) {
    if (!options.fs->Stat(file).ok()) continue;
    found += (found.empty() ? " in " : ", ") + file;
  }
  return found.empty() ? std::string(" (no auth file found)") : found;
}

}  // namespace

std::string RegistryErrors(const std::string& body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::string();
  auto errors = doc.find("errors");
  if (errors == doc.end() || !errors->is_array()) return std::string();
  auto text = [](const nlohmann::json& e, const char* field) {
    auto it = e.find(field);
    return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string out;
  for (const auto& e : *errors) {
    if (!e.is_object()) continue;
    if (!out.empty()) out += "; ";
    std::string code = text(e, "code");
    out += code.empty() ? "?" : code;
    std::string message = text(e, "message");
    if (!message.empty()) out += ": " + message;
  }
  return out;
}

RegistryClient::RegistryClient(std::string host, ClientOptions options)
    : host_(std::move(host)),
      options_(std::move(options)),
      auth_(std::make_unique<TokenAuth>(host_, &options_)) {}

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
    session_ =
        std::make_unique<HttpSession>(std::move(tls), options_.user_agent, options_.timeout);
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
  Backoff backoff(call.retry ? options_.max_retries : 0, options_.initial_backoff_ms);
  while (true) {
    HttpRequest request;
    request.method = call.method;
    request.url = url;
    request.headers = call.headers;
    request.body = call.body;
    request.has_body = call.has_body;
    request.follow_redirects = call.follow;
    std::string auth = same_host ? auth_->Header(call.scopes, call.repository) : std::string();
    if (!auth.empty()) request.headers.push_back(auth);

    TransportFailure why = TransportFailure::kNone;
    auto stream = session_->Open(request, &why);
    if (!stream.ok()) {
      if (why == TransportFailure::kRetryable && backoff.Retry()) continue;
      if (failure != nullptr) *failure = why;
      return stream.status();
    }
    int status = (*stream)->status();
    if (status == 401 && same_host && !auth_retried) {
      auth_retried = true;
      std::string challenge;
      for (const std::string& h : (*stream)->headers().GetAll("www-authenticate")) {
        challenge += (challenge.empty() ? "" : ", ") + h;
      }
      SLUICE_ASSIGN_OR_RETURN(
          bool again, auth_->Answer(session_.get(), challenge, call.scopes, call.repository, auth));
      if (again) continue;
    }
    if (IsTransientStatus(status) && backoff.Retry((*stream)->headers().Get("retry-after"))) {
      continue;
    }
    return stream;
  }
}

Result<RegistryClient::Response> RegistryClient::SendBuffered(const Call& call, size_t max_body) {
  Backoff backoff(call.retry ? options_.max_retries : 0, options_.initial_backoff_ms);
  while (true) {
    SLUICE_ASSIGN_OR_RETURN(auto stream, Send(call));
    Response response;
    response.status = stream->status();
    response.headers = stream->headers();
    response.url = stream->effective_url();
    size_t limit = response.status >= 200 && response.status < 300 ? max_body : kMaxErrorBody;
    auto body = stream->ReadAll(limit);
    if (!body.ok()) {
      // A body cut short is asked for again, like a request with no answer.
      if (stream->failure() == TransportFailure::kRetryable && backoff.Retry()) continue;
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
      auto creds = auth_->CredentialsFor(call.repository);
      bool have = creds.ok() && creds->has_value();
      std::string target =
          call.repository.empty() ? "the registry" : "repository " + call.repository;
      return Status::Auth(host_ + " refused access to " + target + " (" + detail + ")" +
                          (have ? std::string(": wrong user name or password?")
                                : ": no credentials found" + SearchedAuthFiles(options_) +
                                      "; pass " + options_.creds_flag + " USER[:PASSWORD] or " +
                                      options_.authfile_flag +
                                      " FILE, or log in with podman, skopeo or docker login"));
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
  // Whatever else a registry refuses (400 MANIFEST_INVALID, 413, ...) is its
  // answer to a well-formed request: a failure on the remote side, never the
  // usage error kInvalidArgument would make of it.
  return Status::Network(call.what + ": " + host_ + " refused the request (" + detail + ")");
}

Status RegistryClient::ErrorFor(HttpStream* stream, const Call& call) {
  Response response;
  response.status = stream->status();
  response.headers = stream->headers();
  auto body = stream->ReadAll(kMaxErrorBody);
  if (body.ok()) response.body = std::move(*body);
  return ErrorFor(response, call);
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
  SLUICE_ASSIGN_OR_RETURN(Response response, SendBuffered(call, oci::kMaxManifestSize));
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

Result<std::optional<Manifest>> RegistryClient::GetReferrers(const std::string& repository,
                                                             const format::Digest& digest) {
  Call call;
  call.path = "/v2/" + repository + "/referrers/" + digest.str();
  call.headers.push_back("Accept: " + std::string(oci::kOciIndex));
  call.follow = true;
  call.repository = repository;
  call.scopes = {PullScope(repository)};
  call.what = "referrers of " + host_ + "/" + repository + "@" + digest.str();
  SLUICE_ASSIGN_OR_RETURN(Response response, SendBuffered(call, oci::kMaxManifestSize));
  if (response.status == 404) return std::optional<Manifest>();
  if (response.status == 401 || response.status == 403) {
    // ErrorFor's auth message names the host and repository only: say whose
    // referrers were refused.
    return ErrorFor(response, call).WithContext(call.what);
  }
  if (response.status != 200) return ErrorFor(response, call);
  Manifest out;
  out.bytes = std::move(response.body);
  out.media_type = StripParams(response.headers.Get("content-type"));
  out.digest = format::Sha256::Of(out.bytes);
  return std::optional<Manifest>(std::move(out));
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
  auto length = response.headers.GetUint("content-length");
  if (!length.ok()) return length.status().WithContext(call.what);
  info.size = length->value_or(0);
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

Result<std::vector<std::string>> RegistryClient::ListPaged(const std::string& path,
                                                           const std::string& field,
                                                           const std::string& scope, int page_size,
                                                           const std::string& what) {
  std::vector<std::string> out;
  // The pages read, by the sha256 of their URL: a Link back to one of them
  // is a loop. Hashes, since a URL is as long as the registry likes.
  std::set<format::Digest> seen;
  std::string next = path;
  if (page_size > 0) next += "?n=" + std::to_string(page_size);
  while (true) {
    Call call;
    call.path = next;
    call.repository =
        scope.starts_with("repository:") ? scope.substr(11, scope.rfind(':') - 11) : std::string();
    call.scopes = {scope};
    call.what = what;
    SLUICE_ASSIGN_OR_RETURN(Response response, SendBuffered(call, kMaxListPageSize));
    if (response.status != 200) return ErrorFor(response, call);
    const std::string page_url = response.url.empty() ? base_url() + next : response.url;
    auto here = ResolveUrl(page_url, page_url);  // the form links resolve to
    seen.insert(format::Sha256::Of(here.ok() ? *here : page_url));
    nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return Status::Network(what + ": the registry's answer is not a JSON object (page " +
                             std::to_string(seen.size()) + ", " + page_url + ")");
    }
    auto list = doc.find(field);
    if (list != doc.end() && list->is_array()) {
      for (const auto& item : *list) {
        if (!item.is_string()) continue;
        const std::string& name = item.get_ref<const std::string&>();
        if (name.size() > kMaxListNameSize) {
          return Status::Network(
              what + ": the registry listed a name of " + std::to_string(name.size()) +
              " bytes (page " + std::to_string(seen.size()) + ", " + page_url +
              "); no repository or tag is longer than " + std::to_string(kMaxListNameSize));
        }
        if (out.size() == options_.max_list_entries) {
          return Status::Network(what + ": the registry lists more than " +
                                 std::to_string(options_.max_list_entries) + " names in " +
                                 std::to_string(seen.size()) +
                                 " pages, the most sluice reads; name the images one by one "
                                 "instead of listing them");
        }
        out.push_back(name);
      }
    }
    std::string link = NextLink(response.headers.Get("link"));
    if (link.empty()) break;
    auto resolved = ResolveUrl(page_url, link);
    if (!resolved.ok()) {
      return Status::Network(what + ": the registry's Link header (page " +
                             std::to_string(seen.size()) +
                             ") names no URL: " + resolved.status().message());
    }
    if (seen.count(format::Sha256::Of(*resolved)) != 0) {
      return Status::Network(what + ": the registry's pages loop: page " +
                             std::to_string(seen.size()) + " links back to " + *resolved +
                             ", a page already read; its pagination is broken (tell its "
                             "operator), or name the images one by one instead of listing them");
    }
    if (seen.size() == options_.max_list_pages) {
      return Status::Network(what + ": the registry's pages do not end: " +
                             std::to_string(seen.size()) + " pages (" + std::to_string(out.size()) +
                             " names) read, the most sluice reads; name the images one by one "
                             "instead of listing them");
    }
    next = std::move(*resolved);
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

}  // namespace sluice::registry
