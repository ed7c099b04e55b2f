// The bytes of a parity file's header and tables (PARITY.md sections 3 and
// 4), encoded by the writer and decoded by the reader in one place.
//
// Internal to format/: callers use parity.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/parity.h"
#include "io/file.h"

namespace sluice::format {

// Reads up to buf.size() bytes at `offset`, as many as the file has there.
Result<size_t> ReadUpTo(const io::PositionalReader& file, uint64_t offset, io::MutableBytes buf);

// The kParityHeaderSize bytes of `header` (whose header_size is ignored),
// checksum included.
std::string EncodeParityHeader(const ParityHeader& header);

// Appends the shard table, the row checksums and the tables checksum of
// `info` to every writer, a chunk at a time.
Status AppendParityTables(const ParitySetInfo& info,
                          const std::vector<io::SequentialWriter*>& outputs);

// Reads and checks the tables that follow `header` (as ReadParityHeader
// returned it) in `file`. Does not look at the file's size beyond the
// tables: ReadParityFile does.
Result<ParitySetInfo> ReadParityTables(const io::PositionalReader& file,
                                       const ParityHeader& header);

// "NAME: the file has N bytes, header and tables say M" when the file's size
// is not header.file_size(); OK otherwise.
Status CheckParityFileSize(const io::PositionalReader& file, const ParityHeader& header);

}  // namespace sluice::format
