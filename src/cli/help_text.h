// Help text that fits the terminal: usage lines, command lists and option
// tables wrapped to a width at spaces only, so that no token is ever cut
// (`docker://HOST/REPO[:TAG|@DIGEST]` stays whole; a token longer than a
// line stands alone on a line of its own).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"

namespace boost::program_options {
class options_description;
}  // namespace boost::program_options

namespace sluice::cli {

// The width to write to `fd` at: the terminal's columns (TIOCGWINSZ) when
// fd is a terminal that knows them; else $COLUMNS when it is a number; else
// 80. Never below 20.
size_t OutputWidth(int fd);

// `line` wrapped to `width` columns at spaces: its leading spaces kept, the
// lines after the first indented by `indent` columns; a newline ends every
// line.
std::string WrapLine(std::string_view line, size_t width, size_t indent);

// Every line of `text` wrapped as WrapLine does, each continued `indent`
// columns further in than it starts.
std::string WrapText(std::string_view text, size_t width, size_t indent = 4);

// "  NAME  SUMMARY" for each command, the summaries in one column, wrapped.
std::string FormatCommandList(const std::vector<Command>& commands, size_t width);

// The options as --help lists them ("  --name arg   what it does"), the
// descriptions in one column, wrapped.
std::string FormatOptions(const boost::program_options::options_description& options, size_t width);

}  // namespace sluice::cli
