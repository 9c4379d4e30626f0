"""``qsat pass``: whole passes in lock-step, the stations' key distillation, written up in DIR/.

    qsat pass --scenario micius-2020 [--passes N] [--mode key|bell] [--eve intercept-resend:F]
              [--duration S] [--seed N] --out DIR

Per pass: the flight software runs in lock-step with the plant (sim/lockstep.py),
operated by the scenario's telecommands; its telemetry goes into the ground
archive (DIR/archive.sqlite); the quantum downlinks turn the source's pairs into
each station's time tags (DIR/tags/pass<k>/<station>.tags, sim/downlinks.py);
the stations align, find coincidences and sift (ground_segment/bbm92.py) from
those files alone.  Sifted key is kept across passes and distilled at the end
(ground_segment/key_session.py); the keys go to DIR/keys/<station>.key.

DIR/summary.json (schema: docs/summary.md) carries the "source" and "pointing"
sections of the first pass, "link", "key", "telemetry" and one row per pass;
DIR/pass.png plots the passes against time; source_truth.npz,
pointing_truth.npz and pointing_psd.png are the first pass's truth.
"""

import argparse
import json
import sys
import time
from pathlib import Path


def _positive(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return v


def _count(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return v


def parse_eve(text: str) -> float:
    """``intercept-resend:FRACTION`` -> the fraction of B's photons Eve intercepts."""
    kind, sep, frac = text.partition(":")
    if kind != "intercept-resend" or not sep:
        raise argparse.ArgumentTypeError(f"--eve {text!r}: expected intercept-resend:FRACTION")
    try:
        f = float(frac)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--eve {text!r}: FRACTION is not a number") from None
    if not 0.0 <= f <= 1.0:
        raise argparse.ArgumentTypeError(f"--eve {text!r}: FRACTION must be within 0..1")
    return f


def add_parser(sub):
    from sim.scenarios import SCENARIOS

    p = sub.add_parser("pass", help="run whole passes in lock-step and distil key; writes DIR/summary.json")
    p.add_argument("--scenario", required=True, help="one of: " + ", ".join(sorted(SCENARIOS)))
    p.add_argument("--passes", type=_count, default=1, help="consecutive common passes (default 1)")
    p.add_argument("--mode", choices=("key", "bell"), default=None, help="default: the scenario's")
    p.add_argument("--eve", type=parse_eve, default=0.0, metavar="intercept-resend:FRACTION",
                   help="an eavesdropper on the photons bound for the second station")
    p.add_argument("--duration", type=_positive, default=None, help="virtual seconds per pass (default: the scenario's)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.add_argument("--faults", metavar="FILE", help="inject the faults this JSON file lists (sim/faults.py) into "
                   "every pass; times are run times since each pass's start")
    p.set_defaults(func=cmd_pass)


class Progress:
    """A one-line progress bar over all passes (virtual time done / virtual time planned)."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stdout
        self.width = width
        self.last = -1
        self.label = ""

    def __call__(self, fraction: float, label: str = "") -> None:
        pct = int(100 * min(max(fraction, 0.0), 1.0))
        if pct == self.last and label == self.label:
            return
        self.last, self.label = pct, label
        fill = self.width * pct // 100
        end = "\n" if pct >= 100 else ""
        self.stream.write(f"\r  [{'#' * fill}{'.' * (self.width - fill)}] {pct:3d} % {label}" + end)
        self.stream.flush()


def run_pass(scenario, duration_s: float | None, seed: int, out_dir: Path, progress=None,
             fine_period_us: int = 1000, on_hk=None, replays: bool = True, keep=None, passes: int = 1,
             mode: str | None = None, eve_fraction: float = 0.0, until_key: bool = False, on_pass=None,
             faults=()) -> dict:
    """Run the scenario's passes and write DIR; returns the summary.

    ``progress(fraction, label)`` sees the work done; ``until_key``: run up to
    ``passes`` passes but stop as soon as the accumulated key distils (the demo); ``on_pass(row)`` sees each pass's row as it ends.
    ``fine_period_us`` above 1000 runs the fine rate group slower (bench runs of
    the source alone).  ``faults``: rows of a fault file (sim/faults.py ``load_schedule``) injected
    into every pass; each pass's row then lists when each started and ended ("faults").  ``keep=[]`` gets (runner, result, plan) of each pass (tests).
    """
    import numpy as np

    from ground_segment import bbm92, clock_sync, timetags
    from ground_segment.key_session import KeySession
    from ground_segment.pass_archive import PassArchive
    from sim.downlinks import write_tags
    from sim.link_presets import get_link, with_mode
    from sim.lockstep import LockstepRunner
    from sim.presets import get_preset
    from sim.scenarios import get_scenario, warm
    from sim.source_summary import source_section, truth_arrays

    sc = get_scenario(scenario) if isinstance(scenario, str) else scenario  # a name or a Scenario
    spec = get_link(sc.name)
    if spec is not None:
        spec = with_mode(spec, mode)
        spec.downlink.check()
        for name, st in zip(sc.stations, spec.stations):
            st.check(name)
    if mode is not None and spec is None:
        raise ValueError(f"scenario {sc.name} has no quantum downlink: --mode does not apply")
    eff_mode = spec.mode if spec is not None else None
    if not 0.0 <= sc.el_mask_deg < 90.0:
        raise ValueError(f"scenario {sc.name}: elevation mask {sc.el_mask_deg} deg outside 0..90")
    first_plan = sc.plan(duration_s)  # a scenario without a pass in reach fails here, before any work
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = PassArchive(out_dir / "archive.sqlite")
    session = KeySession(mode=eff_mode) if spec is not None else None
    summary = {"scenario": sc.name, "description": sc.description, "seed": seed, "mode": eff_mode,
               "eve_fraction": eve_fraction}
    pass_rows = []
    wall0 = time.perf_counter()
    contact_s = 0.0
    plot_data = []
    k = 0
    sc_next = sc  # the scenario as the next pass is operated (warm once a scan has found the set point)
    tuned_mk = None
    while k < passes:
        plan = first_plan if k == 0 else sc_next.plan(duration_s, pass_index=k)
        pass_seed = seed if k == 0 else int(np.random.SeedSequence([seed, k]).generate_state(1)[0])
        runner = LockstepRunner(seed=pass_seed, fine_period_us=fine_period_us, preset=sc.preset,
                                phase_match_offset_k=sc.phase_match_offset_k, station_in_view=sc.egse_permit,
                                geometry=plan.geometry, pointing=sc.pointing)
        if faults:
            from sim.faults import FaultInjector

            runner.faults = FaultInjector.from_rows(faults)

        def step_progress(i, steps, k=k):
            if progress is not None:
                progress((k + i / steps) / passes, f"pass {k + 1}/{passes}")

        res = runner.run(plan.duration_s, uplink=plan.commands(), progress=step_progress, on_hk=on_hk)
        tuned_mk = _tuned_set_point_mk(res) or tuned_mk  # from the telemetry: the next pass starts on it
        if tuned_mk is not None:
            sc_next = warm(sc, tuned_mk)
        if keep is not None:
            keep.append((runner, res, plan))
        row = {"pass": k + 1, "start_utc": None if plan.t0_unix is None else _iso(plan.t0_unix),
               "duration_s": res.duration_s, "wall_s": round(res.wall_s, 2)}
        row["faults"] = ([{"t_s": round(t, 3), "fault": f, "edge": edge} for t, f, edge in runner.faults.log]
                         if runner.faults is not None else [])
        archive.add_run(res, plan)
        if k == 0:
            cold = min((t for t, name, args in list(plan.uplink) + list(getattr(plan, "schedule", ()))
                        if name == "SRC_MODE" and args.get("mode") == 1), default=0.0)
            summary["start_utc"] = row["start_utc"]
            summary["duration_s"] = res.duration_s
            summary["fine_period_us"] = fine_period_us
            summary["source"] = source_section(res, cold_start_s=cold)
            np.savez_compressed(out_dir / "source_truth.npz", **truth_arrays(res))
            if plan.geometry is not None:
                summary["pointing"] = _pointing(res, runner, plan, fine_period_us, out_dir, replays)
        if spec is not None and plan.geometry is not None:
            preset = get_preset(sc.preset)
            chan_seq = np.random.SeedSequence([seed, k, 0xC4A7])
            paths, truth = write_tags(res, plan, spec, preset, chan_seq, out_dir, k, fine_period_us * 1e-6,
                                      eff_mode, eve_fraction, sc.el_mask_deg)
            try:
                tags = [timetags.read(p) for p in paths]
            except ValueError as e:  # an empty file: nothing detected at that station
                pd = bbm92.PassData(note=str(e))
            else:
                # each station predicts its light time from the satellite's public orbit (the TLE)
                lts = [clock_sync.predicted_light_time(plan.geometry.orbit, st, t.epoch_unix)
                       for st, t in zip(plan.geometry.stations, tags)]
                pd = bbm92.process_pass(tags[0], tags[1], eff_mode, int(round(spec.half_window_s * 1e12)), lts)
            session.add_pass(pd, truth)
            contact_s += pd.link_s
            row.update(_pass_row(pd, truth))
            plot_data.append((res, plan, truth, pd))
        pass_rows.append(row)
        if on_pass is not None:
            on_pass(row)
        k += 1
        if until_key and session is not None and session.ready():
            break
    if progress is not None:
        progress(1.0, f"{k} pass{'es' if k > 1 else ''} done")
    wall = time.perf_counter() - wall0
    summary["passes_run"] = k
    summary["contact_s"] = round(contact_s, 1)
    summary["sim_wall_s"] = round(wall, 2)
    summary["wall_s"] = summary["sim_wall_s"]
    summary["realtime_factor"] = round(contact_s / wall, 3) if wall > 0 else None
    summary["virtual_s_per_wall_s"] = round(sum(r["duration_s"] for r in pass_rows) / wall, 2) if wall > 0 else None
    if session is not None:
        key = session.distil(contact_s, out_dir / "keys", [st for st in sc.stations])
        summary["link"] = _link_section(session, spec, sc, contact_s)
        summary["key"] = key
    summary["telemetry"] = archive.telemetry()
    summary["passes"] = pass_rows
    if plot_data:
        from tools import pass_plots

        if pass_plots.plot(plot_data, session, out_dir / "pass.png"):
            summary["plot_png"] = "pass.png"
    archive.close()
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _tuned_set_point_mk(res):
    """The crystal set point of the pass's last successful phase-matching scan (its EV_SRC_AUTOTUNE), or None."""
    from payload import phase_tune
    from sim.source_summary import telemetry

    events, _ = telemetry(res)
    done = [e.args["found_mk"] for _, e in events
            if e.name == "EV_SRC_AUTOTUNE" and e.args["state"] == phase_tune.DONE]
    return done[-1] if done else None


def _pointing(res, runner, plan, fine_period_us, out_dir, replays):
    import numpy as np

    from sim import pointing_summary as pts

    dt_s = fine_period_us * 1e-6
    stations = [st.name for st in plan.geometry.stations]
    section, spectra = pts.pointing_section(res, runner.pointing.seqs, stations, dt_s, replays=replays)
    np.savez_compressed(out_dir / "pointing_truth.npz", **pts.truth_arrays(res, dt_s))
    if pts.plot_psd(spectra, dt_s, out_dir / "pointing_psd.png", stations):
        section["psd_png"] = "pointing_psd.png"
    return section


def _pass_row(pd, truth) -> dict:
    return {"link_s": round(pd.link_s, 1), "coincidences": pd.coincidences,
            "sifted_bits": int(len(pd.alice_bits)), "accidental_rate_hz": round(pd.accidental_rate_hz, 4),
            "clock_offset_ns": round(pd.offset_ns, 3), "clock_drift": pd.drift,
            "true_pairs": truth.pairs_both, "note": pd.note}


def _link_section(session, spec, sc, contact_s) -> dict:
    import numpy as np

    from sim.quantum_link import loss_db

    stations = []
    for b, name in enumerate(sc.stations):
        eta = np.concatenate([t.series[f"eta{b}"] for t in session.truths]) if session.truths else np.zeros(0)
        eta = eta[eta > 0]
        db = loss_db(eta)
        stations.append({"name": name, "loss_db_min": round(float(db.min()), 2) if len(db) else None,
                         "loss_db_median": round(float(np.median(db)), 2) if len(db) else None})
    s, sigma = session.chsh()
    coinc = sum(p.coincidences for p in session.passes)
    acc = sum(p.accidental_rate_hz * p.link_s for p in session.passes)
    return {"stations": stations,
            "coincidences": coinc,
            "coincidence_rate_hz": round(coinc / contact_s, 4) if contact_s > 0 else None,
            "accidental_rate_hz": round(acc / contact_s, 4) if contact_s > 0 else None,
            "signal_to_noise": round((coinc - acc) / acc, 2) if acc > 0 else None,
            "qber": session.qber(), "qber_truth": session.qber_truth(),
            "chsh_s": None if s is None else round(s, 4), "chsh_s_sigma": None if sigma is None else round(sigma, 4),
            "half_window_ns": spec.half_window_s * 1e9, "divergence_urad": spec.downlink.divergence_urad}


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
    print(f"ran {summary['passes_run']} pass(es), {summary['duration_s']:g} s virtual each, in "
          f"{summary['sim_wall_s']:g} s wall; contact {summary['contact_s']:g} s"
          + (f" ({summary['realtime_factor']:g}x real time over the contact)" if summary.get("realtime_factor") else "")
          + (f"; first pass from {summary['start_utc']}" if summary.get("start_utc") else ""))
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
    if "link" in summary:
        print_key_table(summary)
        files += ["tags/", "keys/", "archive.sqlite"]
    if "plot_png" in summary:
        files.append(summary["plot_png"])
    t = summary["telemetry"]
    print(f"  telemetry: {t['tm_packets']} TM packets, {t['tm_gaps']} sequence gaps, "
          f"{t['tc_completed']}/{t['tc_sent']} telecommands completed")
    print(f"wrote {', '.join(str(out / f) for f in files)}")


def print_key_table(summary: dict) -> None:
    """The link and key figures as a table, with the published Micius figures beside where they exist."""
    link, key = summary["link"], summary["key"]
    rows = [("passes", key["passes"], ""), ("contact (s)", summary["contact_s"], "")]
    for st in link["stations"]:
        rows.append((f"loss {st['name']} min / median (dB)", f"{_fmt(st['loss_db_min'])} / {_fmt(st['loss_db_median'])}", ""))
    rows += [("coincidences (Hz)", link["coincidence_rate_hz"], "2.2"),
             ("accidentals (Hz)", link["accidental_rate_hz"], "2.2/15"),
             ("QBER (EC)", link["qber"], "0.045"), ("QBER (simulator)", link["qber_truth"], ""),
             ("CHSH S", f"{_fmt(link['chsh_s'])} +/- {_fmt(link['chsh_s_sigma'])}" if link["chsh_s"] else None, ""),
             ("sifted bits", key["sifted_bits"], ""),
             ("sifted rate (bit/s)", key.get("sifted_rate_bps"), "1.1"),
             ("EC efficiency f", key["ec_efficiency"], "1.19"),
             ("asymptotic rate (bit/s)", key["asymptotic_rate_bps"], "0.43"),
             ("secret bits (finite key)", key["secret_bits"], "372"),
             ("secret rate (bit/s)", key["secret_rate_bps"], "0.12"),
             ("key refused", f"{key['aborted']} {key['abort_reason'] or ''}".strip(), "")]
    print(f"  {'':34s} {'this run':>16s} {'Micius 2020':>12s}")
    for name, value, ref in rows:
        if value is None:
            continue
        print(f"  {name:34s} {_fmt(value):>16s} {ref:>12s}")
    if key.get("note"):
        print(f"  note: {key['note']}")


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
    if not args.quiet:
        print(f"qsat pass: scenario {args.scenario}, {args.passes} pass(es), seed {args.seed}, writing {out}/")
    faults = ()
    if args.faults:
        from sim.faults import load_schedule

        try:
            faults = load_schedule(args.faults)
        except ValueError as e:
            print(f"qsat pass: {e}", file=sys.stderr)
            return 2
    try:
        summary = run_pass(args.scenario, args.duration, args.seed, out, None if args.quiet else Progress(),
                           passes=args.passes, mode=args.mode, eve_fraction=args.eve, faults=faults)
    except OSError as e:
        print(f"qsat pass: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"qsat pass: {e}", file=sys.stderr)
        return 2
    print_summary(summary, out)
    return 0
