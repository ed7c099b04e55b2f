#include "e2e_support.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace sluice::e2e {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void Fail(const std::string& what) { throw std::runtime_error(what); }

std::string MakeTempDir(const char* prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + ".XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) Fail("mkdtemp " + pattern + ": " + std::strerror(errno));
  return buffer.data();
}

bool KeepTempDirs() { return std::getenv("SLUICE_E2E_KEEP") != nullptr; }

std::string Quote(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) {
    if (!s.empty()) s += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$<>|&;*?") == std::string::npos;
    s += plain ? a : "'" + a + "'";
  }
  return s;
}

// Owns the process-wide directory that holds the sample layout.
struct Samples {
  std::string root;
  std::string layout;
  ~Samples() {
    if (!root.empty() && !KeepTempDirs()) {
      std::error_code ignored;
      fs::remove_all(root, ignored);
    }
  }
};

}  // namespace

std::string RunResult::Describe() const {
  std::ostringstream s;
  s << "$ " << command << "\nexit code " << exit_code << "\n--- stdout ---\n"
    << out << "--- stderr ---\n"
    << err << "--------------";
  return s.str();
}

std::string RunResult::ErrorLine() const {
  std::string found;
  int count = 0;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("sluice: error: ", 0) == 0) {
      found = line;
      ++count;
    }
  }
  return count == 1 ? found : "";
}

RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_path) {
  RunResult result;
  result.command = Quote(argv);
  if (!stdin_path.empty()) result.command += " < " + stdin_path;

  // Output goes to files, not pipes: no deadlock however much a child writes.
  TempDir capture;
  const std::string out_path = capture / "stdout";
  const std::string err_path = capture / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0,
                                   stdin_path.empty() ? "/dev/null" : stdin_path.c_str(),
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) Fail("cannot start " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) Fail("waitpid " + argv[0] + ": " + std::strerror(errno));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

RunResult Sluice(const std::vector<std::string>& args, const std::string& stdin_path) {
  std::vector<std::string> argv = {SLUICE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, stdin_path);
}

TempDir::TempDir() : path_(MakeTempDir("sluice-e2e")) {}

TempDir::~TempDir() {
  if (KeepTempDirs()) return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

const std::string& SampleLayout() {
  // Made once per process; a failure is reported to every test that asks.
  static Samples samples;
  if (samples.layout.empty()) {
    std::string root = MakeTempDir("sluice-e2e-samples");
    samples.root = root;
    RunResult r = Run({std::string(SLUICE_TOOLS_DIR) + "/make-sample-images", root + "/samples"});
    if (r.exit_code != 0) Fail("making the sample images failed:\n" + r.Describe());
    samples.layout = root + "/samples";
  }
  return samples.layout;
}

KeyPair MakeKeys(const TempDir& dir, const std::string& name) {
  KeyPair keys{dir / (name + ".key"), dir / (name + ".pub")};
  RunResult r = Sluice({"keygen", "--private", keys.private_key, "--public", keys.public_key});
  if (r.exit_code != 0) Fail("keygen failed:\n" + r.Describe());
  return keys;
}

Workspace::Workspace() : keys(MakeKeys(dir, "signer")), ledger(dir / "ledger") {}

RunResult Workspace::Export(const std::vector<std::string>& sources, const std::string& bundle,
                            const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"export"};
  args.insert(args.end(), sources.begin(), sources.end());
  args.insert(args.end(), {"--ledger", ledger, "--sign-key", keys.private_key, "-o", bundle});
  args.insert(args.end(), extra.begin(), extra.end());
  return Sluice(args);
}

RunResult Workspace::Verify(const std::string& bundle) {
  return Sluice({"verify", bundle, "--trust", keys.public_key});
}

RunResult Workspace::Import(const std::string& bundle, const std::string& layout) {
  return Sluice({"import", bundle, "--trust", keys.public_key, "--to", "oci:" + layout});
}

nlohmann::json InspectJson(const std::string& bundle) {
  RunResult r = Sluice({"inspect", bundle, "--json"});
  if (r.exit_code != 0) Fail("inspect failed:\n" + r.Describe());
  return ParseJson(r.out);
}

std::string RefName(const nlohmann::json& ref) {
  std::string repository = ref.value("repository", "");
  std::string tag = ref.value("tag", "");
  return repository.empty() ? tag : repository + ":" + tag;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) Fail("cannot write " + path);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

void CopyTree(const std::string& from, const std::string& to) {
  fs::copy(from, to, fs::copy_options::recursive);
}

std::vector<std::string> ListTree(const std::string& dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    paths.push_back(fs::relative(entry.path(), dir).string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::string Sha256Digest(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    Fail("EVP_Digest failed");
  }
  static const char kHex[] = "0123456789abcdef";
  std::string digest = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    digest += kHex[md[i] >> 4];
    digest += kHex[md[i] & 15];
  }
  return digest;
}

nlohmann::json ParseJson(const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) Fail("not JSON:\n" + text);
  return doc;
}

std::string TaggedDigest(const std::string& layout, const std::string& tag) {
  if (!Exists(layout + "/index.json")) return "";
  nlohmann::json index = ParseJson(ReadFile(layout + "/index.json"));
  for (const auto& d : index.value("manifests", nlohmann::json::array())) {
    auto annotations = d.value("annotations", nlohmann::json::object());
    if (annotations.value("org.opencontainers.image.ref.name", "") == tag) {
      return d.value("digest", "");
    }
  }
  return "";
}

std::string BlobPath(const std::string& layout, const std::string& digest) {
  if (digest.rfind("sha256:", 0) != 0) Fail("not a sha256 digest: " + digest);
  return layout + "/blobs/sha256/" + digest.substr(7);
}

std::set<std::string> ImageBlobs(const std::string& layout, const std::string& manifest_digest) {
  nlohmann::json manifest = ParseJson(ReadFile(BlobPath(layout, manifest_digest)));
  std::set<std::string> blobs = {manifest.at("config").at("digest").get<std::string>()};
  for (const auto& layer : manifest.at("layers")) blobs.insert(layer.at("digest").get<std::string>());
  return blobs;
}

std::string SkopeoManifestDigest(const std::string& layout, const std::string& tag) {
  RunResult r = Run({"skopeo", "--insecure-policy", "inspect", "--raw", "oci:" + layout + ":" + tag});
  if (r.exit_code != 0) return "skopeo failed: " + r.Describe();
  return Sha256Digest(r.out);
}

}  // namespace sluice::e2e
