// Reads a range of a file in order, through its positional reader: a file
// opened once can then be read both ways (a bundle's head as a stream, its
// blobs at their offsets), and both see the same file even if its name is
// replaced meanwhile.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/file.h"

namespace sluice::io {

// The bytes [offset, end) of `file`, which must outlive the reader; reads
// stop at `end` (or at the file's end, if that comes first).
std::unique_ptr<SequentialReader> NewRangeReader(const PositionalReader* file, uint64_t offset,
                                                 uint64_t end);

// The readers' bytes one after another (the volumes of a bundle read as
// one stream). Named after the first.
std::unique_ptr<SequentialReader> NewConcatenatedReader(
    std::vector<std::unique_ptr<SequentialReader>> parts);

// Reads `bytes`, which it owns, then ends; named `name`. With
// NewConcatenatedReader it puts back bytes peeked from a stream (stdin
// cannot be rewound): {NewBytesReader(peeked, in->name()), std::move(in)}.
std::unique_ptr<SequentialReader> NewBytesReader(std::vector<uint8_t> bytes, std::string name);

}  // namespace sluice::io
