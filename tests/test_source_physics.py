"""Source physics (sim/): SPDC source, pump diode, detectors, coincidences, polarisation, presets.

Each test names the property it checks; tolerances are set from the counting
statistics of the seeded run (a few standard deviations), not tuned to a seed.
"""

import math

import numpy as np
import pytest

from sim.detectors import (
    CoincidenceCounter,
    OnboardAnalyser,
    SinglePhotonDetector,
    accidental_rate_hz,
    non_paralysable_rate_hz,
    thin,
)
from sim.polarisation import LiquidCrystalRetarder, PolarisationDrift, wrap_rad
from sim.presets import PRESETS, get_preset
from sim.pump_laser import PumpLaserDiode
from sim.spdc import (
    CHSH_ANGLES_RAD,
    SpdcSource,
    chsh_s,
    correlation_from_counts,
    expected_qber,
    outcome_probabilities,
    phase_matching_efficiency,
    temperature_fwhm_k,
    visibility_from_counts,
)

ROOM_K = 298.15


def _analyser(efficiency=0.55, dead_time_s=22e-9, dark_count_hz=100.0, afterpulse=0.005, jitter_fwhm_s=350e-12,
              transmission=0.5, half_window_s=1e-9):
    def det():
        return SinglePhotonDetector(efficiency=efficiency, dead_time_s=dead_time_s, dark_count_hz=dark_count_hz,
                                    afterpulse_probability=afterpulse, jitter_fwhm_s=jitter_fwhm_s)

    return OnboardAnalyser([det(), det()], [det(), det()], transmission, transmission,
                           CoincidenceCounter(half_window_s))


def _measure(source, analyser, angle_a, angle_b, rng, t0_s, duration_s, pump_mw, phase_rad=0.0):
    """Emit over ``[t0_s, t0_s + duration_s)``, analyse at the given angles, return the totals.

    The detectors keep their dead-time state, so successive calls use later windows.
    """
    pairs = source.emit(t0_s, duration_s, pump_mw, source.centre_temp_k, rng)
    port_a, port_b = source.analyse(pairs.size, angle_a, angle_b, rng, phase_rad)
    r = analyser.integrate(pairs, port_a, port_b, rng, t0_s, duration_s, 1)
    return r.coincidences[..., 0].astype(float), r.accidentals[..., 0], r


# --- phase matching -----------------------------------------------------------------------

def test_phase_matching_peaks_at_centre_with_stated_fwhm():
    centre, fwhm = 306.4, 1.2
    temps = np.linspace(centre - 5, centre + 5, 100001)
    eta = phase_matching_efficiency(temps, centre, fwhm)
    assert temps[np.argmax(eta)] == pytest.approx(centre, abs=1e-3)
    assert eta.max() == pytest.approx(1.0, abs=1e-9)
    above = temps[eta >= 0.5]
    assert above.max() - above.min() == pytest.approx(fwhm, abs=1e-3)
    assert phase_matching_efficiency(centre + fwhm / 2, centre, fwhm) == pytest.approx(0.5, abs=1e-6)
    # first zero of sinc^2 at x = pi: T - T_c = pi fwhm / (2 x_h)
    assert phase_matching_efficiency(centre + math.pi * fwhm / (2 * 1.3915573956), centre, fwhm) < 1e-12


def test_source_rate_follows_the_tuning_curve_and_crystal_length_sets_fwhm():
    # a 25 mm PPKTP crystal has a ~1.2 K wide curve (computed from KTP thermo-optic data)
    assert temperature_fwhm_k(25.0) == pytest.approx(1.20, abs=0.01)
    assert temperature_fwhm_k(12.5) == pytest.approx(2 * temperature_fwhm_k(25.0))
    src = SpdcSource(brightness_pairs_s_mw=1e5, centre_temp_k=299.15, crystal_length_mm=25.0)
    assert src.fwhm_k == pytest.approx(temperature_fwhm_k(25.0))
    peak = src.pair_rate_hz(10.0, 299.15)
    assert peak == pytest.approx(1e6)
    assert src.pair_rate_hz(10.0, 299.15 + src.fwhm_k / 2) == pytest.approx(peak / 2, rel=1e-6)
    assert src.pair_rate_hz(10.0, 298.15) < 0.15 * peak  # 1 K off: far down the curve


