"""The payload's coincidence unit on SPI (MicroPython subset).

A small FPGA/CPLD beside the detectors' front end: eight free-running 32-bit
counters fed by the four detectors' discriminated pulses and by four
coincidence gates (one per detector pair).  The counters never stop or reset;
a LATCH_READ command copies all eight into a shadow register at the same
instant (the end of the command octet) and shifts the copy out as one
32-octet burst, so the singles and the coincidences of a reading always
cover exactly the same interval.

Counter order (register index):

=====  ==========  ==================================================
index  name        counts
=====  ==========  ==================================================
0      singles A0  arm A detector 0 (H or D, as the basis selects)
1      singles A1  arm A detector 1 (V or A)
2      singles B0  arm B detector 0 (H or D)
3      singles B1  arm B detector 1 (V or A)
4      coinc A0B0  pairs A0 and B0 within the coincidence window
5      coinc A0B1
6      coinc A1B0
7      coinc A1B1
=====  ==========  ==================================================

Interface (our unit's, docs/board.md): SPI mode 1, MSB first, /CS low for
one command and its answer.  The first octet is the command; the unit
shifts its answer out on the octets that follow.

- ``0x9F`` READ_ID: 4 octets, ``b"QCU\\x01"`` (unit type and interface version)
- ``0x4C`` LATCH_READ: latch all eight counters, then 32 octets: the
  counters in index order, each a big-endian u32

The driver keeps only the low 30 bits of each counter, so every count is a
MicroPython small int and wraps at ``COUNT_MASK + 1`` like every HAL counter
(2**30 divides 2**32, so ``count_diff`` stays exact across the unit's own
wrap as long as fewer than 2**30 events pass between two latches).
"""

from array import array

from bus.compat import const
from hal.interface import COUNT_MASK

CHANNELS = const(8)
BURST_LEN = const(32)  # CHANNELS x 4 octets
CMD_READ_ID = const(0x9F)
CMD_LATCH_READ = const(0x4C)
UNIT_ID = b"QCU\x01"
PROBE_TRIES = const(3)


class CoincidenceUnit:
    """One coincidence unit; ``spi`` in mode 1, ``cs`` a Pin output idling high.

    ``label`` names the device in errors (bus and chip select).  The
    constructor reads the ID register (up to ``PROBE_TRIES`` times) and raises
    ``OSError`` naming ``label`` when the unit does not answer with
    ``UNIT_ID``; it then latches once, so ``counts`` starts at the unit's
    current counts rather than at zero.
    """

    def __init__(self, spi, cs, label="coincidence unit"):
        self._spi = spi
        self._cs = cs
        self.label = label
        self._cmd_id = bytes((CMD_READ_ID,))
        self._cmd_latch = bytes((CMD_LATCH_READ,))
        self._id = bytearray(len(UNIT_ID))
        self._rx = bytearray(BURST_LEN)
        self.counts = array("L", [0] * CHANNELS)  # latched counts, low 30 bits; filled in place
        self.latches = 0  # LATCH_READ commands sent (wraps at 2**30)
        self.probe_attempts = 0  # ID reads the last probe took
        self.probe()
        self.latch_and_read()

    def read_id(self):
        """The ID register's octets (a bytearray owned by the driver)."""
        cs = self._cs
        cs(0)
        self._spi.write(self._cmd_id)
        self._spi.readinto(self._id, 0)
        cs(1)
        return self._id

    def probe(self):
        tries = 0
        got = self._id
        while tries < PROBE_TRIES:
            tries += 1
            self.probe_attempts = tries
            got = self.read_id()
            if got == UNIT_ID:
                return
        raise OSError("%s: ID read as %s, expected %s (%d tries)"
                      % (self.label, _hex(got), _hex(UNIT_ID), PROBE_TRIES))

    def latch_and_read(self):
        """Latch all eight counters together and read them into ``counts``.

        Returns ``counts`` (the same array every time); no allocation.
        """
        rx = self._rx
        cs = self._cs
        cs(0)
        self._spi.write(self._cmd_latch)
        self._spi.readinto(rx, 0)
        cs(1)
        counts = self.counts
        i = 0
        j = 0
        while i < CHANNELS:
            # top two bits dropped before shifting: the value stays below 2**30
            counts[i] = ((rx[j] & 0x3F) << 24) | (rx[j + 1] << 16) | (rx[j + 2] << 8) | rx[j + 3]
            i += 1
            j += 4
        self.latches = (self.latches + 1) & COUNT_MASK
        return counts


def _hex(data):
    return " ".join("%02x" % b for b in data)
