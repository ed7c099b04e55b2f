// Which Authorization header a registry request carries, and how a 401 is
// answered: anonymous until challenged; a Bearer challenge fetches a token
// from its realm (Basic credentials sent to the token server when known) and
// caches it per set of scopes; a Basic challenge switches the registry to
// Basic when credentials are known. Credentials come from
// ClientOptions::credentials, else the auth files and credential helpers
// (LookupCredentials), looked up once per repository, failures included,
// so a broken helper is not run for every request.
//
// Thread safety: every method may be called from several threads at once.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "registry/auth.h"
#include "registry/registry_client.h"

namespace sluice::registry {

class HttpSession;

class TokenAuth {
 public:
  // `options` must outlive this object.
  TokenAuth(std::string host, const ClientOptions* options);
  TokenAuth(const TokenAuth&) = delete;
  TokenAuth& operator=(const TokenAuth&) = delete;

  // "Authorization: ..." for a request with these scopes, or "" for none.
  std::string Header(const std::vector<std::string>& scopes, const std::string& repository);

  // After a 401 whose WWW-Authenticate values are `challenge`, for a
  // request that carried `sent_header`: gets what a second attempt needs.
  // True when the request should be sent again, false when a retry would
  // change nothing (the caller reports the 401).
  Result<bool> Answer(HttpSession* session, const std::string& challenge,
                      const std::vector<std::string>& scopes, const std::string& repository,
                      const std::string& sent_header);

  Result<std::optional<Credentials>> CredentialsFor(const std::string& repository);

 private:
  Result<std::string> FetchToken(HttpSession* session, const std::string& realm,
                                 const std::string& service, const std::vector<std::string>& scopes,
                                 const std::string& repository);

  std::string host_;
  const ClientOptions* options_;

  std::mutex mu_;                              // guards basic_ and tokens_
  bool basic_ = false;                         // the registry asked for Basic auth
  std::map<std::string, std::string> tokens_;  // scope key -> bearer token

  // Serialises credential lookups, which may run a credential helper for
  // seconds, without holding mu_.
  std::mutex creds_mu_;
  std::map<std::string, Result<std::optional<Credentials>>> creds_;  // repository -> answer
};

}  // namespace sluice::registry
