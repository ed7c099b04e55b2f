// What an export is asked to read: source references as given on the
// command line, in --list files (one per line) and in --config files
// (mirror_config.h), each with where it was given, so that an error names
// the line to fix, and what of it to take.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "io/file.h"
#include "oci/manifest.h"
#include "reference/tag_pattern.h"

namespace sluice {

struct SourceRef {
  // A transport ref as skopeo writes it (reference/transport_ref.h):
  // docker://HOST/REPO[:TAG|@DIGEST], oci:DIR[:TAG], oci-archive:FILE[:TAG],
  // docker-archive:FILE[:NAME:TAG|:@N]; from a config also helm:PATH and
  // file:PATH (charts and files).
  std::string text;
  // Where it was given: "" on the command line, "FILE:LINE" in a --list
  // file, "FILE:LINE:COLUMN" in a --config file.
  std::string origin;

  // Set by a config file only (a --list line has no options):
  // Of a docker://HOST/REPO that names no tag, only the tags this matches.
  std::optional<TagPattern> tag_pattern;
  // The platforms kept of the image's indexes (PlanOptions::platforms);
  // empty: the export's own (--platform).
  std::vector<oci::Platform> platforms;
  // The auth file the registry's credentials are looked up in, instead of
  // the default ones (as skopeo --authfile); "": the defaults.
  std::string auth_file;
};

// "docker://h/r:1 (images.txt:3)": the ref and where it was given, for
// messages.
std::string DescribeSourceRef(const SourceRef& ref);

// Appends the refs of a --list file: one per line; blank lines and '#'
// comments are ignored, surrounding blanks trimmed. Each ref's origin is
// "PATH:LINE". The file may hold at most 16 MiB.
Status ReadListFile(io::FileSystem* fs, const std::string& path, std::vector<SourceRef>* refs);

}  // namespace sluice
