"""CDS short time code and on-board time: bytes, limits, tick wrap, midnight, garbage."""

from bus import cds_time as ct
from hal.fake import VirtualClock
from hal.interface import TICKS_MASK, TICKS_PERIOD
from tests.flight.support import garbage_bytes, raises

DAY = ct.MS_PER_DAY


class StepClock:
    """ticks_ms moves by ``step_ms`` at every read (wrapping like the HAL's)."""

    def __init__(self, start_ms, step_ms):
        self.ms = start_ms
        self.step_ms = step_ms

    def ticks_ms(self):
        self.ms = (self.ms + self.step_ms) & TICKS_MASK
        return self.ms


def _read(t):
    buf = bytearray(9)
    assert t.now_into(buf, 1) == 8
    assert buf[0] == 0 and buf[8] == 0
    return ct.unpack_cds(buf, 1)


def test_code_bytes_spelled_out():
    buf = bytearray(7)
    assert ct.pack_cds_into(buf, 0, 0x5C3A, 0x0123ABCD) == 7
    assert buf == bytes([
        0x40,  # P-field: 0 no extension, 100 CDS, 0 epoch 1958, 0 16-bit days, 00 no sub-ms
        0x5C, 0x3A,  # days since 1958-01-01
        0x01, 0x23, 0xAB, 0xCD,  # ms of day
    ])
    assert ct.unpack_cds(buf) == (0x5C3A, 0x0123ABCD)
    assert ct.days_of(buf) == 0x5C3A and ct.ms_of_day_of(buf) == 0x0123ABCD


def test_maximum_values_and_epoch():
    buf = bytearray(10)
    ct.pack_cds_into(buf, 3, 0xFFFF, DAY - 1)
    assert buf[3:] == b"\x40\xff\xff\x05\x26\x5b\xff"  # 86,399,999 = 0x05265BFF
    assert ct.unpack_cds(buf, 3) == (65535, 86399999)
    ct.pack_cds_into(buf, 0, 0, 0)
    assert buf[:7] == b"\x40\x00\x00\x00\x00\x00\x00"


def test_out_of_range_raises():
    buf = bytearray(7)
    assert str(raises(ValueError, ct.pack_cds_into, buf, 0, 0x10000, 0)) == "CDS days 65536 outside 0..65535"
    assert str(raises(ValueError, ct.pack_cds_into, buf, 0, 0, DAY)) == "CDS ms of day 86400000 outside 0..86399999"
    assert raises(ValueError, ct.pack_cds_into, buf, 0, -1, 0)
    assert raises(ValueError, ct.pack_cds_into, buf, 0, 0, -1)
    assert raises(ValueError, ct.pack_cds_into, buf, 1, 0, 0)
    assert buf == bytearray(7)


def test_unpack_rejects_short_wrong_pfield_and_impossible_ms():
    assert raises(ValueError, ct.unpack_cds, b"\x40\x00\x01\x00\x00\x00")
    assert "P-field 0x41" in str(raises(ValueError, ct.unpack_cds, b"\x41\x00\x01\x00\x00\x00\x00"))
    leap = bytearray(7)
    leap[0] = 0x40
    leap[3:7] = b"\x05\x26\x5f\xe7"  # 86,400,999: last ms of a UTC leap-second day
    assert ct.unpack_cds(leap) == (0, 86400999)
    leap[6] = 0xE8
    assert raises(ValueError, ct.unpack_cds, leap)


def test_ticks_mask_is_the_hals():
    assert ct.TICKS_MASK == TICKS_MASK and ct.P_FIELD == 0x40 and ct.CDS_LEN == 7


def test_time_counts_from_construction_until_set():
    clock = VirtualClock(start_us=5_000_000)
    t = ct.FlightTime(clock)
    assert t.time_ref_status == ct.TIME_NOT_SET
    clock.advance(2_500_000)
    assert _read(t) == (0, 2500)
    t.set_epoch(23000, 1000)
    assert t.time_ref_status == ct.TIME_SET
    assert _read(t) == (23000, 1000)
    clock.advance(1_999)  # under one ms more: no change
    assert _read(t) == (23000, 1001)


def test_across_midnight():
    clock = VirtualClock()
    t = ct.FlightTime(clock)
    t.set_epoch(100, DAY - 5)
    clock.advance(4_000)
    assert _read(t) == (100, DAY - 1)
    clock.advance(1_000)
    assert _read(t) == (101, 0)
    clock.advance(DAY * 1000 + 7_000)  # a whole day and 7 ms later
    assert _read(t) == (102, 7)


def test_across_ticks_ms_wrap():
    start_ms = TICKS_PERIOD - 3
    clock = VirtualClock(start_us=start_ms * 1000)
    t = ct.FlightTime(clock, 200, 1000)
    assert clock.ticks_ms() == TICKS_MASK - 2
    clock.advance(10_000)  # ticks_ms wraps from 2**30 - 3 to 7
    assert clock.ticks_ms() == 7
    assert _read(t) == (200, 1010)
    t.set_epoch(300, 0)
    for i in range(1, 6):  # reading every 3 days, across another wrap
        clock.advance(3 * DAY * 1000)
        assert _read(t) == (300 + 3 * i, 0)


def test_longest_gap_between_reads():
    # Just under one tick period (12.4 days) between two reads: elapsed is
    # reduced by whole days first, so every intermediate stays a small int.
    clock = StepClock(0, TICKS_MASK)  # each read moves 2**30 - 1 ms
    t = ct.FlightTime(clock, 10, DAY - 1)
    t.rebase()
    total = DAY - 1 + TICKS_MASK
    assert (t.days, t.ms_of_day) == (10 + total // DAY, total % DAY)


def test_days_wrap_after_2137():
    clock = VirtualClock()
    t = ct.FlightTime(clock)
    t.set_epoch(0xFFFF, DAY - 1)
    clock.advance(1_000)
    assert _read(t) == (0, 0)


def test_set_epoch_validates_and_keeps_the_old_time():
    clock = VirtualClock()
    t = ct.FlightTime(clock, 5, 5)
    assert raises(ValueError, t.set_epoch, 0x10000, 0)
    assert raises(ValueError, t.set_epoch, 0, DAY)
    assert raises(ValueError, ct.FlightTime, clock, 0, -1)
    assert t.time_ref_status == ct.TIME_NOT_SET and _read(t) == (5, 5)


def test_fixed_time():
    t = ct.FixedTime(7, 8)
    assert _read(t) == (7, 8) and t.time_ref_status == ct.TIME_SET
    assert raises(ValueError, ct.FixedTime, 0, DAY)


def test_mp_now_into_allocates_nothing():
    t = ct.FlightTime(StepClock(TICKS_MASK - 100, 3_600_007), 0xFFFE, 0)  # an hour per read: midnights, wraps
    buf = bytearray(7)
    assert garbage_bytes(lambda: t.now_into(buf, 0), 200) == 0
    total_ms = 201 * 3_600_007  # 201 reads (garbage_bytes calls once more first)
    assert ct.unpack_cds(buf) == ((0xFFFE + total_ms // DAY) & 0xFFFF, total_ms % DAY)
