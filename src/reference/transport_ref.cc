#include "reference/transport_ref.h"

#include "reference/reference.h"

namespace sluice {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsSeparator(char c) {
  return c == '-' || c == '.' || c == '_' || c == ':' || c == '@' || c == '+';
}

// component ::= alphanum (separator alphanum)*
bool IsValidComponent(std::string_view c) {
  if (c.empty() || !IsAlnum(c.front()) || !IsAlnum(c.back())) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    if (IsAlnum(c[i])) continue;
    if (!IsSeparator(c[i])) return false;
    // A separator must be followed by an alphanum, except "--".
    bool double_dash = c[i] == '-' && i + 1 < c.size() && c[i + 1] == '-';
    if (double_dash) ++i;
    if (i + 1 >= c.size() || !IsAlnum(c[i + 1])) return false;
  }
  return true;
}

// Fills ref's path and name from "PATH[:NAME]" (a path holds no colon):
// whether a colon, and so a name, was there.
bool SplitPathAndName(std::string_view rest, TransportRef* ref) {
  size_t colon = rest.find(':');
  ref->path = std::string(rest.substr(0, colon));
  if (colon == std::string_view::npos) return false;
  ref->name = std::string(rest.substr(colon + 1));
  return true;
}

// What a reference without a transport probably meant, as skopeo users
// and guides write them: "; did you mean docker://docker.io/x:1?" for a
// registry reference, the file transports for a path; "" when unclear.
std::string TransportHint(std::string_view text) {
  const std::string p(text);
  if (text.ends_with(".tgz")) {
    return "; did you mean helm:" + p + " (a packaged Helm chart) or file:" + p + "?";
  }
  if (text.ends_with(".tar.gz")) {
    return "; did you mean docker-archive:" + p + " (docker save), oci-archive:" + p +
           ", helm:" + p + " (a packaged Helm chart) or file:" + p + "?";
  }
  if (text.ends_with(".tar")) {
    return "; did you mean docker-archive:" + p + " (docker save) or oci-archive:" + p + "?";
  }
  if (text.starts_with("/") || text.starts_with("./") || text.starts_with("../")) {
    return "; did you mean oci:" + p + " (an OCI layout directory)?";
  }
  if (text.find("://") == std::string_view::npos && ParseReference(text).ok()) {
    return "; did you mean docker://" + p + "?";
  }
  return "";
}

}  // namespace

bool IsValidOciRefName(std::string_view name) {
  if (name.empty() || name.size() > 1024) return false;
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view component = name.substr(start, slash == std::string_view::npos
                                                        ? std::string_view::npos
                                                        : slash - start);
    if (!IsValidComponent(component)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

Result<TransportRef> ParseTransportRef(std::string_view text) {
  TransportRef ref;
  ref.text = std::string(text);
  if (text.starts_with("oci:")) {
    ref.transport = Transport::kOciLayout;
    bool named = SplitPathAndName(text.substr(4), &ref);
    if (ref.path.empty()) {
      return Status::InvalidArgument("'" + ref.text + "': oci: needs a directory (oci:DIR[:TAG])");
    }
    if (named && !IsValidOciRefName(ref.name)) {
      return Status::InvalidArgument("'" + ref.text + "': '" + ref.name +
                                     "' is not a valid OCI reference name");
    }
    return ref;
  }
  if (text.starts_with("docker://")) {
    ref.transport = Transport::kDocker;
    ref.name = std::string(text.substr(9));
    return ref;
  }
  if (text.starts_with("oci-archive:") || text.starts_with("docker-archive:")) {
    bool oci = text.starts_with("oci-archive:");
    ref.transport = oci ? Transport::kOciArchive : Transport::kDockerArchive;
    bool named = SplitPathAndName(text.substr(oci ? 12 : 15), &ref);
    if (ref.path.empty()) {
      return Status::InvalidArgument("'" + ref.text + "': " +
                                     (oci ? "oci-archive: needs a file (oci-archive:FILE[:TAG])"
                                          : "docker-archive: needs a file "
                                            "(docker-archive:FILE[:NAME:TAG|:@N])"));
    }
    if (!named) return ref;
    if (oci && !IsValidOciRefName(ref.name)) {
      return Status::InvalidArgument("'" + ref.text + "': '" + ref.name +
                                     "' is not a valid OCI reference name");
    }
    // containers/image: either a source index "@N" or a tagged name, never a digest.
    bool index = ref.name.size() > 1 && ref.name[0] == '@' &&
                 ref.name.find_first_not_of("0123456789", 1) == std::string::npos;
    if (!oci && !index && (ref.name.empty() || ref.name.find('@') != std::string::npos)) {
      return Status::InvalidArgument("'" + ref.text + "': after the file comes NAME[:TAG] or @N (" +
                                     "a source index), not '" + ref.name + "'");
    }
    return ref;
  }
  if (text.starts_with("registry-storage:")) {
    ref.transport = Transport::kRegistryStorage;
    bool named = SplitPathAndName(text.substr(17), &ref);
    if (ref.path.empty() || (named && ref.name.empty())) {
      return Status::InvalidArgument("'" + ref.text +
                                     "': registry-storage: needs a directory and, after a "
                                     "colon, an optional repository prefix "
                                     "(registry-storage:DIR[:PREFIX])");
    }
    return ref;  // the sink checks PREFIX against the registry grammar
  }
  if (text.starts_with("helm:")) {
    ref.transport = Transport::kHelmChart;
    ref.path = std::string(text.substr(5));
    if (ref.path.empty()) {
      return Status::InvalidArgument("'" + ref.text +
                                     "': helm: needs a packaged chart file (helm:FILE.tgz)");
    }
    return ref;
  }
  if (text.starts_with("file:")) {
    ref.transport = Transport::kFile;
    bool named = SplitPathAndName(text.substr(5), &ref);
    if (ref.path.empty() || (named && !IsValidTag(ref.name))) {
      return Status::InvalidArgument(
          "'" + ref.text + "': file: needs a file and, after a colon, an optional tag " +
          "([A-Za-z0-9_][A-Za-z0-9._-]*, at most 128 characters) (file:FILE[:TAG])");
    }
    return ref;
  }
  return Status::InvalidArgument("'" + ref.text + "' is not a reference sluice knows" +
                                 TransportHint(text) +
                                 " (expected oci:DIR[:TAG], docker://HOST/REPO[:TAG], "
                                 "oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG|:@N], "
                                 "helm:CHART.tgz, file:FILE[:TAG] or "
                                 "registry-storage:DIR[:PREFIX])");
}

}  // namespace sluice
