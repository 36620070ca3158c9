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
  splink==5.0.0 duckdb==2.0.0 pandas==2.3.3 numpy==2.4.6 tantivy==0.27.0 \
  igraph==1.0.0 leidenalg==0.12.0 networkx==3.6.1 networkit==11.2.2 \
  KDEpy==1.1.12 esda==2.9.0 libpysal==4.14.1 scipy==1.17.1
"$venv/bin/python" -c "import importlib.metadata as m, splink, duckdb, tantivy; print('peers ready:', ', '.join(p + ' ' + m.version(p) for p in ['splink', 'duckdb', 'tantivy', 'igraph', 'leidenalg', 'networkx', 'networkit', 'KDEpy', 'esda', 'libpysal', 'scipy']))"
