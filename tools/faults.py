"""``qsat faults``: the fault-injection campaign, one row per fault.

    qsat faults [--json FILE] [--no-monitors] [--only NAME[,NAME...]] [--seed N]

The campaign runs a Micius-class pass (micius-2020, operated warm as the passes
after the first are) in lock-step until the source emits and both beams are in
fine track, keeps that moment, and from it runs each fault of sim/faults.py in
a copy of the whole emulation: the fault starts 2 s in, lasts its duration,
and the run goes on for the fault's observation window.  The ground keeps
sending a ping every 10 s (a real ground's keep-alive) and, where a fault
lost telemetry, commands a playback of the on-board packet store once the
link is back.

Columns (``--json`` writes the same rows, keys as named):

- ``fault``: the fault's name (sim/faults.py KINDS);
- ``detected``: the ground received the on-board detection the fault is declared
  to raise (EV_FDIR_TRIP of its monitor; the parameter scrub's event; EV_BOOT
  with reset cause WATCHDOG for a hung rate group);
- ``time_to_safe_s``: from the injection to the first moment the simulator's
  truth shows the fault's safe state (the pump diode dark for faults that make
  emission unsafe or impossible; the pump back off the power loop's ceiling
  for an aged diode; the parameter's RAM value repaired; the on-board time
  back within 50 ms; null for faults with no unsafe state);
- ``recovered``: the payload was back in the fault's declared end state (from
  truth and telemetry) before the window ended;
- ``data_lost``: telemetry packets the payload sent that the ground archive
  lacks at the end: sequence gaps in the archive per APID (boots delimit the
  counts) against the runner's truth count of what the link lost.

Extra columns: ``detect_s`` (injection to the detection event's on-board time),
``recovered_s``, ``laser_unsafe_s`` (total time the truth shows the pump lasing
while a beam's truth pointing error exceeds the downlink divergence or an
interlock condition holds, after a 0.2 s reaction allowance) and ``events``.

``--no-monitors`` is the control: the same campaign with FDIR_ENABLE 255 0 sent
first, so the table shows what the monitors themselves contribute.
"""

import copy
import json
import sys
import time
from dataclasses import dataclass

import numpy as np

PUMP_CEILING_MA = 85.5  # the pump power loop's ceiling: 95 % of the 90 mA interlock (payload/pump_laser.py)
GRACE_S = 0.2  # two 10 Hz source periods: the reaction allowed before lasing while unsafe counts
SAMPLE_S = 0.1
PING_EVERY_S = 10.0
FAULT_AT_S = 2.0  # into each fault run


@dataclass(frozen=True)
class Case:
    fault: str
    duration_s: float | None  # None: until the run ends (or, for a hung processor, until the reset)
    window_s: float  # observation after the branch point
    detect: tuple  # ("trip", monitor IDs) | ("event", name) | ("boot", cause)
    safe: str  # what "safe" means in truth: "dark" | "param" | "time" | "current" | "none"
    recovery: str  # the declared end state: "emitting" | "derated" | "locked" | "param" | "time"
    bound_s: float  # declared recovery bound after the fault clears (docs/fdir.md)
    playback: bool = False  # the ground lost telemetry: it commands STORE_PLAYBACK once the link is back


