// The envelope every sluice JSON file shares (ledger, inventory):
//   {"format": "<name>", "version": <n>, ...}
#pragma once

#include <string>
#include <string_view>

#include "format/crypto.h"
#include "io/json_fields.h"
#include "io/status.h"

namespace sluice {

// Parses `text` (io::ParseJson) and checks its envelope. `what` names the
// file in messages ("ledger /srv/site-a.ledger"). kCorruption naming the
// field for anything but a JSON object whose "format" is the string
// `format`; kUnsupported naming the version for any other version than
// `version`.
Result<io::JsonDocument> ParseJsonDocument(std::string_view text, std::string_view format,
                                           uint64_t version, const std::string& what);

// A string value that must be a digest ("sha256:<64 hex>"); kCorruption
// naming the field otherwise.
Result<format::Digest> DigestValue(const io::JsonField& field);
// The required member `key` of `object`, as DigestValue reads it.
Result<format::Digest> DigestMember(const io::JsonField& object, std::string_view key);

}  // namespace sluice
