"""Phase-matching auto-tune: find the crystal temperature of peak pair rate (MicroPython subset).

A PPKTP crystal phase-matches only within about a kelvin (sinc^2 tuning curve),
and its true phase-matching temperature moves with ageing, pump wavelength and
mounting stress, so the nominal set point may sit on the curve's flank.  The
tuner steps the crystal set point through ``centre +/- half_range_mk`` in
``step_mk`` steps (the thermal loop slews between points), waits at each point
until the reference has arrived and the crystal has stayed within ``band_mk`` of
it for ``settle_cycles`` (counts taken while it lags would be credited to the
wrong temperature, biasing the fit by the lag), then
sums the on-board coincidences over ``dwell_cycles`` valid 10 Hz cycles.

Fit: the points at or above ``fit_fraction`` of the highest count, contiguous
around it, are fitted with a parabola in ``ln(counts)`` (a Gaussian: the
sinc^2 peak is close to one above half maximum, and the log fit is exact for
it, Caruana's method), whose vertex is the phase-matching temperature.  The
set point then moves there, and the tuner stays active until the crystal holds
it the same way (so nobody mistakes the last slew for a lost lock).

Integers on the 10 Hz path (offsets in mK, counts); the fit runs once per scan
in floats on offsets of a few thousand mK, ample in single precision.
"""

import math
from array import array

from bus.compat import const

IDLE = const(0)
SCANNING = const(1)
SETTLING = const(2)  # moving to the fitted peak
DONE = const(3)
FAILED = const(4)  # no peak: the set point went back to the scan centre
STATE_NAMES = ("IDLE", "SCANNING", "SETTLING", "DONE", "FAILED")

MAX_POINTS = const(101)

# why start() refuses (the source application turns them into failure codes)
OK = const(0)
REFUSED_RANGE = const(1)  # the scan would leave the set point's declared limits
REFUSED_STEP = const(2)  # step outside its limits or more than MAX_POINTS points