CAMPAIGN = (
    Case("tec_failure", 20.0, 110.0, ("trip", (2,)), "dark", "emitting", 80.0),
    Case("thermistor_open", 10.0, 75.0, ("trip", (1,)), "dark", "emitting", 55.0),
    Case("thermistor_short", 10.0, 75.0, ("trip", (1,)), "dark", "emitting", 55.0),
    Case("pump_overcurrent", 10.0, 70.0, ("trip", (1,)), "dark", "emitting", 50.0),
    Case("diode_ageing", None, 30.0, ("trip", (3,)), "current", "derated", 10.0),
    Case("mirror_saturation", 8.0, 30.0, ("trip", (4, 5)), "dark", "emitting", 15.0),
    Case("mirror_stuck", 8.0, 25.0, ("trip", (6,)), "dark", "emitting", 10.0),
    Case("beacon_loss", 8.0, 25.0, ("trip", (8,)), "dark", "emitting", 10.0),
    Case("wheel_speed_jump", None, 25.0, ("trip", (10,)), "none", "emitting", 5.0),
    Case("param_bit_flip", None, 10.0, ("event", "EV_TBL_SCRUB"), "param", "emitting", 2.0),
    Case("hung_rate_group", None, 60.0, ("boot", 3), "dark", "locked", 50.0),
    Case("tm_link_down", 40.0, 60.0, ("trip", (12,)), "none", "emitting", 10.0, playback=True),
    Case("clock_jump", None, 10.0, ("trip", (11,)), "time", "emitting", 1.0),
)


def add_parser(sub) -> None:
    p = sub.add_parser("faults", help="run the fault-injection campaign and print its table")
    p.add_argument("--json", metavar="FILE", help="also write the rows as a JSON list of objects")
    p.add_argument("--no-monitors", action="store_true", help="control run: FDIR monitors disabled")
    p.add_argument("--only", metavar="NAMES", help="comma-separated faults to run (default: all)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quiet", action="store_true", help="print only the table")
    p.set_defaults(func=run)


def add_inject_parser(sub) -> None:
    from sim.faults import KINDS, PORT_FAULTS

    p = sub.add_parser("inject", help="inject a fault into a running 'qsat emulate' now")
    p.add_argument("fault", help="one of: " + ", ".join(KINDS))
    p.add_argument("--duration", type=float, default=None, help="seconds until it clears (default: it stays)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="override a magnitude")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=PORT_FAULTS)
    p.set_defaults(func=inject)


def inject(args) -> int:
    """Send one fault to the emulator's fault port and print its answer; exit 2 with the reason if refused."""
    import socket

    from sim.faults import check_injection

    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"qsat inject: --param {item!r}: expected KEY=VALUE", file=sys.stderr)
            return 2
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    try:
        check_injection(args.fault, 0.0, args.duration, params)
    except ValueError as e:
        print(f"qsat inject: {e}", file=sys.stderr)
        return 2
    msg = json.dumps({"fault": args.fault, "duration_s": args.duration, "params": params}).encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3.0)
        try:
            sock.sendto(msg, (args.host, args.port))
            reply = json.loads(sock.recvfrom(4096)[0])
        except (socket.timeout, ConnectionRefusedError):
            print(f"qsat inject: no answer from an emulator on udp/{args.port} (is 'qsat emulate' running?)",
                  file=sys.stderr)
            return 2
    if not reply.get("ok"):
        print(f"qsat inject: refused: {reply.get('error')}", file=sys.stderr)
        return 2
    print(f"injected {reply['fault']} at {reply['at_s']:.3f} s of the emulation"
          + (f" for {args.duration:g} s" if args.duration else ""))
    return 0


def run(args) -> int:
    cases = CAMPAIGN
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        known = {c.fault for c in CAMPAIGN}
        bad = [n for n in names if n not in known]
        if bad or not names:
            print(f"qsat faults: unknown fault {', '.join(bad) or '(none given)'}; known: {', '.join(sorted(known))}",
                  file=sys.stderr)
            return 2
        cases = tuple(c for c in CAMPAIGN if c.fault in names)
    if args.json:
        from pathlib import Path

        parent = Path(args.json).resolve().parent
        if not parent.is_dir():
            print(f"qsat faults: cannot write {args.json}: no directory {parent}", file=sys.stderr)
            return 2
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    rows = run_campaign(cases, seed=args.seed, monitors=not args.no_monitors, say=say)
    print(format_table(rows, monitors=not args.no_monitors))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
        say(f"wrote {args.json}")
    return 0


