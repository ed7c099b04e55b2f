#include "registry/auth.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "io/atomic_file.h"
#include "io/file.h"
#include "io/json_fields.h"

namespace sluice::registry {
namespace {

constexpr uint64_t kMaxAuthFileSize = 4 << 20;
constexpr size_t kMaxHelperOutput = 1 << 20;
constexpr std::string_view kHelperNotFound = "credentials not found in native keychain";

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

Result<io::JsonDocument> ParseAuthFile(std::string_view json, std::string_view source) {
  SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc,
                          io::ParseJson(json, "auth file " + std::string(source)));
  SLUICE_RETURN_IF_ERROR(doc.root().ExpectObject());
  return doc;
}

// Whether `path` is docker's legacy ~/.dockercfg, whose root object is the
// "auths" map of the newer files (docker, too, knows it by its name).
bool IsLegacyAuthFile(std::string_view path) {
  return path == ".dockercfg" || path.ends_with("/.dockercfg");
}

Result<std::optional<Credentials>> FindInline(const io::JsonDocument& doc, std::string_view source,
                                              std::string_view host, std::string_view repository) {
  std::optional<io::JsonField> auths;
  if (IsLegacyAuthFile(source)) {
    auths = doc.root();
  } else {
    SLUICE_ASSIGN_OR_RETURN(auths, doc.root().OptionalObject("auths"));
  }
  if (!auths) return std::optional<Credentials>();

  SLUICE_ASSIGN_OR_RETURN(auto members, auths->Members());
  std::map<std::string, io::JsonField> entries;
  for (auto& [key, entry] : members) {
    SLUICE_RETURN_IF_ERROR(entry.ExpectObject());
    entries.emplace(NormaliseAuthKey(key), entry);
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
    if (it == entries.end()) continue;
    SLUICE_ASSIGN_OR_RETURN(std::string auth, it->second.StringOr("auth", ""));
    if (auth.empty()) continue;
    auto decoded = Base64Decode(auth);
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

// The helper an auth file names for `host`, and the server to ask it for.
struct HelperChoice {
  std::string name;
  std::string server;
  std::string field;  // "credHelpers" or "credsStore", for messages
};

Result<std::optional<HelperChoice>> CredHelperFor(const io::JsonDocument& doc,
                                                  std::string_view host) {
  SLUICE_ASSIGN_OR_RETURN(std::optional<io::JsonField> helpers,
                          doc.root().OptionalObject("credHelpers"));
  if (!helpers) return std::optional<HelperChoice>();
  std::string wanted = NormaliseAuthKey(host);
  SLUICE_ASSIGN_OR_RETURN(auto members, helpers->Members());
  for (const auto& [server, helper] : members) {
    SLUICE_ASSIGN_OR_RETURN(std::string name, helper.AsString());
    if (NormaliseAuthKey(server) != wanted || name.empty()) continue;
    return std::optional<HelperChoice>(HelperChoice{std::move(name), server, "credHelpers"});
  }
  return std::optional<HelperChoice>();
}

Result<std::optional<HelperChoice>> CredsStoreFor(const io::JsonDocument& doc,
                                                  std::string_view host) {
  SLUICE_ASSIGN_OR_RETURN(std::string store, doc.root().StringOr("credsStore", ""));
  if (store.empty()) return std::optional<HelperChoice>();
  std::string server(host);
  // docker login keeps Docker Hub credentials under its legacy index URL.
  if (NormaliseAuthKey(host) == "docker.io") server = "https://index.docker.io/v1/";
  return std::optional<HelperChoice>(HelperChoice{std::move(store), server, "credsStore"});
}

// Closes the file descriptors it holds.
class Fds {
 public:
  ~Fds() {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  int& operator[](size_t i) { return fds_[i]; }
  void Close(size_t i) {
    if (fds_[i] >= 0) close(fds_[i]);
    fds_[i] = -1;
  }

 private:
  int fds_[6] = {-1, -1, -1, -1, -1, -1};
};

struct ProgramRun {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

using Deadline = std::chrono::steady_clock::time_point;

// How RunProgram reports a failure: kAuth prefixed with `what`.
Status RunFailure(const std::string& what, const std::string& why) {
  return Status::Auth(what + ": " + why);
}

// Creates the pipes for the program's stdin (fds 0,1), stdout (2,3) and
// stderr (4,5), writes `input` into stdin's and closes our end of it.
Status MakePipes(std::string_view input, Fds& fds, const std::string& what) {
  // O_CLOEXEC so that programs other threads start do not inherit them;
  // posix_spawn's dup2 clears it.
  for (size_t i = 0; i < 6; i += 2) {
    int pair[2];
    if (pipe2(pair, O_CLOEXEC) != 0) {
      return RunFailure(what, std::string("pipe: ") + std::strerror(errno));
    }
    fds[i] = pair[0];
    fds[i + 1] = pair[1];
  }
  // The input fits in the pipe's buffer: written before the program starts,
  // it can never block, nor raise SIGPIPE when the program ignores stdin.
  if (!input.empty() &&
      write(fds[1], input.data(), input.size()) != static_cast<ssize_t>(input.size())) {
    return RunFailure(what, std::string("writing its input: ") + std::strerror(errno));
  }
  fds.Close(1);
  return Status::Ok();
}

// No signal blocked, SIGPIPE at its default action, and a process group of
// its own (so that a kill reaches whatever the program starts).
void InitSpawnAttributes(posix_spawnattr_t* attr) {
  posix_spawnattr_init(attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  posix_spawnattr_setsigmask(attr, &none);
  posix_spawnattr_setsigdefault(attr, &pipe_signal);
  posix_spawnattr_setpgroup(attr, 0);
  posix_spawnattr_setflags(attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

// Starts `program` (looked up on PATH) on the pipes MakePipes made, then
// closes the program's ends of them here.
Result<pid_t> SpawnOnPipes(const std::string& program, const std::vector<std::string>& args,
                           Fds& fds, const std::string& what) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_adddup2(&actions, fds[3], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[5], 2);
  posix_spawnattr_t attr;
  InitSpawnAttributes(&attr);
  std::vector<std::string> argv_storage = {program};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, program.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc == ENOENT) return RunFailure(what, program + " is not on PATH");
  if (rc != 0) return RunFailure(what, "cannot run " + program + ": " + std::strerror(rc));
  fds.Close(0);
  fds.Close(3);
  fds.Close(5);
  return pid;
}

// Kills the program's whole process group and reaps the program.
void KillGroup(pid_t pid) {
  kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// Reads the program's stdout and stderr into *run until both are closed.
// Fails (leaving the program running) at the deadline or when either
// output exceeds kMaxHelperOutput.
Status CollectOutput(Fds& fds, Deadline deadline, int timeout_ms, ProgramRun* run,
                     const std::string& what) {
  std::string problem;
  while (problem.empty() && (fds[2] >= 0 || fds[4] >= 0)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      problem = "timed out after " + std::to_string(timeout_ms) + " ms";
      break;
    }
    pollfd polls[2] = {{fds[2], POLLIN, 0}, {fds[4], POLLIN, 0}};
    int n = poll(polls, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0 && errno != EINTR) {
      problem = std::string("poll: ") + std::strerror(errno);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (polls[i].fd < 0 || polls[i].revents == 0) continue;
      std::string& sink = i == 0 ? run->out : run->err;
      char buf[16384];
      ssize_t got = read(polls[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        fds.Close(i == 0 ? 2 : 4);
        continue;
      }
      sink.append(buf, static_cast<size_t>(got));
      if (sink.size() > kMaxHelperOutput) {
        problem = "wrote more than " + std::to_string(kMaxHelperOutput) + " bytes";
      }
    }
  }
  if (!problem.empty()) return RunFailure(what, problem);
  return Status::Ok();
}

// Waits for the program, whose outputs are closed, to exit, and returns its
// exit code (-1: killed by a signal). Killed at the deadline.
Result<int> WaitForExit(pid_t pid, Deadline deadline, int timeout_ms, const std::string& what) {
  while (true) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (done < 0 && errno != EINTR) {
      return RunFailure(what, std::string("waitpid: ") + std::strerror(errno));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      KillGroup(pid);
      return RunFailure(what, "timed out after " + std::to_string(timeout_ms) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Runs `program` (looked up on PATH) with `args`, `input` on its stdin, in a
// process group of its own. Killed (the whole group) when it outlives
// `timeout_ms` or writes more than kMaxHelperOutput to stdout or stderr.
// Errors are kAuth prefixed with `what`.
Result<ProgramRun> RunProgram(const std::string& program, const std::vector<std::string>& args,
                              std::string_view input, int timeout_ms, const std::string& what) {
  if (input.size() > 4096) return RunFailure(what, "input too long");
  Fds fds;
  SLUICE_RETURN_IF_ERROR(MakePipes(input, fds, what));
  SLUICE_ASSIGN_OR_RETURN(pid_t pid, SpawnOnPipes(program, args, fds, what));

  ProgramRun run;
  const Deadline deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Status collected = CollectOutput(fds, deadline, timeout_ms, &run, what);
  if (!collected.ok()) {
    KillGroup(pid);
    return collected;
  }
  SLUICE_ASSIGN_OR_RETURN(run.exit_code, WaitForExit(pid, deadline, timeout_ms, what));
  return run;
}

std::string FirstLine(std::string_view text) {
  while (!text.empty() && (text.front() == '\n' || text.front() == '\r' || text.front() == ' ')) {
    text.remove_prefix(1);
  }
  text = text.substr(0, text.find('\n'));
  if (text.ends_with('\r')) text.remove_suffix(1);
  if (text.size() > 300) text = text.substr(0, 300);
  return std::string(text);
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

Result<std::optional<Credentials>> FindCredentialsInAuthFile(std::string_view json,
                                                             std::string_view source,
                                                             std::string_view host,
                                                             std::string_view repository) {
  SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc, ParseAuthFile(json, source));
  return FindInline(doc, source, host, repository);
}

std::vector<std::string> DefaultAuthFiles() {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value ? std::string(value) : std::string();
  };
  // skopeo takes $REGISTRY_AUTH_FILE as its --authfile, and a file the user
  // names is the only one containers/image searches.
  if (std::string f = env("REGISTRY_AUTH_FILE"); !f.empty()) return {f};
  std::vector<std::string> files;
  if (std::string d = env("XDG_RUNTIME_DIR"); !d.empty()) {
    files.push_back(d + "/containers/auth.json");
  } else {
    files.push_back("/run/containers/" + std::to_string(getuid()) + "/auth.json");
  }
  std::string home = env("HOME");
  std::string config = env("XDG_CONFIG_HOME");
  if (config.empty() && !home.empty()) config = home + "/.config";
  if (!config.empty()) files.push_back(config + "/containers/auth.json");
  if (std::string d = env("DOCKER_CONFIG"); !d.empty()) {
    files.push_back(d + "/config.json");
  } else if (!home.empty()) {
    files.push_back(home + "/.docker/config.json");
  }
  if (!home.empty()) files.push_back(home + "/.dockercfg");
  return files;
}

Result<std::optional<Credentials>> RunCredentialHelper(std::string_view name,
                                                       std::string_view server, int timeout_ms) {
  std::string program = "docker-credential-" + std::string(name);
  std::string what = "credential helper " + program + " for " + std::string(server);
  if (name.empty() || name.find('/') != std::string_view::npos) {
    return Status::InvalidArgument(
        "credential helper name '" + std::string(name) +
        "' must be a plain name found on PATH as docker-credential-NAME");
  }
  SLUICE_ASSIGN_OR_RETURN(ProgramRun run, RunProgram(program, {"get"}, server, timeout_ms, what));
  if (run.exit_code != 0) {
    // The docker-credential-helpers print their errors on stdout.
    if (run.out.find(kHelperNotFound) != std::string::npos ||
        run.err.find(kHelperNotFound) != std::string::npos) {
      return std::optional<Credentials>();
    }
    std::string line = FirstLine(run.err);
    if (line.empty()) line = FirstLine(run.out);
    return Status::Auth(what + " failed (" +
                        (run.exit_code < 0 ? std::string("killed by a signal")
                                           : "exit " + std::to_string(run.exit_code)) +
                        ")" + (line.empty() ? std::string() : ": " + line));
  }
  auto fields = [&]() -> Result<Credentials> {
    SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc, io::ParseJson(run.out, "its output"));
    SLUICE_ASSIGN_OR_RETURN(std::string username, doc.root().String("Username"));
    SLUICE_ASSIGN_OR_RETURN(std::string secret, doc.root().String("Secret"));
    return Credentials{std::move(username), std::move(secret)};
  };
  auto parsed = fields();
  if (!parsed.ok()) {
    return Status::Auth(what + " did not write {\"Username\":...,\"Secret\":...} JSON (" +
                        parsed.status().message() + "; got '" + FirstLine(run.out) + "')");
  }
  if (parsed->username == "<token>") {
    return Status::Unsupported(what +
                               " returned an identity token; identity tokens are not "
                               "supported: store a user name and password (or pass "
                               "--src-creds or --dest-creds USER[:PASSWORD])");
  }
  if (parsed->username.empty()) {
    return Status::Auth(what + " returned an empty Username");
  }
  return std::optional<Credentials>(std::move(parsed).value());
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
    SLUICE_ASSIGN_OR_RETURN(io::JsonDocument doc, ParseAuthFile(*text, file));
    const bool legacy = IsLegacyAuthFile(file);  // entries only: no helpers
    std::optional<HelperChoice> helper;
    if (!legacy) {
      SLUICE_ASSIGN_OR_RETURN(helper, CredHelperFor(doc, host));
    }
    if (!helper) {
      SLUICE_ASSIGN_OR_RETURN(auto creds, FindInline(doc, file, host, repository));
      if (creds) return creds;
      if (!legacy) {
        SLUICE_ASSIGN_OR_RETURN(helper, CredsStoreFor(doc, host));
      }
    }
    if (helper) {
      auto creds = RunCredentialHelper(helper->name, helper->server);
      if (!creds.ok()) return creds.status().WithContext(helper->field + " in " + file);
      if (*creds) return creds;
    }
  }
  return std::optional<Credentials>();
}

}  // namespace sluice::registry
