// The envelope every sluice JSON file shares (ledger, inventory):
//   {"format": "<name>", "version": <n>, ...}
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "io/status.h"

namespace sluice {

// Parses `text` and checks its envelope. `what` names the file in messages
// ("ledger /srv/site-a.ledger"). kCorruption ("<what> is not valid: …") for
// anything but a JSON object whose "format" is `format`; kUnsupported naming
// the version for any other version than `version`.
Result<nlohmann::json> ParseJsonDocument(std::string_view text, std::string_view format,
                                         int version, const std::string& what);

}  // namespace sluice
