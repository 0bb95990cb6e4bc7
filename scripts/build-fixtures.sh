#!/usr/bin/env bash
# Rebuild every fixture .wasm from its C source (or WAT source: src/*.wat, with wasm-tools).
#
#   scripts/build-fixtures.sh [NAME...]
#
# For each suite under fixtures/ with a src/ folder, fixtures/<suite>/src/<name>.c
# is compiled to fixtures/<suite>/<name>.wasm (NAME limits the build to those tests).
# Toolchain: Debian's clang + wasi-libc:
#   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
# Debug info is stripped; the name section is kept, so a trap's backtrace names
# the fixture's functions.  Each .wasm must stay under 100 KiB.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CC="${CC:-clang}"
# Debian installs the sysroot as a multiarch target (/usr/include/wasm32-wasi,
# /usr/lib/wasm32-wasi); a wasi-sdk style sysroot can be given with WASI_SYSROOT.
sysroot=()
if [[ -n "${WASI_SYSROOT:-}" ]]; then
    sysroot=(--sysroot="$WASI_SYSROOT")
elif [[ -d /usr/share/wasi-sysroot/include ]]; then
    sysroot=(--sysroot=/usr/share/wasi-sysroot)
fi
CFLAGS=(--target=wasm32-wasi "${sysroot[@]}" -O2 -std=c11 -Wall -Wextra -Werror
        -Wno-unused-function -I"$here/fixtures/include")
# No fixture prints floating point: the smaller printf keeps each binary near 25 KiB.
LDFLAGS=(-Wl,--strip-debug -lc-printscan-no-floating-point)
max_bytes=$((100 * 1024))

built=0
for src_dir in "$here"/fixtures/*/src; do
    suite="$(dirname "$src_dir")"
    for c in "$src_dir"/*.c; do
        [[ -e "$c" ]] || continue
        name="$(basename "$c" .c)"
        if [[ $# -gt 0 ]]; then
            want=0
            for n in "$@"; do [[ "$n" == "$name" ]] && want=1; done
            [[ $want == 1 ]] || continue
        fi
        out="$suite/$name.wasm"
        "$CC" "${CFLAGS[@]}" "$c" -o "$out" "${LDFLAGS[@]}"
        size=$(stat -c %s "$out")
        if (( size > max_bytes )); then
            echo "error: $out is $size bytes (limit $max_bytes)" >&2
            exit 1
        fi
        echo "built ${out#$here/} ($size bytes)"
        built=$((built + 1))
    done
    # WAT programs (WebAssembly 3.0 engine features): assembled, not compiled.
    for w in "$src_dir"/*.wat; do
        [[ -e "$w" ]] || continue
        name="$(basename "$w" .wat)"
        if [[ $# -gt 0 ]]; then
            want=0
            for n in "$@"; do [[ "$n" == "$name" ]] && want=1; done
            [[ $want == 1 ]] || continue
        fi
        out="$suite/$name.wasm"
        ${WAT2WASM:-wasm-tools parse} "$w" -o "$out"
        echo "built ${out#$here/} ($(stat -c %s "$out") bytes)"
        built=$((built + 1))
    done
done
echo "$built fixtures built"
