"""On-board single-photon detectors (Si SPAD at 810 nm) and the coincidence counter.

Detector model, applied to a block of photon arrival times
-----------------------------------------------------------
1. Each photon is detected with probability ``eta`` (photon detection efficiency;
   optical losses before the detector are applied with :func:`thin`).
2. Dark counts are a Poisson process of rate ``R_dark`` over the block's window.
3. Dead time is non-paralysable: an avalanche at ``t`` blinds the detector for
   ``tau_d``; events in ``[t, t + tau_d)`` are lost and do not extend it.  For a
   Poisson input of rate ``R`` the registered rate is::

       R_meas = R / (1 + R tau_d)                               [counts/s]

   (:func:`non_paralysable_rate_hz`).  The detector remembers when it re-arms, so
   consecutive blocks join without a gap in the dead-time logic.
4. Afterpulsing (first order): each registered avalanche is followed, with
   probability ``p_ap``, by a spurious one at ``t + tau_d + Exp(tau_ap)``; the
   dead-time rule is applied again to the union.
5. Timing jitter: every registered time is moved by a Gaussian of FWHM ``j``
   (``sigma = j / (2 sqrt(2 ln 2))``).

Coincidence counter
-------------------
Two time-stamp streams ``a`` and ``b``; an event ``a_i`` is in coincidence with
every ``b_k`` satisfying ``|b_k - a_i - delay| <= tau`` (half-window ``tau``, full
window ``2 tau``).  For uncorrelated streams of rates ``R_1`` and ``R_2`` the
accidental rate is::

    R_acc = 2 tau R_1 R_2                                       [1/s]

(:func:`accidental_rate_hz`).  Counts are binned into integration periods by the
time of the ``a`` event (singles by their own times): the numbers the payload's
HAL pulse counters accumulate.

Parameters (defaults: a thick-junction Si SPAD module of the Excelitas SPCM-AQRH
class; the presets in sim/presets.py override them)
----------------------------------------------------------------------------------
========================  ========  ==================================================
name                      default   source
========================  ========  ==================================================
efficiency                0.55      SPCM-AQRH datasheet PDE curve: ~65 % at 650 nm
                                    falling to roughly 55 % at 810 nm (read off
                                    the curve, approximate)
dead_time_s               22e-9     SPCM-AQRH datasheet dead time, 22 ns
dark_count_hz             100       SPCM-AQRH low-dark-count grades (100-250 cps)
                                    before radiation damage; dark counts rise with
                                    displacement damage in orbit, as SpooQy-1's
                                    GM-APDs showed over its two-year life (CQT
                                    in-orbit dark-count study, 2022)
afterpulse_probability    0.005     SPCM-AQRH datasheet: 0.5 %
afterpulse_time_s         50e-9     assumed trap release time constant
jitter_fwhm_s             350e-12   SPCM-AQRH datasheet timing resolution, 350 ps
half_window_s             1e-9      assumed: > 4 sigma of the two-detector jitter
                                    (sqrt(2) * 149 ps)
========================  ========  ==================================================
"""

import math
from dataclasses import dataclass

import numpy as np

from sim.params import check as _check

__all__ = [
    "FWHM_PER_SIGMA",
    "thin",
    "non_paralysable_rate_hz",
    "accidental_rate_hz",
    "SinglePhotonDetector",
    "CoincidenceCounter",
    "CounterReadout",
    "OnboardAnalyser",
    "AnalyserReadout",
]

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))  # 2.3548


