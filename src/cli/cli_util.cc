#include "cli/cli_util.h"
#include "cli/json_output.h"

#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli/help_text.h"
#include "format/bundle_format.h"
#include "io/atomic_file.h"
#include "io/range_reader.h"
#include "reference/ref_name.h"
#include "parity_files.h"
#include "signing.h"
#include "volume_set.h"

namespace po = boost::program_options;

namespace sluice::cli {
namespace {

// Set while DescribeCommand runs a command (on this thread only).
thread_local CommandSpec* describing = nullptr;

CommandSpec::Option SpecOf(const po::option_description& option) {
  CommandSpec::Option spec;
  for (auto [names, count] = option.long_names(); count > 0; ++names, --count) {
    spec.names.push_back("--" + *names);
  }
  // "o" of "output,o", as boost keeps it: "-o".
  const std::string shown =
      option.canonical_display_name(po::command_line_style::allow_dash_for_short);
  if (shown.size() == 2 && shown[0] == '-' && shown[1] != '-') spec.names.push_back(shown);
  const auto semantic = option.semantic();
  // An implicit value (--dest-tls-verify[=BOOL]) is given with '=' only.
  spec.takes_value = semantic->min_tokens() > 0;
  // A value named by its choices ("sent|delivered") completes to them.
  // Its name as help shows it, without the default ("sent|delivered (=sent)").
  const std::string shown_value = semantic->name();
  const std::string value_name = shown_value.substr(0, shown_value.find(' '));
  if (spec.takes_value && value_name.find('|') != std::string::npos &&
      value_name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-|") ==
          std::string::npos) {
    for (size_t at = 0; at <= value_name.size();) {
      const size_t end = std::min(value_name.find('|', at), value_name.size());
      if (end > at) spec.values.push_back(value_name.substr(at, end - at));
      at = end + 1;
    }
  }
  return spec;
}

}  // namespace

bool DescribeCommand(int (*run)(const Args&), const Args& args, CommandSpec* spec) {
  spec->options.clear();
  spec->described = false;
  describing = spec;
  run(args);
  describing = nullptr;
  return spec->described;
}

std::optional<int> ParseCommandLine(const char* command, const char* usage, const Args& args,
                                    po::options_description& options,
                                    const po::positional_options_description& positional,
                                    po::variables_map* vm) {
  options.add_options()("help,h", "show this help");
  // The README promises -q to every command: scripts pass it to all of them.
  if (options.find_nothrow("quiet", false) == nullptr) {
    options.add_options()("quiet,q", "no progress on stderr (this command shows none)");
  }
  if (describing != nullptr) {
    for (const auto& option : options.options()) describing->options.push_back(SpecOf(*option));
    describing->described = true;
    return kExitOk;
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
      const size_t width = OutputWidth(STDOUT_FILENO);
      std::cout << WrapText(std::string("usage: sluice ") + command + " " + usage, width,
                            kUsageIndent)
                << "\n"
                << command << " options:\n"
                << FormatOptions(options, width);
      return kExitOk;
    }
    po::notify(*vm);
    // --json: a failure from here on is a JSON document on stdout too.
    if (vm->count("json") && (*vm)["json"].as<bool>()) ReportErrorsAsJson(command);
  } catch (const po::unknown_option& e) {
    // Only the option's name: what follows '=' in a misspelt
    // --src-creds=USER:PASSWORD is a password, never printed.
    std::string name = e.get_option_name();
    problem = "unrecognised option '" + name.substr(0, name.find('=')) + "'";
  } catch (const po::error& e) {
    problem = e.what();
  }
  if (!problem.empty()) {
    if (std::find(args.begin(), args.end(), "--json") != args.end()) {
      ReportErrorsAsJson(command);
      PrintJsonErrorIfAsked(Status::InvalidArgument(problem), kExitUsage);
    }
    std::cerr << "sluice " << command << ": " << Printable(problem) << "\n"
              << WrapText(std::string("usage: sluice ") + command + " " + usage,
                          OutputWidth(STDERR_FILENO), kUsageIndent)
              << "Try 'sluice " << command << " --help'.\n";
    return kExitUsage;
  }
  return std::nullopt;
}

int RunCommand(const Command& command, const Args& args) {
  int exit_code = kExitInternal;
  try {
    exit_code = command.run(args);
  } catch (const std::exception& e) {
    std::cerr << "sluice: internal error: " << Printable(e.what()) << "\n";
  } catch (...) {
    std::cerr << "sluice: internal error: an unknown exception escaped '"
              << Printable(command.name) << "'\n";
  }
  PrintJsonErrorIfNonePrinted(exit_code);
  return exit_code;
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
  PrintJsonErrorIfAsked(status, ExitCodeFor(status));
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

Result<BundleInput> OpenBundleInput(const std::string& path, bool through_parity,
                                    bool progress) {
  BundleInput input;
  io::FileSystem* fs = io::DefaultFileSystem();
  if (path != "-" && through_parity) {
    std::string note;
    // Every row is read: a pass over the whole bundle before the one that
    // verifies or imports it. Its line ends before the note below.
    ProgressDisplay display(!progress);
    auto read = ReadThroughParity(fs, path, &note, display.counter());
    display.Finish();
    SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<ParityContext> parity, std::move(read));
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

ProgressDisplay::ProgressDisplay(bool quiet) {
  if (quiet) return;
  ProgressMeter::Options options;
  options.terminal = isatty(STDERR_FILENO) == 1;
  options.width = OutputWidth(STDERR_FILENO);
  meter_ = std::make_unique<ProgressMeter>(&counter_, std::move(options));
  // Four looks a second: a large blob moves the line while it is written.
  meter_->Start(std::chrono::milliseconds(250));
}

ProgressDisplay::~ProgressDisplay() { Finish(); }

void ProgressDisplay::Finish() {
  if (meter_) meter_->Finish();
}

}  // namespace sluice::cli
