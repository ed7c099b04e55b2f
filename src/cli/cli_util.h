// Helpers every command shares: option parsing with --help, turning a Status
// into a message and an exit code (the only place that happens), and
// progress on stderr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "format/bundle_reader.h"
#include "format/parity_stream.h"
#include "io/file.h"
#include "byte_size.h"
#include "progress.h"

namespace boost::program_options {
class options_description;
class positional_options_description;
class variables_map;
}  // namespace boost::program_options

namespace sluice::cli {

// What a command declares on its command line, for `sluice completion`.
struct CommandSpec {
  struct Option {
    std::vector<std::string> names;  // "--output", "-o"
    bool takes_value = false;        // a value follows as the next word
    std::vector<std::string> values; // the values it takes, when its value name lists them
  };
  std::vector<Option> options;
  bool described = false;
};

// Runs `run` with `args` so that ParseCommandLine, instead of parsing,
// records the options it was given in *spec and returns kExitOk: the
// command stops there, having done nothing. False when `run` never reached
// ParseCommandLine (an action it does not know).
bool DescribeCommand(int (*run)(const Args&), const Args& args, CommandSpec* spec);

// How far a usage line that does not fit is continued in.
inline constexpr size_t kUsageIndent = 14;

// Parses args into vm. Prints usage and returns kExitOk for --help, or prints
// the problem and returns kExitUsage; returns nullopt when the command
// should go on. Help is wrapped to the terminal (help_text.h). Every
// command takes -h/--help, and -q/--quiet (a command
// with progress to silence declares it itself; the others accept it).
std::optional<int> ParseCommandLine(const char* command, const char* usage, const Args& args,
                                    boost::program_options::options_description& options,
                                    const boost::program_options::positional_options_description&
                                        positional,
                                    boost::program_options::variables_map* vm);

// Runs `command` with `args` and returns its exit code. A backstop only:
// errors are Status values and nothing in sluice should throw; should
// something still do so, it is said in one line ("sluice: internal error:
// …") with an exit code of its own (kExitInternal), instead of
// std::terminate's abort (134). With --json, a failure that printed no
// document gets one (json_output.h).
int RunCommand(const Command& command, const Args& args);

// Prints "sluice: error: …", one line (the message through Printable), and
// returns the exit code for the error's kind.
int ReportError(const Status& status);
int ExitCodeFor(const Status& status);

// Text from outside sluice (a bundle's names and sources, a registry's
// answer, a ledger or inventory file, a path) as every human-readable line
// shows it: printable ASCII as is, every other byte as \xNN, by the one rule
// of QuoteName (reference/ref_name.h), without its quotes or its cut. So no
// name can clear the screen, move the cursor or start a line of its own
// ("ESC[2J" prints as "\x1b[2J", a newline as "\x0a"). JSON output needs
// none of this: nlohmann escapes control characters.
std::string Printable(std::string_view text);

// A bundle to read: a forward pass over it (`stream`), and for a regular
// file random access too (`file`, through which the stream reads, so both
// see one file), which lets verify and import read several blobs at once.
struct BundleInput {
  // Parity files and the bundle's files, when read through them; first, so
  // that it outlives the readers below that use it.
  std::shared_ptr<void> parity;
  // Null for standard input, a pipe, a device or a volume set.
  std::unique_ptr<io::PositionalReader> file;
  // A file read as a stream only (a parity stream saved to a file).
  std::unique_ptr<io::PositionalReader> stream_file;
  std::unique_ptr<io::SequentialReader> stream;
  // A volume set: its files in volume order, read one after another by
  // `stream`.
  std::vector<std::string> volume_paths;
  std::vector<std::unique_ptr<io::PositionalReader>> volume_files;
  // A stream sent with export --parity (format/parity_stream.h): what its
  // reader rebuilt, filled in as `stream` is read; null for a plain bundle.
  std::shared_ptr<format::ParityStreamReport> stream_parity;
};

// After a bundle read from a parity stream: says on stderr what parity
// rebuilt, when it rebuilt anything.
void NoteStreamParity(const BundleInput& input);

// Opens BUNDLE: a file; standard input for "-" (a bundle, or a parity
// stream around one, unwrapped: so also a file saved from such a stream);
// or a bundle cut into
// volumes, named by a directory, the set's name or any one of its volumes
// (volume_set.h), refused naming the volumes missing. With parity files
// beside it (export --parity), every row is checked against them first, and
// damaged or missing parts are rebuilt in memory, saying so on stderr; with
// `progress`, that check shows its progress (phase "checking parity").
Result<BundleInput> OpenBundleInput(const std::string& path, bool through_parity = true,
                                    bool progress = false);

// Whether BUNDLE names standard input: "-", or /dev/stdin, /dev/fd/0,
// /proc/self/fd/0 (which open it again).
bool BundleIsStdin(const std::string& path);

// The keys an importer trusts, from --trust files or directories, or none
// with a loud warning when --insecure-skip-signature was spelled out.
Result<format::TrustPolicy> LoadTrust(const std::vector<std::string>& trust_paths,
                                      bool insecure_skip_signature);

// --allow-insecure-key-permissions, for every command that reads a private
// key (export and inventory --sign-key).
void AddInsecureKeyOption(boost::program_options::options_description& options, bool* allow);
// CheckPrivateKeyPermissions (signing.h) unless allowed, and then a warning
// on stderr where the key is open to others.
Status CheckSigningKeyFile(const std::string& path, bool allow_insecure_permissions);

// --parallel-blobs N, shared by export and import. Parsed as a signed number
// so that "-1" is refused rather than wrapped; at most kMaxBlobsInFlight, so
// memory stays bounded (transfer/limits.h).
inline constexpr int kMaxBlobsInFlight = 64;
void AddParallelBlobsOption(boost::program_options::options_description& options, int* value,
                            const char* help);
// kExitUsage, after saying why, unless 1 <= value <= kMaxBlobsInFlight.
std::optional<int> CheckParallelBlobs(const char* command, int value);

// Progress on stderr while a command works (progress.h): a line rewritten
// in place on a terminal, plain lines every few seconds elsewhere, nothing
// with --quiet.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(bool quiet);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // What the work counts into; null when quiet (nothing is counted).
  ProgressCounter* counter() { return meter_ ? &counter_ : nullptr; }
  // Writes the last line and ends it: call before printing anything else.
  void Finish();

 private:
  ProgressCounter counter_;
  std::unique_ptr<ProgressMeter> meter_;
};

}  // namespace sluice::cli
