"""``qsat plan``: the common passes of two stations and the time-tagged schedule that operates each.

    qsat plan --stations Delingha,Nanshan --days 2
    qsat plan --stations delingha,nanshan --days 7 --start 2021-04-28T00:00:00Z --el-mask 15 --json plan.json

Predicts with SGP4 from the default TLE (Micius, NORAD 41731, epoch 2021-04-27; sim/orbit.py) the
intervals in [start, start + N days) in which both stations see the satellite above the mask.
The default start is the TLE's epoch, as for ``qsat passes``: a TLE is good for days around its
epoch, not for "now" years later.  For each pass it prints the common view (start and end UTC,
each station's highest elevation in it, contact seconds) and the activities the emulation's ground
(``qsat pass --scenario micius-2020``, sim/scenarios.py, sim/pass_plan.py) would put into the
payload's service-11 schedule: release UTC, command, arguments.  Beam 0 points at the first
station, beam 1 at the second.  ``--json FILE`` writes the same as a list of passes, each with its
activities.  Bad input exits 2 with one line on stderr.
"""

import sys

from tools.passes import parse_number

MAX_DAYS = 30.0


def add_parser(sub):
    p = sub.add_parser(
        "plan", help="common passes of two stations and the time-tagged command schedule of each",
        description="Predict the passes two ground stations see together and print, for each, the "
                    "time-tagged commands (PUS service 11) that operate it, as the micius-2020 "
                    "emulation uploads them. The default start is the TLE's epoch (2021-04-27).")
    p.add_argument("--stations", required=True, metavar="A,B",
                   help="the stations of beam 0 and beam 1: Delingha, Nanshan, Lijiang or Ngari (any case)")
    p.add_argument("--days", default="1", metavar="N", help=f"span to search, days (0 < N <= {MAX_DAYS:g}; default 1)")
    p.add_argument("--start", default=None, metavar="ISO-UTC",
                   help="ISO 8601 UTC start, e.g. 2021-04-28T00:00:00Z (default: the TLE epoch)")
    p.add_argument("--el-mask", default="10", dest="el_mask", metavar="DEG",
                   help="elevation mask, degrees (0..90; default 10)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the passes and schedules as JSON")
    p.set_defaults(func=cmd_plan)


def _fail(msg: str) -> int:
    print(f"qsat plan: {msg}", file=sys.stderr)
    return 2


def note(name: str, args: dict, stations) -> str:
    """What an activity does in the pass, in a few words."""
    from bus import mdb

    if name == "SRC_MODE":
        return {0: "source off", 1: "source warm-up", 4: "source emitting", 5: "source standby"}.get(args["mode"], "")
    if name in ("APT_START", "APT_STOP"):
        b = args["beam"]
        return f"beam {b} {'starts tracking' if name == 'APT_START' else 'stops'} ({stations[b]})"
    if name == "SYNC_LASER":
        return "sync laser " + ("on" if args["on"] else "off")
    if name == "PARAM_SET":
        p = mdb.parameter_by_id(args["pid"])
        if p is not None and p[1] == "src_auto_emit":
            return "emission window " + ("opens" if args["value"] else "closes")
        return f"{p[1]} = {args['value']}" if p is not None else ""
    return ""


def format_args(name: str, args: dict) -> str:
    if name == "PARAM_SET":
        from bus import mdb

        p = mdb.parameter_by_id(args["pid"])
        return f"pid=0x{args['pid']:04X} value={args['value']}" + (f" ({p[1]})" if p is not None else "")
    return " ".join(f"{k}={v}" for k, v in args.items())


def pass_record(k: int, plan, stations) -> dict:
    """One pass and its schedule, as --json writes it."""
    from sim.orbit import iso_utc

    cp, t0 = plan.common_pass, plan.t0_unix
    eph = {}
    for _, name, args in plan.uplink:
        if name == "APT_EPHEM_BEGIN":
            eph[args["beam"]] = {"station": stations[args["beam"]], "points": args["n"],
                                 "step_ms": args["step_ms"]}
    return {
        "pass": k,
        "stations": list(stations),
        "start_utc": iso_utc(cp.start_unix, 3),
        "end_utc": iso_utc(cp.end_unix, 3),
        "contact_s": round(cp.duration_s, 1),
        "max_elevation_deg": {stations[0]: round(cp.max_elevation_a_deg, 2),
                              stations[1]: round(cp.max_elevation_b_deg, 2)},
        "uploads_utc": iso_utc(t0, 3),
        "uploads": {"TIME_SET": 1, "SCHED_INSERT": sum(1 for _, n, _ in plan.uplink if n == "SCHED_INSERT"),
                    "ephemerides": [eph[b] for b in sorted(eph)]},
        "emission_window_utc": [iso_utc(t0 + plan.emission_window_s[0], 3), iso_utc(t0 + plan.emission_window_s[1], 3)],
        "activities": [{"release_utc": iso_utc(t0 + t, 3), "t_from_uploads_s": round(t, 3), "command": name,
                        "args": dict(args), "note": note(name, args, stations)}
                       for t, name, args in plan.schedule],
    }


