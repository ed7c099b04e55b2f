// What an export or a plan says about sub-layer deltas (layer_deltas.h): for
// each layer with a previous version, a delta against its base and the bytes
// saved, or whole and why.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "layer_deltas.h"

namespace sluice::cli {

// "  1 of 1 layers with a previous version shipped as deltas: ..." and a
// line per layer; nothing when there is no such layer.
void PrintDeltas(std::ostream& out, const std::vector<LayerDelta>& deltas);

// The `deltas` array of export's and plan's --json documents.
nlohmann::ordered_json DeltasJson(const std::vector<LayerDelta>& deltas);

}  // namespace sluice::cli
