// `sluice plan` and `sluice export --dry-run`: export's command line
// (export_command.cc, which both parse), planned and reported here
// (plan_command.cc) instead of written.
#pragma once

#include <vector>

#include "cli/command.h"
#include "exporter.h"
#include "io/file.h"
#include "plan.h"
#include "source_list.h"

namespace sluice::cli {

enum class ExportCommand { kExport, kPlan };

inline constexpr const char* kPlanUsage =
    "SRC... [--list FILE] [--config FILE] --ledger LEDGER [--volume-size SIZE] [--json]\n"
    "       [export's options]";

// What `sluice plan --help` says above its options.
inline constexpr const char* kPlanOptionsCaption =
    "Prints what 'sluice export' with the same options would write, and writes nothing (no\n"
    "bundle; the ledger is read, never changed nor locked): the images and what changed\n"
    "since the ledger's last bundle (added, re-pointed, unchanged, removed), the blobs to\n"
    "ship and those the far side holds, their bytes before compression, an estimate of the\n"
    "bundle's size and how many --volume-size volumes it makes. Layers whose media type\n"
    "says gzip or zstd count as they are, unread; of other blobs the first 1 MiB at most\n"
    "is read and compressed as the export would (64 MiB in all), the rest at that ratio.\n"
    "Export's options that concern writing only (-o, --sign-key, --rate-limit, --parity)\n"
    "are accepted and not used, so an export's command line plans as it is.\n\n"
    "options (export's)";

// Parses export's command line (export_command.cc). kPlan, or --dry-run,
// plans and reports (PlanAndReport) instead of exporting; kPlan needs no
// --sign-key nor -o, and ignores them when given, so that an export's
// command line can be planned by changing its verb.
int RunExportCommand(const Args& args, ExportCommand command);

// Works out what an export with `options` would write (PreviewExport,
// exporter.h), writing nothing, and prints it: as JSON on stdout with
// `json`. `refs` are the refs given, parallel to `sources`, naming what
// --keep-going would leave out. Returns the exit code export would:
// kExitPartial when --keep-going left something out.
int PlanAndReport(io::FileSystem* fs, const std::vector<ExportSource>& sources,
                  const std::vector<SourceRef>& refs, const ExportOptions& options, bool json);

}  // namespace sluice::cli
