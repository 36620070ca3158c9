"""KDEpy and esda peers for mace's hotspot benchmark (crates/bench/src/bin/hotspots.rs).

Usage: hotspots.py DATA_DIR

Reads what the bench wrote to DATA_DIR: manifest.json (the grid, the bandwidth), points.f64
(x, y pairs, little-endian float64, metres) and mace's results on them, all per cell with index
j * nx + i: counts.f64, z.f64 (Gi*), density_kdepy.f64 (mace's density with KDEpy's kernel
cut-off).

At start-up it checks mace's counts against numpy.histogram2d on the same cell edges
(x0 + i * cell), builds libpysal's queen lattice weights lat2W(ny, nx, rook=False) once (not
timed as part of a round) and prints one JSON line. Then each "round" command on stdin runs,
timed:

  kdepy   FFTKDE(kernel="gaussian", bw=bandwidth).fit(points).evaluate(centres), the centres
          sorted x-major as KDEpy requires;
  esda    G_Local(counts, w, transform="B", star=True, permutations=0).Zs (esda sets the self
          weight to 1 itself: fill_diagonal(w, 1));
  formula the same z-scores as one sparse product and numpy (what esda's calc() does without
          its W bookkeeping), for scale;

and prints one JSON line with the times (seconds), the largest differences from mace, and the
process's peak RSS. "quit" exits.
"""

import importlib.metadata
import json
import os
import platform
import resource
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

warnings.simplefilter("ignore")

from esda.getisord import G_Local  # noqa: E402
from KDEpy import FFTKDE  # noqa: E402
from KDEpy.kernel_funcs import gaussian  # noqa: E402
from libpysal.weights import lat2W  # noqa: E402


def load(data: str, name: str, n: int) -> np.ndarray:
    a = np.fromfile(os.path.join(data, name), dtype="<f8")
    assert a.size == n, f"{name}: {a.size} values, expected {n}"
    return a


def formula_z(wstar: sp.csr_matrix, y: np.ndarray) -> np.ndarray:
    """Gi* z with binary weights, self included (Ord & Getis 1995 eq. 9): esda's Zs, vectorised."""
    n = y.size
    s_i = wstar @ y
    k = np.asarray(wstar.sum(axis=1)).ravel()
    mean = y.mean()
    s = np.sqrt((y * y).mean() - mean * mean)
    return (s_i - mean * k) / (s * np.sqrt((n * k - k * k) / (n - 1)))


def main() -> None:
    data = sys.argv[1]
    with open(os.path.join(data, "manifest.json"), encoding="utf-8") as f:
        m = json.load(f)
    g = m["grid"]
    x0, y0, cell, nx, ny = g["x0"], g["y0"], g["cell"], g["nx"], g["ny"]
    bw = m["bandwidth"]
    cells = nx * ny
    pts = load(data, "points.f64", 2 * m["points"]).reshape(-1, 2)
    counts = load(data, "counts.f64", cells)
    mace_z = load(data, "z.f64", cells)
    mace_d = load(data, "density_kdepy.f64", cells)

    # Counts: numpy.histogram2d on the same edges (H[i, j] is x-bin i, y-bin j).
    xe = x0 + np.arange(nx + 1) * cell
    ye = y0 + np.arange(ny + 1) * cell
    h, _, _ = np.histogram2d(pts[:, 0], pts[:, 1], bins=[xe, ye])
    h = h.T.ravel()
    counts_diff_cells = int((h != counts).sum())

    # Weights, once.
    t0 = time.perf_counter()
    w = lat2W(ny, nx, rook=False)
    lat2w_s = time.perf_counter() - t0
    wstar = (w.sparse + sp.identity(cells, format="csr")).tocsr()

    # KDEpy's grid of centres, x-major (i * ny + j), and its kernel half-width in cells.
    cx = x0 + (np.arange(nx) + 0.5) * cell
    cy = y0 + (np.arange(ny) + 0.5) * cell
    centres = np.column_stack([np.repeat(cx, ny), np.tile(cy, nx)])
    support = gaussian.practical_support(bw)
    dx = (cx[-1] - cx[0]) / (nx - 1)
    kernel_half_width = int(min(np.floor(support / dx), nx))

    versions = {p: importlib.metadata.version(p) for p in ["KDEpy", "esda", "libpysal", "numpy", "scipy"]}
    print(
        json.dumps(
            {
                "versions": versions,
                "python": platform.python_version(),
                "lat2w_s": lat2w_s,
                "counts_diff_cells": counts_diff_cells,
                "counts_total": float(h.sum()),
                "kdepy_support_m": support,
                "kdepy_half_width": kernel_half_width,
            }
        ),
        flush=True,
    )

    for cmd in sys.stdin:
        cmd = cmd.split()
        if cmd == ["quit"]:
            break
        if cmd != ["round"]:
            print(json.dumps({"error": f"unknown command {cmd}"}), flush=True)
            continue
        t0 = time.perf_counter()
        dens = FFTKDE(kernel="gaussian", bw=bw).fit(pts).evaluate(centres)
        kdepy_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        zs = G_Local(counts, w, transform="B", star=True, permutations=0).Zs
        esda_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        zf = formula_z(wstar, counts)
        formula_s = time.perf_counter() - t0

        # KDEpy adds machine epsilon to every value (BaseKDE._evalate_return_logic); take it
        # off, then reorder x-major -> j * nx + i.
        d = (dens - np.finfo(float).eps).reshape(nx, ny).T.ravel()
        peak = np.abs(d).max()
        sig = d >= 1e-6 * peak
        rel_pointwise = float((np.abs(mace_d - d)[sig] / d[sig]).max()) if sig.any() else 0.0
        out = {
            "kdepy_s": kdepy_s,
            "esda_s": esda_s,
            "formula_s": formula_s,
            "z_max_abs_diff": float(np.abs(mace_z - zs).max()),
            "z_formula_max_abs_diff": float(np.abs(zf - zs).max()),
            "z_nan": int(np.isnan(zs).sum()),
            "z_max": float(np.nanmax(zs)),
            "density_max_rel_diff": float(np.abs(mace_d - d).max() / peak),
            "density_pointwise_rel_diff": rel_pointwise,
            "density_mass": float(d.sum() * cell * cell),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
