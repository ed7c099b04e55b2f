#include "cli/json_output.h"

#include <iostream>

#include "cli/command.h"
#include "io/json_fields.h"

namespace sluice::cli {
namespace {

// The command whose errors go to stdout as JSON too; null when --json was
// not given. A process runs one command, so one value serves.
const char* json_errors_command = nullptr;
// Whether a document went to stdout.
bool document_printed = false;

}  // namespace

nlohmann::ordered_json JsonDocument(const char* command) {
  return {{"schema", kJsonSchema}, {"command", command}, {"ok", true}};
}

void PrintJson(const nlohmann::ordered_json& doc) {
  // Bytes from bundles and registries need not be UTF-8: replaced, not thrown.
  std::cout << io::DumpJson(doc, 2) << "\n";
  document_printed = true;
}

void PrintJson(const char* command, const nlohmann::ordered_json& fields) {
  nlohmann::ordered_json doc = JsonDocument(command);
  doc.update(fields);
  PrintJson(doc);
}

nlohmann::ordered_json RefJson(const std::string& source, const std::string& repository,
                               const std::string& tag, const std::string& digest) {
  return {{"source", source}, {"repository", repository}, {"tag", tag}, {"digest", digest}};
}

void ReportErrorsAsJson(const char* command) { json_errors_command = command; }

namespace {

void PrintErrorDocument(std::string_view kind, int exit_code, const std::string& message) {
  nlohmann::ordered_json doc = JsonDocument(json_errors_command);
  doc["ok"] = false;
  doc["error"] = {{"kind", kind}, {"exit_code", exit_code}, {"message", message}};
  PrintJson(doc);
}

}  // namespace

void PrintJsonErrorIfAsked(const Status& status, int exit_code) {
  if (json_errors_command == nullptr) return;
  PrintErrorDocument(ErrorKindName(status.kind()), exit_code, status.message());
}

void PrintJsonErrorIfNonePrinted(int exit_code) {
  if (json_errors_command == nullptr || document_printed || exit_code == 0) return;
  if (exit_code == kExitUsage) {
    PrintErrorDocument(ErrorKindName(ErrorKind::kInvalidArgument), exit_code,
                       "the command line: stderr says what is wrong");
  } else {
    PrintErrorDocument("failed", exit_code, "stderr says what failed");
  }
}

}  // namespace sluice::cli
