#include "reference/reference.h"

#include <algorithm>
#include <charconv>

namespace sluice {
namespace {

constexpr std::string_view kScheme = "docker://";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexOrColon(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

// ([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])
bool IsValidDomainComponent(std::string_view c) {
  if (c.empty() || !IsAlnum(c.front()) || !IsAlnum(c.back())) return false;
  return std::all_of(c.begin(), c.end(), [](char ch) { return IsAlnum(ch) || ch == '-'; });
}

bool IsValidPort(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  if (!std::all_of(port.begin(), port.end(), IsDigit)) return false;
  int value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return ec == std::errc() && end == port.data() + port.size() && value >= 1 && value <= 65535;
}

// Does the first path component name a registry rather than a docker.io
// namespace? The same rule as docker's splitDockerDomain.
bool LooksLikeHost(std::string_view component) {
  if (component == "localhost") return true;
  if (component.find_first_of(".:[") != std::string_view::npos) return true;
  return std::any_of(component.begin(), component.end(),
                     [](char c) { return c >= 'A' && c <= 'Z'; });
}

Status Bad(std::string_view text, std::string what) {
  return Status::InvalidArgument("reference '" + std::string(text) + "': " + std::move(what));
}

std::string_view StripScheme(std::string_view text) {
  if (text.starts_with(kScheme)) return text.substr(kScheme.size());
  return text;
}

Status CheckScheme(std::string_view text) {
  size_t sep = text.find("://");
  if (sep != std::string_view::npos && !text.starts_with(kScheme)) {
    return Bad(text, "transport '" + std::string(text.substr(0, sep)) +
                         "' is not a registry; write docker://HOST/REPO[:TAG]");
  }
  // "docker:5000/app" names a registry host called docker; any other
  // "docker:" without both slashes is a mistyped scheme.
  if (text.starts_with("docker:") && !text.starts_with(kScheme)) {
    std::string_view after = text.substr(std::string_view("docker:").size());
    size_t slash = after.find('/');
    if (slash == std::string_view::npos || !IsValidPort(after.substr(0, slash))) {
      return Bad(text, "registry references start with docker:// (two slashes)");
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsValidHost(std::string_view host) {
  std::string_view name = host;
  std::string_view port;
  if (host.starts_with('[')) {
    size_t close = host.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    std::string_view v6 = host.substr(1, close - 1);
    if (!std::all_of(v6.begin(), v6.end(), IsHexOrColon)) return false;
    std::string_view rest = host.substr(close + 1);
    if (rest.empty()) return true;
    return rest.front() == ':' && IsValidPort(rest.substr(1));
  }
  size_t colon = host.find(':');
  if (colon != std::string_view::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon + 1);
    if (!IsValidPort(port)) return false;
  }
  if (name.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    if (!IsValidDomainComponent(name.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool IsValidPathComponent(std::string_view c) {
  // alnum runs joined by exactly one separator: '.', '_', '__', or any run of '-'.
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t run = i;
    while (run < c.size() && !IsLowerAlnum(c[run])) ++run;
    std::string_view sep = c.substr(i, run - i);
    bool dashes = std::all_of(sep.begin(), sep.end(), [](char ch) { return ch == '-'; });
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = run;
  }
  return true;
}

Status ValidateRepository(std::string_view repository) {
  if (repository.empty()) return Status::InvalidArgument("repository name is empty");
  if (repository.size() > kMaxNameLength) {
    return Status::InvalidArgument("repository name is " + std::to_string(repository.size()) +
                                   " characters, more than " + std::to_string(kMaxNameLength));
  }
  size_t start = 0;
  while (true) {
    size_t slash = repository.find('/', start);
    std::string_view component = repository.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!IsValidPathComponent(component)) {
      std::string what = "repository component '" + std::string(component) + "' of '" +
                         std::string(repository) + "' ";
      if (component.empty()) {
        what += "is empty (doubled or trailing '/')";
      } else if (std::any_of(component.begin(), component.end(),
                             [](char c) { return c >= 'A' && c <= 'Z'; })) {
        what += "must be lowercase";
      } else {
        what += "must be lowercase letters and digits joined by '.', '_', '__' or dashes";
      }
      return Status::InvalidArgument(what);
    }
    if (slash == std::string_view::npos) return Status::Ok();
    start = slash + 1;
  }
}

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength) return false;
  auto word = [](char c) { return IsAlnum(c) || c == '_'; };
  if (!word(tag.front())) return false;
  return std::all_of(tag.begin(), tag.end(),
                     [&](char c) { return word(c) || c == '.' || c == '-'; });
}

std::string Reference::Endpoint() const {
  return host == kDockerHubDomain ? std::string(kDockerHubEndpoint) : host;
}

std::string Reference::ToString() const {
  std::string out = host;
  if (!repository.empty()) out += "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest.str();
  return out;
}

Result<Reference> ParseReference(std::string_view text) {
  SLUICE_RETURN_IF_ERROR(CheckScheme(text));
  std::string_view rest = StripScheme(text);
  if (rest.empty()) return Bad(text, "nothing after docker://");

  Reference ref;
  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    auto digest = format::Digest::Parse(rest.substr(at + 1));
    if (!digest.ok()) return Bad(text, digest.status().message());
    ref.digest = *digest;
    rest = rest.substr(0, at);
  }

  // The tag follows the last ':' that comes after the last '/'.
  std::string_view name = rest;
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  bool has_tag = colon != std::string_view::npos &&
                 (last_slash == std::string_view::npos || colon > last_slash);
  if (has_tag) name = rest.substr(0, colon);

  // No '/' and a host-like name: the reference is a whole registry, and the
  // "tag" was its port.
  if (last_slash == std::string_view::npos && LooksLikeHost(name)) {
    if (!ref.digest.empty()) return Bad(text, "a digest needs a repository");
    if (!IsValidHost(rest)) return Bad(text, "host '" + std::string(rest) + "' is not valid");
    ref.host = std::string(rest);
    return ref;
  }
  if (has_tag) {
    std::string_view tag = rest.substr(colon + 1);
    if (!IsValidTag(tag)) {
      return Bad(text, "tag '" + std::string(tag) +
                           "' must be 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'");
    }
    ref.tag = std::string(tag);
  }
  if (name.empty()) return Bad(text, "repository name is empty");

  size_t slash = name.find('/');
  std::string_view repository = name;
  if (slash != std::string_view::npos && LooksLikeHost(name.substr(0, slash))) {
    ref.host = std::string(name.substr(0, slash));
    repository = name.substr(slash + 1);
    if (!IsValidHost(ref.host)) return Bad(text, "host '" + ref.host + "' is not valid");
  } else {
    ref.host = std::string(kDockerHubDomain);
  }
  if (ref.host == "index.docker.io") ref.host = std::string(kDockerHubDomain);
  ref.repository = std::string(repository);
  if (ref.host == kDockerHubDomain && ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;
  }
  // The limit applies to the normalised name, as in distribution/reference:
  // "a/b" is "docker.io/a/b", and ToString() must parse again.
  size_t length = ref.host.size() + 1 + ref.repository.size();
  if (length > kMaxNameLength) {
    return Bad(text, "name " + ref.host + "/" + ref.repository + " is " + std::to_string(length) +
                         " characters, more than " + std::to_string(kMaxNameLength));
  }
  Status valid = ValidateRepository(ref.repository);
  if (!valid.ok()) return Bad(text, valid.message());
  return ref;
}

Result<Reference> ParseDestination(std::string_view text) {
  SLUICE_RETURN_IF_ERROR(CheckScheme(text));
  std::string_view rest = StripScheme(text);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty()) return Bad(text, "destination needs a host: docker://HOST[:PORT][/PREFIX]");
  if (rest.find('@') != std::string_view::npos) {
    return Bad(text, "a destination takes no digest: docker://HOST[:PORT][/PREFIX]");
  }
  Reference ref;
  size_t slash = rest.find('/');
  ref.host = std::string(rest.substr(0, slash));
  if (!IsValidHost(ref.host)) return Bad(text, "host '" + ref.host + "' is not valid");
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash + 1);
    if (prefix.find(':') != std::string_view::npos) {
      return Bad(text, "a destination takes no tag: each image keeps its own tags");
    }
    Status valid = ValidateRepository(prefix);
    if (!valid.ok()) return Bad(text, "prefix: " + valid.message());
    ref.repository = std::string(prefix);
  }
  return ref;
}

}  // namespace sluice
