#include "e2e_support.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace sluice::e2e {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void Fail(const std::string& what) { throw std::runtime_error(what); }

// Owns the process-wide directory that holds the sample layout.
struct Samples {
  std::string root;
  std::string layout;
  ~Samples() {
    if (!root.empty() && !testing::KeepTempDirs()) {
      std::error_code ignored;
      fs::remove_all(root, ignored);
    }
  }
};

}  // namespace

RunResult Sluice(const std::vector<std::string>& args, const std::string& stdin_path) {
  std::vector<std::string> argv = {SLUICE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, stdin_path);
}

const std::string& SampleLayout() {
  // Made once per process; a failure is reported to every test that asks.
  static Samples samples;
  if (samples.layout.empty()) {
    std::string root = testing::MakeTempDir("sluice-e2e-samples");
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

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void Require(const RunResult& r, int exit_code) {
  INFO(r.Describe());
  REQUIRE(r.exit_code == exit_code);
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
