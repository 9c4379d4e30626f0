"""Wall time of the lock-step emulation of a pass, with a digest of its results (figures, not tests).

    .venv/bin/python -m bench.lockstep_speed [--seconds S] [--lead S] [--seed N] [--profile N]

Runs the first S virtual seconds (default 60) of the micius-2020 pass, starting
``lead`` seconds (default 30) before the common view, so that both beams
acquire and track; prints the wall time of the run and two digests that must
not change when the plant models are only made faster: ``RunResult.digest()``
(housekeeping and truth arrays) and a SHA-256 over the per-tick pointing truth
(``RunResult.pointing``).  ``--profile N``: also print the N most expensive
functions (own time) of a cProfile of the run.
"""

import argparse
import dataclasses
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pointing_digest(pointing: dict) -> str:
    """SHA-256 over the pointing truth arrays, in key order."""
    h = hashlib.sha256()
    for key in sorted(pointing):
        a = pointing[key]
        h.update(key.encode())
        h.update(str(a.dtype).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def run(seconds: float, lead_s: float, seed: int):
    """The run's result and its wall time (the runner's own, without the plan's set-up)."""
    from sim.lockstep import LockstepRunner
    from sim.scenarios import get_scenario

    sc = dataclasses.replace(get_scenario("micius-2020"), lead_s=lead_s)
    plan = sc.plan(seconds)
    runner = LockstepRunner(seed=seed, preset=sc.preset, phase_match_offset_k=sc.phase_match_offset_k,
                            geometry=plan.geometry)
    return runner.run(plan.duration_s, uplink=plan.commands())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.lockstep_speed", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="virtual seconds (default 60)")
    ap.add_argument("--lead", type=float, default=30.0, help="run start before the common view (default 30 s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="print the N top functions by own time")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        t0 = time.perf_counter()
        res = prof.runcall(run, args.seconds, args.lead, args.seed)
        wall = time.perf_counter() - t0
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.profile)
    else:
        t0 = time.perf_counter()
        res = run(args.seconds, args.lead, args.seed)
        wall = time.perf_counter() - t0
    print(f"micius-2020, {res.duration_s:g} s virtual from {args.lead:g} s before the common view, seed {args.seed}")
    print(f"  runner wall time {res.wall_s:.2f} s (with the plan {wall:.2f} s), "
          f"real-time factor {res.realtime_factor:.2f}x")
    print(f"  digest          {res.digest()}")
    print(f"  pointing digest {pointing_digest(res.pointing)}")
    print(f"  HK rows {len(res.hk_rows)}, TM packets {len(res.tm_packets)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
