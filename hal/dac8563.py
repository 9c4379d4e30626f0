"""TI DAC8563 dual 16-bit DAC on SPI (MicroPython subset).

Each fast steering mirror's two axes are driven by one DAC8563 (channel A = x,
channel B = y) through the mirror's bipolar high-voltage amplifier, so code
32768 (mid-scale) is the mirror's rest position.  The DAC8563 rather than the
DAC8562 because it powers up and resets to mid-scale: a mirror is never flung
to one end of its travel while the software boots.

Interface (DAC8562/DAC8563 datasheet, SLAS719, "Serial Interface"): 24-bit
frames, MSB first, clocked in on SCLK falling edges (SPI mode 1), latched when
/SYNC (our chip select) rises after the 24th bit:

    bits 23-22  don't care
    bits 21-19  command
    bits 18-16  address (000 DAC-A, 001 DAC-B, 111 both)
    bits 15-0   data

The chip is write-only (no SDO), so unlike the ADC it cannot be probed; a dead
DAC shows up in the mirror's position monitor (``hal.board`` reads it back
through the on-chip ADC).

``write_both()`` sends two frames: DAC-A's input register first, then DAC-B's
with "update all DAC registers", so both axes move on the same /SYNC edge.
It fills preallocated frames and allocates nothing.
"""

from bus.compat import const

_CMD_WRITE_INPUT = const(0)  # write input register n
_CMD_UPDATE = const(1)  # software LDAC: update DAC register n
_CMD_WRITE_UPDATE_ALL = const(2)  # write input register n, update all DAC registers
_CMD_WRITE_UPDATE = const(3)  # write input register n, update DAC register n
_CMD_POWER = const(4)  # power up / down
_CMD_RESET = const(5)  # software reset
_CMD_LDAC = const(6)  # LDAC pin enable register
_CMD_REFERENCE = const(7)  # internal reference on/off

_ADDR_A = const(0)
_ADDR_B = const(1)
_ADDR_BOTH = const(7)

_RESET_POWER_ON = const(1)  # data bit 0 = 1: reset all registers (power-on reset)
_REFERENCE_ON = const(1)  # data bit 0 = 1: internal 2.5 V reference on (gain 2)

MIDSCALE = const(32768)
CODE_MAX = const(65535)


class DAC8563:
    """One DAC8563; ``spi`` in mode 1, ``cs`` (/SYNC) a Pin output idling high."""

    def __init__(self, spi, cs):
        self._spi = spi
        self._cs = cs
        self._frame = bytearray(3)  # configuration commands
        self._frame_a = bytearray(3)  # write DAC-A input register
        self._frame_a[0] = (_CMD_WRITE_INPUT << 3) | _ADDR_A
        self._frame_b = bytearray(3)  # write DAC-B input register, update both
        self._frame_b[0] = (_CMD_WRITE_UPDATE_ALL << 3) | _ADDR_B
        self.code_a = MIDSCALE  # last codes sent
        self.code_b = MIDSCALE
        self.init()

    def _send(self, frame):
        self._cs(0)
        self._spi.write(frame)
        self._cs(1)

    def _command(self, cmd, addr, data):
        f = self._frame
        f[0] = (cmd << 3) | addr
        f[1] = data >> 8
        f[2] = data & 0xFF
        self._send(f)

    def init(self):
        """Power-on reset (both outputs to mid-scale), then internal reference on."""
        self._command(_CMD_RESET, _ADDR_A, _RESET_POWER_ON)
        self._command(_CMD_REFERENCE, _ADDR_A, _REFERENCE_ON)
        self.write_both(MIDSCALE, MIDSCALE)

    def write_both(self, code_a, code_b):
        """Set both outputs (codes 0..65535, not checked here) in one update."""
        fa = self._frame_a
        fa[1] = code_a >> 8
        fa[2] = code_a & 0xFF
        fb = self._frame_b
        fb[1] = code_b >> 8
        fb[2] = code_b & 0xFF
        self._send(fa)
        self._send(fb)
        self.code_a = code_a
        self.code_b = code_b