def _times(times_s, name="times_s"):
    t = np.asarray(times_s, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {t.shape}")
    if t.size and not np.all(np.isfinite(t)):
        raise ValueError(f"{name} must be finite")
    if t.size > 1 and np.any(np.diff(t) < 0):
        t = np.sort(t)
    return t


def thin(times_s, probability, rng):
    """Keep each event independently with ``probability`` (binomial loss) [times in s]."""
    p = _check("probability", probability, 0.0, maximum=1.0)
    t = np.asarray(times_s, dtype=np.float64)
    return t[rng.random(t.size) < p]


def non_paralysable_rate_hz(input_rate_hz, dead_time_s):
    """Registered rate ``R / (1 + R tau_d)`` of a non-paralysable counter [1/s]."""
    r = np.asarray(input_rate_hz, dtype=np.float64)
    tau = _check("dead_time_s", dead_time_s, 0.0)
    out = r / (1.0 + r * tau)
    return float(out) if out.ndim == 0 else out


def accidental_rate_hz(rate_a_hz, rate_b_hz, half_window_s):
    """Accidental coincidence rate ``2 tau R_1 R_2`` [1/s] (``tau``: half-window [s])."""
    tau = _check("half_window_s", half_window_s, 0.0)
    out = 2.0 * tau * np.asarray(rate_a_hz, dtype=np.float64) * np.asarray(rate_b_hz, dtype=np.float64)
    return float(out) if out.ndim == 0 else out


def _dead_time_keep(t, tau):
    """Boolean mask of the events a non-paralysable detector registers (``t`` sorted).

    Events more than ``tau`` after their predecessor always register (the previous
    registered event is no later than the predecessor); only runs of closely spaced
    events need the sequential rule, walked with a precomputed "first event at least
    ``tau`` later" index so that the Python loop visits registered events only.
    """
    n = t.size
    if n == 0 or tau <= 0.0:
        return np.ones(n, dtype=bool)
    keep = np.empty(n, dtype=bool)
    keep[0] = True
    keep[1:] = np.diff(t) >= tau
    starts = np.flatnonzero(keep)
    ends = np.append(starts[1:], n)
    multi = (ends - starts) > 1
    if not multi.any():
        return keep
    nxt = np.searchsorted(t, t + tau, side="left").tolist()
    for s, e in zip(starts[multi].tolist(), ends[multi].tolist()):
        i = nxt[s]
        while i < e:
            keep[i] = True
            i = nxt[i]
    return keep


class SinglePhotonDetector:
    """A free-running Geiger-mode detector (see the module docstring for the model).

    Parameters
    ----------
    efficiency : float
        Photon detection efficiency in [0, 1].
    dead_time_s : float
        Non-paralysable dead time [s], >= 0.
    dark_count_hz : float
        Dark count rate [1/s], >= 0.
    afterpulse_probability : float
        Probability of one afterpulse per registered avalanche, in [0, 1].
    afterpulse_time_s : float
        Mean delay of an afterpulse after the detector re-arms [s], > 0.
    jitter_fwhm_s : float
        FWHM of the Gaussian timing jitter [s], >= 0.
    """

    def __init__(self, efficiency=0.55, dead_time_s=22e-9, dark_count_hz=100.0, afterpulse_probability=0.005,
                 afterpulse_time_s=50e-9, jitter_fwhm_s=350e-12):
        self.efficiency = _check("efficiency", efficiency, 0.0, maximum=1.0)
        self.dead_time_s = _check("dead_time_s", dead_time_s, 0.0)
        self.dark_count_hz = _check("dark_count_hz", dark_count_hz, 0.0)
        self.afterpulse_probability = _check("afterpulse_probability", afterpulse_probability, 0.0, maximum=1.0)
        self.afterpulse_time_s = _check("afterpulse_time_s", afterpulse_time_s, 0.0, strict=True)
        self.jitter_fwhm_s = _check("jitter_fwhm_s", jitter_fwhm_s, 0.0)
        self.last_s = -math.inf  # s, last registered avalanche (before jitter), carried across blocks
        self.rearm_s = -math.inf  # s, time the detector is next live

    def reset(self):
        """Forget the dead-time state (a freshly biased detector); time may start over."""
        self.last_s = -math.inf
        self.rearm_s = -math.inf

    def detect(self, times_s, rng, t0_s=None, dt_s=None):
        """Registered avalanche times for photons arriving at ``times_s``.

        Parameters
        ----------
        times_s : array_like
            Photon arrival times at the detector [s] (sorted or not).
        rng : numpy.random.Generator
            The caller's seeded generator.
        t0_s, dt_s : float, optional
            The block's window ``[t0_s, t0_s + dt_s)`` over which dark counts are
            drawn.  Give both when integrating block by block; when both are
            omitted the window is the span of ``times_s`` (no dark counts for an
            empty block).

        Returns
        -------
        ndarray of float64
            Sorted registered times [s] (photons, dark counts and afterpulses, with
            dead time and jitter applied).

        Raises
        ------
        ValueError
            If the block starts before the last registered event of the previous
            block: blocks must move forward in time (or call :meth:`reset`).
        """
        t = _times(times_s)
        if (t0_s is None) != (dt_s is None):
            raise ValueError("give both t0_s and dt_s, or neither")
        if t0_s is None:
            t0, dt = (float(t[0]), float(t[-1] - t[0])) if t.size else (0.0, 0.0)
        else:
            t0 = _check("t0_s", t0_s)
            dt = _check("dt_s", dt_s, 0.0)
        start = min(t0, float(t[0])) if t.size else t0
        if start < self.last_s:
            raise ValueError(f"block starts at {start} s, before this detector's last event at {self.last_s} s: "
                             "blocks must move forward in time (reset() starts over)")
        t = t[rng.random(t.size) < self.efficiency]
        n_dark = int(rng.poisson(self.dark_count_hz * dt)) if dt > 0 else 0
        if n_dark:
            t = np.sort(np.concatenate([t, t0 + dt * rng.random(n_dark)]))
        t = t[t >= self.rearm_s]
        t = t[_dead_time_keep(t, self.dead_time_s)]
        if self.afterpulse_probability > 0 and t.size:
            parents = t[rng.random(t.size) < self.afterpulse_probability]
            if parents.size:
                ap = parents + self.dead_time_s + rng.exponential(self.afterpulse_time_s, parents.size)
                t = np.sort(np.concatenate([t, ap]))
                t = t[_dead_time_keep(t, self.dead_time_s)]
        if t.size:
            self.last_s = float(t[-1])
            self.rearm_s = self.last_s + self.dead_time_s
        if self.jitter_fwhm_s > 0 and t.size:
            t = np.sort(t + rng.normal(0.0, self.jitter_fwhm_s / FWHM_PER_SIGMA, t.size))
        return t

    def registered_rate_hz(self, photon_rate_hz):
        """Expected registered rate for a Poisson photon flux (afterpulses neglected) [1/s].

        ``R = eta R_ph + R_dark`` through the non-paralysable dead time.
        """
        r = self.efficiency * np.asarray(photon_rate_hz, dtype=np.float64) + self.dark_count_hz
        return non_paralysable_rate_hz(r, self.dead_time_s)


@dataclass
class CounterReadout:
    """Counts per integration period (arrays of length ``n_periods``)."""

    singles_a: np.ndarray
    singles_b: np.ndarray
    coincidences: np.ndarray
    accidentals: np.ndarray  # expected accidentals, 2 tau S_a S_b / T per period (float)
    period_s: float


class CoincidenceCounter:
    """Coincidence logic between two detector outputs.

    Parameters
    ----------
    half_window_s : float
        Half-width ``tau`` of the coincidence window [s], > 0 (full window ``2 tau``).
    delay_s : float
        Expected arrival of ``b`` after ``a`` [s] (cable and path delays).
    """

    def __init__(self, half_window_s=1e-9, delay_s=0.0):
        self.half_window_s = _check("half_window_s", half_window_s, 0.0, strict=True)
        self.delay_s = _check("delay_s", delay_s)

    def _per_event(self, a, b):
        lo = np.searchsorted(b, a + self.delay_s - self.half_window_s, side="left")
        hi = np.searchsorted(b, a + self.delay_s + self.half_window_s, side="right")
        return hi - lo

    def count(self, times_a_s, times_b_s):
        """Number of (a, b) pairs inside the window."""
        a = _times(times_a_s, "times_a_s")
        b = _times(times_b_s, "times_b_s")
        return int(self._per_event(a, b).sum())

    def integrate(self, times_a_s, times_b_s, t0_s, period_s, n_periods=1):
        """Singles and coincidences per integration period starting at ``t0_s``.

        Events outside ``[t0_s, t0_s + n_periods * period_s)`` are ignored; a
        coincidence belongs to the period of its ``a`` event.
        """
        a = _times(times_a_s, "times_a_s")
        b = _times(times_b_s, "times_b_s")
        t0 = _check("t0_s", t0_s)
        period = _check("period_s", period_s, 0.0, strict=True)
        n = int(n_periods)
        if n < 1:
            raise ValueError(f"n_periods must be >= 1, got {n_periods!r}")

        def bins(t):
            k = np.floor((t - t0) / period).astype(np.int64)
            return k, (k >= 0) & (k < n)

        ka, ina = bins(a)
        kb, inb = bins(b)
        singles_a = np.bincount(ka[ina], minlength=n)
        singles_b = np.bincount(kb[inb], minlength=n)
        coinc = np.bincount(ka[ina], weights=self._per_event(a[ina], b), minlength=n).astype(np.int64)
        acc = 2.0 * self.half_window_s * singles_a * singles_b / period
        return CounterReadout(singles_a, singles_b, coinc, acc, period)


@dataclass
class AnalyserReadout:
    """Counts per period of a two-arm, four-detector analyser.

    ``singles_a[j]``, ``singles_b[k]``: per port (0: along the analyser angle,
    1: orthogonal), each an array over periods; ``coincidences[j, k]`` and the
    expected ``accidentals[j, k]`` likewise.
    """

    singles_a: np.ndarray  # (2, n_periods)
    singles_b: np.ndarray  # (2, n_periods)
    coincidences: np.ndarray  # (2, 2, n_periods)
    accidentals: np.ndarray  # (2, 2, n_periods), float
    period_s: float


class OnboardAnalyser:
    """Two polarisation-analysing arms with a detector on each beam-splitter port.

    Each arm passes a photon with probability ``transmission`` (coupling and
    optics, before the detector), then a polarising beam splitter at the arm's
    analyser angle sends it to detector 0 (along the angle) or 1 (orthogonal), as
    drawn by :meth:`sim.spdc.SpdcSource.analyse`.  Coincidence logic runs between
    every A detector and every B detector.  A single polariser and detector per
    arm (SpooQy-1's layout) is the port-0 half of this.

    Parameters
    ----------
    detectors_a, detectors_b : sequence of two SinglePhotonDetector
        Detectors on ports 0 and 1 of each arm (each keeps its own dead-time state).
    transmission_a, transmission_b : float
        Arm transmission to the detectors, in [0, 1].
    counter : CoincidenceCounter
    """

    def __init__(self, detectors_a, detectors_b, transmission_a, transmission_b, counter):
        if len(detectors_a) != 2 or len(detectors_b) != 2:
            raise ValueError("each arm needs two detectors (ports 0 and 1)")
        self.detectors_a = tuple(detectors_a)
        self.detectors_b = tuple(detectors_b)
        self.transmission_a = _check("transmission_a", transmission_a, 0.0, maximum=1.0)
        self.transmission_b = _check("transmission_b", transmission_b, 0.0, maximum=1.0)
        self.counter = counter

    def detect(self, pair_times_s, port_a, port_b, rng, t0_s, dt_s):
        """Registered times of the four detectors: ``([a0, a1], [b0, b1])``."""
        t = np.asarray(pair_times_s, dtype=np.float64)
        port_a = np.asarray(port_a)
        port_b = np.asarray(port_b)
        if port_a.shape != t.shape or port_b.shape != t.shape:
            raise ValueError("port_a and port_b must have one entry per pair")
        pass_a = rng.random(t.size) < self.transmission_a
        pass_b = rng.random(t.size) < self.transmission_b
        out_a = [d.detect(t[pass_a & (port_a == j)], rng, t0_s, dt_s) for j, d in enumerate(self.detectors_a)]
        out_b = [d.detect(t[pass_b & (port_b == k)], rng, t0_s, dt_s) for k, d in enumerate(self.detectors_b)]
        return out_a, out_b

    def integrate(self, pair_times_s, port_a, port_b, rng, t0_s, period_s, n_periods=1):
        """Detect the pairs emitted over ``[t0_s, t0_s + n_periods period_s)`` and count per period."""
        dt = _check("period_s", period_s, 0.0, strict=True) * int(n_periods)
        out_a, out_b = self.detect(pair_times_s, port_a, port_b, rng, t0_s, dt)
        n = int(n_periods)
        singles_a = np.zeros((2, n), dtype=np.int64)
        singles_b = np.zeros((2, n), dtype=np.int64)
        coinc = np.zeros((2, 2, n), dtype=np.int64)
        acc = np.zeros((2, 2, n))
        for j in (0, 1):
            for k in (0, 1):
                r = self.counter.integrate(out_a[j], out_b[k], t0_s, period_s, n)
                coinc[j, k] = r.coincidences
                acc[j, k] = r.accidentals
                singles_a[j] = r.singles_a
                singles_b[k] = r.singles_b
        return AnalyserReadout(singles_a, singles_b, coinc, acc, float(period_s))
