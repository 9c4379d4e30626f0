"""TI ADS1220 24-bit delta-sigma ADC on SPI (MicroPython subset).

The board reads each precision thermistor bridge with its own ADS1220 (one
chip per bridge, so neither read ever waits for a multiplexer to settle).  The
chip runs in continuous-conversion mode at 20 samples/s with simultaneous
50/60 Hz rejection; ``read_uv()`` fetches the latest finished conversion with
the RDATA command and never waits for one.

Interface (ADS1220 datasheet, SBAS501, "Serial Interface" and "Commands"):
SPI mode 1 (CPOL 0, CPHA 1), MSB first, /CS low for the whole command; four
8-bit configuration registers written with WREG and read back with RREG;
conversion data are 24-bit two's complement, MSB first.

Conversion to microvolts, integers only (|x| < 2**30 throughout): with the
internal 2.048 V reference and PGA gain ``g``, one code is
``2.048e6 uV / (g * 2**23) = 125 / (512 * g)`` uV, so

    uV = (code * 125 + 2**(s-1)) >> s,   s = 9 + log2(g)

``code * 125`` is at most 8388608 * 125 = 1,048,576,000 < 2**30.

The driver owns every buffer it clocks through the bus; ``read_code()`` and
``read_uv()`` allocate nothing.
"""

import time

from bus.compat import const

# Commands (datasheet table "Command Definitions")
_CMD_POWERDOWN = const(0x02)
_CMD_RESET = const(0x06)
_CMD_START = const(0x08)  # START/SYNC: starts (continuous) conversions
_CMD_RDATA = const(0x10)
_CMD_RREG = const(0x20)  # | (first register << 2) | (count - 1)
_CMD_WREG = const(0x40)  # | (first register << 2) | (count - 1)

# Register 0: MUX[7:4] input multiplexer, GAIN[3:1], PGA_BYPASS[0]
MUX_AIN0_AIN1 = const(0x00)  # AINP = AIN0, AINN = AIN1 (first bridge pair)
MUX_AIN2_AIN3 = const(0x50)  # AINP = AIN2, AINN = AIN3 (second bridge pair)
# Register 1: DR[7:5] data rate, MODE[4:3], CM[2] continuous, TS[1], BCS[0]
_REG1_20SPS_NORMAL_CONTINUOUS = const(0x04)  # DR=000 (20 SPS), MODE=00, CM=1
# Register 2: VREF[7:6], 50/60[5:4], PSW[3], IDAC[2:0]
_REG2_INTERNAL_REF_REJECT_50_60 = const(0x10)  # VREF=00 (2.048 V), 50/60=01
# Register 3: I1MUX[7:5], I2MUX[4:2], DRDYM[1], reserved[0] = 0
_REG3_IDACS_OFF = const(0x00)

VREF_UV = const(2048000)  # internal reference (uV)
FULL_SCALE_CODE = const(0x7FFFFF)
PROBE_TRIES = const(3)  # resets + write/read-back cycles before giving up
_RESET_WAIT_US = const(100)  # datasheet: 50 us + 32 t_CLK after RESET

GAINS = (1, 2, 4, 8, 16, 32, 64, 128)


class ADS1220:
    """One ADS1220 measuring one differential input.

    ``spi`` is a ``machine.SPI`` already set to mode 1; ``cs`` a ``machine.Pin``
    output idling high.  ``label`` names the device in errors (which board
    channel, which bus and chip select).  The constructor probes the chip and
    starts continuous conversions; it raises ``OSError`` if the chip does not
    read back its configuration after ``PROBE_TRIES`` attempts.
    """

    def __init__(self, spi, cs, gain=4, mux=MUX_AIN0_AIN1, label="ADS1220"):
        if gain not in GAINS:
            raise ValueError("ADS1220 gain %r not one of %r" % (gain, GAINS))
        gain_code = GAINS.index(gain)
        self._spi = spi
        self._cs = cs
        self.label = label  # device name used in errors
        self.gain = gain  # PGA gain (V/V)
        self._shift = 9 + gain_code  # uV = (code * 125) >> shift, see module doc
        self._round = 1 << (self._shift - 1)
        # configuration the chip must hold (registers 0..3)
        self._config = bytearray((mux | (gain_code << 1), _REG1_20SPS_NORMAL_CONTINUOUS,
                                  _REG2_INTERNAL_REF_REJECT_50_60, _REG3_IDACS_OFF))
        self._cmd = bytearray(1)
        self._wreg = bytearray(5)  # WREG 0..3 followed by the four registers
        self._wreg[0] = _CMD_WREG | 3
        self._wreg[1:5] = self._config
        self._rreg_tx = bytearray(5)  # RREG 0..3 followed by four dummy bytes
        self._rreg_tx[0] = _CMD_RREG | 3
        self._rreg_rx = bytearray(5)
        self._rdata_tx = bytearray(4)  # RDATA followed by 24 clocks (DIN low)
        self._rdata_tx[0] = _CMD_RDATA
        self._rdata_rx = bytearray(4)
        self.probe_attempts = 0  # write/read-back cycles the last probe took
        self.probe()
        self.start()

    # -- transport ----------------------------------------------------------
    def _write(self, buf):
        self._cs(0)
        self._spi.write(buf)
        self._cs(1)

    def _command(self, cmd):
        self._cmd[0] = cmd
        self._write(self._cmd)

    def _transfer(self, tx, rx):
        self._cs(0)
        self._spi.write_readinto(tx, rx)
        self._cs(1)

    # -- device behaviour ---------------------------------------------------
    def reset(self):
        self._command(_CMD_RESET)
        time.sleep_us(_RESET_WAIT_US)

    def read_config(self):
        """The four configuration registers as the chip reports them (bytes)."""
        self._transfer(self._rreg_tx, self._rreg_rx)
        return bytes(self._rreg_rx[1:5])

    def probe(self):
        """Reset, write the configuration and read it back; retry, then raise."""
        got = b""
        attempt = 0
        while attempt < PROBE_TRIES:
            attempt += 1
            self.probe_attempts = attempt
            self.reset()
            self._write(self._wreg)
            got = self.read_config()
            if got == bytes(self._config):
                return
        raise OSError("%s: configuration read back as %s, wrote %s (%d tries)"
                      % (self.label, _hex(got), _hex(self._config), PROBE_TRIES))

    def start(self):
        """Start continuous conversions (the first result is ready after ~50 ms)."""
        self._command(_CMD_START)

    def power_down(self):
        self._command(_CMD_POWERDOWN)

    def read_code(self):
        """Latest conversion as a signed 24-bit code; allocation-free."""
        rx = self._rdata_rx
        self._transfer(self._rdata_tx, rx)
        code = (rx[1] << 16) | (rx[2] << 8) | rx[3]
        if code & 0x800000:
            code -= 0x1000000
        return code

    def code_to_uv(self, code):
        """Microvolts at the input pins for ``code`` (rounded to nearest)."""
        return (code * 125 + self._round) >> self._shift

    def read_uv(self):
        return (self.read_code() * 125 + self._round) >> self._shift


def _hex(data):
    return " ".join("%02x" % b for b in data)
