"""Pointing plant (sim/pointing_plant.py): mirror, gimbal, beacon sensors, pointing efficiency."""

import math

import numpy as np
import pytest

from hal.fake import FakeBeaconSensor
from sim.pointing_plant import (URAD_PER_DEG, BeaconCamera, FineBeaconSensor, GimbalPlant, SteeringMirrorPlant,
                                mean_pointing_efficiency, pointing_efficiency)


# ---------------------------------------------------------------- steering mirror
def _step_response(t, f_n, zeta):
    wn = 2 * np.pi * f_n
    wd = wn * np.sqrt(1 - zeta ** 2)
    return 1 - np.exp(-zeta * wn * t) * (np.cos(wd * t) + zeta / np.sqrt(1 - zeta ** 2) * np.sin(wd * t))


def test_mirror_step_response_exact_and_settles():
    m = SteeringMirrorPlant(beams=2, dt_s=0.001, substeps=20)
    step = 100_000.0  # 100 urad
    xs, subs = [], []
    for _ in range(10):
        x, y = m.step([step, -step], 0.0)
        xs.append(x.copy())
        subs.append(m.sub_x_nrad[0].copy())
        assert np.all(y == 0.0)
    xs = np.array(xs)
    sub = np.concatenate(subs)
    t = np.arange(1, sub.size + 1) * (0.001 / 20)
    assert np.allclose(sub / step, _step_response(t, 800.0, 0.5), atol=1e-9)  # exact ZOH integration
    assert np.allclose(xs[:, 1], -xs[:, 0])
    overshoot = sub.max() / step - 1
    assert overshoot == pytest.approx(math.exp(-math.pi * 0.5 / math.sqrt(0.75)), rel=0.02)  # 16.3 %
    assert abs(xs[-1, 0] / step - 1) < 1e-6  # settled after 10 ms
    assert abs(xs[2, 0] / step - 1) < 0.01  # within 1 % from the third tick on
    assert np.all(np.abs(xs[2:, 0] / step - 1) < 0.01)


def test_mirror_tick_ends_do_not_depend_on_substeps():
    a = SteeringMirrorPlant(substeps=1)
    b = SteeringMirrorPlant(substeps=7)
    rng = np.random.default_rng(0)
    for _ in range(50):
        cx, cy = rng.normal(0, 3e5, 2), rng.normal(0, 3e5, 2)
        xa, ya = a.step(cx, cy)
        xb, yb = b.step(cx, cy)
        assert np.allclose(xa, xb, rtol=0, atol=1e-6) and np.allclose(ya, yb, rtol=0, atol=1e-6)


def test_mirror_resonance_in_frequency_response():
    m = SteeringMirrorPlant()
    assert m.resonance_hz == pytest.approx(800.0 * math.sqrt(0.5))  # 566 Hz for zeta = 0.5
    f = np.linspace(1.0, 3000.0, 29991)
    h = np.abs(m.frequency_response(f))
    assert f[np.argmax(h)] == pytest.approx(m.resonance_hz, abs=0.2)
    assert h.max() == pytest.approx(m.peak_gain, rel=1e-6)
    assert m.peak_gain == pytest.approx(1 / math.sqrt(0.75), rel=1e-9)  # +1.25 dB
    assert abs(m.frequency_response(0.0)) == pytest.approx(1.0)
    assert np.angle(m.frequency_response(800.0), deg=True) == pytest.approx(-90.0)
    assert abs(m.frequency_response(30.0)) == pytest.approx(1.0, abs=0.002)  # transparent in the wheel band
    bw = f[np.nonzero(h >= 1 / math.sqrt(2))[0][-1]]
    assert bw == pytest.approx(1.272 * 800.0, rel=0.002)  # -3 dB at 1.02 kHz
    # the integrated plant agrees: a 566 Hz command, finely sampled, comes out at the peak gain
    fine = SteeringMirrorPlant(beams=1, dt_s=1e-5)
    fr = m.resonance_hz
    out = [fine.step(1e5 * math.sin(2 * math.pi * fr * k * 1e-5), 0.0)[0][0] for k in range(4000)]
    assert np.max(np.abs(out[2000:])) / 1e5 == pytest.approx(m.peak_gain, rel=0.01)
    stiff = SteeringMirrorPlant(zeta=0.8)
    assert stiff.resonance_hz is None and stiff.peak_gain == 1.0


