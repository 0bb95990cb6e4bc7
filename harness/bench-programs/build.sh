#!/usr/bin/env bash
# Rebuild the `harness bench` scenario programs from their C sources, and check the
# deterministic ones against a native build of the same source.
#
#   harness/bench-programs/build.sh            build src/<name>.c into <name>.wasm
#   harness/bench-programs/build.sh --check    also build compute.c natively, run it, and
#                                              compare its output with compute.stdout
#
# Toolchain: Debian's clang + wasi-libc:
#   apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32
# Debian installs the sysroot as a multiarch target (/usr/include/wasm32-wasi); a wasi-sdk
# style sysroot can be given with WASI_SYSROOT. The .wasm files are committed (each a few
# tens of KiB), so `harness bench` needs no C toolchain.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CC="${CC:-clang}"
sysroot=()
if [[ -n "${WASI_SYSROOT:-}" ]]; then
    sysroot=(--sysroot="$WASI_SYSROOT")
elif [[ -d /usr/share/wasi-sysroot/include ]]; then
    sysroot=(--sysroot=/usr/share/wasi-sysroot)
fi
# -ffp-contract=off: no fused multiply-add, so the matmul checksum is the same natively.
CFLAGS=(-O2 -std=c11 -Wall -Wextra -Werror -ffp-contract=off)
# Debug info is stripped; the name section is kept, so a trap's backtrace names functions.
WASM_FLAGS=(--target=wasm32-wasi "${sysroot[@]}" -Wl,--strip-debug)

for c in "$here"/src/*.c; do
    name="$(basename "$c" .c)"
    "$CC" "${WASM_FLAGS[@]}" "${CFLAGS[@]}" "$c" -o "$here/$name.wasm"
    echo "built $name.wasm ($(stat -c %s "$here/$name.wasm") bytes)"
done

if [[ "${1:-}" == "--check" ]]; then
    native="$(mktemp -d)"
    trap 'rm -rf "$native"' EXIT
    "$CC" "${CFLAGS[@]}" "$here/src/compute.c" -o "$native/compute"
    "$native/compute" > "$native/compute.stdout"
    if ! diff -u "$here/compute.stdout" "$native/compute.stdout"; then
        echo "error: compute.c built natively prints something else than compute.stdout" >&2
        exit 1
    fi
    echo "compute.c: the native build prints compute.stdout"
fi