# --- pair rate and emission statistics -------------------------------------------------------

def test_pair_rate_is_linear_in_pump_power_and_in_current_above_threshold():
    src = SpdcSource(brightness_pairs_s_mw=2e5, centre_temp_k=ROOM_K, fwhm_k=1.2)
    powers = np.array([0.0, 1.0, 5.0, 12.5, 30.0])
    rates = src.pair_rate_hz(powers, ROOM_K)
    assert np.allclose(rates, 2e5 * powers)

    laser = PumpLaserDiode(threshold_ma=35.0, slope_mw_ma=1.0, thermal_res_k_w=0.0)
    currents = np.array([10.0, 34.9, 40.0, 50.0, 60.0, 80.0])
    rate_i = src.pair_rate_hz(laser.optical_power_mw(currents, ROOM_K), ROOM_K)
    assert np.all(rate_i[:2] == 0.0)  # below threshold: no pump, no pairs
    assert np.allclose(rate_i[2:], 2e5 * 1.0 * (currents[2:] - 35.0))
    # with junction self-heating the curve bends only slightly over the operating range
    hot = PumpLaserDiode(threshold_ma=35.0, slope_mw_ma=1.0, thermal_res_k_w=28.0)
    p = hot.optical_power_mw(currents[2:], ROOM_K)
    fit = np.polyfit(currents[2:], p, 1)
    assert np.max(np.abs(np.polyval(fit, currents[2:]) - p)) < 0.02 * p.max()


def test_emission_is_poissonian():
    src = SpdcSource(brightness_pairs_s_mw=1e4, centre_temp_k=ROOM_K, fwhm_k=1.2)
    rng = np.random.default_rng(11)
    t = src.emit(3.0, 2.0, 5.0, ROOM_K, rng)  # 50 kHz for 2 s
    assert np.all(np.diff(t) >= 0) and t[0] >= 3.0 and t[-1] < 5.0
    assert abs(t.size - 1e5) < 4 * math.sqrt(1e5)
    counts = np.histogram(t, bins=2000, range=(3.0, 5.0))[0]  # 1 ms bins, mean 50
    assert counts.mean() == pytest.approx(50.0, rel=0.02)
    assert counts.var(ddof=1) / counts.mean() == pytest.approx(1.0, abs=0.1)  # Fano factor of a Poisson process
    # and over separate calls: Poisson counts per window
    n = np.array([src.emit(0.0, 1e-3, 5.0, ROOM_K, rng).size for _ in range(2000)])
    assert n.var(ddof=1) / n.mean() == pytest.approx(1.0, abs=0.1)


# --- pump laser ----------------------------------------------------------------------------

def test_threshold_moves_with_temperature_and_age():
    laser = PumpLaserDiode(threshold_ma=35.0, t0_k=170.0, ageing_rise=0.2, ageing_ref_hours=10000.0,
                           ageing_exponent=0.5, thermal_res_k_w=0.0)
    assert laser.threshold_at_ma(ROOM_K) == pytest.approx(35.0)
    assert laser.threshold_at_ma(ROOM_K + 20) / laser.threshold_at_ma(ROOM_K) == pytest.approx(math.exp(20 / 170))
    assert laser.threshold_at_ma(ROOM_K - 10) < 35.0
    assert laser.threshold_at_ma(ROOM_K, hours=10000.0) == pytest.approx(35.0 * 1.2)
    assert laser.threshold_at_ma(ROOM_K, hours=2500.0) == pytest.approx(35.0 * 1.1)  # power law, m = 1/2
    # the L-I curve starts where the threshold says, at every temperature and age
    for temp in (ROOM_K - 10, ROOM_K, ROOM_K + 15):
        ith = laser.threshold_at_ma(temp)
        assert laser.optical_power_mw(ith - 0.01, temp) == 0.0
        assert laser.optical_power_mw(ith + 10.0, temp) == pytest.approx(10.0 * laser.slope_at_mw_ma(temp))
    # ageing accrues with operating time; the same current then gives less light
    p_new = laser.optical_power_mw(70.0, ROOM_K)
    for _ in range(100):
        laser.step(36.0, 70.0, ROOM_K)  # 100 x 36 s = 1 h
    assert laser.operating_hours == pytest.approx(1.0)
    laser.operating_hours = 10000.0
    assert laser.threshold_at_ma(ROOM_K) == pytest.approx(42.0)
    assert laser.optical_power_mw(70.0, ROOM_K) == pytest.approx(p_new - 7.0 * laser.slope_mw_ma)
    assert laser.monitor_current_ua(70.0, ROOM_K) == pytest.approx(laser.monitor_ua_mw * 28.0)


