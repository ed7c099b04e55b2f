#include "reference/ref_name.h"

#include "reference/reference.h"
#include "reference/transport_ref.h"

namespace sluice {

Status CheckRefName(std::string_view repository, std::string_view tag) {
  if (repository.empty()) {
    if (!tag.empty() && !IsValidOciRefName(tag)) {
      return Status::InvalidArgument("name " + QuoteName(tag) +
                                     " is not a valid OCI reference name (components of "
                                     "[A-Za-z0-9] joined by '/' and one of [-._:@+] or '--')");
    }
    return Status::Ok();
  }
  if (Status s = ValidateRepository(repository); !s.ok()) {
    return Status::InvalidArgument("repository " + QuoteName(repository) + ": " + s.message());
  }
  if (!tag.empty() && !IsValidTag(tag)) {
    return Status::InvalidArgument("tag " + QuoteName(tag) + " of " + QuoteName(repository) +
                                   " is not a valid registry tag (1-128 of [A-Za-z0-9_.-], not "
                                   "starting with '.' or '-')");
  }
  return Status::Ok();
}

std::string JoinRefName(std::string_view repository, std::string_view tag) {
  if (repository.empty()) return std::string(tag);
  if (tag.empty()) return std::string(repository);
  return std::string(repository) + ":" + std::string(tag);
}

std::string QuoteName(std::string_view name) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < name.size() && i < 100; ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    }
  }
  if (name.size() > 100) out += "... (" + std::to_string(name.size()) + " bytes)";
  return "'" + out + "'";
}

}  // namespace sluice
