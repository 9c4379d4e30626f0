"""CCSDS Day Segmented time code, short form (CCSDS 301.0-B-4 §3.3), and on-board time.

The 7-octet code that stamps every TM packet::

    octet 0     P-field 0x40 = 0 100 0 0 00
                            |  |   | |  '-- no sub-millisecond segment
                            |  |   | '----- 16-bit day segment
                            |  |   '------- epoch: 1958 January 1 (CCSDS, level 1)
                            |  '----------- time code ID 100: CDS
                            '-------------- no P-field extension
    octets 1-2  days since the epoch (16 bits, until 2137)
    octets 3-6  milliseconds of the day (32 bits)

Time scale.  The standard's level-1 epoch is 1958-01-01 (TAI).  The payload has
no time source of its own: the ground sets the time by telecommand and the
flight software carries that time forward, counting every day as exactly
86,400,000 ms.  It therefore never inserts a leap second: the on-board scale is
uniform, like TAI, and ``ms_of_day`` stays below 86,400,000.  If the ground
chooses to send UTC, it re-sends the time after a leap second (the ground
decoder accepts ``ms_of_day`` up to 86,400,999, the value a UTC leap second
takes in CDS).

``FlightTime`` is the on-board clock: the HAL's millisecond tick plus an epoch
set by telecommand.  Everything stays within MicroPython's small-int range
(|x| < 2**30) and ``now_into`` allocates nothing.
"""

import struct

from bus.compat import const

P_FIELD = const(0x40)  # CDS, 1958 epoch, 16-bit days, no sub-ms
CDS_LEN = const(7)  # octets, P-field included
MS_PER_DAY = const(86400000)
MS_OF_DAY_LEAP_MAX = const(86400999)  # last ms of a day with a positive leap second
MAX_DAYS = const(0xFFFF)

# Spacecraft time reference status carried in the PUS TM secondary header
# (4 bits; ECSS-E-ST-70-41C leaves the values to the mission).  Mission convention:
TIME_NOT_SET = const(0)  # on-board time counts from the epoch since boot
TIME_SET = const(1)  # on-board time was set by telecommand

_FMT = ">BHI"

# The HAL clock contract (hal/interface.py TICKS_MASK): ticks_ms wraps at 2**30.
# Kept here so that bus/ depends on nothing above it; a test pins the two equal.
TICKS_MASK = const(0x3FFFFFFF)


def check_time(days, ms_of_day):
    """Raise ``ValueError`` unless ``days`` is 0..65535 and ``ms_of_day`` 0..86,399,999."""
    if not 0 <= days <= MAX_DAYS:
        raise ValueError("CDS days %d outside 0..%d" % (days, MAX_DAYS))
    if not 0 <= ms_of_day < MS_PER_DAY:
        raise ValueError("CDS ms of day %d outside 0..%d" % (ms_of_day, MS_PER_DAY - 1))


def pack_cds_into(buf, offset, days, ms_of_day):
    """Write a CDS short time code (with P-field) at ``buf[offset]``; return ``offset + 7``.

    ``days`` 0..65535 since 1958-01-01; ``ms_of_day`` 0..86,399,999.
    """
    check_time(days, ms_of_day)
    if offset < 0 or offset + CDS_LEN > len(buf):
        raise ValueError("buffer of %d octets has no room for a CDS time code at %d" % (len(buf), offset))
    struct.pack_into(_FMT, buf, offset, P_FIELD, days, ms_of_day)
    return offset + CDS_LEN


def days_of(buf, off=0):
    """Day segment of the CDS short code at ``buf[off]`` (P-field not checked)."""
    return (buf[off + 1] << 8) | buf[off + 2]


def ms_of_day_of(buf, off=0):
    """Milliseconds of day of the CDS short code at ``buf[off]`` (P-field not checked).

    Allocation-free for every valid value (< 2**30); a corrupted code with the
    top bits set makes a long int on MicroPython.
    """
    return (buf[off + 3] << 24) | (buf[off + 4] << 16) | (buf[off + 5] << 8) | buf[off + 6]


