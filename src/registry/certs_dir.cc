#include "registry/certs_dir.h"

#include <cstdlib>

#include "io/atomic_file.h"
#include "io/file.h"

namespace sluice::registry {

std::vector<std::string> DefaultCertsDirRoots() {
  std::vector<std::string> roots;
  if (const char* home = std::getenv("HOME"); home && *home) {
    roots.push_back(std::string(home) + "/.config/containers/certs.d");
  }
  roots.push_back("/etc/containers/certs.d");
  roots.push_back("/etc/docker/certs.d");
  return roots;
}

Result<CertsDir> FindCertsDir(io::FileSystem* fs, const std::string& host,
                              const std::string& explicit_dir,
                              const std::vector<std::string>& roots) {
  CertsDir out;
  if (!explicit_dir.empty()) {
    auto info = fs->Stat(explicit_dir);
    if (!info.ok() || !info->is_directory) {
      return Status::NotFound("certificate directory " + explicit_dir + " does not exist");
    }
    out.dir = explicit_dir;
  } else {
    for (const std::string& root : roots) {
      std::string dir = io::JoinPath(root, host);
      auto info = fs->Stat(dir);
      if (info.ok() && info->is_directory) {
        out.dir = dir;
        break;
      }
    }
    if (out.dir.empty()) return out;
  }

  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(out.dir));
  auto has = [&](const std::string& name) {
    for (const std::string& n : names) {
      if (n == name) return true;
    }
    return false;
  };
  for (const std::string& name : names) {
    std::string path = io::JoinPath(out.dir, name);
    if (name.ends_with(".crt")) {
      out.ca_files.push_back(path);
    } else if (name.ends_with(".cert")) {
      std::string key = name.substr(0, name.size() - 5) + ".key";
      if (!has(key)) {
        // As containers/image says it: a CA certificate named *.cert is a
        // common mistake.
        return Status::InvalidArgument("client certificate " + path + " has no key " +
                                       io::JoinPath(out.dir, key) +
                                       " (CA certificates must be named *.crt)");
      }
      if (!out.client_cert.empty()) {
        // containers/image offers all pairs and Go picks one by the CAs the
        // server names; libcurl presents exactly one.
        return Status::InvalidArgument("more than one client certificate in " + out.dir + " (" +
                                       out.client_cert.substr(out.dir.size() + 1) + ", " + name +
                                       "): sluice can present only one; keep one NAME.cert with "
                                       "its NAME.key");
      }
      out.client_cert = path;
      out.client_key = io::JoinPath(out.dir, key);
    } else if (name.ends_with(".key")) {
      std::string cert = name.substr(0, name.size() - 4) + ".cert";
      if (!has(cert)) {
        return Status::InvalidArgument("client key " + path + " has no certificate " +
                                       io::JoinPath(out.dir, cert));
      }
    }
  }
  return out;
}

}  // namespace sluice::registry