def test_pump_overcurrent_region():
    laser = PumpLaserDiode(max_current_ma=100.0, cod_current_ma=150.0, overcurrent_ageing_factor=1000.0)
    assert not laser.is_overcurrent(100.0) and laser.is_overcurrent(100.1)
    laser.step(3.6, 120.0, ROOM_K)  # 3.6 s above the rating ages like 3,600 s: 1 h
    assert laser.operating_hours == pytest.approx(1.0)
    assert not laser.failed and laser.optical_power_mw(80.0, ROOM_K) > 0
    laser.step(1e-3, 150.0, ROOM_K)  # catastrophic optical damage
    assert laser.failed
    assert laser.optical_power_mw(80.0, ROOM_K) == 0.0 and laser.monitor_current_ua(80.0, ROOM_K) == 0.0


# --- detectors and coincidences ------------------------------------------------------------

@pytest.mark.parametrize("rate_hz", [1e6, 1e7, 4e7])
def test_dead_time_caps_rate_as_non_paralysable_formula(rate_hz):
    rng = np.random.default_rng(5)
    duration = 2e5 / rate_hz  # about 2e5 photons
    photons = np.sort(rng.uniform(0.0, duration, rng.poisson(rate_hz * duration)))
    det = SinglePhotonDetector(efficiency=1.0, dead_time_s=50e-9, dark_count_hz=0.0, afterpulse_probability=0.0,
                               jitter_fwhm_s=0.0)
    out = det.detect(photons, rng, 0.0, duration)
    assert np.all(np.diff(out) >= 50e-9 * (1 - 1e-12))  # no two registered events inside a dead time
    expected = non_paralysable_rate_hz(rate_hz, 50e-9)
    assert out.size / duration == pytest.approx(expected, rel=0.015)


def test_dead_time_carries_across_blocks():
    det = SinglePhotonDetector(efficiency=1.0, dead_time_s=100e-9, dark_count_hz=0.0, afterpulse_probability=0.0,
                               jitter_fwhm_s=0.0)
    rng = np.random.default_rng(0)
    assert det.detect([0.99999995], rng, 0.0, 1.0).size == 1
    assert det.detect([1.00000002, 1.0000002], rng, 1.0, 1.0).tolist() == [1.0000002]


def test_dark_counts_and_efficiency():
    rng = np.random.default_rng(2)
    det = SinglePhotonDetector(efficiency=0.5, dead_time_s=0.0, dark_count_hz=2000.0, afterpulse_probability=0.0,
                               jitter_fwhm_s=0.0)
    dark = det.detect([], rng, 0.0, 10.0)
    assert abs(dark.size - 20000) < 4 * math.sqrt(20000)
    photons = np.linspace(20.0, 21.0, 100000, endpoint=False)
    det_nodark = SinglePhotonDetector(efficiency=0.5, dark_count_hz=0.0, dead_time_s=0.0, jitter_fwhm_s=0.0,
                                      afterpulse_probability=0.0)
    assert abs(det_nodark.detect(photons, rng, 20.0, 1.0).size - 50000) < 4 * math.sqrt(25000)


