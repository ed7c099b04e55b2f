#include "cli/help_text.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace po = boost::program_options;

namespace sluice::cli {
namespace {

constexpr size_t kMinWidth = 20;
constexpr size_t kDefaultWidth = 80;

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t at = 0;
  while (true) {
    at = text.find_first_not_of(" \t\n", at);
    if (at == std::string_view::npos) return words;
    const size_t end = std::min(text.find_first_of(" \t\n", at), text.size());
    words.push_back(text.substr(at, end - at));
    at = end;
  }
}

// `words` appended to `out` as lines of at most `width` columns: the first
// continues `line` (what is on it already), the others start with `indent`
// spaces. A word that fits on no line is never cut: it gets one to itself.
void Fill(const std::vector<std::string_view>& words, size_t width, size_t indent, std::string line,
          std::string* out) {
  bool has_word = false;  // on `line`, after its prefix
  for (std::string_view word : words) {
    const size_t needed = line.size() + (has_word ? 1 : 0) + word.size();
    if (has_word && needed > width) {
      *out += line + "\n";
      line.assign(indent, ' ');
      has_word = false;
    }
    if (has_word) line += ' ';
    line += word;
    has_word = true;
  }
  *out += line + "\n";
}

// Two columns: each left text, then its words in a column of their own.
// The column is as far right as the longest left text needs, but no
// further than 40 % of the width; a left text longer than that puts its
// words on the next line.
std::string TwoColumns(const std::vector<std::pair<std::string, std::string>>& rows, size_t width) {
  size_t longest = 0;
  for (const auto& [left, right] : rows) longest = std::max(longest, left.size());
  const size_t column = std::min(longest + 2, std::max<size_t>(width * 2 / 5, 8));
  std::string out;
  for (const auto& [left, right] : rows) {
    std::string line = left;
    if (right.empty() || line.size() + 1 > column) {
      // On a line of its own, and wrapped itself where wider than a line.
      const size_t lead = std::min(left.find_first_not_of(' '), left.size());
      Fill(Words(left), width, lead + 4, std::string(lead, ' '), &out);
      if (right.empty()) continue;
      line.clear();
    }
    line.resize(column, ' ');
    Fill(Words(right), width, column, line, &out);
  }
  return out;
}

}  // namespace

size_t OutputWidth(int fd) {
  struct winsize size {};
  if (isatty(fd) == 1 && ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return std::max<size_t>(size.ws_col, kMinWidth);
  }
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr) {
    size_t value = 0;
    const char* end = columns + std::strlen(columns);
    auto [ptr, ec] = std::from_chars(columns, end, value);
    if (ec == std::errc() && ptr == end && value > 0) return std::max(value, kMinWidth);
  }
  return kDefaultWidth;
}

std::string WrapLine(std::string_view line, size_t width, size_t indent) {
  const size_t lead = std::min(line.find_first_not_of(' '), line.size());
  std::string out;
  std::vector<std::string_view> words = Words(line);
  if (words.empty()) return "\n";
  Fill(words, width, indent, std::string(lead, ' '), &out);
  return out;
}

std::string WrapText(std::string_view text, size_t width, size_t indent) {
  std::string out;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    std::string_view line = text.substr(at, end - at);
    const size_t lead = std::min(line.find_first_not_of(' '), line.size());
    out += WrapLine(line, width, lead + indent);
    if (end == text.size()) break;
    at = end + 1;
  }
  return out;
}

std::string FormatCommandList(const std::vector<Command>& commands, size_t width) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const Command& c : commands) rows.emplace_back(std::string("  ") + c.name, c.summary);
  return TwoColumns(rows, width);
}

std::string FormatOptions(const po::options_description& options, size_t width) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& option : options.options()) {
    std::string left = "  " + option->format_name();
    const std::string parameter = option->format_parameter();
    if (!parameter.empty()) left += " " + parameter;
    rows.emplace_back(std::move(left), option->description());
  }
  return TwoColumns(rows, width);
}

}  // namespace sluice::cli
