"""Register-backed HAL devices with a virtual clock (MicroPython subset).

Each fake keeps its state in plain attributes: a test (or, through
``hal.emulated``, the plant models) writes the inputs and reads back what the
flight code commanded.  An input may also follow a script, a callable of the
clock's microsecond ticks, so a test can describe a whole profile at once.
Nothing here touches a real device or the wall clock, so runs are deterministic
on both interpreters.
"""

from hal import interface as _hi
from hal.interface import TICKS_MASK, COUNT_MASK


class VirtualClock(_hi.Clock):
    """A clock that moves only when ``advance()`` is called.

    Ticks wrap exactly like MicroPython's (at 2**30), and the start value can be
    set close to the wrap so that tests exercise it.
    """

    def __init__(self, start_us=0):
        self._us = start_us & TICKS_MASK  # us ticks, wrapped
        self._ms = (start_us // 1000) & TICKS_MASK  # ms ticks, wrapped
        self._us_rem = start_us % 1000  # us not yet carried into ms

    def advance(self, dt_us):
        """Move time forward by ``dt_us`` microseconds (>= 0)."""
        if dt_us < 0:
            raise ValueError("virtual time runs forward only")
        self._us = (self._us + dt_us) & TICKS_MASK
        rem = self._us_rem + dt_us
        self._ms = (self._ms + rem // 1000) & TICKS_MASK
        self._us_rem = rem % 1000

    def ticks_us(self):
        return self._us

    def ticks_ms(self):
        return self._ms


class FakeAnalogIn(_hi.AnalogIn):
    def __init__(self, clock=None, uv=0, script=None):
        self.uv = uv  # value returned when no script is set (uV)
        self.script = script  # callable(ticks_us) -> uV, or None
        self._clock = clock
        self.reads = 0  # conversions taken by the flight code

    def read_uv(self):
        self.reads += 1
        if self.script is not None:
            return self.script(self._clock.ticks_us())
        return self.uv


class FakeAnalogOut(_hi.AnalogOut):
    def __init__(self):
        self.value = 0  # last u16 written
        self.writes = 0

    def write_u16(self, value):
        if value < 0:
            value = 0
        elif value > 0xFFFF:
            value = 0xFFFF
        self.value = value
        self.writes += 1


class FakeDigitalOut(_hi.DigitalOut):
    def __init__(self):
        self.on = False
        self.changes = 0  # number of transitions commanded

    def set(self, on):
        on = bool(on)
        if on != self.on:
            self.changes += 1
        self.on = on

    def state(self):
        return self.on


class FakeDigitalIn(_hi.DigitalIn):
    def __init__(self, level=False, clock=None, script=None):
        self.level = level
        self.script = script
        self._clock = clock

    def value(self):
        if self.script is not None:
            return bool(self.script(self._clock.ticks_us()))
        return self.level


class FakePulseCounter(_hi.PulseCounter):
    def __init__(self):
        self.total = 0  # running count, wrapped at COUNT_MASK + 1

    def add(self, events):
        self.total = (self.total + events) & COUNT_MASK

    def count(self):
        return self.total


class FakeSteeringMirror(_hi.SteeringMirror):
    """Ideal mirror: the sensed position is the clamped command unless a
    plant writes ``x_nrad``/``y_nrad`` itself."""

    def __init__(self):
        self.cmd_x_nrad = 0
        self.cmd_y_nrad = 0
        self.x_nrad = 0  # sensed position
        self.y_nrad = 0
        self.follow = True  # position follows the command instantly
        self.saturations = 0  # commands that hit the travel limit

    def set_nrad(self, x_nrad, y_nrad):
        lim = self.TRAVEL_NRAD
        if x_nrad > lim or x_nrad < -lim or y_nrad > lim or y_nrad < -lim:
            self.saturations += 1
            x_nrad = lim if x_nrad > lim else (-lim if x_nrad < -lim else x_nrad)
            y_nrad = lim if y_nrad > lim else (-lim if y_nrad < -lim else y_nrad)
        self.cmd_x_nrad = x_nrad
        self.cmd_y_nrad = y_nrad
        if self.follow:
            self.x_nrad = x_nrad
            self.y_nrad = y_nrad

    def read_into(self, out):
        out[0] = self.x_nrad
        out[1] = self.y_nrad


class FakeGimbal(_hi.Gimbal):
    def __init__(self):
        self.rate_az_urad_s = 0
        self.rate_el_urad_s = 0
        self.az_urad = 0
        self.el_urad = 0

    def set_rate_urad_s(self, az_urad_s, el_urad_s):
        self.rate_az_urad_s = az_urad_s
        self.rate_el_urad_s = el_urad_s

    def read_into(self, out):
        out[0] = self.az_urad
        out[1] = self.el_urad


class FakeBeaconSensor(_hi.BeaconSensor):
    """A new frame is published with ``publish()``; each is read once."""

    def __init__(self):
        self.x_nrad = 0
        self.y_nrad = 0
        self.seq = 0  # frame sequence of the latest published frame
        self.seen = True  # beacon inside the field of view
        self._read_seq = 0  # last frame handed to the flight code

    def publish(self, x_nrad, y_nrad, seen=True):
        self.x_nrad = x_nrad
        self.y_nrad = y_nrad
        self.seen = seen
        self.seq = (self.seq + 1) & COUNT_MASK

    def read_into(self, out):
        if self.seq == self._read_seq:
            return False
        self._read_seq = self.seq
        if not self.seen:
            return False
        out[0] = self.x_nrad
        out[1] = self.y_nrad
        out[2] = self.seq
        return True


class FakeTachometer(_hi.Tachometer):
    def __init__(self):
        self.freq_mhz = 0
        self.phase_q16 = 0

    def read_into(self, out):
        out[0] = self.freq_mhz
        out[1] = self.phase_q16


class FakeWatchdog(_hi.Watchdog):
    def __init__(self, clock, cause=_hi.RESET_POWER_ON):
        self._clock = clock
        self.timeout_ms = 0  # 0: not started
        self.last_feed_ms = 0
        self.feeds = 0
        self.cause = cause

    def start(self, timeout_ms):
        self.timeout_ms = timeout_ms
        self.last_feed_ms = self._clock.ticks_ms()

    def feed(self):
        self.last_feed_ms = self._clock.ticks_ms()
        self.feeds += 1

    def expired(self):
        """True when a started watchdog has not been fed within its timeout."""
        if not self.timeout_ms:
            return False
        return _hi.ticks_diff(self._clock.ticks_ms(), self.last_feed_ms) > self.timeout_ms

    def reset_cause(self):
        return self.cause


class PowerCut(Exception):
    """Raised by ``FakeNvStore.write`` when an armed power cut fires.

    It stands for the brown-out: the processor stops in the middle of the write,
    so the code after it never runs.  A test catches it and "reboots" by building
    fresh RAM-side objects on the same store, whose bytes survive.
    """


class FakeNvStore(_hi.NonVolatileStore):
    """Non-volatile bytes in a bytearray, with power-cut and corruption injection.

    Writes land one byte at a time in address order, like a byte-programmed
    FRAM or a page program that stops part-way.  ``power_cut_after(n)`` arms a
    cut: counting from the arming, across as many ``write`` calls as it takes,
    the n-th byte written is the last one that lands; the next byte (if
    ``torn`` is an int, that byte lands as ``torn`` instead, a half-programmed
    cell) raises ``PowerCut`` and nothing more of the operation is written.
    The cut disarms itself when it fires (the device has rebooted).
    Reads, writes and injection allocate nothing.
    """

    def __init__(self, size=4096):
        self.size = size
        self.mem = bytearray(b"\xff" * size)  # erased flash reads 0xFF
        self.bytes_written = 0  # bytes landed since construction (all writes)
        self.power_cuts = 0  # cuts that have fired
        self._cut_left = -1  # bytes still allowed to land before the cut; -1: no cut armed
        self._torn = -1  # value of the half-written byte at the cut; -1: none

    def _check(self, offset, n):
        if offset < 0 or offset + n > self.size:
            raise ValueError("nvstore: %d bytes at %d outside %d" % (n, offset, self.size))

    def power_cut_after(self, n, torn=None):
        """Arm a cut after ``n`` more bytes have landed (``None``: disarm)."""
        if n is None:
            self._cut_left = -1
            self._torn = -1
            return
        if n < 0:
            raise ValueError("nvstore: power cut after %d bytes" % n)
        self._cut_left = n
        self._torn = -1 if torn is None else torn & 0xFF

    def corrupt(self, offset, xor=0x01):
        """Flip bits of one stored byte (radiation upset, worn cell)."""
        self._check(offset, 1)
        self.mem[offset] ^= xor

    def readinto(self, offset, buf):
        n = len(buf)
        self._check(offset, n)
        mem = self.mem
        i = 0
        while i < n:
            buf[i] = mem[offset + i]
            i += 1

    def write(self, offset, data):
        n = len(data)
        self._check(offset, n)
        mem = self.mem
        i = 0
        while i < n:
            if self._cut_left == 0:
                if self._torn >= 0:
                    mem[offset + i] = self._torn
                self._cut_left = -1
                self._torn = -1
                self.power_cuts += 1
                raise PowerCut()
            mem[offset + i] = data[i]
            self.bytes_written += 1
            if self._cut_left > 0:
                self._cut_left -= 1
            i += 1


class FakeLink(_hi.ByteLink):
    """Datagram link: ``rx`` holds what the ground sent, ``tx`` what the payload sent."""

    def __init__(self, is_stream=False):
        self.rx = []
        self.tx = []
        self.is_stream = is_stream  # True: behave as a UART byte stream (chunks, no boundaries)

    def write(self, data):
        self.tx.append(bytes(data))
        return len(data)

    def readinto(self, buf):
        if not self.rx:
            return 0
        data = self.rx.pop(0)
        n = len(data)
        if n > len(buf):
            n = len(buf)  # truncated, as a UART FIFO would drop the excess
        buf[:n] = data[:n]
        return n


class FakeHal(_hi.Hal):
    """Every device of ``hal.interface.Hal`` as a fake, on a virtual clock."""

    name = "fake"

    def __init__(self, start_us=0, nvstore_size=4096):
        super().__init__()
        clock = VirtualClock(start_us)
        self.clock = clock
        for n in _hi.ANALOG_INPUTS:
            self.analog_in[n] = FakeAnalogIn(clock)
        for n in _hi.ANALOG_OUTPUTS:
            self.analog_out[n] = FakeAnalogOut()
        for n in _hi.DIGITAL_OUTPUTS:
            self.digital_out[n] = FakeDigitalOut()
        for n in _hi.DIGITAL_INPUTS:
            self.digital_in[n] = FakeDigitalIn(clock=clock)
        for n in _hi.COUNTERS:
            self.counters[n] = FakePulseCounter()
        for _ in range(_hi.BEAMS):
            self.fsm.append(FakeSteeringMirror())
            self.gimbal.append(FakeGimbal())
            self.coarse_sensor.append(FakeBeaconSensor())
            self.fine_sensor.append(FakeBeaconSensor())
        for _ in range(_hi.WHEELS):
            self.tachometers.append(FakeTachometer())
        self.watchdog = FakeWatchdog(clock)
        self.nvstore = FakeNvStore(nvstore_size)
        self.links["space"] = FakeLink()
        self.links["lab"] = FakeLink()
        self.check()
