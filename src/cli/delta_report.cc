#include "cli/delta_report.h"

#include "byte_size.h"
#include "cli/cli_util.h"

namespace sluice::cli {

// Each layer that had a previous version: a delta (its base, bytes saved),
// or whole and why.
void PrintDeltas(std::ostream& out, const std::vector<LayerDelta>& deltas) {
  if (deltas.empty()) return;
  uint64_t layer_bytes = 0, delta_bytes = 0;
  size_t count = 0;
  for (const LayerDelta& d : deltas) {
    if (!d.delta) continue;
    ++count;
    layer_bytes += d.layer_bytes;
    delta_bytes += d.delta_bytes;
  }
  out << "  " << count << " of " << deltas.size()
      << " layers with a previous version shipped as deltas";
  if (count > 0) {
    out << ": " << HumanBytes(delta_bytes) << " instead of " << HumanBytes(layer_bytes);
  }
  out << "\n";
  for (const LayerDelta& d : deltas) {
    out << "    " << d.layer.str().substr(0, 19) << " ";
    if (d.delta) {
      out << "delta " << HumanBytes(d.delta_bytes) << " of " << HumanBytes(d.layer_bytes)
          << " against " << d.base.str().substr(0, 19) << ", " << Printable(d.encoding) << "\n";
    } else {
      out << "whole (" << HumanBytes(d.layer_bytes) << "): " << Printable(d.why_not) << "\n";
    }
  }
}

nlohmann::ordered_json DeltasJson(const std::vector<LayerDelta>& deltas) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const LayerDelta& d : deltas) {
    nlohmann::ordered_json one{{"layer", d.layer.str()},
                               {"image", d.image},
                               {"base", d.base.empty() ? "" : d.base.str()},
                               {"layer_bytes", d.layer_bytes},
                               {"delta", d.delta}};
    if (d.delta) {
      one["delta_bytes"] = d.delta_bytes;
      one["encoding"] = d.encoding;
    } else {
      one["why_not"] = d.why_not;
    }
    out.push_back(std::move(one));
  }
  return out;
}

}  // namespace sluice::cli