# -- the base: a pass in progress ------------------------------------------------------------------
class Base:
    """The emulation at the branch point, and what the ground sends from there."""

    def __init__(self, seed: int):
        from ground_segment.commanding import build_tc
        from sim.lockstep import LockstepRunner
        from sim.presets import get_preset
        from sim.scenarios import get_scenario, warm

        sc = get_scenario("micius-2020")
        # the passes after the first start on the set point the first one's scan found; here the
        # scenario's own phase-matching truth stands in for that telemetry (docs/fdir.md)
        src = get_preset(sc.preset).make_source()
        tuned_mk = int(round((src.centre_temp_k + sc.phase_match_offset_k) * 1000))
        plan = warm(sc, tuned_mk).plan()
        self.plan = plan
        self.t_branch_s = plan.emission_window_s[0] + 40.0
        commands = plan.commands()
        self.seq = len(commands) + len(plan.schedule) + 1  # next free sequence count of the ground
        pings = [(t, build_tc("MGR_PING", {}, seq_count=self._next()))
                 for t in np.arange(PING_EVERY_S, self.t_branch_s, PING_EVERY_S)]
        self.runner = LockstepRunner(seed=seed, preset=sc.preset, phase_match_offset_k=sc.phase_match_offset_k,
                                     geometry=plan.geometry)
        self.result = self.runner.run(self.t_branch_s, uplink=sorted(commands + pings, key=lambda c: c[0]))
        self.runner.pointing._rows = None  # memoryviews of the last run's arrays: rebuilt by the next run
        self.divergence_urad = 10.0  # the Micius downlink's full 1/e^2 divergence (sim/link_presets.py)

    def _next(self) -> int:
        s = self.seq
        self.seq += 1
        return s

    def branch(self):
        """A copy of the whole emulation at the branch point (the orbit's propagator is shared)."""
        geo = self.runner.pointing.geometry
        return copy.deepcopy(self.runner, {id(geo): geo, id(geo.orbit): geo.orbit})


# -- one fault -------------------------------------------------------------------------------------
class TruthSampler:
    """Polled every 10 ms by the runner (its ``stop`` hook); samples the truth every 100 ms."""

    def __init__(self, runner, case: Case, divergence_urad: float, t0_unix: float, param=None):
        self.runner = runner
        self.t0_unix = t0_unix  # UTC of the run's start: what the on-board time should read, with run time
        self.case = case
        self.div_nrad = divergence_urad * 1000.0
        self.t0_us = runner.t_us
        self.param = param  # (name, good value) for the bit flip
        self.rows = []  # (t since branch s, lasing, unsafe, emitting mode, both fine, safe-state flag)
        self._n = 0

    def __call__(self) -> bool:
        self._n += 1
        if self._n % 10:
            return False
        r = self.runner
        t = (r.t_us - self.t0_us) * 1e-6
        src = r.source
        lasing = src.power_mw > 0.1
        k = (r.t_us - self.t0_us) // r.dt_us
        rec = r.pointing.rec
        lo = max(0, k - 100)
        err = 0.0
        if k > lo:
            ex = rec["err_x"][:, lo:k]
            ey = rec["err_y"][:, lo:k]
            err = float(np.max(np.hypot(ex, ey))) * 1000.0  # nrad
        interlock = (src.current_ma > 90.0 or r.thermal.thermistor_fault_uv is not None)
        unsafe = err > self.div_nrad or interlock
        app = r.app
        emitting = app.source_app.modes.mode == 4
        fine = all(b.state == 4 for b in app.apt)
        self.rows.append((t, lasing, unsafe, emitting, fine, self._safe_flag(lasing), src.current_ma,
                          app.source_app.modes.mode))
        return False

    def _safe_flag(self, lasing: bool) -> bool:
        kind = self.case.safe
        r = self.runner
        if kind == "dark":
            return not lasing
        if kind == "current":
            return r.source.current_ma < PUMP_CEILING_MA - 0.5
        if kind == "param":
            name, good = self.param
            obj, attr, _, _ = r.app.params.entry(name)
            return getattr(obj, attr) == good
        if kind == "time":
            return abs(_time_error_ms(r, self.t0_unix)) < 50.0
        return True


