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