def test_accidental_coincidences_match_2_tau_r1_r2():
    rng = np.random.default_rng(9)
    duration, rate = 1.0, 2.2e6
    a = SinglePhotonDetector(efficiency=1.0).detect(np.sort(rng.uniform(0, duration, rng.poisson(rate))),
                                                    rng, 0.0, duration)
    b = SinglePhotonDetector(efficiency=1.0).detect(np.sort(rng.uniform(0, duration, rng.poisson(rate))),
                                                    rng, 0.0, duration)
    counter = CoincidenceCounter(half_window_s=1e-9, delay_s=3e-9)
    measured = counter.count(a, b)
    expected = accidental_rate_hz(a.size / duration, b.size / duration, 1e-9) * duration
    assert expected > 5000
    assert measured == pytest.approx(expected, rel=0.04)  # 1 sigma = 1.3 %
    # per-period counting (the HAL counters' view) adds up to the same numbers
    r = counter.integrate(a, b, 0.0, 0.1, 10)
    assert r.singles_a.sum() == a.size and r.singles_b.sum() == b.size
    assert r.coincidences.sum() == pytest.approx(measured, abs=2)  # window straddling a period edge
    assert r.accidentals.sum() == pytest.approx(expected, rel=0.01)


def test_correlated_pairs_are_found_in_coincidence():
    rng = np.random.default_rng(4)
    pairs = np.sort(rng.uniform(0, 0.1, 20000))
    counter = CoincidenceCounter(half_window_s=1e-9, delay_s=5e-9)
    found = counter.count(pairs, pairs + 5e-9)  # every pair, plus the odd accidental (~8 expected)
    assert 20000 <= found <= 20030
    assert counter.count(pairs, pairs + 7e-9) < 20  # outside the window: accidentals only
    assert thin(pairs, 0.0, rng).size == 0 and thin(pairs, 1.0, rng).size == pairs.size


# --- polarisation correlations ----------------------------------------------------------------

def test_outcome_probabilities_of_the_bell_state():
    p = outcome_probabilities([0.0, 0.3, math.pi / 4], [0.0, 1.1, math.pi / 4], 0.9, phase_rad=0.0)
    assert np.allclose(p.sum(axis=(-1, -2)), 1.0)
    assert np.allclose(p.sum(axis=-1), 0.5) and np.allclose(p.sum(axis=-2), 0.5)  # unpolarised marginals
    # H/V: A=H with B=V always (up to white noise); D/A: D with D
    assert p[0, 0, 1] == pytest.approx(0.9 / 2 + 0.1 / 4) and p[0, 0, 0] == pytest.approx(0.1 / 4)
    assert p[2, 0, 0] == pytest.approx(0.9 / 2 + 0.1 / 4)
    # E(alpha, beta) = V (-cos 2a cos 2b + sin 2a sin 2b cos phi)
    a, b, phi = 0.4, -0.9, 0.7
    q = outcome_probabilities(a, b, 0.8, phi)
    e = q[0, 0] + q[1, 1] - q[0, 1] - q[1, 0]
    assert e == pytest.approx(0.8 * (-math.cos(2 * a) * math.cos(2 * b) + math.sin(2 * a) * math.sin(2 * b)
                                     * math.cos(phi)))


def test_analyse_draws_outcomes_per_pair():
    src = SpdcSource(visibility=1.0)
    rng = np.random.default_rng(6)
    phase = np.repeat([0.0, math.pi], 50000)  # the state phase may change within a block
    port_a, port_b = src.analyse(phase.size, math.pi / 4, math.pi / 4, rng, phase)
    assert np.all(port_a[:50000] == port_b[:50000])  # |HV>+|VH>: D with D
    assert np.all(port_a[50000:] != port_b[50000:])  # |HV>-|VH>: D with A
    assert port_a.mean() == pytest.approx(0.5, abs=0.01)