def _time_error_ms(runner, t0_unix: float) -> float:
    """On-board time minus true time (ms), from the flight's CDS time against the run's UTC."""
    ft = runner.app.flight_time
    ft.rebase()
    onboard_unix = (ft.days - 4383) * 86400.0 + ft.ms_of_day / 1000.0  # CDS epoch 1958 -> 1970: 4383 days
    true_unix = t0_unix + runner.t_us * 1e-6
    return (onboard_unix - true_unix) * 1000.0


def run_fault(base: Base, case: Case, monitors: bool = True) -> dict:
    from ground_segment.commanding import build_tc
    from sim.faults import FaultInjector

    runner = base.branch()
    inj = FaultInjector()
    at = runner.t_us * 1e-6 + FAULT_AT_S
    injection = inj.add(case.fault, at, case.duration_s)
    runner.faults = inj
    uplink = []
    seq = base.seq
    if not monitors:
        uplink.append((0.1, build_tc("FDIR_ENABLE", {"monitor": 255, "on": 0}, seq_count=seq)))
        seq += 1
    for t in np.arange(PING_EVERY_S - (base.t_branch_s % PING_EVERY_S), case.window_s, PING_EVERY_S):
        uplink.append((float(t), build_tc("MGR_PING", {}, seq_count=seq)))
        seq += 1
    if case.playback and case.duration_s is not None:
        uplink.append((FAULT_AT_S + case.duration_s + 2.0, build_tc("STORE_PLAYBACK", {}, seq_count=seq)))
        seq += 1
    uplink.sort(key=lambda c: c[0])
    param = None
    if case.fault == "param_bit_flip":
        name = injection.params["parameter"]
        obj, attr, _, _ = runner.app.params.entry(name)
        param = (name, getattr(obj, attr))
    sampler = TruthSampler(runner, case, base.divergence_urad, base.plan.t0_unix, param)
    wall0 = time.perf_counter()
    res = runner.run(case.window_s, uplink=uplink, stop=sampler)
    wall = time.perf_counter() - wall0
    return score(case, runner, res, sampler, inj, wall, base)


def _fresh(base_res, res) -> list:
    """What the ground received in the fault run, each packet once: (receive time since the run
    start, octets, new) with ``new`` False for a copy of one already received (in the pass up to the
    branch or earlier in this run): a playback re-sends what the ground may already hold."""
    seen = {bytes(p) for p in base_res.tm_packets}
    out = []
    t_start = res.t_s[0] if len(res.t_s) else 0.0
    for t, p in zip(res.tm_times_s, res.tm_packets):
        b = bytes(p)
        out.append((t - t_start, b, b not in seen))
        seen.add(b)
    return out


def _events(received, t0_unix: float, t_branch_s: float) -> list:
    """(on-board time s since the branch, event name, {arg: value}) of the events the ground received
    for the first time, played back ones included; an event stamped before time was set (after a
    reset) counts at the time the ground received it."""
    from ground_segment.mdb_decode import DecodeError, Event, decode_bytes

    out = []
    for t_rx, p, new in received:
        if p[7] != 5 or not new:
            continue
        try:
            recs = decode_bytes(p)
        except DecodeError:
            continue
        for e in recs:
            if isinstance(e, Event):
                t = e.t_unix - t0_unix - t_branch_s if e.t_unix > t0_unix - 86400.0 else t_rx
                out.append((float(t), e.name, e.args))
    out.sort(key=lambda x: x[0])
    return out


