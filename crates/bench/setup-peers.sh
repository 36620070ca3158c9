#!/usr/bin/env bash
# The peers mace's benchmarks run beside it, pinned (see ../shared/guide/benchmarks.md), in a
# virtual environment under target/ so nothing is installed system-wide.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  splink==5.0.0 duckdb==2.0.0 pandas==2.3.3 numpy==2.4.6 tantivy==0.27.0
"$venv/bin/python" -c "import importlib.metadata as m, splink, duckdb, tantivy; print('peers ready: splink', splink.__version__, 'duckdb', duckdb.__version__, 'tantivy', m.version('tantivy'))"