def test_visibility_from_hv_and_da_coincidences_recovers_intrinsic_visibility():
    v = 0.97
    src = SpdcSource(brightness_pairs_s_mw=1e5, centre_temp_k=ROOM_K, fwhm_k=1.2, visibility=v)
    rng = np.random.default_rng(21)
    analyser = _analyser(half_window_s=4e-9)  # wide window and bright source: accidentals matter
    results = {}
    for t0, (basis, angle) in enumerate((("hv", 0.0), ("da", math.pi / 4))):
        c, acc, _ = _measure(src, analyser, angle, angle, rng, t0, 0.5, pump_mw=20.0)
        if basis == "hv":  # |HV> + |VH>: opposite ports correlated
            hi, lo, acc_hi, acc_lo = c[0, 1] + c[1, 0], c[0, 0] + c[1, 1], acc[0, 1] + acc[1, 0], acc[0, 0] + acc[1, 1]
        else:  # D with D, A with A
            hi, lo, acc_hi, acc_lo = c[0, 0] + c[1, 1], c[0, 1] + c[1, 0], acc[0, 0] + acc[1, 1], acc[0, 1] + acc[1, 0]
        raw = visibility_from_counts(hi, lo)
        corrected = visibility_from_counts(hi, lo, acc_hi, acc_lo)
        results[basis] = (raw, corrected)
        assert raw < v - 0.01  # the accidentals visibly lower the raw figure ...
        assert corrected == pytest.approx(v, abs=0.006)  # ... and subtracting them recovers V
    # a residual state phase costs D/A visibility only: V_DA = V cos(phi)
    c, acc, _ = _measure(src, analyser, math.pi / 4, math.pi / 4, rng, 2.0, 0.5, pump_mw=20.0, phase_rad=0.5)
    da = visibility_from_counts(c[0, 0] + c[1, 1], c[0, 1] + c[1, 0], acc[0, 0] + acc[1, 1], acc[0, 1] + acc[1, 0])
    assert da == pytest.approx(v * math.cos(0.5), abs=0.01)


def test_chsh_from_coincidences_approaches_2_sqrt2_v():
    v = 0.97
    src = SpdcSource(brightness_pairs_s_mw=1e5, centre_temp_k=ROOM_K, fwhm_k=1.2, visibility=v)
    rng = np.random.default_rng(33)
    analyser = _analyser()
    e = {}
    for ka in ("a", "a_prime"):
        for kb in ("b", "b_prime"):
            t0 = float(len(e))
            c, acc, _ = _measure(src, analyser, CHSH_ANGLES_RAD[ka], CHSH_ANGLES_RAD[kb], rng, t0, 1.0, pump_mw=5.0)
            e[ka, kb] = correlation_from_counts(c[0, 0], c[0, 1], c[1, 0], c[1, 1],
                                                (acc[0, 0], acc[0, 1], acc[1, 0], acc[1, 1]))
    s = chsh_s(e["a", "b"], e["a", "b_prime"], e["a_prime", "b"], e["a_prime", "b_prime"])
    assert s > 2.6
    assert s == pytest.approx(2 * math.sqrt(2) * v, abs=0.05)  # 1 sigma ~ 0.015 with ~16k coincidences/setting


def test_same_seed_gives_identical_output():
    def run(seed):
        preset = get_preset("micius")
        src, analyser = preset.make_source(), preset.make_analyser()
        drift = preset.make_drift(np.random.default_rng(seed + 1))
        rng = np.random.default_rng(seed)
        phase = drift.step(0.1)
        c, acc, r = _measure(src, analyser, 0.0, math.pi / 8, rng, 0.0, 0.05, pump_mw=30.0, phase_rad=phase)
        return r, phase

    (r1, p1), (r2, p2), (r3, _) = run(7), run(7), run(8)
    assert p1 == p2
    for field in ("singles_a", "singles_b", "coincidences", "accidentals"):
        assert np.array_equal(getattr(r1, field), getattr(r2, field))
    assert not np.array_equal(r1.coincidences, r3.coincidences)


# --- polarisation drift and the liquid-crystal compensator --------------------------------------

