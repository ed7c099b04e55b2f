// sluice: carries container images across an air gap.
#include <malloc.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <exception>
#include <iostream>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/help_text.h"
#include "format/bundle_format.h"

namespace sluice::cli {

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"keygen", "create an Ed25519 signing key pair", RunKeygen},
      {"plan", "show what the next export would write, writing nothing", RunPlan},
      {"export", "write the images a ledger has not shipped yet into a signed bundle", RunExport},
      {"verify", "check a bundle's signature and every byte", RunVerify},
      {"import", "verify a bundle and write its images to a destination", RunImport},
      {"inspect", "show what a bundle holds", RunInspect},
      {"repair", "rebuild damaged or missing volumes from the bundle's parity files", RunRepair},
      {"inventory", "list what a destination holds, for 'ledger rebuild'", RunInventory},
      {"ledger", "show a ledger, confirm a receipt of the far side, or rebuild it from an inventory",
       RunLedger, LedgerActions},
      {"completion", "print a bash completion script for sluice ('sluice completion bash')",
       RunCompletion},
  };
  return kCommands;
}

namespace {

void PrintUsage(std::ostream& out, int fd) {
  const size_t width = OutputWidth(fd);
  out << "usage: sluice COMMAND [OPTIONS]\n\n"
      << WrapText("Carries container images across an air gap: export signed delta bundles on "
                  "the connected side, verify and import them on the air-gapped side.",
                  width, 0)
      << "\ncommands:\n"
      << FormatCommandList(Commands(), width) << "\n"
      << WrapText("Run 'sluice COMMAND --help' for a command's options.", width, 0);
}

}  // namespace
}  // namespace sluice::cli

int main(int argc, char** argv) {
  using namespace sluice::cli;
  // A reader that goes away (`sluice export -o - | head`, a diode's sender
  // that stopped) would otherwise kill sluice silently with SIGPIPE (exit
  // 141). Ignored, it makes the write fail with EPIPE, which is reported in
  // one line naming the output, with the exit code of a failure. Children
  // (credential helpers) are started with SIGPIPE at its default again.
  std::signal(SIGPIPE, SIG_IGN);
  // Frame and write buffers (1-16 MiB) are made and freed for every blob.
  // Above glibc's mmap threshold each would be fresh pages from the kernel,
  // faulted in and zeroed again: 460,000 page faults and a third of an
  // import's system time for 2 GiB in 500 blobs. Kept on the heap, freed
  // buffers are reused; trimming waits until 256 MiB are free.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  if (argc < 2) {
    PrintUsage(std::cerr, STDERR_FILENO);
    return kExitUsage;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(std::cout, STDOUT_FILENO);
    return kExitOk;
  }
  if (name == "--version") {
    std::cout << "sluice " << SLUICE_VERSION << " (bundle format " << sluice::format::kFormatVersion
              << ")\n";
    return kExitOk;
  }
  for (const Command& c : Commands()) {
    if (name != c.name) continue;
    return RunCommand(c, Args(argv + 2, argv + argc));
  }
  std::cerr << "sluice: unknown command '" << Printable(name) << "'\n";
  PrintUsage(std::cerr, STDERR_FILENO);
  return kExitUsage;
}
