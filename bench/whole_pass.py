"""The whole-pass issue's bench figures (printed, never asserted).

    .venv/bin/python -m bench.whole_pass [--skip-pass]

1. real-time factor of a whole micius-2020 pass: contact time over the wall
   time of the run (lock-step with the flight fine loops at 1 kHz, downlinks,
   the stations' chain), on one core; target >= 30x;
2. the coincidence kernel (C through cffi) against its numpy reference on the
   same tags (bench/coincidence.py); target >= 5x;
3. Toeplitz privacy amplification throughput (bench/privacy.py); target >= 1 Mbit/s.
"""

import argparse
import tempfile
import time
from pathlib import Path


def pass_figures():
    from tools.pass_run import run_pass

    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        s = run_pass("micius-2020", None, 1, Path(d), replays=False)
        wall = time.perf_counter() - t
    row = s["passes"][0]
    print("Whole micius-2020 pass (seed 1, fine loops at 1 kHz, one process):")
    print(f"  virtual {s['duration_s']:.0f} s (warm-up and calibration included) in {wall:.1f} s wall: "
          f"{s['duration_s'] / wall:.1f}x real time")
    print(f"  contact {s['contact_s']:.0f} s: real-time factor over the contact {s['contact_s'] / wall:.2f}x "
          f"(target >= 30x)")
    print(f"  of which the lock-step run {row['wall_s']:.1f} s; downlinks, tag files, ground chain, summary and "
          f"plots {wall - row['wall_s']:.1f} s")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.whole_pass")
    p.add_argument("--skip-pass", action="store_true", help="only the kernel and privacy-amplification figures")
    args = p.parse_args(argv)
    if not args.skip_pass:
        pass_figures()
    from bench import coincidence, privacy

    coincidence.main([])
    privacy.main([])


if __name__ == "__main__":
    main()