class PhaseMatchTuner:
    def __init__(self, crystal, set_point_limits_mk=(288150, 333150), half_range_mk=2000, step_mk=100,
                 settle_cycles=5, dwell_cycles=9, fit_fraction_pm=500, min_peak_counts=200, band_mk=10):
        self._crystal = crystal  # payload.thermal_loop.CrystalThermalLoop
        self.set_point_limits_mk = set_point_limits_mk
        self.half_range_mk = half_range_mk
        self.step_mk = step_mk
        self.settle_cycles = settle_cycles  # valid cycles to wait once the crystal is at the point
        self.band_mk = band_mk  # |set point - temperature| that counts as at the point
        self.dwell_cycles = dwell_cycles  # valid cycles summed per point
        self.fit_fraction_pm = fit_fraction_pm  # points >= this fraction (per mille) of the peak are fitted
        self.min_peak_counts = min_peak_counts  # below this at the best point: no light, no peak
        self.state = IDLE
        self.runs = 0  # scans started since boot
        self.centre_mk = 0  # set point the scan is centred on
        self.found_mk = 0  # fitted phase-matching temperature (last successful scan)
        self.peak_counts = 0  # coincidences at the best point of the last scan (per dwell)
        self.points = 0  # points measured in the current/last scan
        self._counts = array("i", [0] * MAX_POINTS)
        self._n_points = 0
        self._wait = 0
        self._acc = 0
        self._acc_cycles = 0
        self.on_finish = None  # callable(tuner) once a scan ends (DONE or FAILED)

    @property
    def active(self):
        """True while the tuner owns the set point (scanning or settling on the result)."""
        return self.state == SCANNING or self.state == SETTLING

    def check(self, centre_mk, half_range_mk, step_mk):
        """OK, or why a scan with these settings is refused."""
        lo, hi = self.set_point_limits_mk
        if centre_mk - half_range_mk < lo or centre_mk + half_range_mk > hi or half_range_mk < 0:
            return REFUSED_RANGE
        if step_mk < 1 or (2 * half_range_mk) // step_mk + 1 > MAX_POINTS:
            return REFUSED_STEP
        return OK

    def start(self, centre_mk=None, half_range_mk=None, step_mk=None):
        """Begin a scan around ``centre_mk`` (default: the present set point); OK or a refusal."""
        c = self._crystal.set_point_mk if centre_mk is None else centre_mk
        h = self.half_range_mk if half_range_mk is None else half_range_mk
        s = self.step_mk if step_mk is None else step_mk
        code = self.check(c, h, s)
        if code:
            return code
        self.centre_mk = c
        self.half_range_mk = h
        self.step_mk = s
        self._n_points = (2 * h) // s + 1
        self.points = 0
        self.runs += 1
        self.state = SCANNING
        self._goto(0)
        return OK

    def abort(self):
        """Stop a scan (interlock, mode change): the set point returns to the centre."""
        if self.active:
            self._crystal.set_point_mk = self.centre_mk
            self.state = IDLE

    def _goto(self, i):
        self._crystal.set_point_mk = self.centre_mk - self.half_range_mk + i * self.step_mk
        self._wait = self.settle_cycles
        self._acc = 0
        self._acc_cycles = 0

    def step(self, coincidences):
        """One 10 Hz cycle with its coincidence count (all detector pairs), or -1 for a cycle
        whose counts are not valid (analysers settling, pump ramping)."""
        st = self.state
        if st != SCANNING and st != SETTLING:
            return
        crystal = self._crystal
        e = crystal.set_point_error_mk
        if not crystal.held or e > self.band_mk or e < -self.band_mk:
            self._wait = self.settle_cycles  # still slewing to the point, or lagging it
            return
        if coincidences < 0:
            return
        if self._wait > 0:
            self._wait -= 1
            return
        if st == SETTLING:
            self.state = DONE
            if self.on_finish is not None:
                self.on_finish(self)
            return
        self._acc += coincidences
        self._acc_cycles += 1
        if self._acc_cycles < self.dwell_cycles:
            return
        i = self.points
        self._counts[i] = self._acc
        self.points = i + 1
        if self.points < self._n_points:
            self._goto(self.points)
            return
        self._finish()

    def _finish(self):
        offset_mk = self.fit_offset_mk()
        crystal = self._crystal
        if offset_mk is None:
            crystal.set_point_mk = self.centre_mk
            self.state = FAILED
            if self.on_finish is not None:
                self.on_finish(self)
            return
        self.found_mk = self.centre_mk + offset_mk
        crystal.set_point_mk = self.found_mk
        self._wait = self.settle_cycles
        self.state = SETTLING

    def fit_offset_mk(self):
        """Fitted peak as an offset from the scan centre (mK), or None without a usable peak."""
        n = self.points
        counts = self._counts
        best = 0
        for i in range(1, n):
            if counts[i] > counts[best]:
                best = i
        self.peak_counts = counts[best] if n else 0
        if n == 0 or self.peak_counts < self.min_peak_counts:
            return None
        floor = self.peak_counts * self.fit_fraction_pm // 1000
        lo = best
        while lo > 0 and counts[lo - 1] >= floor and counts[lo - 1] > 0:
            lo -= 1
        hi = best
        while hi < n - 1 and counts[hi + 1] >= floor and counts[hi + 1] > 0:
            hi += 1
        if lo == 0 or hi == n - 1:
            return None  # the peak is not inside the scan: no trustworthy vertex
        if hi - lo < 2:
            lo -= 1  # three points at least (both neighbours are inside the scan)
            hi += 1
        # least squares y = a + b x + c x^2, x in K from the best point, y = ln(counts)
        s0 = s1 = s2 = s3 = s4 = t0 = t1 = t2 = 0.0
        step_k = self.step_mk / 1000.0
        for i in range(lo, hi + 1):
            if counts[i] <= 0:
                return None
            x = (i - best) * step_k
            y = math.log(counts[i])
            x2 = x * x
            s0 += 1.0
            s1 += x
            s2 += x2
            s3 += x2 * x
            s4 += x2 * x2
            t0 += y
            t1 += x * y
            t2 += x2 * y
        # Cramer's rule on the 3x3 normal equations
        det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2)
        if det == 0.0:
            return None
        db = s0 * (t1 * s4 - s3 * t2) - t0 * (s1 * s4 - s3 * s2) + s2 * (s1 * t2 - t1 * s2)
        dc = s0 * (s2 * t2 - t1 * s3) - s1 * (s1 * t2 - t1 * s2) + t0 * (s1 * s3 - s2 * s2)
        b = db / det
        c = dc / det
        if c >= 0.0:
            return None  # not a maximum
        x_peak = -b / (2.0 * c)
        if x_peak < (lo - best) * step_k or x_peak > (hi - best) * step_k:
            return None
        return (best * self.step_mk - self.half_range_mk) + int(round(x_peak * 1000.0))
