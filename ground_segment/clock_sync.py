"""Putting two stations' time tags on one time scale: the sync pulses, then cross-correlation.

A station's clock runs off UTC by an offset and a drift, and each photon
reaches it after a light time that changes by milliseconds over a pass.  The
satellite fires a sync pulse at every multiple of its period; the station tags
them on a fifth channel.  Numbering the received pulses (consecutive gaps
rounded to whole periods, the first one numbered from the station's own
clock) and interpolating between them maps every photon tag to the time its
photon left the satellite: the station's offset, its drift and the light time
all drop out together, since photon and pulse share the path and the clock.
The pulse times are smoothed over ``SMOOTH_PULSES`` neighbours first (the
sync detector's jitter; the light time is a straight line over milliseconds).

The first pulse is numbered from the station's clock less the light time the
station predicts from the satellite's public orbit (it needs it anyway to
point its telescope): both are good to microseconds, the period is 100 us.
What the pulses cannot give is left for the photons themselves: each
station's photon and sync detectors have their own cable delays.  The two
stations' mapped tags are cross-correlated (the C kernel's delay histogram,
ground_segment/coincidence.py) over +/- ``SEARCH_PS`` in 100 ps bins, summed
over 1 ns (the jitter's width) to find the peak even when a pass gives a few
coincidences only; then the centroid in 50 ps bins, then per ``SEGMENT_S`` of
the pass an offset and the drift left over.  A pass without sync pulses, or
without a peak standing clear of the accidentals, cannot be aligned and says so.
"""

import math
from dataclasses import dataclass

import numpy as np

from ground_segment import coincidence

SMOOTH_PULSES = 101
SEARCH_PS = 2_000_000  # +/- 2 us: after the sync mapping only the detectors' delay difference is left
SEARCH_BIN_PS = 100
PEAK_WIDTH_BINS = 10  # 1 ns
FINE_BIN_PS = 50
SEGMENT_S = 60.0
MAX_GAP_PS = 5_000_000_000  # photons further than 5 ms from a pulse are not mapped
FALSE_PEAK_PROBABILITY = 1e-4  # of accidentals alone giving a window as full anywhere in the search
MIN_PEAK_COUNTS = 5


class SyncError(ValueError):
    """The tags cannot be put on the satellite's time scale (no pulses, no correlation peak)."""


def map_to_satellite(t_ps, sync_ps, period_ps: int, light_time_ps=None):
    """Photon tags (station clock) -> emission times on the satellite's scale.

    ``light_time_ps(t_ps)``: the station's predicted light time at a tag time,
    to number the first pulse; None numbers it from the clock alone (the
    result is then off by a whole number of periods).

    Returns ``(t_sat_ps float64, keep)``: ``keep`` selects the tags within the
    span of the received pulses (the others cannot be mapped and are dropped).
    """
    sync = np.asarray(sync_ps, dtype=np.int64)
    if len(sync) < SMOOTH_PULSES:
        raise SyncError(f"{len(sync)} sync pulses received: too few to map the time tags "
                        "(was the sync laser on?)")
    gaps = np.diff(sync)
    steps = np.rint(gaps / period_ps).astype(np.int64)
    if np.any(steps < 1):
        raise SyncError("sync pulses closer than one period: not the satellite's pulse train")
    lt = float(light_time_ps(float(sync[0]))) if light_time_ps is not None else 0.0
    n = np.concatenate([[0], np.cumsum(steps)]) + int(np.rint((sync[0] - lt) / period_ps))
    # average pulse times and pulse numbers over the same neighbours: exact for a straight line,
    # whatever pulses are missing
    kern = np.ones(SMOOTH_PULSES) / SMOOTH_PULSES
    base = float(sync[0])
    tau = np.convolve(sync - base, kern, mode="valid") + base  # smoothed station time ...
    sat = np.convolve((n - n[0]).astype(np.float64), kern, mode="valid") * period_ps + n[0] * float(period_ps)
    t = np.asarray(t_ps, dtype=np.float64)
    keep = (t >= tau[0]) & (t <= tau[-1])
    # not across a gap in the pulses (the light time bends over seconds): the next pulse must be near
    nxt = np.clip(np.searchsorted(sync, t), 0, len(sync) - 1)
    prv = np.clip(nxt - 1, 0, len(sync) - 1)
    keep &= np.minimum(np.abs(sync[nxt] - t), np.abs(t - sync[prv])) <= MAX_GAP_PS
    t_sat = np.interp(t[keep], tau, sat)  # ... and the satellite time it stands for
    return t_sat, keep


