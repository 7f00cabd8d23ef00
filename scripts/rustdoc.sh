#!/usr/bin/env bash
# Render the module's documentation (private items included: they are the
# abstraction layer's contracts) to doc/html, with rustdoc and the flags
# Kbuild used to compile the crate (from src/.rnetns.o.cmd).
# Usage: scripts/rustdoc.sh KDIR   (after a build; `make rustdoc` does both)
set -euo pipefail
kdir=$(realpath "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
cmd=$top/src/.rnetns.o.cmd
[ -f "$cmd" ] || { echo "rustdoc: build the module first (make)" >&2; exit 1; }
mapfile -t args < <(python3 - "$cmd" <<'PY'
import shlex, sys
line = open(sys.argv[1]).readline().split(":=", 1)[1]
words = shlex.split(line)
out, skip = [], False
for w in words[words.index(next(w for w in words if w.endswith("rustc") or w.endswith("clippy-driver"))) + 1:]:
    if skip:
        skip = False
        continue
    if w == "--out-dir":
        skip = True
        continue
    if w.startswith(("--emit", "-Zbinary_dep_depinfo", "-Cembed-bitcode", "-Clto", "-Ccodegen-units")):
        continue
    if w.endswith(".rs"):
        continue
    out.append(w)
print("\n".join(out))
PY
)
rm -rf "$top/doc/html"
mkdir -p "$top/doc"
cd "$kdir"
# As the kernel build does for rustc (unstable -Z flags on a stable toolchain).
export RUSTC_BOOTSTRAP=1 RUST_MODFILE=$top/rnetns
[ -z "${RNETNS_DEBUG:-}" ] || printf "%s\n" "${args[@]}" >&2
rustdoc "${args[@]}" -Dwarnings -Arustdoc::private_intra_doc_links --document-private-items -o "$top/doc/html" "$top/src/rnetns.rs"
echo "documentation: $top/doc/html/rnetns/index.html"
