"""Key-distillation throughput on one core (printed, never asserted).

    .venv/bin/python -m bench.privacy [--rounds N]

- Toeplitz privacy amplification (ground_segment/privacy.py ``toeplitz_hash``): Mbit/s of input for
  n = 1e5 and 1e6 input bits, output n/2 bits (about the secret fraction at QBER 4.5 % for large n);
  target >= 1 Mbit/s.  Best of ``--rounds``.
- Cascade (ground_segment/cascade.py ``reconcile``, both parties in this process) at QBER 4.5 %:
  sifted bits per second, with the efficiency f and the message count of each run.
- The whole distillation (ground_segment/distill.py) at n = 1e5 for scale.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ground_segment import cascade, distill, privacy

TARGET_MBIT_S = 1.0
QBER = 0.045


def toeplitz_rate(n: int, rounds: int) -> float:
    """Best Mbit/s of input over ``rounds`` hashes of n bits to n/2 bits."""
    rng = np.random.default_rng(n)
    x = rng.integers(0, 2, n, dtype=np.uint8)
    out = n // 2
    seed = privacy.random_seed_bits(rng, n, out)
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        privacy.toeplitz_hash(x, out, seed)
        best = min(best, time.perf_counter() - t0)
    return n / best / 1e6


def cascade_run(n: int, seed: int):
    rng = np.random.default_rng([n, seed])
    a = rng.integers(0, 2, n, dtype=np.uint8)
    err = (rng.random(n) < QBER).astype(np.uint8)
    t0 = time.perf_counter()
    r = cascade.reconcile(a, a ^ err, QBER, seed)
    dt = time.perf_counter() - t0
    ok = np.array_equal(r.bob_bits, a)
    f = r.disclosed_bits / (n * cascade.binary_entropy(err.sum() / n))
    return dt, f, r.messages, ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.privacy", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="repetitions per figure (best or mean of)")
    args = ap.parse_args(argv)

    print("Toeplitz privacy amplification (FFT, exact), output n/2 bits:")
    for n in (100_000, 1_000_000):
        rate = toeplitz_rate(n, args.rounds)
        verdict = "meets" if rate >= TARGET_MBIT_S else "BELOW"
        print(f"  n = {n:>9,}: {rate:7.2f} Mbit/s of input ({verdict} the {TARGET_MBIT_S:g} Mbit/s target)")

    print(f"Cascade at QBER {QBER:.1%} (both parties in one process):")
    for n in (4_000, 10_000, 100_000):
        runs = [cascade_run(n, s) for s in range(args.rounds)]
        dt = sum(r[0] for r in runs)
        f = np.mean([r[1] for r in runs])
        msgs = np.mean([r[2] for r in runs])
        ok = all(r[3] for r in runs)
        print(f"  n = {n:>9,}: {n * len(runs) / dt:10,.0f} sifted bits/s, mean f = {f:.3f}, "
              f"{msgs:.0f} messages, all corrected: {ok}")

    n = 100_000
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2, n, dtype=np.uint8)
    bases = rng.integers(0, 2, n, dtype=np.uint8)
    b = a ^ (rng.random(n) < QBER).astype(np.uint8)
    t0 = time.perf_counter()
    r = distill.distill(a, b, bases, QBER, seed=1)
    dt = time.perf_counter() - t0
    print(f"Whole distillation, n = {n:,} at QBER {QBER:.1%}: {dt:.2f} s ({n / dt:,.0f} sifted bits/s); "
          f"bound {r.gross_secret_bits} bits, authentication {r.auth_cost_bits} bits ({r.auth_scheme}), "
          f"net {r.secret_bits} bits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