def test_mirror_travel_clamp_and_stop():
    m = SteeringMirrorPlant(beams=2, substeps=10)
    for _ in range(20):
        x, y = m.step([2_000_000, -5_000_000], [999_000, 0])
        assert np.all(np.abs(m.sub_x_nrad) <= 1_000_000) and np.all(np.abs(x) <= 1_000_000)
    assert x[0] == pytest.approx(1_000_000) and x[1] == pytest.approx(-1_000_000)
    assert y[0] == pytest.approx(999_000, abs=1e-3)
    assert m.saturations == 40  # two clamped commands per step
    assert m.stop_hits > 0  # the overshoot of a full-travel step ends on the stop
    assert np.all(m.cmd[:, 0] == [1_000_000, -1_000_000])
    with pytest.raises(ValueError):
        m.step([1.0, 2.0, 3.0], 0.0)


# ---------------------------------------------------------------- gimbal
def test_gimbal_rate_and_acceleration_limits():
    g = GimbalPlant(beams=2, az0_urad=0.0, el0_urad=90 * URAD_PER_DEG)
    rate_lim = 3 * URAD_PER_DEG
    acc_lim = 10 * URAD_PER_DEG
    dt = 0.001
    rates = []
    for _ in range(2000):
        g.step(dt, [10 * URAD_PER_DEG, -10 * URAD_PER_DEG], 0.0)
        rates.append(g.rate_az_urad_s)
    rates = np.array(rates)
    assert np.all(np.abs(rates) <= rate_lim * (1 + 1e-12))
    assert rates[-1, 0] == pytest.approx(rate_lim) and rates[-1, 1] == pytest.approx(-rate_lim)
    acc = np.abs(np.diff(np.vstack([[0.0, 0.0], rates]), axis=0)) / dt
    assert acc.max() <= acc_lim * (1 + 1e-9)
    k = np.argmax(rates[:, 0] >= 0.99 * rate_lim)  # acceleration-limited: 0.3 s, then the lag
    assert 0.29 <= (k + 1) * dt <= 0.6
    assert np.all(g.el_urad == pytest.approx(90 * URAD_PER_DEG))  # the other axis did not move


def test_gimbal_first_order_lag_below_the_limits():
    g = GimbalPlant(beams=1)
    cmd = 0.01 * URAD_PER_DEG  # initial acceleration cmd / tau = 0.2 deg/s^2: no limit active
    for _ in range(50):  # one time constant
        g.step(0.001, cmd, -cmd)
    assert g.rate_az_urad_s[0] / cmd == pytest.approx(1 - math.exp(-1), rel=1e-6)
    assert g.rate_el_urad_s[0] / cmd == pytest.approx(-(1 - math.exp(-1)), rel=1e-6)
    # angle is the integral of the rate: cmd (t - tau (1 - e^-t/tau))
    assert g.az_urad[0] == pytest.approx(cmd * (0.05 - 0.05 * (1 - math.exp(-1))), rel=1e-4)


def test_gimbal_step_length_independent():
    a = GimbalPlant(beams=2)
    b = GimbalPlant(beams=2)
    for k in range(25):
        cmd = ([2e4 * math.sin(k), -3e4], [1e4, 5e4 * math.cos(k)])
        a.step(0.02, *cmd)
        for _ in range(20):
            b.step(0.001, *cmd)
    assert np.allclose(a.angle, b.angle, rtol=0, atol=1e-6)
    assert np.allclose(a.rate, b.rate, rtol=0, atol=1e-6)


