#include "registry/token_auth.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "registry/client_internal.h"
#include "registry/http.h"
#include "registry/retry.h"

namespace sluice::registry {
namespace {

std::string ScopeKey(std::vector<std::string> scopes) {
  std::sort(scopes.begin(), scopes.end());
  std::string key;
  for (const std::string& s : scopes) key += s + " ";
  return key;
}

std::string BasicHeader(const Credentials& creds) {
  return "Authorization: Basic " + Base64Encode(creds.username + ":" + creds.password);
}

// The scopes a token is asked for: the request's own, and any more the
// challenge names (space-separated), each once.
std::vector<std::string> WithAskedScopes(std::vector<std::string> scopes, std::string_view asked) {
  for (size_t pos = 0; pos < asked.size();) {
    size_t sp = asked.find(' ', pos);
    std::string scope(asked.substr(pos, sp == std::string_view::npos ? sp : sp - pos));
    if (!scope.empty() && std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
      scopes.push_back(scope);
    }
    pos = sp == std::string_view::npos ? asked.size() : sp + 1;
  }
  return scopes;
}

// The token of a token server's JSON answer ("token", or OAuth2's
// "access_token"), or "".
std::string TokenOf(const std::string& body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object()) return std::string();
  for (const char* field : {"token", "access_token"}) {
    auto it = doc.find(field);
    if (it != doc.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      return it->get<std::string>();
    }
  }
  return std::string();
}

}  // namespace

TokenAuth::TokenAuth(std::string host, const ClientOptions* options)
    : host_(std::move(host)), options_(options) {}

Result<std::optional<Credentials>> TokenAuth::CredentialsFor(const std::string& repository) {
  // Explicit credentials win over everything in the auth files.
  if (options_->credentials) return options_->credentials;
  if (!options_->use_auth_files) return std::optional<Credentials>();
  std::lock_guard<std::mutex> lock(creds_mu_);
  auto it = creds_.find(repository);
  if (it != creds_.end()) return it->second;
  std::string key_host = host_ == "registry-1.docker.io" ? std::string("docker.io") : host_;
  auto creds = LookupCredentials(options_->fs, options_->auth_files, key_host, repository);
  creds_.emplace(repository, creds);
  return creds;
}

std::string TokenAuth::Header(const std::vector<std::string>& scopes,
                              const std::string& repository) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tokens_.find(ScopeKey(scopes));
    if (it != tokens_.end()) return "Authorization: Bearer " + it->second;
    if (!basic_) return std::string();
  }
  auto creds = CredentialsFor(repository);
  if (!creds.ok() || !*creds) return std::string();
  return BasicHeader(**creds);
}

Result<bool> TokenAuth::Answer(HttpSession* session, const std::string& challenge,
                               const std::vector<std::string>& scopes,
                               const std::string& repository, const std::string& sent_header) {
  auto challenges = ParseWwwAuthenticate(challenge);
  if (!challenges.ok()) return false;
  const Challenge* bearer = nullptr;
  const Challenge* basic = nullptr;
  for (const Challenge& c : *challenges) {
    if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
    if (c.scheme == "basic" && basic == nullptr) basic = &c;
  }
  if (bearer != nullptr) {
    SLUICE_ASSIGN_OR_RETURN(
        std::string token, FetchToken(session, bearer->Param("realm"), bearer->Param("service"),
                                      WithAskedScopes(scopes, bearer->Param("scope")), repository));
    std::lock_guard<std::mutex> lock(mu_);
    tokens_[ScopeKey(scopes)] = token;
    return true;
  }
  if (basic != nullptr) {
    SLUICE_ASSIGN_OR_RETURN(auto creds, CredentialsFor(repository));
    if (creds && !sent_header.starts_with("Authorization: Basic")) {
      std::lock_guard<std::mutex> lock(mu_);
      basic_ = true;
      return true;
    }
  }
  return false;
}

Result<std::string> TokenAuth::FetchToken(HttpSession* session, const std::string& realm,
                                          const std::string& service,
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
  if (creds) request.headers.push_back(BasicHeader(*creds));

  Backoff backoff(options_->max_retries, options_->initial_backoff_ms);
  while (true) {
    TransportFailure why = TransportFailure::kNone;
    auto stream = session->Open(request, &why);
    if (!stream.ok()) {
      if (why == TransportFailure::kRetryable && backoff.Retry()) continue;
      return stream.status().WithContext("getting a token for " + host_);
    }
    int status = (*stream)->status();
    if (IsTransientStatus(status) && backoff.Retry((*stream)->headers().Get("retry-after"))) {
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
    std::string token = TokenOf(body);
    if (token.empty()) return Status::Auth("token server " + realm + " sent no token");
    return token;
  }
}

}  // namespace sluice::registry
