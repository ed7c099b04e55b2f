// The command table: every subcommand is a name, a one-line summary and a
// handler. main() only dispatches; handlers parse their own options. The
// help, the man page (tools/man-page) and the bash completion (`sluice
// completion bash`) are all made from this table and those options.
#pragma once

#include <string>
#include <vector>

namespace sluice::cli {

// Exit codes, the same for every command.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,     // the operation failed (I/O, not found, missing blobs, no space, ...)
  kExitUsage = 2,      // bad command line
  kExitBadData = 3,    // a bundle or source is corrupt, or its signature is bad or untrusted
  kExitRemote = 4,     // a registry could not be reached, or refused: network, TLS, auth
  kExitPartial = 5,    // partly done: export --keep-going left out what failed, wrote the rest
  kExitInternal = 70,  // a bug in sluice: an exception escaped a command (sysexits EX_SOFTWARE)
};

using Args = std::vector<std::string>;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args& args);  // args exclude the program and command names
  // A command whose first argument is an action (`ledger show`): its
  // actions, each run with the arguments after it. Null for the others.
  const std::vector<Command>& (*actions)() = nullptr;
};

int RunKeygen(const Args& args);
int RunExport(const Args& args);
int RunVerify(const Args& args);
int RunImport(const Args& args);
int RunInspect(const Args& args);
int RunRepair(const Args& args);
int RunInventory(const Args& args);
int RunLedger(const Args& args);
int RunPlan(const Args& args);
int RunCompletion(const Args& args);

const std::vector<Command>& LedgerActions();

const std::vector<Command>& Commands();

}  // namespace sluice::cli