def test_retarder_drive_nulls_the_drift():
    lc = LiquidCrystalRetarder()
    drives = np.arange(0, 65536, 256)
    curve = lc.settled_retardance_rad(drives)
    assert np.all(np.diff(curve) <= 0)  # retardance falls monotonically with voltage
    assert lc.gamma_max_rad - lc.gamma_min_rad > 2 * math.pi  # more than a wave: every phase reachable
    drift = PolarisationDrift(np.random.default_rng(3), amplitude_rad=0.3, walk_rad_per_sqrt_s=0.01)
    v = 0.97
    for _ in range(20):
        phase = drift.step(300.0)
        uncompensated = outcome_probabilities(math.pi / 4, math.pi / 4, v, phase)
        drive = lc.drive_for_retardance_u16(-phase)
        for _ in range(50):
            lc.step(0.01, drive)  # settle: 50 x 10 ms, response time 30 ms
        net = wrap_rad(phase + lc.retardance_rad)
        assert abs(net) < 2e-3  # one DAC step is worth well under a milliradian here
        p = outcome_probabilities(math.pi / 4, math.pi / 4, v, phase + lc.retardance_rad)
        v_da = p[0, 0] + p[1, 1] - p[0, 1] - p[1, 0]
        assert v_da == pytest.approx(v, abs=1e-5)
        assert v_da >= uncompensated[0, 0] + uncompensated[1, 1] - uncompensated[0, 1] - uncompensated[1, 0] - 1e-12


def test_retarder_responds_with_its_time_constant():
    lc = LiquidCrystalRetarder(response_s=0.03)
    start = lc.retardance_rad
    target = lc.settled_retardance_rad(30000)
    after = lc.step(0.03, 30000)
    assert (after - target) / (start - target) == pytest.approx(math.exp(-1.0))


def test_drift_random_walk_rate():
    drift = PolarisationDrift(np.random.default_rng(8), amplitude_rad=0.0, walk_rad_per_sqrt_s=0.01, phase0_rad=0.2)
    phases = drift.sample(1.0, 20000)
    steps = np.diff(np.concatenate([[0.2], phases]))
    assert steps.std() == pytest.approx(0.01, rel=0.03)
    orbital = PolarisationDrift(np.random.default_rng(8), amplitude_rad=0.3, walk_rad_per_sqrt_s=0.0, phase0_rad=0.0)
    swing = orbital.sample(10.0, 564)
    assert swing.max() - swing.min() == pytest.approx(0.6, abs=0.01)


# --- presets -------------------------------------------------------------------------------

def test_every_preset_parameter_names_its_source():
    for preset in PRESETS.values():
        for key, param in preset.params.items():
            assert param.source.strip(), f"{preset.name}.{key} has no source"
            assert key in preset.table()
    with pytest.raises(ValueError, match="unknown source preset"):
        get_preset("voyager")


def test_micius_preset_reproduces_published_qber_and_onboard_quality():
    micius = get_preset("micius")
    # intrinsic V = 0.97 with the published 15:1 signal-to-noise gives the published ~4.5 % QBER
    assert expected_qber(micius["visibility"], micius["ground_signal_to_noise"]) == pytest.approx(
        micius["ground_qber"], abs=0.001)
    assert 0.9 <= micius["pm_fwhm_k"] <= 1.5  # "a band of about a kelvin"
    current = micius.nominal_pump_current_ma()
    assert current < micius["pump_max_current_ma"]
    # on board, at nominal pump and perfect phase compensation: V >= 0.95 in both bases, S >= 2.6
    src, analyser = micius.make_source(), micius.make_analyser()
    pump_mw = micius.make_pump_laser().optical_power_mw(current, ROOM_K) * micius["pump_delivery"]
    assert pump_mw == pytest.approx(micius["pump_mw_nominal"], rel=1e-6)
    rng = np.random.default_rng(1)
    c, acc, _ = _measure(src, analyser, 0.0, 0.0, rng, 0.0, 0.2, pump_mw)
    assert visibility_from_counts(c[0, 1] + c[1, 0], c[0, 0] + c[1, 1]) >= 0.95  # raw, before subtraction
    c, acc, _ = _measure(src, analyser, math.pi / 4, math.pi / 4, rng, 0.2, 0.2, pump_mw)
    assert visibility_from_counts(c[0, 0] + c[1, 1], c[0, 1] + c[1, 0]) >= 0.95


