"""Coincidence kernels of the ground stations: C (cffi) against the numpy reference (printed, never asserted).

    .venv/bin/python -m bench.coincidence [--tags N] [--rounds R]

The data: two stations of N tags each (default 10 M) at realistic rates, 20 k
singles/s per station (so N / 20 k seconds of pass), 1 % of them correlated pairs
with 350 ps FWHM jitter at an offset of 123,456 ps, the rest uncorrelated
background.  ``find_coincidences`` runs with a 1 ns window at the known offset;
``delay_histogram`` with +-1 us in 100 ps bins (the offset search).  Throughput is
the tags of both stations divided by the wall time of one call, input checks
included; each figure is the best of R rounds, C and numpy interleaved so that
a busy machine slows them alike.  The numpy reference is what a careful numpy
version costs: one searchsorted of A into B plus gathers, for either function.
Standalone: not run by ``python -m bench`` (about 8 s, a third of it generating
the data).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SINGLES_PER_S = 20_000
PAIR_FRACTION = 0.01
JITTER_FWHM_PS = 350
OFFSET_PS = 123_456
WINDOW_PS = 1000
MAX_DELAY_PS = 1_000_000
BIN_PS = 100
TARGET_RATIO = 5.0


def station_tags(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Sorted tags (ps) of stations A and B, ``n`` each, as described in the module docstring."""
    rng = np.random.default_rng(seed)
    duration_ps = n * 10**12 // SINGLES_PER_S
    n_pairs = int(n * PAIR_FRACTION)
    t_pair = rng.integers(0, duration_ps, n_pairs)
    sigma_ps = JITTER_FWHM_PS / (2 * np.sqrt(2 * np.log(2)))
    jitter = np.rint(rng.normal(0, sigma_ps, n_pairs)).astype(np.int64)
    ta = np.concatenate([t_pair, rng.integers(0, duration_ps, n - n_pairs)])
    tb = np.concatenate([t_pair + OFFSET_PS + jitter, rng.integers(0, duration_ps, n - n_pairs)])
    ta.sort()
    tb.sort()
    return ta, tb


def _best_s(fn, rounds: int) -> dict[str, float]:
    """Best wall time (s) of ``fn(impl)`` per impl over ``rounds`` interleaved rounds."""
    best = {"c": float("inf"), "numpy": float("inf")}
    for _ in range(rounds):
        for impl in best:
            t0 = time.perf_counter()
            fn(impl)
            best[impl] = min(best[impl], time.perf_counter() - t0)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.coincidence", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tags", type=int, default=10_000_000, help="tags per station")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per implementation (best is printed)")
    args = ap.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from ground_segment import coincidence as co

    co.build()
    ta, tb = station_tags(args.tags)
    n_tags = ta.size + tb.size
    found = {impl: co.find_coincidences(ta, tb, WINDOW_PS, OFFSET_PS, impl=impl) for impl in ("c", "numpy")}
    assert all(np.array_equal(x, y) for x, y in zip(found["c"], found["numpy"]))
    hist = {impl: co.delay_histogram(ta, tb, MAX_DELAY_PS, BIN_PS, impl=impl) for impl in ("c", "numpy")}
    assert np.array_equal(hist["c"], hist["numpy"])
    peak_ps = -MAX_DELAY_PS + (int(np.argmax(hist["c"])) + 0.5) * BIN_PS

    print(f"Coincidence kernels, 2 x {args.tags:,d} tags ({args.tags / SINGLES_PER_S:g} s at "
          f"{SINGLES_PER_S:,d} singles/s per station, {PAIR_FRACTION:.0%} pairs), CPython "
          f"{sys.version.split()[0]}, numpy {np.__version__} (tags/s of both stations, best of {args.rounds})")
    for label, fn, note in (
        (f"find_coincidences, window {WINDOW_PS} ps",
         lambda impl: co.find_coincidences(ta, tb, WINDOW_PS, OFFSET_PS, impl=impl),
         f"{found['c'][0].size:,d} coincidences"),
        (f"delay_histogram, +-{MAX_DELAY_PS // 1000:,d} ns in {BIN_PS} ps bins",
         lambda impl: co.delay_histogram(ta, tb, MAX_DELAY_PS, BIN_PS, impl=impl),
         f"{int(hist['c'].sum()):,d} delays, peak at {peak_ps:,.0f} ps (true offset {OFFSET_PS:,d} ps)"),
    ):
        best = _best_s(fn, args.rounds)
        ratio = best["numpy"] / best["c"]
        print(f" {label}: {note}")
        print(f"  C (cffi, -O3):     {n_tags / best['c']:>14,.0f} tags/s  ({best['c'] * 1e3:8.1f} ms)")
        print(f"  numpy reference:   {n_tags / best['numpy']:>14,.0f} tags/s  ({best['numpy'] * 1e3:8.1f} ms)")
        print(f"  ratio C/numpy: {ratio:.1f}x  (target >= {TARGET_RATIO:g}x: "
              f"{'met' if ratio >= TARGET_RATIO else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