def print_pass(rec: dict) -> None:
    a, b = rec["stations"]
    el = rec["max_elevation_deg"]
    print(f"pass {rec['pass']}: {rec['start_utc']} to {rec['end_utc']}, {rec['contact_s']:.0f} s of contact; "
          f"max elevation {a} {el[a]:.2f} deg, {b} {el[b]:.2f} deg")
    eph = ", ".join(f"beam {b_} {e['station']} {e['points']} points" for b_, e in enumerate(rec["uploads"]["ephemerides"]))
    print(f"  uploaded from {rec['uploads_utc']}: TIME_SET, {rec['uploads']['SCHED_INSERT']} TC[11,4] "
          f"({len(rec['activities'])} activities), ephemerides ({eph})")
    print(f"  {'release (UTC)':24s} {'command':12s} {'arguments':40s} note")
    for act in rec["activities"]:
        print(f"  {act['release_utc']:24s} {act['command']:12s} {format_args(act['command'], act['args']):40s} "
              f"{act['note']}")


def cmd_plan(args) -> int:
    from sim.stations import get_station

    # validate everything before importing numpy/sgp4 or propagating anything
    names = [s.strip() for s in args.stations.split(",")]
    if len(names) != 2 or not all(names):
        return _fail(f"--stations needs two stations as A,B, got {args.stations!r}")
    try:
        a, b = (get_station(n) for n in names)
        days = parse_number(args.days, "--days")
        mask = parse_number(args.el_mask, "--el-mask")
    except ValueError as e:
        return _fail(str(e))
    if a == b:
        return _fail(f"--stations names {a.name} twice: a pass needs two stations")
    if not 0 < days <= MAX_DAYS:
        return _fail(f"--days must be in (0, {MAX_DAYS:g}], got {args.days}")
    if not 0 <= mask <= 90:
        return _fail(f"--el-mask must be in 0..90 degrees, got {args.el_mask}")

    import dataclasses
    import json

    from sim.orbit import Orbit, iso_utc, parse_utc
    from sim.scenarios import get_scenario

    orbit = Orbit.default()
    if args.start is None:
        start = orbit.epoch_unix
    else:
        try:
            start = parse_utc(args.start)
        except ValueError:
            return _fail(f"--start is not an ISO 8601 date/time: {args.start!r}")
    sc = dataclasses.replace(get_scenario("micius-2020"), stations=(a.name, b.name), el_mask_deg=mask,
                             pass_after_utc=iso_utc(start))
    print(f"{orbit.name} (NORAD {orbit.norad_id}), TLE epoch {iso_utc(orbit.epoch_unix)}; from {iso_utc(start)} "
          f"for {days:g} d; elevation mask {mask:g} deg")
    print(f"common passes of {a.name} (beam 0) and {b.name} (beam 1), with the time-tagged commands that "
          f"operate each (as 'qsat pass --scenario micius-2020' uploads them)")
    try:
        found = sc.common_passes(days=days)
        records = [pass_record(k + 1, sc.plan_for(cp), (a.name, b.name)) for k, cp in enumerate(found)]
    except ValueError as e:  # SGP4 gave up, or a plan that cannot be built (e.g. more than 16 activities)
        return _fail(str(e))
    for rec in records:
        print_pass(rec)
    print(f"{len(records)} common pass{'' if len(records) == 1 else 'es'}, "
          f"{sum(r['contact_s'] for r in records):.0f} s of contact")
    if args.json is not None:
        try:
            with open(args.json, "w") as f:
                json.dump(records, f, indent=2)
                f.write("\n")
        except OSError as e:
            return _fail(f"cannot write {args.json}: {e.strerror or e}")
        print(f"wrote {args.json}")
    return 0
