"""Virtual clock and wrap-safe tick arithmetic (both interpreters)."""

from hal.fake import VirtualClock, FakeHal
from hal.interface import ticks_diff, ticks_add, count_diff, TICKS_MASK, COUNT_MASK
from tests.flight.support import raises


def test_ticks_diff_signed_across_wrap():
    near = TICKS_MASK - 5
    later = ticks_add(near, 10)
    assert later == 4
    assert ticks_diff(later, near) == 10
    assert ticks_diff(near, later) == -10


def test_clock_advances_us_and_ms_together():
    c = VirtualClock(start_us=999)
    assert c.ticks_ms() == 0
    c.advance(1)
    assert c.ticks_us() == 1000 and c.ticks_ms() == 1
    c.advance(2500)
    assert c.ticks_us() == 3500 and c.ticks_ms() == 3


def test_clock_wraps_like_micropython():
    c = VirtualClock(start_us=TICKS_MASK - 499)
    t0 = c.ticks_us()
    c.advance(1000)
    assert c.ticks_us() == 500
    assert ticks_diff(c.ticks_us(), t0) == 1000


def test_clock_refuses_to_run_backwards():
    c = VirtualClock()
    raises(ValueError, c.advance, -1)


def test_counter_difference_across_wrap():
    assert count_diff(3, COUNT_MASK - 1) == 5


def test_fake_hal_is_complete_and_inputs_scriptable():
    hal = FakeHal()
    th = hal.analog_in["crystal_thermistor"]
    th.script = lambda t_us: t_us // 10
    hal.clock.advance(1230)
    assert th.read_uv() == 123
    hal.fine_sensor[0].publish(5, -7)
    from array import array
    out = array("i", [0, 0, 0])
    assert hal.fine_sensor[0].read_into(out)
    assert out[0] == 5 and out[1] == -7
    assert not hal.fine_sensor[0].read_into(out)  # each frame is read once


def test_nvstore_bounds_checked():
    hal = FakeHal(nvstore_size=16)
    hal.nvstore.write(12, b"abcd")
    buf = bytearray(4)
    hal.nvstore.readinto(12, buf)
    assert buf == bytearray(b"abcd")
    raises(ValueError, hal.nvstore.write, 13, b"abcd")
