#include "cli/cli_util.h"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "format/bundle_format.h"
#include "io/atomic_file.h"
#include "io/range_reader.h"
#include "reference/ref_name.h"
#include "parity_files.h"
#include "signing.h"
#include "volume_set.h"

namespace po = boost::program_options;

namespace sluice::cli {

std::optional<int> ParseCommandLine(const char* command, const char* usage, const Args& args,
                                    po::options_description& options,
                                    const po::positional_options_description& positional,
                                    po::variables_map* vm) {
  options.add_options()("help,h", "show this help");
  // The README promises -q to every command: scripts pass it to all of them.
  if (options.find_nothrow("quiet", false) == nullptr) {
    options.add_options()("quiet,q", "no progress on stderr (this command shows none)");
  }
  std::string problem;
  try {
    // No abbreviated long options: --insecure-skip-signature, like every
    // option, must be spelled out in full.
    const int style = po::command_line_style::default_style &
                      ~po::command_line_style::allow_guessing;
    po::store(
        po::command_line_parser(args).options(options).positional(positional).style(style).run(),
        *vm);
    if (vm->count("help")) {
      std::cout << "usage: sluice " << command << " " << usage << "\n\n" << options << "\n";
      return kExitOk;
    }
    po::notify(*vm);
  } catch (const po::unknown_option& e) {
    // Only the option's name: what follows '=' in a misspelt
    // --src-creds=USER:PASSWORD is a password, never printed.
    std::string name = e.get_option_name();
    problem = "unrecognised option '" + name.substr(0, name.find('=')) + "'";
  } catch (const po::error& e) {
    problem = e.what();
  }
  if (!problem.empty()) {
    std::cerr << "sluice " << command << ": " << Printable(problem) << "\n"
              << "usage: sluice " << command << " " << usage << "\n"
              << "Try 'sluice " << command << " --help'.\n";
    return kExitUsage;
  }
  return std::nullopt;
}

int ExitCodeFor(const Status& status) {
  switch (status.kind()) {
    case ErrorKind::kOk:
      return kExitOk;
    case ErrorKind::kCorruption:
    case ErrorKind::kUntrusted:
      return kExitBadData;
    case ErrorKind::kInvalidArgument:
      return kExitUsage;
    case ErrorKind::kNetwork:
    case ErrorKind::kAuth:
      return kExitRemote;
    default:
      return kExitFailed;
  }
}

int ReportError(const Status& status) {
  // One line whatever the message holds: names from bundles, registries'
  // answers and paths reach messages, and none may forge a line of its own.
  std::cerr << "sluice: error: " << Printable(status.ToString()) << "\n";
  return ExitCodeFor(status);
}

std::string Printable(std::string_view text) {
  // QuoteName cuts a name after its first 100 bytes and quotes it; pieces
  // shorter than that come back whole, between the quotes dropped here.
  constexpr size_t kPiece = 64;
  std::string out;
  out.reserve(text.size());
  for (size_t at = 0; at < text.size(); at += kPiece) {
    std::string quoted = QuoteName(text.substr(at, kPiece));
    out.append(quoted, 1, quoted.size() - 2);
  }
  return out;
}

void AddInsecureKeyOption(po::options_description& options, bool* allow) {
  options.add_options()("allow-insecure-key-permissions", po::bool_switch(allow),
                        "use a private key file that group or others may read (refused "
                        "otherwise, as ssh refuses it)");
}

Status CheckSigningKeyFile(const std::string& path, bool allow_insecure_permissions) {
  Status s = CheckPrivateKeyPermissions(io::DefaultFileSystem(), path);
  if (s.ok() || s.kind() != ErrorKind::kInvalidArgument) return s;
  if (!allow_insecure_permissions) {
    return Status::InvalidArgument(
        s.message() + " (or pass --allow-insecure-key-permissions to use it as it is)");
  }
  std::cerr << "sluice: WARNING: --allow-insecure-key-permissions: " << Printable(s.message())
            << "\n";
  return Status::Ok();
}

namespace {

// Whether `file` starts with the bundle magic (format/SPEC.md section 3).
bool StartsAsBundle(const io::PositionalReader& file) {
  uint8_t magic[format::kHeaderMagic.size()];
  auto n = file.ReadAt(0, io::MutableBytes(magic, sizeof magic));
  return n.ok() && *n == sizeof magic && std::memcmp(magic, format::kHeaderMagic.data(), sizeof magic) == 0;
}

}  // namespace

bool BundleIsStdin(const std::string& path) {
  return path == "-" || path == "/dev/stdin" || path == "/dev/fd/0" || path == "/proc/self/fd/0";
}

Result<BundleInput> OpenBundleInput(const std::string& path, bool through_parity) {
  BundleInput input;
  io::FileSystem* fs = io::DefaultFileSystem();
  if (path != "-" && through_parity) {
    std::string note;
    SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<ParityContext> parity,
                            ReadThroughParity(fs, path, &note));
    if (parity) {
      std::cerr << "sluice: " << Printable(note) << "\n";
      input.parity = parity;
      if (parity->repaired.size() == 1) {
        input.file = std::move(parity->repaired.front());
        input.stream = io::NewRangeReader(input.file.get(), 0, input.file->Size());
        return input;
      }
      std::vector<std::unique_ptr<io::SequentialReader>> parts;
      for (auto& [n, volume_path] : parity->volume_paths) input.volume_paths.push_back(volume_path);
      for (auto& file : parity->repaired) {
        parts.push_back(io::NewRangeReader(file.get(), 0, file->Size()));
        input.volume_files.push_back(std::move(file));
      }
      input.stream = io::NewConcatenatedReader(std::move(parts));
      return input;
    }
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<VolumeFile> set, FindVolumeSet(fs, path));
  if (set.size() > 1) {
    std::vector<std::unique_ptr<io::SequentialReader>> parts;
    for (const VolumeFile& v : set) {
      SLUICE_ASSIGN_OR_RETURN(auto file, fs->NewPositionalReader(v.path));
      parts.push_back(io::NewRangeReader(file.get(), 0, file->Size()));
      input.volume_files.push_back(std::move(file));
      input.volume_paths.push_back(v.path);
    }
    input.stream = io::NewConcatenatedReader(std::move(parts));
    return input;
  }
  const std::string single = set.size() == 1 ? set.front().path : path;
  auto kind = path == "-" ? Result<io::PathKind>(io::PathKind::kMissing) : io::KindOfPath(fs, single);
  std::unique_ptr<io::SequentialReader> raw;
  if (kind.ok() && *kind == io::PathKind::kRegular) {
    SLUICE_ASSIGN_OR_RETURN(input.file, fs->NewPositionalReader(single));
    if (StartsAsBundle(*input.file)) {
      input.stream = io::NewRangeReader(input.file.get(), 0, input.file->Size());
      return input;
    }
    // Not a bundle's first bytes: perhaps a parity stream saved to a file.
    raw = io::NewRangeReader(input.file.get(), 0, input.file->Size());
  } else if (path == "-") {
    raw = io::StdinReader();
  } else {
    SLUICE_ASSIGN_OR_RETURN(raw, fs->NewSequentialReader(single));
  }
  auto report = std::make_shared<format::ParityStreamReport>();
  bool unwrapped = false;
  SLUICE_ASSIGN_OR_RETURN(input.stream,
                          format::MaybeUnwrapParityStream(std::move(raw), report.get(), &unwrapped));
  if (unwrapped) {
    input.stream_parity = std::move(report);
    // Read through the stream only: its packets are not at the bundle's
    // offsets.
    input.stream_file = std::move(input.file);
  }
  return input;
}

