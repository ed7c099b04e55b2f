# Shared by the tools/ scripts: where things are, and how to say what fails.
# Source it; it defines no behaviour on its own.

SLUICE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# tools/test and tools/demo build here; override only for side builds.
SLUICE_BUILD_DIR=${SLUICE_BUILD_DIR:-$SLUICE_ROOT/build}

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

say() { printf '%s\n' "$*"; }
