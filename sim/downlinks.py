"""After a lock-step pass: the quantum downlinks' detections, written as each station's time-tag file.

``write_tags`` takes the run's truth (pointing error per tick, source at 10 Hz)
and the pass geometry through sim/photon_channel.py and writes
``DIR/tags/pass<k>/<station>.tags`` (ground_segment/timetags.py): the only
thing of the pass, besides the telemetry, that the ground chain reads.
"""

import math
from pathlib import Path

import numpy as np

from ground_segment import timetags
from sim.photon_channel import BELL_ANGLES_DEG, KEY_ANGLES_DEG, PhotonChannel


def write_tags(res, plan, spec, preset, seed_seq, out_dir: Path, pass_index: int, dt_s: float,
               mode: str, eve_fraction: float = 0.0, el_mask_deg: float = 10.0):
    """Draw the detections of the run ``res`` and write the stations' files; returns (paths, ChannelTruth)."""
    geo = plan.geometry
    names = [st.name for st in geo.stations]
    tap = spec.monitor_tap if spec.monitor_tap is not None else preset["monitor_tap"]
    chan = PhotonChannel(np.random.default_rng(seed_seq), spec.downlink, list(zip(names, spec.stations)), tap,
                         preset["visibility"], mode=mode, eve_fraction=eve_fraction,
                         sync_period_s=spec.sync_period_s, half_window_s=spec.half_window_s,
                         el_mask_deg=el_mask_deg)
    rec = res.pointing
    err = np.hypot(rec["err_x"].astype(np.float64), rec["err_y"].astype(np.float64))
    tr = res.source_truth
    detections, truth = chan.run(plan.t0_unix, geo, dt_s, err, tr["t_s"], tr["pair_rate_hz"],
                                 tr["polarisation_phase_rad"], tr["emitting"], tr["sync_on"])
    epoch = int(math.floor(plan.t0_unix))
    frac_s = plan.t0_unix - epoch
    folder = out_dir / "tags" / f"pass{pass_index + 1}"
    folder.mkdir(parents=True, exist_ok=True)
    angles = BELL_ANGLES_DEG if mode == "bell" else KEY_ANGLES_DEG
    paths = []
    for b, name in enumerate(names):
        t_run_s, ch = detections[name]
        t_ps = np.rint((t_run_s + frac_s) * 1e12).astype(np.int64)
        path = folder / f"{name}.tags"
        timetags.write(path, name, epoch, t_ps, ch, sync_period_ps=int(round(spec.sync_period_s * 1e12)),
                       analyser_deg=list(angles[b]), mode=mode)
        paths.append(path)
    return paths, truth
