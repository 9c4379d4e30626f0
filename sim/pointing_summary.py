"""The "pointing" section of summary.json, the pointing-only replays, the truth arrays and the PSD plot.

Truth (sim/pointing_sim.py, per fine tick and beam): the quantum beam's
pointing error ``e`` (urad per axis), the flight state (FINE is fine track), the
disturbance ``d`` the fine sensor would have seen with the mirror at rest and
the point-ahead ``p``.  Per beam, over every FINE TRACK sample:

- ``residual_rms_urad``: the rms of both axes' errors pooled (per axis);
  ``residual_radial_rms_urad``: sqrt(mean(e_x^2 + e_y^2));
- ``open_loop_rms_urad``: the same with the fine mirror held still where it
  nulls the mean error, i.e. ``d + p`` minus its mean: what the fine loop faces;
- ``feedback_only_rms_urad``: a pointing-only replay of the flight's fine loop
  (the same payload/fine_loop.py and vib_canceller.py code, FEEDBACK mode: the
  canceller off) over the same disturbance record ``d``, the same wheel
  tachometer streams and a fine sensor of the same noise, mirror plant and
  set point; the gimbal's motion is the one of the run (it is in ``d``);
- ``rejection_db = 20 log10(open_loop / residual)``.

From the telemetry (the ground's decoders): ``acquisition_time_s`` (first
EV_APT_STATE to OPEN_LOOP to the first to FINE), ``loss_of_lock_count``
(EV_APT_LOCK_LOST), ``fine_loop_rate_hz`` (fine-group runs per second of
uptime, from HK_MANAGER).
"""

import math

import numpy as np

from hal.fake import FakeBeaconSensor, FakeSteeringMirror, FakeTachometer
from payload import fine_loop as fl
from payload.apt_beam import FINE, OPEN_LOOP
from payload.vib_canceller import VibrationCanceller, WheelPhases
from sim.pointing_plant import FineBeaconSensor, SteeringMirrorPlant
from sim.pointing_sim import MirrorAxes
from sim.source_summary import telemetry
from sim.vibration import MicroVibration

REPLAY_LEAD_S = 2.0  # the replay starts this long before the first fine-track sample (loop settles)


def _rms(*arrays):
    a = np.concatenate([np.asarray(x, dtype=np.float64) for x in arrays])
    return float(np.sqrt(np.mean(a * a))) if len(a) else None


def replay(res, seqs, beam: int, mode: int, dt_s: float):
    """Errors (x, y in urad) of the fine loop replayed in ``mode`` over beam's recorded disturbance,
    on the ticks from REPLAY_LEAD_S before its first FINE sample to its last; and those ticks."""
    rec = res.pointing
    fine = rec["state"][beam] == FINE
    k = np.nonzero(fine)[0]
    if len(k) == 0:
        return None
    k0 = max(0, int(k[0] - REPLAY_LEAD_S / dt_s))
    k1 = int(k[-1]) + 1
    vib = MicroVibration(np.random.default_rng(seqs[0]), dt_s, beams=rec["state"].shape[0])
    sensor_plant = FineBeaconSensor(np.random.default_rng(seqs[2 + beam]), tick_s=dt_s)
    mirror_plant = MirrorAxes(SteeringMirrorPlant(beams=1, dt_s=dt_s))
    sensor, mirror = FakeBeaconSensor(), FakeSteeringMirror()
    mirror.follow = False
    tachs = [FakeTachometer() for _ in range(3)]
    wheels = WheelPhases(tachs)
    loop = fl.FinePointingLoop(sensor, mirror, VibrationCanceller(wheels, fs_hz=int(round(1 / dt_s))))
    loop.mode = mode
    loop.enabled = True
    d_x, d_y = rec["d_x"][beam], rec["d_y"][beam]
    p_x, p_y = rec["paa_x"][beam], rec["paa_y"][beam]
    out_x = np.zeros(k1 - k0, np.float32)
    out_y = np.zeros(k1 - k0, np.float32)
    mx = my = 0.0
    blk = None
    block = vib.block
    refresh_every = max(1, int(round(0.04 / dt_s)))
    for t in range(k1):
        j = t % block
        if j == 0:
            b = vib.next_block()
            blk = (b["wheel_freq_mhz"].tolist(), b["wheel_phase_q16"].tolist())
        if t < k0:
            sensor_plant.step(1e12, 0.0)  # keep the noise sequence aligned: every frame draws
            continue
        for w in range(3):
            tachs[w].freq_mhz = blk[0][w][j]
            tachs[w].phase_q16 = blk[1][w][j]
        sx = float(d_x[t]) * 1000.0 - mx
        sy = float(d_y[t]) * 1000.0 - my
        out_x[t - k0] = sx * 1e-3 + float(p_x[t])
        out_y[t - k0] = sy * 1e-3 + float(p_y[t])
        f = sensor_plant.step(sx, sy)
        if f is not None:
            sensor.publish(*f)
        wheels.step()
        loop.offset_x_nrad = -int(round(float(p_x[t]) * 1000.0))
        loop.offset_y_nrad = -int(round(float(p_y[t]) * 1000.0))
        loop.step()
        if t % refresh_every == 0:
            loop.canceller.refresh()
        mx, my = mirror_plant.step(mirror.cmd_x_nrad, mirror.cmd_y_nrad)
        mirror.x_nrad = int(mx)
        mirror.y_nrad = int(my)
    return out_x, out_y, fine[k0:k1]


