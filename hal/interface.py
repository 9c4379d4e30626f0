"""The hardware interface the flight code sees (MicroPython subset).

Every device the payload touches is one of the classes below.  Backends subclass
them and implement only the primitives (micropython-lib's driver pattern: device
behaviour in one place, transport in thin subclasses).  The base methods raise
``NotImplementedError`` so a backend that forgets one fails loudly.

Units and ranges, chosen so that every value is a MicroPython small int
(|x| < 2**30) and no float is needed on the hot path:

=====================  ==========================================================
quantity               unit
=====================  ==========================================================
clock                  ticks in us and ms, wrapping at ``TICKS_PERIOD`` (2**30)
analog input           microvolts (signed); 24-bit precision ADC on a board
analog output          ``u16`` fraction of full scale, 0..65535
pulse counter          events, a running count wrapping at ``COUNT_MASK + 1``
steering mirror        nanoradians per axis of mechanical tilt, +/- 1,000,000
gimbal                 microradians per axis, rates in microradians per second
beacon sensor          nanoradians of offset per axis, plus a frame sequence
wheel tachometer       rotation frequency in millihertz, phase in 1/65536 rev
=====================  ==========================================================

Fast-loop methods (``read_into``, ``set_nrad``, ``count``) must not allocate:
they return small ints or fill a caller-owned ``array``.
"""

from bus.compat import const

TICKS_PERIOD = const(0x40000000)  # MicroPython's ticks_max() + 1
TICKS_MASK = const(0x3FFFFFFF)
_TICKS_HALF = const(0x20000000)

COUNT_MASK = const(0x3FFFFFFF)  # pulse counters wrap like the clock

# Reset causes reported by Watchdog.reset_cause() (same meaning as machine.*)
RESET_POWER_ON = const(1)
RESET_WATCHDOG = const(3)
RESET_SOFT = const(5)


def ticks_diff(end, start):
    """Signed difference ``end - start`` of two wrapping ticks (like time.ticks_diff)."""
    return ((end - start + _TICKS_HALF) & TICKS_MASK) - _TICKS_HALF


def ticks_add(ticks, delta):
    """``ticks + delta`` wrapped into the clock's range (like time.ticks_add)."""
    return (ticks + delta) & TICKS_MASK


def count_diff(now, before):
    """Events counted between two readings of a wrapping pulse counter."""
    return (now - before) & COUNT_MASK


class Clock:
    """Monotonic time source; the only clock flight code may read."""

    def ticks_us(self):
        raise NotImplementedError

    def ticks_ms(self):
        raise NotImplementedError


class AnalogIn:
    """A voltage input (thermistor bridge, photodiode monitor, current sense)."""

    def read_uv(self):
        """Latest conversion in microvolts (signed int)."""
        raise NotImplementedError


class AnalogOut:
    """A DAC or PWM output (heater/TEC drive, pump current set point)."""

    def write_u16(self, value):
        """Set the output to ``value``/65535 of full scale."""
        raise NotImplementedError


class DigitalOut:
    """A discrete output (laser enables, sync pulse gate)."""

    def set(self, on):
        raise NotImplementedError

    def state(self):
        raise NotImplementedError


class DigitalIn:
    """A discrete input (station-in-view report, interlock loop)."""

    def value(self):
        raise NotImplementedError


class PulseCounter:
    """A hardware event counter (single-photon detector pulses, coincidences)."""

    def count(self):
        """Running count, wrapping at COUNT_MASK + 1; use count_diff()."""
        raise NotImplementedError


class SteeringMirror:
    """Two-axis fast steering mirror with position sensing."""

    TRAVEL_NRAD = const(1000000)  # +/- 1 mrad mechanical

    def set_nrad(self, x_nrad, y_nrad):
        """Command the mirror; the backend clamps to +/- TRAVEL_NRAD."""
        raise NotImplementedError

    def read_into(self, out):
        """Fill ``out[0], out[1]`` with the sensed position (nrad)."""
        raise NotImplementedError


class Gimbal:
    """Two-axis coarse pointing mechanism (turntable) driven in rate."""

    def set_rate_urad_s(self, az_urad_s, el_urad_s):
        raise NotImplementedError

    def read_into(self, out):
        """Fill ``out[0], out[1]`` with the encoder angles (urad)."""
        raise NotImplementedError


class BeaconSensor:
    """Camera or quadrant sensor measuring the ground beacon's angular offset."""

    def read_into(self, out):
        """If a new frame is ready, fill ``out[0..2]`` with x_nrad, y_nrad,
        frame sequence and return True; return False when there is no new frame
        or the beacon is not seen."""
        raise NotImplementedError


class Tachometer:
    """Reaction-wheel tachometer: the reference for vibration feed-forward."""

    def read_into(self, out):
        """Fill ``out[0]`` with frequency (mHz) and ``out[1]`` with phase
        (1/65536 revolution)."""
        raise NotImplementedError


class Watchdog:
    """Hardware watchdog; once started, feed() must be called within timeout."""

    def start(self, timeout_ms):
        raise NotImplementedError

    def feed(self):
        raise NotImplementedError

    def reset_cause(self):
        """One of RESET_POWER_ON, RESET_WATCHDOG, RESET_SOFT."""
        raise NotImplementedError


