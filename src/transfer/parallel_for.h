// Runs one job per item on a few threads: what lets verify and import of a
// bundle file check and write several blobs at once, each on its own core.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "io/status.h"

namespace sluice {

// Calls job(item) for every item of `items`, taken in that order by up to
// `threads` threads. Once a job fails, jobs not yet started are skipped.
// Returns the failure of the earliest item in `items` that failed (so the
// error reported does not depend on timing when several fail), else OK.
Status ForEachInParallel(const std::vector<size_t>& items, size_t threads,
                         const std::function<Status(size_t)>& job);

}  // namespace sluice
