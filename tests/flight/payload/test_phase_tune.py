"""Phase-matching auto-tune: scan, fit, settle; refusals; no light; allocation-free cycles."""

import math

from payload import phase_tune as pt
from tests.flight.support import garbage_bytes


class Crystal:
    """A crystal that follows its set point after ``lag_cycles`` cycles, as the thermal loop would."""

    def __init__(self, set_point_mk=298150, lag_cycles=3):
        self.set_point_mk = set_point_mk
        self.temp_mk = set_point_mk
        self.lag = lag_cycles
        self._since = 0

    @property
    def held(self):
        return True

    @property
    def set_point_error_mk(self):
        return self.set_point_mk - self.temp_mk

    def step(self):
        if self.temp_mk != self.set_point_mk:
            self._since += 1
            if self._since >= self.lag:
                self.temp_mk = self.set_point_mk
                self._since = 0


class Source:
    """sinc^2 tuning curve (FWHM ``fwhm_mk``) at ``peak_mk``, counts per 100 ms cycle, with
    deterministic pseudo-noise (an LCG: MicroPython's ports differ in their random modules)."""

    def __init__(self, peak_mk, fwhm_mk=1200, peak_counts=450, noise=True):
        self.peak_mk = peak_mk
        self.fwhm_mk = fwhm_mk
        self.peak_counts = peak_counts
        self.noise = noise
        self._x = 12345

    def counts(self, temp_mk):
        x = 2.7831 * (temp_mk - self.peak_mk) / self.fwhm_mk  # sinc^2(x) = 1/2 at x = 1.3916
        eff = 1.0 if x == 0 else (math.sin(x) / x) ** 2
        mean = self.peak_counts * eff
        if not self.noise:
            return int(mean)
        self._x = (1103515245 * self._x + 12345) & 0x7FFFFFFF
        u = self._x / 0x7FFFFFFF - 0.5  # uniform, variance 1/12
        return max(0, int(mean + u * 3.4641 * math.sqrt(mean + 1)))


def run_scan(tuner, crystal, source, max_cycles=20000):
    n = 0
    while tuner.active and n < max_cycles:
        crystal.step()
        # a cycle's counts belong to the temperature the crystal had during it
        tuner.step(source.counts(crystal.temp_mk))
        n += 1
    return n


def test_scan_finds_a_peak_one_kelvin_away_and_settles_on_it():
    crystal = Crystal()
    finished = []
    tuner = pt.PhaseMatchTuner(crystal)
    tuner.on_finish = finished.append
    source = Source(peak_mk=297150)
    assert tuner.start() == pt.OK and tuner.active and tuner.centre_mk == 298150
    cycles = run_scan(tuner, crystal, source)
    assert tuner.state == pt.DONE and finished == [tuner]
    assert tuner.points == 41
    assert abs(tuner.found_mk - 297150) <= 20, tuner.found_mk
    assert crystal.set_point_mk == tuner.found_mk
    assert cycles < 41 * 20  # bounded: settle + dwell per point, not a runaway


def test_counts_taken_while_the_crystal_lags_are_not_credited_to_the_point():
    crystal = Crystal(lag_cycles=8)  # slower than the settle time
    tuner = pt.PhaseMatchTuner(crystal)
    source = Source(peak_mk=298650, noise=False)
    tuner.start()
    run_scan(tuner, crystal, source)
    # a fit fed with lagging counts would be pulled one step the way the scan moves
    assert tuner.state == pt.DONE and abs(tuner.found_mk - 298650) <= 10


def test_no_light_fails_and_returns_to_the_centre():
    crystal = Crystal()
    tuner = pt.PhaseMatchTuner(crystal)
    tuner.start()
    run_scan(tuner, crystal, Source(peak_mk=298150, peak_counts=0, noise=False))
    assert tuner.state == pt.FAILED and crystal.set_point_mk == 298150 and tuner.peak_counts == 0


def test_a_peak_outside_the_scan_fails_rather_than_guesses():
    crystal = Crystal()
    tuner = pt.PhaseMatchTuner(crystal)
    tuner.start(half_range_mk=1000, step_mk=100)
    run_scan(tuner, crystal, Source(peak_mk=299650, noise=False))  # only the flank is scanned
    assert tuner.state == pt.FAILED and crystal.set_point_mk == 298150


def test_scans_outside_the_set_point_limits_are_refused_and_change_nothing():
    crystal = Crystal(set_point_mk=289000)
    tuner = pt.PhaseMatchTuner(crystal, set_point_limits_mk=(288150, 333150))
    assert tuner.start(half_range_mk=2000) == pt.REFUSED_RANGE
    assert tuner.start(half_range_mk=500, step_mk=0) == pt.REFUSED_STEP
    assert tuner.start(half_range_mk=500, step_mk=5) == pt.REFUSED_STEP  # 201 points
    assert tuner.state == pt.IDLE and crystal.set_point_mk == 289000 and tuner.runs == 0
    assert tuner.half_range_mk == 2000 and tuner.step_mk == 100


def test_abort_puts_the_set_point_back():
    crystal = Crystal()
    tuner = pt.PhaseMatchTuner(crystal)
    tuner.start()
    for _ in range(50):
        crystal.step()
        tuner.step(100)
    assert crystal.set_point_mk != 298150
    tuner.abort()
    assert not tuner.active and crystal.set_point_mk == 298150


def test_invalid_cycles_are_not_counted():
    crystal = Crystal(lag_cycles=1)
    tuner = pt.PhaseMatchTuner(crystal, settle_cycles=0, dwell_cycles=2)
    tuner.start(half_range_mk=100, step_mk=100)
    crystal.step()
    tuner.step(-1)
    tuner.step(-1)
    assert tuner.points == 0
    tuner.step(10)
    tuner.step(10)
    assert tuner.points == 1


def test_mp_scan_cycle_allocates_nothing():
    crystal = Crystal(lag_cycles=1)
    tuner = pt.PhaseMatchTuner(crystal, dwell_cycles=1000000)  # stay on one point
    tuner.start()
    crystal.step()
    assert garbage_bytes(lambda: tuner.step(400), 200) == 0
