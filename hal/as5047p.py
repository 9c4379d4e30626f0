"""ams AS5047P 14-bit magnetic rotary encoder on SPI (MicroPython subset).

Each gimbal axis carries one AS5047P reading a diametric magnet on the axis
shaft: a single-turn absolute angle, 16384 counts per revolution
(2*pi/16384 = 383.5 urad per count).

Interface (AS5047P datasheet, "SPI Interface"): SPI mode 1 (CPOL 0, CPHA 1),
16-bit frames MSB first, /CS high between frames.  A command frame is

    bit 15  PARC  even parity of bits 14..0
    bit 14  R/W   1 = read
    13..0   ADDR

and the answer arrives in the *next* frame: bit 15 PARD (even parity), bit 14
EF (the previous command frame was in error), bits 13..0 data.  ``read_counts``
therefore sends two frames, "read ANGLECOM" then "read NOP", and takes the
angle from the second answer, which is a few microseconds old rather than one
call period old.

Counts to microradians, integers only: 2*pi*1e6/16384 = 383.49519 urad, split
as ``383 + 32453/65536`` so that ``counts * 32453`` < 2**30.
"""

from bus.compat import const

_REG_NOP = const(0x0000)
_REG_ERRFL = const(0x0001)  # error flags, cleared by reading
_REG_DIAAGC = const(0x3FFC)  # diagnostics: bit 8 LF (offset loops finished)
_REG_ANGLECOM = const(0x3FFF)  # dynamic-angle-error-compensated angle
_READ = const(0x4000)
_EF = const(0x4000)
_DATA_MASK = const(0x3FFF)
_DIAAGC_LF = const(0x0100)
_DIAAGC_MAGH = const(0x0800)  # field too strong
_DIAAGC_MAGL = const(0x0400)  # field too weak

COUNTS_PER_REV = const(16384)
URAD_PER_REV = const(6283185)  # 2*pi*1e6, rounded
_URAD_HALF_REV = const(3141593)
PROBE_TRIES = const(3)


def parity16(word):
    """1 when ``word`` (16 bits) holds an odd number of ones."""
    word ^= word >> 8
    word ^= word >> 4
    word ^= word >> 2
    word ^= word >> 1
    return word & 1


def read_frame(addr):
    """Command frame that reads register ``addr``, with its parity bit set."""
    word = _READ | (addr & _DATA_MASK)
    return word | (parity16(word) << 15)


def counts_to_urad(counts):
    """Angle in urad for ``counts`` in 0..16383, wrapped to [-pi, pi)."""
    urad = counts * 383 + ((counts * 32453) >> 16)
    if urad >= _URAD_HALF_REV:
        urad -= URAD_PER_REV
    return urad


class AS5047P:
    """One encoder; ``spi`` in mode 1, ``cs`` a Pin output idling high.

    ``zero_counts`` is the raw reading at the axis's zero (calibration).
    The constructor probes the chip (diagnostics register must report the
    offset loops finished and the magnet in range) and raises ``OSError``
    naming ``label`` when it does not answer after ``PROBE_TRIES`` tries.
    """

    def __init__(self, spi, cs, zero_counts=0, label="AS5047P"):
        self._spi = spi
        self._cs = cs
        self.label = label
        self.zero_counts = zero_counts & _DATA_MASK
        self._tx_angle = bytearray(2)
        self._put(self._tx_angle, read_frame(_REG_ANGLECOM))
        self._tx_nop = bytearray(2)
        self._put(self._tx_nop, read_frame(_REG_NOP))
        self._tx = bytearray(2)  # other commands (init only)
        self._rx = bytearray(2)
        self.errors = 0  # frames rejected (parity or error flag), wraps at 2**30
        self.last_counts = 0  # last good reading, relative to zero_counts
        self.probe()

    @staticmethod
    def _put(buf, word):
        buf[0] = word >> 8
        buf[1] = word & 0xFF

    def _frame(self, tx):
        """Clock one frame out; return the 16-bit answer to the previous one."""
        rx = self._rx
        self._cs(0)
        self._spi.write_readinto(tx, rx)
        self._cs(1)
        return (rx[0] << 8) | rx[1]

    def read_register(self, addr):
        """Register value, or -1 when the answer fails parity or carries EF."""
        self._put(self._tx, read_frame(addr))
        self._frame(self._tx)
        word = self._frame(self._tx_nop)
        if parity16(word) or word & _EF:
            return -1
        return word & _DATA_MASK

    def probe(self):
        tries = 0
        diag = -1
        while tries < PROBE_TRIES:
            tries += 1
            self.read_register(_REG_ERRFL)  # clears stale error flags
            diag = self.read_register(_REG_DIAAGC)
            if diag >= 0 and diag & _DIAAGC_LF and not diag & (_DIAAGC_MAGH | _DIAAGC_MAGL):
                return
        raise OSError("%s: no valid diagnostics after %d tries (DIAAGC %d)"
                      % (self.label, PROBE_TRIES, diag))

    def read_counts(self):
        """Angle in counts from zero (0..16383), or -1 on a bad frame; no allocation."""
        self._frame(self._tx_angle)
        word = self._frame(self._tx_nop)
        if parity16(word) or word & _EF:
            self.errors = (self.errors + 1) & 0x3FFFFFFF
            return -1
        counts = ((word & _DATA_MASK) - self.zero_counts) & _DATA_MASK
        self.last_counts = counts
        return counts

    def read_urad(self):
        """Angle in urad in [-pi, pi); the last good angle when a frame is bad."""
        counts = self.read_counts()
        if counts < 0:
            counts = self.last_counts
        return counts_to_urad(counts)
