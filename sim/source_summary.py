"""The "source" section of a lock-step run's summary.json, computed from that run's own data.

Two sources, never mixed up: the simulator's truth (``RunResult.source_truth``:
crystal temperature, set point as commanded, true phase-matching temperature)
and the telemetry the payload sent, decoded by the ground's decoders (modes and
their times from EV_SRC_MODE, the auto-tune result from EV_SRC_AUTOTUNE, the
on-board quality figures from housekeeping).  The target checks compare one
with the other: e.g. ``autotune_error_k`` is what the payload reported minus
what the simulator knows.
"""

import math

import numpy as np

from ground_segment.mdb_decode import DecodeError, Event, Sample, decode_bytes
from payload import phase_tune
from payload.source_modes import EMITTING, MODE_NAMES, READY

TRUTH_ARRAYS = ("t_s", "crystal_temp_k", "setpoint_k", "setpoint_held", "phase_match_temp_k", "pump_current_ma")


def telemetry(res):
    """(events, hk) from the run's TM packets: events as (t_s, Event); hk as one dict per
    housekeeping packet of the source, ``{"t_s": ..., parameter: raw}``."""
    events, hk = [], []
    for t, pkt in zip(res.tm_times_s, res.tm_packets):
        try:
            recs = decode_bytes(pkt)
        except DecodeError:
            continue
        row = {}
        for r in recs:
            if isinstance(r, Event):
                events.append((t, r))
            elif isinstance(r, Sample) and r.apid == 0x020:
                row[r.name] = r.raw
        if row and "src_mode" in row:
            row["t_s"] = t
            hk.append(row)
    return events, hk


def _finite(x):
    return None if x is None or not math.isfinite(x) else float(x)


def source_section(res, cold_start_s: float = 0.0) -> dict:
    """The summary's "source" figures (see docs/source.md for each definition)."""
    tr = res.source_truth
    events, hk = telemetry(res)
    timeline = [[0.0, MODE_NAMES[0]]]
    first_lock_s = emitting_s = None
    for t, e in events:
        if e.name == "EV_SRC_MODE":
            to = e.args["to_mode"]
            timeline.append([round(t, 3), MODE_NAMES[to]])
            if to == READY and first_lock_s is None:
                first_lock_s = t
            if to == EMITTING and emitting_s is None:
                emitting_s = t
    # crystal temperature against a held set point, from the first lock on
    err_rms = err_pp = err_max = None
    held_s = 0.0
    if first_lock_s is not None and len(tr["t_s"]):
        k = (tr["t_s"] >= first_lock_s) & tr["setpoint_held"]
        if k.any():
            err_mk = (tr["crystal_temp_k"][k] - tr["setpoint_k"][k]) * 1000.0
            err_rms = float(np.sqrt(np.mean(err_mk ** 2)))
            err_pp = float(err_mk.max() - err_mk.min())
            err_max = float(np.abs(err_mk).max())
            held_s = float(k.sum() * np.median(np.diff(tr["t_s"]))) if len(tr["t_s"]) > 1 else 0.0
    # the last successful auto-tune as reported, against the truth at that moment
    tune_err = tune_found = tune_true = None
    tunes = [(t, e) for t, e in events if e.name == "EV_SRC_AUTOTUNE"]
    done = [(t, e) for t, e in tunes if e.args["state"] == phase_tune.DONE]
    if done:
        t, e = done[-1]
        i = min(int(np.searchsorted(tr["t_s"], t)), len(tr["t_s"]) - 1)
        tune_found = e.args["found_mk"] / 1000.0
        tune_true = float(tr["phase_match_temp_k"][i])
        tune_err = tune_found - tune_true
    # on-board quality while emitting (calibration done, both bases measured)
    q = [r for r in hk if r["src_mode"] == EMITTING and not r.get("src_calibrating", 0)
         and r["visibility_hv"] >= 0 and r["visibility_da"] >= 0 and r["pair_rate_hz"] > 0]

    def mean(name):
        return float(np.mean([r[name] for r in q])) if q else None

    trips = hk[-1]["src_interlock_trips"] if hk else 0
    return {
        "crystal_temp_error_rms_mk": _finite(err_rms),
        "crystal_temp_error_pp_mk": _finite(err_pp),
        "crystal_temp_error_max_mk": _finite(err_max),
        "crystal_held_s": round(held_s, 1),
        "autotune_error_k": _finite(tune_err),
        "autotune_found_k": _finite(tune_found),
        "autotune_true_k": _finite(tune_true),
        "autotune_runs": len(tunes),
        "time_to_emitting_s": None if emitting_s is None else round(emitting_s - cold_start_s, 3),
        "emitting_s": round(len(q) * 1.0, 1),
        "pair_rate_hz": mean("pair_rate_hz"),
        "visibility_hv": mean("visibility_hv"),
        "visibility_da": mean("visibility_da"),
        "visibility_da_min": float(min(r["visibility_da"] for r in q)) if q else None,
        "chsh_s": mean("chsh_s"),
        "heralding": mean("heralding"),
        "interlock_trips": int(trips),
        "mode_timeline": timeline,
    }


def truth_arrays(res) -> dict:
    """DIR/source_truth.npz: the simulator's own arrays the section is computed from."""
    tr = res.source_truth
    return {name: tr[name] for name in tr}
