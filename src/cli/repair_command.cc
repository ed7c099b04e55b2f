// sluice repair: rebuilds damaged or missing volumes of a bundle (or a
// damaged single bundle file) from the parity files beside it.
#include <boost/program_options.hpp>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "cli/json_output.h"
#include "parity_files.h"

namespace po = boost::program_options;

namespace sluice::cli {

int RunRepair(const Args& args) {
  std::string bundle_path;
  bool json = false;
  bool quiet = false;
  po::options_description options("repair options");
  options.add_options()
      ("bundle", po::value(&bundle_path)->required(),
       "the bundle file, or any volume or parity file of it (also positional)")
      ("json", po::bool_switch(&json), "print the result as JSON on stdout")
      ("quiet,q", po::bool_switch(&quiet), "no progress on stderr");
  po::positional_options_description positional;
  positional.add("bundle", 1);
  po::variables_map vm;
  if (auto exit = ParseCommandLine("repair", "BUNDLE", args, options, positional, &vm)) {
    return *exit;
  }
  ProgressDisplay progress(quiet);
  auto report = RepairBundle(io::DefaultFileSystem(), bundle_path, progress.counter());
  progress.Finish();
  if (!report.ok()) {
    return ReportError(report.status());
  }
  if (json) {
    PrintJson("repair", nlohmann::ordered_json{{"bundle", bundle_path},
                                        {"ok", true},
                                        {"was_intact", report->was_intact},
                                        {"parity_files", report->parity_files},
                                        {"rebuilt", report->rebuilt},
                                        {"details", report->details}});
    return kExitOk;
  }
  if (report->was_intact) {
    std::cout << Printable(bundle_path) << ": intact, every row checked against "
              << report->parity_files.size() << " parity files; nothing to repair\n";
    return kExitOk;
  }
  std::cout << Printable(bundle_path) << ": repaired from " << report->parity_files.size()
            << " parity files\n";
  // Printable line by line: the report's own line breaks stay line breaks.
  std::istringstream lines(report->details);
  for (std::string line; std::getline(lines, line);) std::cout << "  " << Printable(line) << "\n";
  for (const std::string& f : report->rebuilt) std::cout << "  rebuilt " << Printable(f) << "\n";
  std::cout << "  run sluice verify on it before importing\n";
  return kExitOk;
}

}  // namespace sluice::cli
