"""DIR/pass.png: the passes of a run against time, one panel per quantity.

Elevation and range (geometry), the quantum beams' truth pointing error (1 s
rms), each downlink's loss, the coincidence rate the ground found (10 s bins),
the QBER error correction found (per 60 s of coincidences) and the key: sifted
bits accumulated, and the secret bits the distillation gave at the end.
Passes are drawn one after the other on a common axis of run time, with the
time between them left out.
"""

import warnings

import numpy as np


def plot(plot_data, session, path) -> bool:
    """``plot_data``: [(run result, plan, channel truth, pass data)] per pass.  False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(6, 1, figsize=(10, 14), sharex=True)
    offset = 0.0
    sifted_total = 0
    errs = session.error_flags() if session is not None else []
    colours = ("tab:blue", "tab:orange")
    for p, (res, plan, truth, pd) in enumerate(plot_data):
        s = truth.series
        t = s["t_s"] + offset
        names = [st.name for st in plan.geometry.stations]
        for b, name in enumerate(names):
            lab = name if p == 0 else None
            ax[0].plot(t, s[f"el{b}_deg"], color=colours[b], label=lab)
            ax[1].plot(t, s[f"range{b}_km"], color=colours[b], label=lab)
            with np.errstate(divide="ignore"):
                db = np.where(s[f"eta{b}"] > 0, -10 * np.log10(np.maximum(s[f"eta{b}"], 1e-30)), np.nan)
            ax[3].plot(t, db, color=colours[b], label=lab)
            # pointing error, 1 s rms of the truth while the beam is in fine track
            e = np.hypot(res.pointing["err_x"][b].astype(np.float64), res.pointing["err_y"][b].astype(np.float64))
            fine = res.pointing["state"][b] == 4
            n = len(e) // 1000 * 1000
            if n:
                ee = np.where(fine[:n], e[:n], np.nan).reshape(-1, 1000)
                with warnings.catch_warnings():  # seconds without fine track are all NaN: left blank
                    warnings.simplefilter("ignore", RuntimeWarning)
                    rms = np.sqrt(np.nanmean(ee ** 2, axis=1))
                ax[2].plot(offset + np.arange(len(rms)) + 0.5, rms, color=colours[b], label=lab)
        # ground-measured coincidences and the key (t of coincidences: since A's first mapped pulse)
        t_first = _first_sync_s(s)
        if len(pd.t_s):
            edges = np.arange(0.0, pd.t_s.max() + 10.0, 10.0)
            h, _ = np.histogram(pd.t_s, edges)
            ax[4].step(offset + t_first + edges[:-1], h / 10.0, where="post", color="k")
            if p < len(errs) and len(errs[p]):
                e = errs[p]
                edges = np.arange(0.0, pd.t_s.max() + 60.0, 60.0)
                nb, _ = np.histogram(pd.t_s, edges)
                ne, _ = np.histogram(pd.t_s[e], edges)
                with np.errstate(invalid="ignore", divide="ignore"):
                    ax[5].plot(offset + t_first + edges[:-1] + 30.0, 100.0 * ne / nb, "o", color="tab:red")
            ax5b = ax[5]
            cum = sifted_total + np.arange(1, len(pd.t_s) + 1)
            _key_axis(ax5b).step(offset + t_first + pd.t_s, cum, where="post", color="tab:green")
            sifted_total = int(cum[-1])
        offset = t[-1] + 30.0 if len(t) else offset
        for a in ax:
            a.axvline(offset - 15.0, color="0.85", lw=0.8)
    if session is not None and session.result is not None and session.result.get("secret_bits"):
        _key_axis(ax[5]).plot([offset - 30.0], [session.result["secret_bits"]], "s", color="tab:purple",
                              label=f"secret bits {session.result['secret_bits']}")
        _key_axis(ax[5]).legend(loc="upper left")
    ax[0].set_ylabel("elevation (deg)")
    ax[1].set_ylabel("range (km)")
    ax[2].set_ylabel("pointing error\n1 s rms (urad)")
    ax[3].set_ylabel("link loss (dB)")
    ax[3].set_ylim(20.0, 80.0)  # the first and last ticks of a track (beam still off the station) go far above
    ax[4].set_ylabel("coincidences (Hz)")
    ax[5].set_ylabel("QBER (%)")
    ax[5].set_xlabel("run time, passes back to back (s)")
    for a in ax[:4]:
        a.legend(loc="upper right", fontsize=8)
        a.grid(alpha=0.3)
    ax[4].grid(alpha=0.3)
    ax[5].grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


_KEY_AXES = {}


def _key_axis(ax):
    if ax not in _KEY_AXES:
        twin = ax.twinx()
        twin.set_ylabel("sifted bits (green)")
        _KEY_AXES[ax] = twin
    return _KEY_AXES[ax]


def _first_sync_s(series) -> float:
    """Run time the stations' mapped time starts (the first second with light): coincidence times count
    from A's first mapped pulse, close enough for a plot."""
    k = np.nonzero(series["pair_rate_hz"] > 0)[0]
    return float(series["t_s"][k[0]]) if len(k) else 0.0
