"""``qsat``: the project's one command line, with a subcommand per job.

    qsat demo                  the main job (boots the emulated payload and runs it)
    qsat run --duration S      run the emulated payload in lock-step, printing housekeeping
    qsat deploy --port PORT    compile the flight packages and copy them to a board
    qsat emulate               the payload in real time on loopback UDP
    qsat ground                the ground station service; qsat tc / watch / status / archive talk to it
    qsat passes, qsat plan     pass predictions; the time-tagged schedule that operates each common pass
    qsat icd, qsat xtce        documents generated from the mission database

Errors are reported as one line on stderr with a non-zero exit status.
"""

import argparse
import sys

DEMO_DURATION_S = None  # the micius-2020 scenario's own length: the warm-up, then the whole common pass
HK_COLUMNS = (  # (parameter from the decoded TM[3,25] packets, column title)
    ("uptime_s", "t_s"),
    ("fine_runs", "fine"),
    ("fine_overruns", "ovr"),
    ("fine_slips", "slip"),
    ("thermal_runs", "therm"),
    ("crystal_temp_mk", "T_mK"),
    ("crystal_error_mk", "err_mK"),
    ("tec_drive_u16", "tec"),
    ("src_mode", "mode"),
    ("beam0_mean_err_nrad", "b0_nrad"),
    ("beam1_mean_err_nrad", "b1_nrad"),
    ("beam0_frames", "frames0"),
)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def _print_hk_header() -> None:
    print(" ".join(f"{short:>9s}" for _, short in HK_COLUMNS))


def _print_hk_row(row: dict) -> None:
    print(" ".join(f"{row.get(name, 0):>9d}" for name, _ in HK_COLUMNS), flush=True)


def run_emulated(duration_s: float, seed: int, every_s: int = 1, quiet: bool = False):
    """Boot the payload on the emulated HAL and run it in lock-step."""
    from sim.lockstep import LockstepRunner  # numpy import only when running

    runner = LockstepRunner(seed=seed)
    if not quiet:
        print(f"booting emulated payload (seed {seed}); running {duration_s:g} s of virtual time")
        _print_hk_header()

    def on_hk(row):
        if not quiet and row.get("uptime_s", 0) % every_s == 0:
            _print_hk_row(row)

    from ground_segment.commanding import build_tc

    # the source boots OFF; as in operations, the ground commands its warm-up
    warmup = build_tc("SRC_MODE", {"mode": 1}, seq_count=1)
    res = runner.run(duration_s, on_hk=on_hk, uplink=[(0.0, warmup)])
    print(f"ran {res.duration_s:g} s virtual in {res.wall_s:.2f} s wall "
          f"(real-time factor {res.realtime_factor:.1f}x, {res.fine_steps} fine-loop steps)")
    print("scheduler: " + "; ".join(f"{g.name} {g.runs} runs, {g.overruns} overruns, {g.slips} slips, "
                                    f"max {g.max_exec_us} us" for g in runner.app.sched.groups))
    print(f"truth: crystal {res.crystal_temp_k[-1] - 273.15:.3f} C; pointing residual "
          + ", ".join(f"beam {b} {res.residual_rms_urad(b):.2f} urad rms/axis"
                      for b in range(res.error_x_nrad.shape[0])))
    return res


def cmd_run(args) -> int:
    run_emulated(args.duration, args.seed, args.every)
    return 0


def cmd_demo(args) -> int:
    from pathlib import Path

    from tools.pass_run import Progress, print_summary, run_pass

    out = Path(args.out)
    print("qsat demo: the main job. Micius-class passes over Delingha and Nanshan in lock-step, as in 2020: the flight")
    print("software warms the source up, locks and calibrates it, points both beams and emits under the on-board schedule;")
    print("the two stations tag their photons, align their clocks, sift, and keep the key until the finite-key bound")
    print(f"(failure probability 1e-10) lets them distil it. At most {args.max_passes} passes, a few minutes each.")

    def on_pass(row):
        print(f"\r  pass {row['pass']}: {row.get('coincidences', 0)} coincidences, {row.get('sifted_bits', 0)} sifted bits, "
              f"{row['wall_s']:.0f} s wall" + " " * 20, flush=True)

    summary = run_pass("micius-2020", DEMO_DURATION_S, args.seed, out, progress=Progress(), passes=args.max_passes,
                       until_key=True, on_pass=on_pass)
    print_summary(summary, out)
    key = summary["key"]
    if key["secret_bits"]:
        print(f"distilled {key['secret_bits']} secret bits from {key['sifted_bits']} sifted over {key['passes']} passes "
              f"({summary['contact_s']:.0f} s of contact): {key['secret_rate_bps']:.3f} bit/s; "
              f"keys in {out / 'keys'}/ (identical at both stations)")
    else:
        print(f"no key distilled: {key['note']}")
    return 0


def cmd_icd(args) -> int:
    from ground_segment import icd

    if args.check:
        if icd.ICD_PATH.read_text() != icd.generate():
            print("qsat icd: docs/icd.md is stale; run 'qsat icd'", file=sys.stderr)
            return 1
        print("docs/icd.md is up to date")
        return 0
    print(f"wrote {icd.write()}")
    return 0


def cmd_xtce(args) -> int:
    from ground_segment import xtce

    data = xtce.generate()
    if args.out == "-":
        sys.stdout.buffer.write(data)
    else:
        try:
            with open(args.out, "wb") as f:
                f.write(data)
        except OSError as e:
            print(f"qsat xtce: cannot write {args.out}: {e.strerror}", file=sys.stderr)
            return 2
        print(f"wrote {args.out} ({len(data)} bytes, XTCE 1.2)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qsat", description="Quantum-satellite payload: flight software, emulator, ground tools")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    d = sub.add_parser("demo", help="the main job: micius-2020 passes until the stations distil a key")
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--max-passes", type=int, default=12, help="stop after this many passes (default 12)")
    d.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    d.set_defaults(func=cmd_demo)
    r = sub.add_parser("run", help="run the emulated payload in lock-step for a span of virtual time")
    r.add_argument("--duration", type=_positive_float, default=10.0, help="virtual seconds (default 10)")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--every", type=int, default=1, help="print every Nth housekeeping sample (s)")
    r.set_defaults(func=cmd_run)
    i = sub.add_parser("icd", help="regenerate docs/icd.md from the mission database")
    i.add_argument("--check", action="store_true", help="only check that docs/icd.md is up to date")
    i.set_defaults(func=cmd_icd)
    x = sub.add_parser("xtce", help="export the mission database as XTCE 1.2")
    x.add_argument("--out", default="-", help="output file (default: standard output)")
    x.set_defaults(func=cmd_xtce)
    from tools import deploy, emulate, faults, ops, pass_run, passes, plan

    pass_run.add_parser(sub)
    passes.add_parser(sub)
    plan.add_parser(sub)
    emulate.add_parser(sub)
    faults.add_parser(sub)
    faults.add_inject_parser(sub)
    ops.add_parsers(sub)

    deploy.add_parser(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("qsat: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