def _data_lost(runner, base_res, received) -> tuple[int, int]:
    """Telemetry the ground archive lacks: the ground archive (ground_segment/archive.py) takes every
    packet received over the pass, real time and playback merged (copies refused), and counts the
    sequence gaps per APID; an EV_BOOT received for the first time starts a new archive, the counts
    starting again.  Returns (archive gaps, truth): the truth is how many of the packets the runner
    saw the link lose the archive does not hold."""
    from ground_segment.archive import Archive
    from ground_segment.mdb_decode import DecodeError, Event, decode_bytes

    boot = mdb_event_id("EV_BOOT")
    segments = [list(zip(base_res.tm_times_s, (bytes(p) for p in base_res.tm_packets)))]
    for t, p, new in received:
        if new and p[7] == 5:
            try:
                if any(isinstance(e, Event) and e.event_id == boot for e in decode_bytes(p)):
                    segments.append([])
            except DecodeError:
                pass
        segments[-1].append((t, p))
    missing = 0
    held = set()
    for seg in segments:
        if not seg:
            continue
        with Archive(":memory:") as arch:
            arch.add_packets(seg)
            for apid in sorted({((p[0] & 0x07) << 8) | p[1] for _, p in seg}):
                missing += arch.sequence_gaps(apid).missing
        held.update(p for _, p in seg)
    truth = sum(1 for p in runner.link_lost_packets if bytes(p) not in held)
    return missing, truth


def mdb_event_id(name: str) -> int:
    from bus import mdb

    return mdb.event(name)[0]


def score(case: Case, runner, res, sampler, inj, wall_s: float, base) -> dict:
    rows = sampler.rows
    starts = [t for t, f, what in inj.log if what == "start"]
    eff = inj.injections[0].params.get("effective_at_s") if inj.injections else None
    if eff is not None:  # a wheel's speed step takes effect at the vibration model's next block
        starts = [eff]
    ends = [t for t, f, what in inj.log if what == "end"]
    t_branch = sampler.t0_us * 1e-6
    t_inj = (starts[0] - t_branch) if starts else None
    t_end = (ends[0] - t_branch) if ends else t_inj
    if case.fault == "hung_rate_group" and runner.resets:
        t_end = runner.resets[0][0] - t_branch
    received = _fresh(base.result, res)
    events = _events(received, base.plan.t0_unix, t_branch)
    detect_t = None
    kind, what = case.detect
    for t, name, args in events:
        if t_inj is None or t < t_inj - 0.001:  # ms time stamps: an event in the injection's own tick counts
            continue
        hit = ((kind == "trip" and name == "EV_FDIR_TRIP" and args.get("monitor") in what)
               or (kind == "event" and name == what)
               or (kind == "boot" and name == "EV_BOOT" and args.get("reset_cause") == what))
        if hit:
            detect_t = t
            break
    # time to safe: the first sample at or after the injection whose safe flag holds
    tts = None
    if case.safe == "current" and t_inj is not None:
        # unsafe once the diode is driven at the power loop's ceiling; safe when it is off it again
        pinned = next((t for t, *_, i_ma, mode in rows if t >= t_inj and i_ma >= PUMP_CEILING_MA - 0.2), None)
        if pinned is not None:
            tts = next((round(float(t - t_inj), 2) for t, *_, i_ma, mode in rows
                        if t > pinned and i_ma < PUMP_CEILING_MA - 0.5), None)
    elif case.safe != "none" and t_inj is not None:
        for t, lasing, unsafe, emitting, fine, safe, i_ma, mode in rows:
            if t >= t_inj and safe:
                tts = round(float(t - t_inj), 2)
                break
    # unsafe lasing beyond the grace
    unsafe_s = 0.0
    run_s = 0.0
    for t, lasing, unsafe, emitting, fine, safe, i_ma, mode in rows:
        if lasing and unsafe:
            run_s += SAMPLE_S
            if run_s > GRACE_S:
                unsafe_s += SAMPLE_S
        else:
            run_s = 0.0
    rec_t = _recovered_at(case, rows, t_end, runner)
    recovered = rec_t is not None and (t_end is None or rec_t - t_end <= case.bound_s)
    names = sorted({n for t, n, a in events if t_inj is not None and t >= t_inj - 0.001
                    and n.startswith(("EV_FDIR", "EV_SRC_INTER", "EV_BOOT", "EV_TBL", "EV_APT_LOCK", "EV_STORE"))})
    lost, lost_truth = _data_lost(runner, base.result, received)
    return {
        "fault": case.fault,
        "detected": detect_t is not None,
        "time_to_safe_s": tts,
        "recovered": bool(recovered),
        "data_lost": lost,
        "detect_s": None if detect_t is None else round(max(0.0, float(detect_t - t_inj)), 2),
        "recovered_s": None if rec_t is None or t_end is None else round(float(rec_t - t_end), 1),
        "laser_unsafe_s": round(unsafe_s, 1),
        "link_lost_tm": runner.link_lost_tm,
        "lost_truth": lost_truth,
        "resets": len(runner.resets),
        "recovery_bound_s": case.bound_s,
        "reset_cause_hk": next((r["reset_cause"] for r in reversed(res.hk_rows) if "reset_cause" in r), None),
        "events": names,
        "wall_s": round(wall_s, 1),
    }