def unpack_cds(buf, offset=0):
    """``(days, ms_of_day)`` of the CDS short code at ``buf[offset]``.

    Raises ``ValueError`` when fewer than 7 octets remain, the P-field is not
    0x40, or ``ms_of_day`` exceeds 86,400,999 (leap second included).
    """
    if offset < 0 or offset + CDS_LEN > len(buf):
        raise ValueError("CDS time code needs %d octets at %d, buffer has %d" % (CDS_LEN, offset, len(buf)))
    if buf[offset] != P_FIELD:
        raise ValueError("CDS P-field 0x%02x, expected 0x%02x" % (buf[offset], P_FIELD))
    ms = ms_of_day_of(buf, offset)
    if ms > MS_OF_DAY_LEAP_MAX:
        raise ValueError("CDS ms of day %d above %d" % (ms, MS_OF_DAY_LEAP_MAX))
    return days_of(buf, offset), ms


class FixedTime:
    """A time source that always reads the same time (ground tools, tests, benches).

    Same interface as ``FlightTime``: ``rebase``, ``now_into``, ``days``,
    ``ms_of_day``, ``time_ref_status``.
    """

    def __init__(self, days=0, ms_of_day=0, time_ref_status=TIME_SET):
        check_time(days, ms_of_day)
        self.days = days  # days since 1958-01-01
        self.ms_of_day = ms_of_day  # ms of that day
        self.time_ref_status = time_ref_status  # TIME_NOT_SET or TIME_SET

    def rebase(self):
        """Nothing to do: the time stands still."""

    def now_into(self, buf, offset):
        struct.pack_into(_FMT, buf, offset, P_FIELD, self.days, self.ms_of_day)
        return offset + CDS_LEN


class FlightTime:
    """On-board time: the HAL millisecond tick plus an epoch set by telecommand.

    ``set_epoch(days, ms_of_day)`` means "the tick value now corresponds to this
    time".  Each read re-bases: it adds the ticks elapsed since the last read to
    the stored (days, ms_of_day), carrying whole days, and moves the base tick to
    the current tick, so no elapsed count ever grows past one tick period.

    Wrap: ticks_ms wraps at 2**30 ms (12.4 days).  Time only runs forward, so the
    elapsed ticks are taken modulo the period, ``(now - base) & TICKS_MASK``,
    rather than with the signed ``hal.interface.ticks_diff``, which would halve
    the window.
    Requirement on the caller: read the time (``now_into`` or ``rebase``) at
    least once every 2**30 ms; the 1 Hz housekeeping does it a million times
    over.  Arithmetic bound: elapsed < 2**30 is first reduced by whole days,
    so ``ms_of_day + elapsed`` < 2 * 86,400,000 -- a small int.

    Before the first ``set_epoch`` the time counts from (``days``,
    ``ms_of_day``) given to the constructor (default: the epoch itself) and
    ``time_ref_status`` is TIME_NOT_SET.  Days wrap at 65536 (year 2137).
    """

    def __init__(self, clock, days=0, ms_of_day=0):
        check_time(days, ms_of_day)
        self._clock = clock  # HAL Clock: the only time source flight code may read
        self._base_ticks = clock.ticks_ms()  # ms tick at which (days, ms_of_day) held
        self.days = days  # days since 1958-01-01 at the last re-base
        self.ms_of_day = ms_of_day  # ms of day at the last re-base (< MS_PER_DAY)
        self.time_ref_status = TIME_NOT_SET  # TIME_SET once the ground set the time

    def set_epoch(self, days, ms_of_day):
        """The current HAL tick is (``days``, ``ms_of_day``); raises ValueError if out of range."""
        check_time(days, ms_of_day)
        self._base_ticks = self._clock.ticks_ms()
        self.days = days
        self.ms_of_day = ms_of_day
        self.time_ref_status = TIME_SET

    def rebase(self):
        """Bring ``days`` and ``ms_of_day`` up to the current tick (allocation-free)."""
        now = self._clock.ticks_ms()
        elapsed = (now - self._base_ticks) & TICKS_MASK
        self._base_ticks = now
        days = self.days
        while elapsed >= MS_PER_DAY:
            elapsed -= MS_PER_DAY
            days += 1
        ms = self.ms_of_day + elapsed
        if ms >= MS_PER_DAY:
            ms -= MS_PER_DAY
            days += 1
        self.days = days & MAX_DAYS
        self.ms_of_day = ms

    def now_into(self, buf, offset):
        """Write the current time as CDS short code at ``buf[offset]``; return ``offset + 7``."""
        self.rebase()
        struct.pack_into(_FMT, buf, offset, P_FIELD, self.days, self.ms_of_day)
        return offset + CDS_LEN
