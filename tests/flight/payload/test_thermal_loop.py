"""Crystal temperature loop: calibration, PI action, anti-windup."""

from hal.fake import FakeAnalogIn, FakeAnalogOut, VirtualClock
from payload.thermal_loop import CrystalThermalLoop, DRIVE_ZERO, DRIVE_SPAN


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
    loop.set_point_mk = 298100  # a small set-point change is also slewed
    loop.step()
    assert loop.ref_mk == 298140 and not loop.held