void NoteStreamParity(const BundleInput& input) {
  if (!input.stream_parity) return;
  const format::ParityStreamReport& r = *input.stream_parity;
  if (r.packets_lost == 0 && r.bytes_skipped == 0 && r.stripes_rebuilt == 0) return;
  std::cerr << "sluice: parity stream: " << Printable(r.Summary()) << "\n";
}

Result<format::TrustPolicy> LoadTrust(const std::vector<std::string>& trust_paths,
                                      bool insecure_skip_signature) {
  format::TrustPolicy trust;
  if (insecure_skip_signature) {
    std::cerr << "sluice: WARNING: --insecure-skip-signature: the bundle's signature is NOT "
                 "checked; anyone could have made it\n";
    trust.skip_signature = true;
    return trust;
  }
  SLUICE_ASSIGN_OR_RETURN(trust.keys, LoadTrustedKeys(io::DefaultFileSystem(), trust_paths));
  return trust;
}

void AddParallelBlobsOption(po::options_description& options, int* value, const char* help) {
  options.add_options()("parallel-blobs", po::value(value)->default_value(*value), help);
}

std::optional<int> CheckParallelBlobs(const char* command, int value) {
  if (value >= 1 && value <= kMaxBlobsInFlight) return std::nullopt;
  std::cerr << "sluice " << command << ": --parallel-blobs must be between 1 and "
            << kMaxBlobsInFlight << ", not " << value << "\n";
  return kExitUsage;
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return buf;
}

Progress::Progress(const char* verb, bool enabled)
    : verb_(verb), enabled_(enabled), terminal_(isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { Finish(); }

void Progress::Finish() {
  if (drawn_ && terminal_) std::fputc('\n', stderr);
  drawn_ = false;
}

void Progress::Update(uint64_t done, uint64_t total, uint64_t bytes_done, uint64_t bytes_total) {
  if (!enabled_) return;
  // On a terminal, one line redrawn; in a log, a line per blob.
  std::fprintf(stderr, "%s%s blob %llu/%llu, %s of %s%s", terminal_ ? "\r" : "", verb_,
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
               HumanBytes(bytes_done).c_str(), HumanBytes(bytes_total).c_str(),
               terminal_ ? "   " : "\n");
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace sluice::cli
