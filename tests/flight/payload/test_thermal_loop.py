"""Crystal temperature loop: calibration, PI action, anti-windup, derivative on the measurement."""

from hal.fake import FakeAnalogIn, FakeAnalogOut, VirtualClock
from payload.thermal_loop import CrystalThermalLoop, DRIVE_ZERO, DRIVE_SPAN
from tests.flight.support import garbage_bytes


def _loop():
    clock = VirtualClock()
    th, tec = FakeAnalogIn(clock), FakeAnalogOut()
    return CrystalThermalLoop(th, tec, set_point_mk=298150), th, tec


def test_bridge_calibration():
    loop, _, _ = _loop()
    assert loop.temperature_mk(0) == 298150
    assert loop.temperature_mk(-4000) == 298250  # colder bridge voltage means warmer NTC
    assert loop.temperature_mk(400) == 298140


def test_cold_crystal_heats_and_warm_crystal_cools():
    loop, th, tec = _loop()
    loop.enabled = True
    th.uv = 400  # 10 mK cold
    loop.step()
    assert tec.value > DRIVE_ZERO and loop.error_mk == 10
    loop2, th2, tec2 = _loop()
    loop2.enabled = True
    th2.uv = -400
    loop2.step()
    assert tec2.value < DRIVE_ZERO


def test_integral_winds_no_further_than_the_drive():
    loop, th, tec = _loop()
    loop.enabled = True
    th.uv = 40 * 5000  # 5 K cold for a long time
    for _ in range(1000):
        loop.step()
    assert loop.integ == DRIVE_SPAN and tec.value == DRIVE_ZERO + DRIVE_SPAN
    th.uv = -40 * 2  # now 2 mK warm: the drive must leave saturation at once
    loop.step()
    assert tec.value < DRIVE_ZERO + DRIVE_SPAN


def test_disabled_loop_drives_zero_and_resets_integral():
    loop, th, tec = _loop()
    loop.enabled = True
    th.uv = 4000
    loop.step()
    loop.enabled = False
    loop.step()
    assert tec.value == DRIVE_ZERO and loop.integ == 0


def test_absurd_reading_is_clamped_not_overflowed():
    loop, th, tec = _loop()
    loop.enabled = True
    th.uv = -(1 << 29)  # corrupted conversion far beyond any bridge output
    loop.step()
    assert tec.value == DRIVE_ZERO - DRIVE_SPAN and loop.error_mk == -100000


def test_reference_slews_from_the_crystal_to_the_set_point():
    loop, th, tec = _loop()
    th.uv = 40 * 1000  # crystal 1 K below the set point
    loop.step()  # disabled: the reference rests on the measured temperature (bumpless start)
    assert loop.ref_mk == 297150 and not loop.held
    loop.enabled = True
    for _ in range(10):
        loop.step()
    assert loop.ref_mk == 297150 + 10 * loop.slew_mk and loop.set_point_error_mk == 1000
    for _ in range(200):
        loop.step()
    assert loop.held and loop.ref_mk == loop.set_point_mk
    loop.set_point_mk = 298100  # a small set-point change is also slewed, decelerating
    loop.step()
    assert loop.ref_mk == 298150 - 50 // 8 and not loop.held
    for _ in range(40):
        loop.step()
    assert loop.held


def _pair(kd, uv, **kw):
    """A loop with derivative ``kd`` and one without, both enabled bumplessly at ``uv``."""
    loops = []
    for k in (0, kd):
        loop, th, tec = _loop()
        loop.kd = k
        for name in kw:
            setattr(loop, name, kw[name])
        th.uv = uv
        loop.step()  # disabled: reference and derivative filter start from the crystal
        loop.enabled = True
        loops.append((loop, th, tec))
    return loops


def test_derivative_ignores_set_point_steps():
    (plain, _, tec0), (deriv, _, tec1) = _pair(2000, 40 * 300, slew_mk=1000)  # 300 mK cold
    for _ in range(5):
        plain.step()
        deriv.step()
    assert tec1.value == tec0.value and deriv.rate_q6 == 0
    for sp_mk in (299150, 297150, 298150):  # 1 K steps, the reference jumping with a wide slew
        plain.set_point_mk = deriv.set_point_mk = sp_mk
        for _ in range(3):
            plain.step()
            deriv.step()
            assert tec1.value == tec0.value and deriv.rate_q6 == 0  # no kick: the crystal did not move


def test_derivative_opposes_a_measured_change():
    (plain, th0, tec0), (deriv, th1, tec1) = _pair(1000, 0)
    th0.uv = th1.uv = -40 * 5  # the crystal warms by 5 mK
    plain.step()
    deriv.step()
    assert deriv.rate_q6 > 0 and tec1.value < tec0.value  # warming: less heat than PI alone
    for _ in range(100):  # a steady reading: the filtered rate settles to exactly 0
        plain.step()
        deriv.step()
    assert deriv.rate_q6 == 0 and tec1.value == tec0.value
    th0.uv = th1.uv = 40 * 5  # now 5 mK cold: falling temperature, more heat than PI alone
    plain.step()
    deriv.step()
    assert deriv.rate_q6 < 0 and tec1.value > tec0.value


def test_disabling_resets_the_derivative():
    (plain, th0, tec0), (deriv, th1, tec1) = _pair(1000, 0)
    th0.uv = th1.uv = -40 * 50
    deriv.step()
    deriv.enabled = False
    th1.uv = 40 * 200  # the crystal drifts while the loop is off
    deriv.step()
    assert deriv.rate_q6 == 0 and tec1.value == DRIVE_ZERO
    deriv.enabled = True
    plain.enabled = False
    th0.uv = th1.uv
    plain.step()
    plain.enabled = True
    plain.step()
    deriv.step()  # re-enabled on a steady reading: no kick
    assert deriv.rate_q6 == 0 and tec1.value == tec0.value


def _extreme_loop():
    loop, th, tec = _loop()
    loop.kp, loop.ki, loop.kd = 4000, 1000, 4000  # the parameter ranges' upper ends
    loop.enabled = True
    return loop, th, tec


def test_intermediates_stay_small_ints_at_extreme_readings():
    loop, th, tec = _extreme_loop()
    small = (1 << 30) - 1
    for uv in (1 << 29, -(1 << 29), 1 << 29, 0, -(1 << 29), -(1 << 29), 40 * 3, 1 << 29):
        th.uv = uv  # corrupted conversions swinging between the rails
        loop.step()
        for v in (loop.temp_mk, loop.error_mk, loop.kp * loop.error_mk, loop.integ, loop._temp_q6,
                  loop.rate_q6, loop.kd * loop.rate_q6, loop.drive):
            assert -small <= v <= small, v
        assert 0 < tec.value < 0x10000


def test_mp_step_with_derivative_allocates_nothing():
    loop, th, tec = _extreme_loop()
    th.uv = 40 * 20
    for _ in range(20):
        loop.step()

    def noisy():  # readings jumping by 2 mK each step keep the derivative busy
        th.uv = -th.uv
        loop.step()

    assert garbage_bytes(noisy, 200) == 0

    def extreme():  # rail-to-rail readings: every clamp in the step is exercised
        th.uv = (1 << 29) if th.uv < 0 else -(1 << 29)
        loop.step()

    assert garbage_bytes(extreme, 200) == 0