def test_gimbal_travel_stops():
    g = GimbalPlant(beams=2, az0_urad=[169 * URAD_PER_DEG, -169 * URAD_PER_DEG],
                    el0_urad=[1 * URAD_PER_DEG, 179 * URAD_PER_DEG])
    for _ in range(100):
        g.step(0.02, [3 * URAD_PER_DEG, -3 * URAD_PER_DEG], [-3 * URAD_PER_DEG, 3 * URAD_PER_DEG])
        assert np.all(np.abs(g.az_urad) <= 170 * URAD_PER_DEG)
        assert np.all((g.el_urad >= 0) & (g.el_urad <= 180 * URAD_PER_DEG))
    assert np.allclose(g.az_urad, [170 * URAD_PER_DEG, -170 * URAD_PER_DEG])
    assert np.allclose(g.el_urad, [0.0, 180 * URAD_PER_DEG])
    assert np.all(g.rate == 0.0) and np.all(g.at_stop)
    assert g.stop_hits > 0
    # commanded away, it leaves the stop
    g.step(0.5, [-1e4, 1e4], [1e4, -1e4])
    assert g.az_urad[0] < 170 * URAD_PER_DEG and g.az_urad[1] > -170 * URAD_PER_DEG
    assert g.el_urad[0] > 0 and g.el_urad[1] < 180 * URAD_PER_DEG
    assert not g.at_stop.any()
    # configurable limits
    h = GimbalPlant(beams=1, az_limits_urad=(-1000.0, 1000.0), el_limits_urad=(-500.0, 500.0), el0_urad=0.0)
    h.step(1.0, 1e5, -1e5)
    assert h.az_urad[0] == 1000.0 and h.el_urad[0] == -500.0


def test_gimbal_encoder_quantised_noisy_deterministic():
    def readings(seed):
        g = GimbalPlant(beams=2, rng=np.random.default_rng(seed), az0_urad=[12.3, -4567.8], el0_urad=1e6 + 0.5)
        return g, np.array([np.concatenate(g.read_encoder()) for _ in range(4000)])

    g, r = readings(1)
    assert r.dtype == np.int64
    true = np.concatenate([g.az_urad, g.el_urad])
    err = r - true
    assert np.all(np.abs(err) <= 2.5)
    # 0.3 urad noise plus the 1 urad quantisation: 0.3 to 0.6 urad rms depending on the sub-LSB position
    assert 0.3 < np.sqrt(np.mean(err ** 2)) < 0.6
    assert np.abs(err.mean(axis=0)).max() < 0.1  # 0.3 urad of noise only partly dithers the LSB
    assert np.array_equal(readings(1)[1], r) and not np.array_equal(readings(2)[1], r)
    clean = GimbalPlant(beams=1, az0_urad=12.6, el0_urad=7.4)
    assert clean.read_encoder() == (np.array([13]), np.array([7]))


# ---------------------------------------------------------------- beacon sensors
def _run(sensor, truth):
    """Step through (x, y) truth per tick; return {tick: report}."""
    out = {}
    for k, (x, y) in enumerate(truth):
        r = sensor.step(x, y)
        if r is not None:
            out[k] = r
    return out


def test_fine_sensor_frame_rate_and_one_frame_latency():
    s = FineBeaconSensor(np.random.default_rng(0), nea_nrad=0.0)
    truth = [(1000.0, -2000.0)] * 100 + [(5000.0, 7000.0)] * 100  # step at tick 100
    rep = _run(s, truth)
    assert sorted(rep) == list(range(1, 200))  # a frame every 1 ms tick, the first reported one tick late
    assert s.frames == 200 and s.reports == 199
    assert rep[100] == (1000, -2000, True)  # the frame exposed at tick 99
    assert rep[101] == (5000, 7000, True)  # the step, exactly one frame later