def test_cubesat_preset_fits_the_power_budget():
    cubesat = get_preset("cubesat")
    laser = cubesat.make_pump_laser()
    current = cubesat.nominal_pump_current_ma()
    assert laser.electrical_power_w(current) < 0.25 * cubesat["payload_power_budget_w"]
    assert laser.electrical_power_w(cubesat["pump_max_current_ma"]) < cubesat["payload_power_budget_w"]
    assert cubesat["visibility"] == pytest.approx(0.97)
    rates = cubesat.expected_onboard_rates()
    assert rates["coincidences_hz"] > 20 * rates["accidentals_hz"]


# --- bad input -----------------------------------------------------------------------------

def _detector_used_until(t_s):
    det = SinglePhotonDetector(efficiency=1.0, dark_count_hz=0.0, afterpulse_probability=0.0)
    det.detect([t_s], np.random.default_rng(0), 0.0, t_s + 1e-6)
    return det


@pytest.mark.parametrize("make, match", [
    (lambda: SpdcSource(brightness_pairs_s_mw=-1.0), "brightness_pairs_s_mw must be >= 0"),
    (lambda: SpdcSource(visibility=1.2), "visibility must be <= 1"),
    (lambda: SpdcSource(fwhm_k=0.0), "fwhm_k must be > 0"),
    (lambda: SpdcSource().pair_rate_hz(-3.0, ROOM_K), "pump_mw must be finite and >= 0"),
    (lambda: SpdcSource().emit(0.0, 1.0, -3.0, ROOM_K, np.random.default_rng(0)), "pump_mw"),
    (lambda: SpdcSource().emit(0.0, -1.0, 3.0, ROOM_K, np.random.default_rng(0)), "dt_s must be >= 0"),
    (lambda: SpdcSource().pair_rate_hz(3.0, -1.0), "crystal_temp_k"),
    (lambda: SinglePhotonDetector(efficiency=1.2), "efficiency must be <= 1"),
    (lambda: SinglePhotonDetector(efficiency=-0.1), "efficiency must be >= 0"),
    (lambda: SinglePhotonDetector(dead_time_s=-1e-9), "dead_time_s must be >= 0"),
    (lambda: SinglePhotonDetector(dark_count_hz=float("nan")), "dark_count_hz must be finite"),
    (lambda: SinglePhotonDetector().detect([0.0], np.random.default_rng(0), t0_s=0.0), "both t0_s and dt_s"),
    (lambda: _detector_used_until(2.0).detect([1.5], np.random.default_rng(0), 1.0, 1.0), "move forward in time"),
    (lambda: CoincidenceCounter(half_window_s=0.0), "half_window_s must be > 0"),
    (lambda: thin([0.0], 1.5, np.random.default_rng(0)), "probability must be <= 1"),
    (lambda: PumpLaserDiode(slope_mw_ma=0.0), "slope_mw_ma must be > 0"),
    (lambda: PumpLaserDiode().optical_power_mw(-5.0, ROOM_K), "current_ma must be finite and >= 0"),
    (lambda: PumpLaserDiode(max_current_ma=100.0, cod_current_ma=90.0), "cod_current_ma must be >= 100"),
    (lambda: PumpLaserDiode().current_for_power_ma(500.0, ROOM_K), "not reachable"),
    (lambda: LiquidCrystalRetarder().step(0.01, 70000), "drive_u16 must be in 0..65535"),
    (lambda: LiquidCrystalRetarder(gamma_res_rad=3.0, gamma_max_rad=2.0), "must be below gamma_max_rad"),
    (lambda: PolarisationDrift(np.random.default_rng(0), walk_rad_per_sqrt_s=-1.0), "walk_rad_per_sqrt_s"),
    (lambda: visibility_from_counts(10, 10, 20, 20), "no coincidences left"),
])
def test_invalid_parameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()
