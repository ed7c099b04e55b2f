// Test builds only: a FileSystem that kills its own process at a chosen point,
// so crash tests can stop `sluice import`/`export` anywhere and check what a
// rerun finds. Compiled into the `sluice_crashable` test binary (with
// SLUICE_FAULT_INJECTION defined), never into `sluice` or a library.
//
// DefaultFileSystem() wraps its choice with this when built that way and
// one of these environment variables is set:
//
//   SLUICE_TEST_CRASH_AFTER_BYTES=N   the append that would take the bytes
//       appended by all writers together past N writes the part up to N,
//       then the process is killed (SIGKILL); N=0 dies at the first append.
//   SLUICE_TEST_CRASH_BEFORE_RENAME=N the Nth rename (1 = the first) is not
//       done: the process is killed instead, with the temp file complete.
//
// While either is set, every rename is traced on stderr before it happens:
//   "sluice-test-crash: rename N after B bytes: FROM -> TO"
// so a test can run once with a large N to learn where the files end.
#pragma once

#include "io/file.h"

namespace sluice::io {

// Returns `base` unchanged when neither variable is set; otherwise a wrapper
// that lives for the rest of the process.
FileSystem* WrapForCrashTests(FileSystem* base);

}  // namespace sluice::io