def test_camera_frame_rate_and_one_frame_latency():
    s = BeaconCamera(np.random.default_rng(0), nea_nrad=0.0)
    truth = [(1e5, 0.0)] * 200 + [(-3e5, 2e5)] * 200  # step on the frame exposed at tick 200
    rep = _run(s, truth)
    assert sorted(rep) == list(range(20, 400, 20))  # 50 Hz at a 1 kHz tick, reported one frame late
    assert rep[200] == (100000, 0, True)
    assert rep[220] == (-300000, 200000, True)
    # a rate that does not divide the tick: 300 frames a second, on the next tick after each due time
    t = FineBeaconSensor(np.random.default_rng(0), frame_hz=300.0)
    for _ in range(1000):
        t.step(0.0, 0.0)
    assert t.frames == 300
    with pytest.raises(ValueError):
        FineBeaconSensor(np.random.default_rng(0), frame_hz=2000.0)


def test_camera_exposure_average():
    s = BeaconCamera(np.random.default_rng(0), nea_nrad=0.0, average_exposure=True, latency_frames=0)
    rep = _run(s, [(float(k), 0.0) for k in range(61)])
    assert rep[0][0] == 0  # first frame: tick 0 alone
    assert rep[20] == (round(np.mean(np.arange(1, 21))), 0, True)  # mean over ticks 1..20
    assert rep[40][0] == round(np.mean(np.arange(21, 41)))


@pytest.mark.parametrize("cls, nea, frames", [(FineBeaconSensor, 300.0, 20000), (BeaconCamera, 5000.0, 2000)])
def test_sensor_noise_matches_nea(cls, nea, frames):
    s = cls(np.random.default_rng(42))
    ticks = int(round(frames * s.ticks_per_frame))
    rep = _run(s, [(12_345.0, -6_789.0)] * ticks)
    xy = np.array([r[:2] for r in rep.values()], dtype=float)
    assert len(xy) == frames - 1
    assert np.std(xy[:, 0]) == pytest.approx(nea, rel=0.05)
    assert np.std(xy[:, 1]) == pytest.approx(nea, rel=0.05)
    assert np.mean(xy[:, 0]) == pytest.approx(12_345.0, abs=4 * nea / math.sqrt(frames))
    assert abs(np.corrcoef(xy[:, 0], xy[:, 1])[0, 1]) < 0.1


def test_default_parameters():
    f = FineBeaconSensor(np.random.default_rng(0))
    c = BeaconCamera(np.random.default_rng(0))
    assert (f.frame_hz, f.nea, f.fov, f.latency) == (1000.0, 300.0, 200_000.0, 1)
    assert (c.frame_hz, c.nea, c.fov, c.latency) == (50.0, 5000.0, 35_000_000.0, 1)


def test_field_of_view():
    s = FineBeaconSensor(np.random.default_rng(0), nea_nrad=0.0)
    truth = [(199_000.0, 0.0), (0.0, -201_000.0), (250_000.0, 10.0), (-200_000.0, 200_000.0), (0.0, 0.0)]
    rep = _run(s, truth)
    assert rep[1] == (199_000, 0, True)
    assert rep[2] == (0, 0, False)
    assert rep[3] == (0, 0, False)
    assert rep[4] == (-200_000, 200_000, True)  # the edge is inside
    c = BeaconCamera(np.random.default_rng(0), nea_nrad=0.0, latency_frames=0)
    assert c.step(30e6, -30e6) == (30_000_000, -30_000_000, True)  # far outside the fine field, inside the camera's


