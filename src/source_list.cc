#include "source_list.h"

#include "io/atomic_file.h"

namespace sluice {

std::string DescribeSourceRef(const SourceRef& ref) {
  return ref.origin.empty() ? ref.text : ref.text + " (" + ref.origin + ")";
}

Status ReadListFile(io::FileSystem* fs, const std::string& path, std::vector<SourceRef>* refs) {
  SLUICE_ASSIGN_OR_RETURN(std::string text, io::ReadSmallFile(fs, path, 16u << 20));
  size_t start = 0;
  for (size_t line_number = 1; start < text.size(); ++line_number) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    size_t last = line.find_last_not_of(" \t\r");
    SourceRef ref;
    ref.text = line.substr(first, last - first + 1);
    ref.origin = path + ":" + std::to_string(line_number);
    refs->push_back(std::move(ref));
  }
  return Status::Ok();
}

}  // namespace sluice