def pointing_section(res, seqs, stations, dt_s: float, replays: bool = True):
    """The summary's "pointing" section, and the arrays for the PSD plot."""
    rec = res.pointing
    events, _ = telemetry(res)
    hk_mgr = _manager_hk(res)
    rate = None
    if len(hk_mgr) >= 2:
        (t0, r0), (t1, r1) = hk_mgr[0], hk_mgr[-1]
        rate = (r1 - r0) / (t1 - t0) if t1 > t0 else None
    beams = []
    spectra = {}
    for b in range(rec["state"].shape[0]):
        fine = rec["state"][b] == FINE
        ex, ey = rec["err_x"][b][fine], rec["err_y"][b][fine]
        n = int(fine.sum())
        ox = rec["d_x"][b][fine] + rec["paa_x"][b][fine]
        oy = rec["d_y"][b][fine] + rec["paa_y"][b][fine]
        if n:
            ox = ox - ox.mean()
            oy = oy - oy.mean()
        residual = _rms(ex, ey) if n else None
        open_loop = _rms(ox, oy) if n else None
        fb = None
        if replays and n:
            r = replay(res, seqs, b, fl.FEEDBACK, dt_s)
            if r is not None:
                fx, fy, fmask = r
                fb = _rms(fx[fmask], fy[fmask])
                spectra[b] = {"on": ex, "feedback": fx[fmask], "open": ox}
        opened = [t for t, e in events if e.name == "EV_APT_STATE" and e.args["beam"] == b
                  and e.args["to_state"] == OPEN_LOOP]
        fined = [t for t, e in events if e.name == "EV_APT_STATE" and e.args["beam"] == b
                 and e.args["to_state"] == FINE]
        acq = (fined[0] - opened[0]) if opened and fined and fined[0] >= opened[0] else None
        losses = sum(1 for t, e in events if e.name == "EV_APT_LOCK_LOST" and e.args["beam"] == b)
        beams.append({
            "beam": b,
            "station": stations[b] if b < len(stations) else None,
            "residual_rms_urad": residual,
            "residual_radial_rms_urad": (float(np.sqrt(np.mean(ex.astype(np.float64) ** 2 + ey.astype(np.float64) ** 2)))
                                         if n else None),
            "fine_track_s": round(n * dt_s, 3),
            "fine_loop_steps": n,
            "open_loop_rms_urad": open_loop,
            "feedback_only_rms_urad": fb,
            "rejection_db": (20 * math.log10(open_loop / residual) if residual and open_loop else None),
            "acquisition_time_s": None if acq is None else round(acq, 3),
            "loss_of_lock_count": losses,
            "fine_loop_rate_hz": None if rate is None else round(rate, 1),
        })
    return {"beams": beams}, spectra


def _manager_hk(res):
    """(uptime_s, fine_runs) from HK_MANAGER rows."""
    return [(row["uptime_s"], row["fine_runs"]) for row in res.hk_rows if "fine_runs" in row and "uptime_s" in row]


def truth_arrays(res, dt_s: float) -> dict:
    """DIR/pointing_truth.npz: per beam ``beam{b}_t_s``, ``beam{b}_error_x_urad``, ``beam{b}_error_y_urad``,
    ``beam{b}_fine_track``, and the same without prefix as (beams, ticks) arrays."""
    rec = res.pointing
    t = np.asarray(res.t_s, dtype=np.float64)
    out = {"t_s": t, "error_x_urad": rec["err_x"], "error_y_urad": rec["err_y"],
           "fine_track": rec["state"] == FINE}
    for b in range(rec["state"].shape[0]):
        out[f"beam{b}_t_s"] = t
        out[f"beam{b}_error_x_urad"] = rec["err_x"][b]
        out[f"beam{b}_error_y_urad"] = rec["err_y"][b]
        out[f"beam{b}_fine_track"] = rec["state"][b] == FINE
    return out


def psd(x, dt_s: float, seg: int = 2048):
    """One-sided Welch PSD (Hann window, half overlap) of ``x``: (f_hz, urad^2/Hz)."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < seg:
        seg = max(16, 1 << int(math.log2(max(16, len(x)))))
    if len(x) < seg:
        return np.zeros(0), np.zeros(0)
    w = np.hanning(seg)
    scale = 1.0 / (np.sum(w * w) / dt_s)
    acc = None
    n = 0
    for i in range(0, len(x) - seg + 1, seg // 2):
        s = x[i:i + seg]
        spec = np.abs(np.fft.rfft((s - s.mean()) * w)) ** 2 * scale
        acc = spec if acc is None else acc + spec
        n += 1
    p = acc / n
    p[1:-1] *= 2.0
    return np.fft.rfftfreq(seg, dt_s), p


def plot_psd(spectra: dict, dt_s: float, path, stations) -> bool:
    """PNG of the pointing-error PSD per beam: loop open, feedback only, feedback plus feed-forward."""
    if not spectra:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(spectra), figsize=(6.5 * len(spectra), 4.2), squeeze=False)
    for ax, (b, sp) in zip(axes[0], sorted(spectra.items())):
        for key, label, style in (("open", "fine loop open", "0.6"), ("feedback", "feedback only (canceller off)", "C1"),
                                  ("on", "feedback + feed-forward (canceller on)", "C0")):
            f, p = psd(sp[key], dt_s)
            if len(f):
                ax.loglog(f[1:], p[1:], color=style, lw=1.0,
                          label=f"{label}: {np.sqrt(np.mean(np.square(sp[key], dtype=np.float64))):.2f} urad rms")
        st = stations[b] if b < len(stations) else ""
        ax.set_title(f"beam {b} ({st}): pointing error, x axis, fine track")
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel("PSD (urad^2/Hz)")
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
