#include "registry/auth.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/file.h"

namespace sluice::registry {
namespace {

constexpr uint64_t kMaxAuthFileSize = 4 << 20;

bool IsTokenChar(char c) {
  // RFC 7230 tchar.
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  size_t pos() const { return pos_; }
  void Reset(size_t pos) { pos_ = pos; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t')) ++pos_;
  }
  void SkipSpaceAndCommas() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == ',')) ++pos_;
  }
  std::string_view Token() {
    size_t start = pos_;
    while (!AtEnd() && IsTokenChar(Peek())) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  // quoted-string with backslash escapes; the opening quote is current.
  std::optional<std::string> Quoted() {
    if (!Consume('"')) return std::nullopt;
    std::string out;
    while (!AtEnd()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (AtEnd()) return std::nullopt;
        c = text_[pos_++];
      }
      out.push_back(c);
    }
    return std::nullopt;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

std::string NormaliseAuthKey(std::string_view key) {
  // Docker's legacy keys are URLs: keep only the host part.
  for (std::string_view scheme : {"https://", "http://"}) {
    if (key.starts_with(scheme)) {
      key.remove_prefix(scheme.size());
      key = key.substr(0, key.find('/'));
      break;
    }
  }
  while (key.ends_with('/')) key.remove_suffix(1);
  std::string out(key);
  size_t slash = out.find('/');
  std::string host = out.substr(0, slash);
  if (host == "index.docker.io" || host == "registry-1.docker.io") {
    out = "docker.io" + (slash == std::string::npos ? std::string() : out.substr(slash));
  }
  return out;
}

}  // namespace

std::string Challenge::Param(const std::string& key) const {
  auto it = params.find(key);
  return it == params.end() ? std::string() : it->second;
}

Result<Credentials> ParseCredentials(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::InvalidArgument("credentials must be USER:PASSWORD (got no ':' or no user)");
  }
  return Credentials{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
}

Result<std::vector<Challenge>> ParseWwwAuthenticate(std::string_view header) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("WWW-Authenticate '" + std::string(header.substr(0, 200)) +
                                   "': " + std::string(why));
  };
  std::vector<Challenge> out;
  Scanner s(header);
  s.SkipSpaceAndCommas();
  while (!s.AtEnd()) {
    std::string_view scheme = s.Token();
    if (scheme.empty()) return bad("expected an auth scheme");
    Challenge challenge;
    challenge.scheme = Lower(scheme);
    s.SkipSpace();
    // Parameters until something that is not "token = value": the next scheme.
    while (!s.AtEnd()) {
      size_t mark = s.pos();
      std::string_view key = s.Token();
      s.SkipSpace();
      if (key.empty() || !s.Consume('=')) {
        s.Reset(mark);
        break;
      }
      s.SkipSpace();
      std::string value;
      if (s.Peek() == '"') {
        auto quoted = s.Quoted();
        if (!quoted) return bad("unterminated quoted string");
        value = std::move(*quoted);
      } else {
        value = std::string(s.Token());
        // token68 ends with '=' padding ("Basic abc=="); keep it as a value.
        while (s.Consume('=')) value.push_back('=');
      }
      challenge.params[Lower(key)] = std::move(value);
      s.SkipSpace();
      if (!s.Consume(',')) break;
      s.SkipSpaceAndCommas();
    }
    out.push_back(std::move(challenge));
    s.SkipSpaceAndCommas();
    if (!s.AtEnd() && !IsTokenChar(s.Peek())) return bad("unexpected character");
  }
  if (out.empty()) return bad("no challenge");
  return out;
}

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.size() % 4 != 0) {
    return Status::InvalidArgument("base64 text of length " + std::to_string(text.size()) +
                                   " is not a multiple of 4");
  }
  std::string out(text.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return Status::InvalidArgument("invalid base64");
  // EVP_DecodeBlock counts the bytes the padding stands for.
  size_t len = static_cast<size_t>(n);
  if (text.ends_with("==")) {
    len -= 2;
  } else if (text.ends_with("=")) {
    len -= 1;
  }
  out.resize(len);
  return out;
}

Result<std::optional<Credentials>> FindCredentialsInAuthFile(std::string_view json,
                                                             std::string_view source,
                                                             std::string_view host,
                                                             std::string_view repository) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument("auth file " + std::string(source) + " is not a JSON object");
  }
  auto auths = doc.find("auths");
  if (auths == doc.end() || !auths->is_object()) return std::optional<Credentials>();

  std::map<std::string, const nlohmann::json*> entries;
  for (auto it = auths->begin(); it != auths->end(); ++it) {
    entries.emplace(NormaliseAuthKey(it.key()), &it.value());
  }
  std::string wanted_host = NormaliseAuthKey(host);
  // Candidates, most specific first: host/a/b/c, host/a/b, host/a, host.
  std::vector<std::string> candidates;
  std::string path = repository.empty() ? wanted_host : wanted_host + "/" + std::string(repository);
  while (true) {
    candidates.push_back(path);
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) break;
    path.resize(slash);
  }
  for (const std::string& key : candidates) {
    auto it = entries.find(key);
    if (it == entries.end() || !it->second->is_object()) continue;
    auto auth = it->second->find("auth");
    if (auth == it->second->end() || !auth->is_string() || auth->get<std::string>().empty()) {
      continue;
    }
    auto decoded = Base64Decode(auth->get<std::string>());
    if (!decoded.ok()) {
      return Status::InvalidArgument("auth file " + std::string(source) + ", entry '" + key +
                                     "': " + decoded.status().message());
    }
    auto creds = ParseCredentials(*decoded);
    if (!creds.ok()) {
      return Status::InvalidArgument("auth file " + std::string(source) + ", entry '" + key +
                                     "': decoded auth is not USER:PASSWORD");
    }
    return std::optional<Credentials>(std::move(*creds));
  }
  return std::optional<Credentials>();
}

std::vector<std::string> DefaultAuthFiles() {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value ? std::string(value) : std::string();
  };
  std::vector<std::string> files;
  if (std::string f = env("REGISTRY_AUTH_FILE"); !f.empty()) files.push_back(f);
  if (std::string d = env("XDG_RUNTIME_DIR"); !d.empty()) {
    files.push_back(d + "/containers/auth.json");
  }
  std::string home = env("HOME");
  std::string config = env("XDG_CONFIG_HOME");
  if (config.empty() && !home.empty()) config = home + "/.config";
  if (!config.empty()) files.push_back(config + "/containers/auth.json");
  if (!home.empty()) files.push_back(home + "/.docker/config.json");
  return files;
}

Result<std::optional<Credentials>> LookupCredentials(io::FileSystem* fs,
                                                     const std::vector<std::string>& files,
                                                     std::string_view host,
                                                     std::string_view repository) {
  for (const std::string& file : files) {
    auto text = io::ReadSmallFile(fs, file, kMaxAuthFileSize);
    if (!text.ok()) {
      if (text.status().IsNotFound()) continue;
      return text.status();
    }
    SLUICE_ASSIGN_OR_RETURN(auto creds, FindCredentialsInAuthFile(*text, file, host, repository));
    if (creds) return creds;
  }
  return std::optional<Credentials>();
}

}  // namespace sluice::registry