def _recovered_at(case: Case, rows, t_end, runner):
    """Run time (since the branch) from which the declared end state held to the window's end."""
    if t_end is None:
        return None
    want = case.recovery
    since = None
    for t, lasing, unsafe, emitting, fine, safe, i_ma, mode in rows:
        if t < t_end:
            continue
        if want == "emitting":
            ok = emitting and fine and lasing and (safe or case.safe == "dark")
        elif want == "derated":
            ok = emitting and lasing and i_ma < PUMP_CEILING_MA - 0.5
        elif want == "locked":  # READY, EMITTING or STANDBY: the crystal locked on its set point again
            ok = mode in (3, 4, 5)
        else:
            ok = safe
        if ok and since is None:
            since = t
        elif not ok:
            since = None
    return since


def run_campaign(cases=CAMPAIGN, seed: int = 1, monitors: bool = True, say=print) -> list[dict]:
    wall0 = time.perf_counter()
    say("qsat faults: building the pass (micius-2020, warm) up to the branch point ...")
    base = Base(seed)
    say(f"  branch at {base.t_branch_s:.0f} s of the pass: source mode "
        f"{base.runner.app.source_app.modes.mode}, beams {[b.state for b in base.runner.app.apt]} "
        f"({time.perf_counter() - wall0:.0f} s)")
    rows = []
    for case in cases:
        row = run_fault(base, case, monitors)
        rows.append(row)
        say(f"  {case.fault:18s} detected={row['detected']!s:5s} safe={row['time_to_safe_s']} "
            f"recovered={row['recovered']!s:5s} lost={row['data_lost']} unsafe_laser={row['laser_unsafe_s']} s "
            f"({row['wall_s']} s)")
    return rows


def format_table(rows, monitors: bool = True) -> str:
    head = ("fault", "detected", "time to safe", "recovered", "data lost", "detect", "laser unsafe")
    lines = [("FDIR monitors ON" if monitors else "FDIR monitors OFF (control run)"),
             "  ".join(f"{h:>12s}" if i else f"{h:18s}" for i, h in enumerate(head))]
    for r in rows:
        tts = "-" if r["time_to_safe_s"] is None else f"{r['time_to_safe_s']:.1f} s"
        det = "-" if r["detect_s"] is None else f"{r['detect_s']:.2f} s"
        cells = (r["fault"], "yes" if r["detected"] else "NO", tts, "yes" if r["recovered"] else "NO",
                 str(r["data_lost"]), det, f"{r['laser_unsafe_s']:.1f} s")
        lines.append("  ".join(f"{c:>12s}" if i else f"{c:18s}" for i, c in enumerate(cells)))
    n_det = sum(r["detected"] for r in rows)
    n_rec = sum(r["recovered"] for r in rows)
    lines.append(f"{n_det}/{len(rows)} detected, {n_rec}/{len(rows)} recovered, "
                 f"{sum(r['data_lost'] for r in rows)} packets lost, "
                 f"{sum(r['laser_unsafe_s'] for r in rows):.1f} s of lasing while unsafe")
    return "\n".join(lines)
