"""Fine pointing loop: disturbance observer, point-ahead set point, clamps, dropouts,
vibration feed-forward, zero garbage per step."""

import math
from array import array

from hal.fake import FakeBeaconSensor, FakeSteeringMirror, FakeTachometer
from payload import fine_loop as fl
from payload.vib_canceller import VibrationCanceller, WheelPhases
from tests.flight.support import raises, garbage_bytes


class Rig:
    """Mirror that reaches its command by the next tick; a sensor with one frame of latency
    (the frame read at step k was exposed at tick k-1), as in the lock-step plant."""

    def __init__(self, canceller=None, **kw):
        self.s = FakeBeaconSensor()
        self.m = FakeSteeringMirror()
        self.loop = fl.FinePointingLoop(self.s, self.m, canceller, **kw)
        self.loop.enabled = True
        self._last = None  # truth error at the previous step
        self.err_x = 0
        self.err_y = 0

    def step(self, dx, dy, frame=True):
        if self._last is not None and frame:
            self.s.publish(self._last[0], self._last[1])
        # the line of sight at this tick, with the mirror where the last command put it;
        # the sensor delivers it at the next step
        self.err_x = dx - self.m.x_nrad
        self.err_y = dy - self.m.y_nrad
        self._last = (self.err_x, self.err_y)
        self.loop.step()

    def run(self, n, fx, fy=None):
        for k in range(n):
            self.step(fx(k), fy(k) if fy is not None else 0)


def test_loop_nulls_a_static_offset():
    r = Rig()
    r.run(200, lambda k: 50000, lambda k: -30000)
    assert abs(r.err_x) <= 3 and abs(r.err_y) <= 3
    assert r.loop.saturations == 0 and r.loop.frames == 199


def test_tracker_follows_a_ramp_without_lag():
    r = Rig()
    r.run(400, lambda k: 40 * k)  # 40 urad/s at 1 kHz: the slow target motion the gimbal leaves
    assert abs(r.err_x) <= 20


def test_point_ahead_set_point_is_held():
    r = Rig()
    r.loop.offset_x_nrad = 25000
    r.loop.offset_y_nrad = -12000
    r.run(300, lambda k: 1000, lambda k: 2000)
    assert abs(r.err_x - 25000) <= 3 and abs(r.err_y + 12000) <= 3  # the sensor sees the offset


def test_huge_disturbance_saturates_without_overflow():
    r = Rig()
    r.run(50, lambda k: 50000000, lambda k: -50000000)
    assert r.m.x_nrad == FakeSteeringMirror.TRAVEL_NRAD and r.m.y_nrad == -FakeSteeringMirror.TRAVEL_NRAD
    assert r.loop.saturations >= 1
    xh, vh = r.loop._xh, r.loop._vh
    for v in (xh[0], xh[1], vh[0], vh[1], r.loop._i[0], r.loop._i[1]):
        assert -(1 << 30) < v < (1 << 30)
    r.run(400, lambda k: 0, lambda k: 0)  # and it comes back
    assert abs(r.err_x) <= 5 and abs(r.err_y) <= 5


def test_dropout_coasts_on_the_rate_then_holds():
    r = Rig(coast_steps=10)
    r.run(300, lambda k: 30 * k)
    x0 = r.m.x_nrad
    n0 = r.loop.no_frame
    for k in range(30):
        r.step(0, 0, frame=False)
    assert r.loop.missed == 30 and r.loop.no_frame == n0 + 30
    moved = r.m.x_nrad - x0
    assert 10 * 25 <= moved <= 10 * 35  # ten coasting steps at ~30 nrad per step, then held
    r.s.publish(5000, 5000, seen=False)  # a frame without the beacon is no frame
    r.loop.step()
    assert r.loop.missed == 31


def test_open_mode_and_disabled_loop_measure_but_do_not_move():
    r = Rig()
    r.loop.mode = fl.OPEN
    r.run(20, lambda k: 7000, lambda k: -9000)
    assert r.m.cmd_x_nrad == 0 and r.loop.frames == 19 and r.loop.max_abs_err_nrad == 9000
    r.loop.mode = fl.FEEDBACK
    r.loop.enabled = False
    r.run(20, lambda k: 7000)
    assert r.m.cmd_x_nrad == 0


def test_gains_range_checked_and_beta_follows_alpha():
    loop = fl.FinePointingLoop(FakeBeaconSensor(), FakeSteeringMirror())
    raises(ValueError, loop.set_gain, 0)
    raises(ValueError, loop.set_gain, 4097)
    raises(ValueError, loop.set_gain, 1000, 1025)
    loop.alpha_q12 = 2048  # as the parameter service sets it
    assert loop.beta_q12 == 2048 * 2048 // (8192 - 2048)


def _tach_rig(mode):
    tach = [FakeTachometer() for _ in range(3)]
    wheels = WheelPhases(tach)
    canc = VibrationCanceller(wheels)
    r = Rig(canc)
    r.loop.mode = mode
    return r, tach, wheels, canc


def _wheel_run(r, tach, wheels, canc, steps, f_hz=20.0, amp_nrad=8000):
    worst = 0
    for k in range(steps):
        phase = f_hz * k / 1000.0
        tach[0].freq_mhz = int(f_hz * 1000)
        tach[0].phase_q16 = int(phase * 65536) & 0xFFFF
        wheels.step()
        d = int(amp_nrad * math.cos(2 * math.pi * phase + 0.7) + 0.4 * amp_nrad * math.cos(4 * math.pi * phase))
        r.step(d, 0)
        if k % 10 == 0:
            canc.refresh()
        if k >= steps - 1000:
            worst = max(worst, abs(r.err_x))
    return worst


def test_feed_forward_cancels_a_wheel_the_feedback_cannot():
    fb = _wheel_run(*_tach_rig(fl.FEEDBACK), steps=6000)
    ff = _wheel_run(*_tach_rig(fl.FEEDFORWARD), steps=6000)
    assert ff * 10 < fb, (ff, fb)  # more than 20 dB better, at the wheel and its harmonic


def test_mp_step_allocates_nothing():
    r, tach, wheels, canc = _tach_rig(fl.FEEDFORWARD)
    tach[0].freq_mhz = 20000
    state = array("i", [0])

    def one():
        state[0] = (state[0] + 7919) % 100000
        tach[0].phase_q16 = (tach[0].phase_q16 + 1311) & 0xFFFF
        wheels.step()
        r.s.publish(state[0] - 50000, 25000 - state[0])
        r.loop.step()
    assert garbage_bytes(one, 1000) == 0
    r.s.publish(1, 1, seen=False)
    assert garbage_bytes(r.loop.step, 200) == 0  # coasting too
