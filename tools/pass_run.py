"""``qsat pass``: a scenario in lock-step, written up as DIR/summary.json and truth arrays.

    qsat pass --scenario micius-2020 --duration 900 --seed 1 --out runs/m2020

writes ``DIR/summary.json`` (scenario, seed, duration, wall time, the "source"
section of sim/source_summary.py and, for scenarios over a pass, the "pointing"
section of sim/pointing_summary.py), ``DIR/source_truth.npz`` and
``DIR/pointing_truth.npz`` (the simulator's arrays those figures come from) and
``DIR/pointing_psd.png`` (pointing-error spectra with the canceller off and on).
The whole-pass issue adds the key sections and the ground-station files.
"""

import argparse
import json
import sys
from pathlib import Path


def _positive(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def add_parser(sub):
    from sim.scenarios import SCENARIOS

    p = sub.add_parser("pass", help="run a scenario in lock-step and write DIR/summary.json")
    p.add_argument("--scenario", required=True, help="one of: " + ", ".join(sorted(SCENARIOS)))
    p.add_argument("--duration", type=_positive, default=None, help="virtual seconds (default: the scenario's)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(func=cmd_pass)


def run_pass(scenario, duration_s: float | None, seed: int, out_dir: Path, progress=None,
             fine_period_us: int = 1000, on_hk=None, replays: bool = True, keep=None) -> dict:
    """Run the scenario and write its files; returns the summary.

    ``fine_period_us`` above 1000 runs the fine rate group slower: fine for bench runs that
    judge the source alone (its loops run at 10 Hz), much faster in wall time.
    """
    import numpy as np

    from sim.lockstep import LockstepRunner
    from sim.scenarios import get_scenario
    from sim.source_summary import source_section, truth_arrays

    sc = get_scenario(scenario) if isinstance(scenario, str) else scenario  # a name or a Scenario
    plan = sc.plan(duration_s)
    out_dir.mkdir(parents=True, exist_ok=True)
    runner = LockstepRunner(seed=seed, fine_period_us=fine_period_us, preset=sc.preset,
                            phase_match_offset_k=sc.phase_match_offset_k, station_in_view=sc.egse_permit,
                            geometry=plan.geometry, pointing=sc.pointing)
    res = runner.run(plan.duration_s, uplink=plan.commands(), progress=progress, on_hk=on_hk)
    if keep is not None:  # tests look at the run itself: keep=[] gets (runner, result, plan)
        keep.append((runner, res, plan))
    cold_start = min((t for t, name, args in plan.uplink if name == "SRC_MODE" and args.get("mode") == 1),
                     default=0.0)
    summary = {
        "scenario": sc.name,
        "description": sc.description,
        "seed": seed,
        "start_utc": None if plan.t0_unix is None else _iso(plan.t0_unix),
        "duration_s": res.duration_s,
        "fine_period_us": fine_period_us,
        "wall_s": round(res.wall_s, 2),
        "realtime_factor": round(res.realtime_factor, 1),
        "source": source_section(res, cold_start_s=cold_start),
    }
    np.savez_compressed(out_dir / "source_truth.npz", **truth_arrays(res))
    if plan.geometry is not None:
        from sim import pointing_summary as pts

        dt_s = fine_period_us * 1e-6
        stations = [st.name for st in plan.geometry.stations]
        section, spectra = pts.pointing_section(res, runner.pointing.seqs, stations, dt_s, replays=replays)
        summary["pointing"] = section
        np.savez_compressed(out_dir / "pointing_truth.npz", **pts.truth_arrays(res, dt_s))
        if pts.plot_psd(spectra, dt_s, out_dir / "pointing_psd.png", stations):
            summary["pointing"]["psd_png"] = "pointing_psd.png"
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _iso(t_unix):
    from sim.orbit import iso_utc

    return iso_utc(t_unix)


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def print_summary(summary: dict, out: Path) -> None:
    print(f"ran {summary['duration_s']:g} s virtual in {summary['wall_s']:g} s wall "
          f"({summary['realtime_factor']:g}x real time)" + (f" from {summary['start_utc']}" if summary.get("start_utc") else ""))
    for key, value in summary["source"].items():
        if key != "mode_timeline":
            print(f"  source.{key:28s} {_fmt(value)}")
    print("  source.mode_timeline            " + ", ".join(f"{t:g} s {m}" for t, m in summary["source"]["mode_timeline"]))
    files = ["summary.json", "source_truth.npz"]
    if "pointing" in summary:
        for beam in summary["pointing"]["beams"]:
            b = beam["beam"]
            for key, value in beam.items():
                if key != "beam":
                    print(f"  pointing.beam{b}.{key:24s} {_fmt(value)}")
        files.append("pointing_truth.npz")
        if "psd_png" in summary["pointing"]:
            files.append(summary["pointing"]["psd_png"])
    print(f"wrote {', '.join(str(out / f) for f in files)}")


def cmd_pass(args) -> int:
    from sim.scenarios import SCENARIOS

    if args.scenario not in SCENARIOS:
        print(f"qsat pass: unknown scenario {args.scenario!r}; known: {', '.join(sorted(SCENARIOS))}",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"qsat pass: --out {out} exists and is not a directory", file=sys.stderr)
        return 2
    last = [-1]

    def progress(k, steps):
        pct = 100 * k // steps
        if pct // 10 != last[0]:
            last[0] = pct // 10
            print(f"  {pct:3d} %", flush=True)

    if not args.quiet:
        print(f"qsat pass: scenario {args.scenario}, seed {args.seed}, writing {out}/")
    try:
        summary = run_pass(args.scenario, args.duration, args.seed, out, None if args.quiet else progress)
    except OSError as e:
        print(f"qsat pass: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print_summary(summary, out)
    return 0