def test_dropout_windows_and_probability():
    s = FineBeaconSensor(np.random.default_rng(3))
    s.dropout(0.5, 0.6)
    rep = _run(s, [(0.0, 0.0)] * 1000)
    lost = sorted(k for k, r in rep.items() if not r[2])
    assert lost == list(range(501, 601))  # frames exposed at 0.500 .. 0.599 s, reported a tick later
    assert all(rep[k][:2] == (0, 0) for k in lost)
    with pytest.raises(ValueError):
        s.dropout(2.0, 1.0)
    p = FineBeaconSensor(np.random.default_rng(4), dropout_probability=0.3)
    rep = _run(p, [(0.0, 0.0)] * 10001)
    frac = np.mean([not r[2] for r in rep.values()])
    assert frac == pytest.approx(0.3, abs=0.02)
    # a dropout does not shift the noise sequence: the seen frames match a run without it
    a = _run(FineBeaconSensor(np.random.default_rng(5)), [(0.0, 0.0)] * 300)
    b_sensor = FineBeaconSensor(np.random.default_rng(5))
    b_sensor.dropout(0.1, 0.2)
    b = _run(b_sensor, [(0.0, 0.0)] * 300)
    assert all(a[k] == b[k] for k in b if b[k][2])


def test_reports_publish_into_the_fake_hal_sensor():
    s = FineBeaconSensor(np.random.default_rng(0), nea_nrad=0.0)
    s.dropout(0.003, 0.004)
    hal_sensor = FakeBeaconSensor()
    out = [0, 0, 0]
    got = []
    for k in range(6):
        r = s.step(100.0 * k, -50.0 * k)
        if r is not None:
            hal_sensor.publish(*r)
        got.append(hal_sensor.read_into(out) and tuple(out))
    assert got[0] is False  # nothing yet: one frame of latency
    assert got[1] == (0, 0, 1) and got[2] == (100, -50, 2) and got[3] == (200, -100, 3)
    assert got[4] is False  # the frame exposed at 3 ms fell in the dropout
    assert got[5] == (400, -200, 5)


def test_sensor_deterministic_for_a_seed():
    truth = [(float(k), 0.0) for k in range(500)]
    a = _run(FineBeaconSensor(np.random.default_rng(9)), truth)
    b = _run(FineBeaconSensor(np.random.default_rng(9)), truth)
    c = _run(FineBeaconSensor(np.random.default_rng(10)), truth)
    assert a == b and a != c


# ---------------------------------------------------------------- pointing efficiency
def test_pointing_efficiency_values():
    # "10 urad divergence" as the full 1/e^2 angle: theta_0 = 5 urad
    assert pointing_efficiency(0.0, 10.0) == 1.0
    assert pointing_efficiency(2.5, 10.0) == pytest.approx(math.exp(-0.5))  # theta_0 / 2
    assert pointing_efficiency(5.0, 10.0) == pytest.approx(math.exp(-2.0))  # theta_0: the 1/e^2 point
    assert pointing_efficiency(1.0, 10.0) == pytest.approx(0.9231, abs=1e-4)
    # the same number read as the half-angle: four times smaller loss in dB
    assert pointing_efficiency(5.0, 10.0, full_angle=False) == pytest.approx(math.exp(-0.5))
    loss_full, loss_half = (math.log(pointing_efficiency(1.0, 10.0, fa)) for fa in (True, False))
    assert loss_full == pytest.approx(4 * loss_half)
    e = pointing_efficiency(np.array([0.0, 2.5, -2.5]), 10.0)
    assert isinstance(e, np.ndarray) and np.allclose(e, [1.0, math.exp(-0.5), math.exp(-0.5)])
    with pytest.raises(ValueError):
        pointing_efficiency(1.0, 0.0)


def test_mean_pointing_efficiency_matches_monte_carlo():
    rng = np.random.default_rng(0)
    sigma = 1.5
    err = np.hypot(rng.normal(0, sigma, 200_000), rng.normal(0, sigma, 200_000))
    mc = pointing_efficiency(err, 10.0).mean()
    assert mean_pointing_efficiency(sigma, 10.0) == pytest.approx(mc, rel=0.005)
    assert mean_pointing_efficiency(sigma, 10.0) == pytest.approx(1 / (1 + 4 * 2.25 / 25))
    # Micius after suppression (0.47 urad) vs before (9.3 urad), 10 urad full-angle divergence
    assert mean_pointing_efficiency(0.47, 10.0) > 0.96
    assert mean_pointing_efficiency(9.3, 10.0) < 0.1