@dataclass
class Alignment:
    offset_ps: float  # B's mapped tags minus A's, at the pass's middle
    drift: float  # residual fractional drift of B against A after the sync mapping
    t_mid_ps: float
    peak_counts: int
    accidental_per_bin: float  # the correlation's level away from its peak, counts per 100 ns
    segments: int

    def shift(self, t_b_ps):
        """B's tags on A's scale."""
        return t_b_ps - (self.offset_ps + self.drift * (t_b_ps - self.t_mid_ps))


def _poisson_sf(k: int, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu)."""
    if mu <= 0:
        return 0.0 if k > 0 else 1.0
    term = math.exp(-mu)
    cdf = 0.0
    for i in range(k):
        cdf += term
        term *= mu / (i + 1)
    return max(0.0, 1.0 - cdf)


def _peak(hist, lo_ps, bin_ps):
    k = int(np.argmax(hist))
    # centroid over the peak bin and its neighbours
    a, b = max(k - 2, 0), min(k + 3, len(hist))
    w = hist[a:b].astype(np.float64)
    centre = (np.arange(a, b) + 0.5) @ w / w.sum() if w.sum() else k + 0.5
    return lo_ps + centre * bin_ps, int(hist[k])


def align(t_a_ps, t_b_ps, search_ps: int = SEARCH_PS) -> Alignment:
    """Offset and drift of B's mapped tags against A's, by cross-correlation."""
    a = np.rint(np.asarray(t_a_ps)).astype(np.int64)
    b = np.rint(np.asarray(t_b_ps)).astype(np.int64)
    if len(a) == 0 or len(b) == 0:
        raise SyncError("no photons to correlate")
    hist = coincidence.delay_histogram(a, b, search_ps, SEARCH_BIN_PS)
    window = np.convolve(hist, np.ones(PEAK_WIDTH_BINS, np.int64), mode="valid")  # counts in 1 ns from bin k
    k = int(np.argmax(window))
    peak = int(window[k])
    bg = float(np.median(window))
    if peak < MIN_PEAK_COUNTS or len(window) * _poisson_sf(peak, bg) > FALSE_PEAK_PROBABILITY:
        raise SyncError(f"no correlation peak between the stations ({peak} counts in the best 1 ns against "
                        f"{bg:.2f} of accidentals)")
    coarse = -search_ps + (k + PEAK_WIDTH_BINS / 2) * SEARCH_BIN_PS
    fine = coincidence.delay_histogram(a, b - int(round(coarse)), 2_000, FINE_BIN_PS)
    off, _ = _peak(fine, -2_000, FINE_BIN_PS)
    offset = coarse + off
    bg_per_100ns = bg * (100_000 / (PEAK_WIDTH_BINS * SEARCH_BIN_PS))
    # per segment: the drift left after the sync mapping
    seg_ps = SEGMENT_S * 1e12
    t0, t1 = float(min(a[0], b[0])), float(max(a[-1], b[-1]))
    mids, offs, wts = [], [], []
    for s in np.arange(t0, t1, seg_ps):
        sa = a[(a >= s) & (a < s + seg_ps)]
        sb = b[(b >= s) & (b < s + seg_ps)]
        if len(sa) == 0 or len(sb) == 0:
            continue
        h = coincidence.delay_histogram(sa, sb - int(round(offset)), 5_000, FINE_BIN_PS)
        n = int(h.sum())
        if h.max() < 8:
            continue
        o, _ = _peak(h, -5_000, FINE_BIN_PS)
        mids.append(s + seg_ps / 2)
        offs.append(offset + o)
        wts.append(n)
    t_mid = 0.5 * (t0 + t1)
    drift = 0.0
    if len(mids) >= 3:
        x = np.asarray(mids) - t_mid
        slope, icpt = np.polyfit(x, np.asarray(offs), 1, w=np.sqrt(wts))
        drift, offset = float(slope), float(icpt)
    return Alignment(float(offset), drift, t_mid, peak, bg_per_100ns, len(mids))


def predicted_light_time(orbit, station, epoch_unix: int):
    """``f(t_ps) -> ps``: the light time from the satellite to ``station`` at a tag time, from the
    satellite's public orbit (the prediction the station points its telescope with)."""
    def f(t_ps):
        return float(orbit.look(station, epoch_unix + t_ps * 1e-12).range_km) * 1e3 / 299_792_458.0 * 1e12
    return f
