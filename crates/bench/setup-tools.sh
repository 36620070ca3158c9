#!/usr/bin/env bash
# The load generator the web benchmark drives mace with, pinned, built from crates.io into
# target/bench-tools so nothing is installed system-wide (see ../shared/guide/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=target/bench-tools
version=1.16.0
if ! "$root/bin/oha" --version 2>/dev/null | grep -q " $version"; then
  cargo install oha --version "$version" --locked --root "$root"
fi
"$root/bin/oha" --version