class NonVolatileStore:
    """Byte-addressed non-volatile memory (flash partition or FRAM).

    No erase step: any byte may be rewritten (a backend on raw flash hides the
    sector erase, see docs/hal.md).  What callers may assume about a power cut
    during ``write``: the bytes of that call land in address order, so the
    range holds some prefix of the new bytes over the old ones (and the byte at
    the cut may be garbage); bytes outside the range are untouched.  Nothing
    more: a record that must survive a cut keeps a second copy elsewhere
    (payload/nv_store.py).  Foreground only; ``readinto`` fills a caller-owned
    buffer.
    """

    size = 0  # bytes

    def readinto(self, offset, buf):
        """Fill ``buf`` with ``len(buf)`` bytes from ``offset``; ValueError outside ``size``."""
        raise NotImplementedError

    def write(self, offset, data):
        """Store ``data`` at ``offset``; ValueError outside ``size``."""
        raise NotImplementedError


class ByteLink:
    """A byte or datagram link (space link UART, lab port).

    ``is_stream`` False: each ``readinto`` returns one whole datagram (UDP);
    True: a byte stream (UART) whose chunks carry no boundaries, so TM frames
    go out behind an attached sync marker and lab packets are delimited by
    their own length field.
    """

    is_stream = False

    def write(self, data):
        """Queue ``data`` for transmission; return the number of bytes taken."""
        raise NotImplementedError

    def readinto(self, buf):
        """Copy received bytes into ``buf``; return how many (0: none)."""
        raise NotImplementedError


# Names of the channels every backend provides (the board's pin map, the fakes
# and the emulator all key on these, so flight code never spells a pin number).
ANALOG_INPUTS = (
    "crystal_thermistor",  # PPKTP crystal NTC bridge (24-bit ADC on a board)
    "diode_thermistor",  # pump diode NTC
    "pump_monitor_pd",  # pump back-facet monitor photodiode
    "pump_current_sense",  # pump diode current shunt
)
ANALOG_OUTPUTS = (
    "crystal_tec",  # crystal heater/TEC drive
    "pump_current",  # pump diode current set point
    "lc_retarder",  # liquid-crystal polarisation retarder drive
)
DIGITAL_OUTPUTS = (
    "pump_enable",  # pump laser current switch (interlocked in flight code)
    "beacon_enable",  # downlink beacon laser
    "sync_enable",  # synchronisation laser: gates its pulse train (SYNC_PERIOD_US)
    "basis_select",  # LC rotators of both arms: low = H/V, high = D/A analysis basis
)
# The synchronisation laser's pulse generator is hardware: a fixed train of one pulse
# every SYNC_PERIOD_US (10 kHz), running while ``sync_enable`` is high.  The ground
# stations' time taggers lock their clocks to it; the emulator reads this period.
SYNC_PERIOD_US = const(100)
DIGITAL_INPUTS = ("station_in_view",)  # stands for pointing's report until it exists
# Both analyser arms measure in the basis ``basis_select`` sets; in each arm
# detector 0 sees H (H/V basis) or D (D/A basis), detector 1 sees V or A.
COUNTERS = (
    "singles_a0",  # arm A detector 0 (H or D)
    "singles_a1",  # arm A detector 1 (V or A)
    "singles_b0",  # arm B detector 0 (H or D)
    "singles_b1",  # arm B detector 1 (V or A)
    "coinc_a0b0",  # coincidences A0 with B0
    "coinc_a0b1",  # coincidences A0 with B1
    "coinc_a1b0",  # coincidences A1 with B0
    "coinc_a1b1",  # coincidences A1 with B1
)
BEAMS = 2  # two quantum beams, one per ground station
WHEELS = 3


class Hal:
    """The set of devices a payload has; a backend fills every attribute.

    Attributes: ``clock``; dicts keyed by the names above: ``analog_in``,
    ``analog_out``, ``digital_out``, ``digital_in``, ``counters``; per beam lists
    ``fsm``, ``gimbal``, ``coarse_sensor``, ``fine_sensor``; ``tachometers`` per
    wheel; ``watchdog``; ``nvstore``; ``links`` (dict: "space", "lab").
    """

    name = "abstract"

    def __init__(self):
        self.clock = None
        self.analog_in = {}
        self.analog_out = {}
        self.digital_out = {}
        self.digital_in = {}
        self.counters = {}
        self.fsm = []
        self.gimbal = []
        self.coarse_sensor = []
        self.fine_sensor = []
        self.tachometers = []
        self.watchdog = None
        self.nvstore = None
        self.links = {}

    def latch_counters(self):
        """Freeze every counter's ``count()`` at this instant, all together.

        A backend whose counters are read through a latch (the board's
        coincidence unit) takes a new reading here; call it once per control
        cycle before reading ``counters``.  Backends whose counts are live
        need do nothing.
        """

    def check(self):
        """Raise ValueError naming the first device the backend did not provide."""
        if self.clock is None or self.watchdog is None or self.nvstore is None:
            raise ValueError("hal %s: clock, watchdog and nvstore are required" % self.name)
        for names, table in (
            (ANALOG_INPUTS, self.analog_in),
            (ANALOG_OUTPUTS, self.analog_out),
            (DIGITAL_OUTPUTS, self.digital_out),
            (DIGITAL_INPUTS, self.digital_in),
            (COUNTERS, self.counters),
        ):
            for n in names:
                if n not in table:
                    raise ValueError("hal %s: missing channel %s" % (self.name, n))
        for lst, n, what in (
            (self.fsm, BEAMS, "fsm"),
            (self.gimbal, BEAMS, "gimbal"),
            (self.coarse_sensor, BEAMS, "coarse_sensor"),
            (self.fine_sensor, BEAMS, "fine_sensor"),
            (self.tachometers, WHEELS, "tachometers"),
        ):
            if len(lst) != n:
                raise ValueError("hal %s: %s needs %d devices, has %d" % (self.name, what, n, len(lst)))
