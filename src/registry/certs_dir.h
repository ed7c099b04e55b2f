// Per-registry TLS files, found the way containers/image and docker find them:
// a directory named after the registry's HOST[:PORT] under a certs.d root
// (~/.config/containers/certs.d, /etc/containers/certs.d, /etc/docker/certs.d;
// the first that exists wins), or an explicit directory (--src-cert-dir).
// In it, *.crt files are extra CA certificates, and NAME.cert with NAME.key a
// client certificate and its key.
#pragma once

#include <string>
#include <vector>

#include "io/status.h"

namespace sluice::io {
class FileSystem;
}

namespace sluice::registry {

struct CertsDir {
  std::string dir;                    // the directory used; empty: none found
  std::vector<std::string> ca_files;  // paths of *.crt, sorted
  std::string client_cert;            // path of NAME.cert, or empty
  std::string client_key;             // path of NAME.key, or empty
};

// The certs.d roots searched when no explicit directory is given.
std::vector<std::string> DefaultCertsDirRoots();

// Lists the TLS files for `host` ("127.0.0.1:5443"). With `explicit_dir`
// non-empty only that directory is used and it must exist (kNotFound naming
// it). A NAME.cert without NAME.key, or the reverse, is kInvalidArgument
// naming the file, as containers/image refuses them; so are two client
// pairs (containers offers all and lets the handshake choose; libcurl can
// present one). No root directory existing is not an error.
Result<CertsDir> FindCertsDir(io::FileSystem* fs, const std::string& host,
                              const std::string& explicit_dir,
                              const std::vector<std::string>& roots);

}  // namespace sluice::registry
