#!/usr/bin/env bash
# tools/package, as an operator would use what it makes (ctest runs this):
# the .deb unpacks to /usr/bin/sluice, its man page and its bash completion,
# depends on the libraries the binary links, and runs; the tarball runs from wherever it is
# unpacked, with the build tree out of reach, and loads the libraries it
# carries. (Installing the .deb with dpkg -i into the system running the
# tests is left to the operator: tests do not change the system's packages.)
# usage: package_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1
build_dir=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-package-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

"$source_dir/tools/package" --build "$build_dir" --out "$work/out"
want=$("$build_dir/sluice" --version)

deb=$(ls "$work"/out/sluice_*_"$(dpkg --print-architecture)".deb)
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libcurl4 libssl3 libzstd1 libarchive13 libisal2 liburing2; do
  [[ $depends == *"$lib "* ]] || fail "$deb: Depends lacks $lib: $depends"
done
dpkg-deb -x "$deb" "$work/root"
[[ -x $work/root/usr/bin/sluice ]] || fail "$deb holds no usr/bin/sluice"
[[ -s $work/root/usr/share/man/man1/sluice.1.gz ]] || fail "$deb holds no man page"
# Not grep -q: it stops reading at the first match, and zcat, still writing
# a page larger than the pipe holds, dies of SIGPIPE, which pipefail reports.
zcat "$work/root/usr/share/man/man1/sluice.1.gz" | grep '^\.SS import$' >/dev/null ||
  fail "the man page has no section for import"
completion=$work/root/usr/share/bash-completion/completions/sluice
[[ -s $completion ]] || fail "$deb holds no bash completion"
grep -q '^complete -F _sluice sluice$' "$completion" || fail "$completion completes nothing"
got=$(cd / && "$work/root/usr/bin/sluice" --version)
[[ $got == "$want" ]] || fail "the .deb's sluice --version says '$got', not '$want'"

tarball=$(ls "$work"/out/sluice-*-linux-*.tar.gz)
mkdir "$work/site"
tar -C "$work/site" -xzf "$tarball"
top=$(ls "$work/site")
# Another place, another name, no build tree on any path: still runs.
mv "$work/site/$top" "$work/site/unpacked"
got=$(cd / && env -i PATH=/usr/bin:/bin "$work/site/unpacked/bin/sluice" --version)
[[ $got == "$want" ]] || fail "the tarball's sluice --version says '$got', not '$want'"
# Its libraries are the ones it carries (the loader says which it starts).
loaded=$(cd / && env -i PATH=/usr/bin:/bin LD_DEBUG=libs \
  "$work/site/unpacked/bin/sluice" --version 2>&1 >/dev/null)
grep -q "calling init: $work/site/unpacked/bin/../lib/libcurl.so.4" <<<"$loaded" ||
  fail "the tarball's sluice does not load its own libcurl"
echo "package test passed: $(basename "$deb"), $(basename "$tarball")"
