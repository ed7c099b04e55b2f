// The one shape of every --json document sluice prints, so that a script
// reads export, verify, import, inspect, plan and ledger alike:
//
//   {"schema": "sluice/v1", "command": "import", "ok": true, ...}
//
// followed by the command's own fields; and, when a command given --json
// fails, on stdout too (the one-line message still goes to stderr):
//
//   {"schema": "sluice/v1", "command": "import", "ok": false,
//    "error": {"kind": "corruption", "exit_code": 3, "message": "..."}}
//
// Within "sluice/v1" fields are only ever added; a field removed, renamed or
// given another type makes "sluice/v2". An image reference is one object
// everywhere (RefJson).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "io/status.h"

namespace sluice::cli {

inline constexpr const char* kJsonSchema = "sluice/v1";

// {"schema", "command", "ok": true}: the start of a command's document.
nlohmann::ordered_json JsonDocument(const char* command);

// Prints `doc` on stdout, indented, with a newline.
void PrintJson(const nlohmann::ordered_json& doc);
// Prints JsonDocument(command) followed by `fields` (whose "ok" wins).
void PrintJson(const char* command, const nlohmann::ordered_json& fields);

// An image reference, the same in every command: where it came from as the
// user wrote it ("source"), its repository and tag in the bundle (tag "" when
// pinned by digest only), and the digest of its root manifest or index.
// Import adds "destination".
nlohmann::ordered_json RefJson(const std::string& source, const std::string& repository,
                               const std::string& tag, const std::string& digest);

// After this, ReportError also prints the error document of `command` on
// stdout. ParseCommandLine calls it when a command was given --json.
void ReportErrorsAsJson(const char* command);

// Prints the error document for `status` when ReportErrorsAsJson was called.
void PrintJsonErrorIfAsked(const Status& status, int exit_code);

// For a command that failed with `exit_code` after ReportErrorsAsJson but
// printed no document (a usage mistake found after parsing, said on stderr
// only): prints an error document pointing there, so that a script given
// --json always finds one document on stdout. main() calls it.
void PrintJsonErrorIfNonePrinted(int exit_code);

}  // namespace sluice::cli
