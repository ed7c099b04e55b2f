# Shared by the tools/ scripts: where things are, and how to say what fails.
# Source it; it defines no behaviour on its own.

SLUICE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# tools/test and tools/demo build here; override only for side builds.
SLUICE_BUILD_DIR=${SLUICE_BUILD_DIR:-$SLUICE_ROOT/build}
# The one sanitized build (clang, ASan+UBSan, libFuzzer coverage): the
# sanitized suite and the fuzz targets come from it.
SLUICE_SANITIZE_BUILD=${SLUICE_SANITIZE_BUILD:-$SLUICE_ROOT/build-asan}
SLUICE_JOBS=${SLUICE_JOBS:-$(nproc)}

# ccache (where installed) keys on paths relative to the checkout, so a
# fresh clone elsewhere reuses what an earlier build compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$SLUICE_ROOT}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

say() { printf '%s\n' "$*"; }

# Configures the sanitized build once: clang at -O1 with line tables only
# (what a sanitizer report needs, at a fraction of the compile time of full
# debug info), ASan and UBSan on everything, the libraries instrumented for
# libFuzzer, the tests and the fuzz targets both in it.
configure_sanitized_build() {
  command -v clang++ >/dev/null 2>&1 || die "clang++ is not installed (apt-get install clang)"
  mkdir -p "$SLUICE_SANITIZE_BUILD"
  if [[ -f $SLUICE_SANITIZE_BUILD/CMakeCache.txt ]]; then
    cmake -S "$SLUICE_ROOT" -B "$SLUICE_SANITIZE_BUILD" >"$SLUICE_SANITIZE_BUILD/configure.log" 2>&1 ||
      { cat "$SLUICE_SANITIZE_BUILD/configure.log" >&2; exit 1; }
    return
  fi
  CC=clang CXX=clang++ cmake -S "$SLUICE_ROOT" -B "$SLUICE_SANITIZE_BUILD" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DSLUICE_SANITIZE=ON -DSLUICE_FUZZ=ON -DSLUICE_BENCH=OFF \
    >"$SLUICE_SANITIZE_BUILD/configure.log" 2>&1 ||
    { cat "$SLUICE_SANITIZE_BUILD/configure.log" >&2; exit 1; }
}
