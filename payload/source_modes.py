"""Operating modes of the entangled-photon source (MicroPython subset).

::

    OFF --warm-up--> WARMUP --|error| <= band--> LOCKING --held hold_ms--> READY
                        ^                          |                          |
                        '-------|error| > band-----'              emit, permitted
                                                                              v
    SAFE <--any interlock, from any mode--             STANDBY <--permission lost-- EMITTING
      |                                                   '------emit, permitted------^
      '--off (interlocks clear)--> OFF

- WARMUP heats the crystal towards its set point; LOCKING waits until the
  temperature has stayed inside the lock band for the hold time (leaving the
  band returns to WARMUP); READY has a locked crystal and the pump off.  A lock
  lost in any later mode also returns to WARMUP, with the pump off.
- EMITTING ramps the pump up; it is entered only on command, from READY or
  STANDBY, and only while emission is permitted (fine tracking on the beams and
  a ground station in view).  Losing the permission drops to STANDBY at once.
- SAFE is entered from any mode the moment an interlock opens; the pump is cut
  in the same control period.  SAFE is left only by command (``OFF``) and only
  when every interlock is closed again.
- ``OFF`` by command stops everything from any mode but SAFE's rule above.

The machine is pure logic on integers: ``step()`` takes this period's
measurements and returns nothing; the controller reads ``mode`` and
``pump_allowed``.  Refused commands return a reason code and change nothing.
"""

from bus.compat import const
from hal.interface import ticks_diff

OFF = const(0)
WARMUP = const(1)
LOCKING = const(2)
READY = const(3)
EMITTING = const(4)
STANDBY = const(5)
SAFE = const(6)
MODE_NAMES = ("OFF", "WARMUP", "LOCKING", "READY", "EMITTING", "STANDBY", "SAFE")

# command refusals (the source application maps them to verification failure codes)
OK = const(0)
REFUSED_INTERLOCK = const(1)  # an interlock is open
REFUSED_NOT_LOCKED = const(2)  # emission asked for before the crystal is locked
REFUSED_NOT_PERMITTED = const(3)  # no fine tracking / no station in view
REFUSED_MODE = const(4)  # the command makes no sense in this mode
REFUSED_UNKNOWN = const(5)  # no such mode to ask for

# interlock bits (several may be open at once)
IL_PUMP_OVERCURRENT = const(1)
IL_DIODE_OVERTEMP = const(2)
IL_CRYSTAL_SENSOR = const(4)  # thermistor reading outside any plausible temperature


class SourceModes:
    def __init__(self, clock, lock_band_mk=10, hold_ms=30000):
        self._clock = clock  # HAL clock (ms ticks)
        self.lock_band_mk = lock_band_mk  # |set point - temperature| that counts as locked (mK)
        self.hold_ms = hold_ms  # time in band before READY (ms)
        self.mode = OFF
        self.interlocks = 0  # IL_* bits open now
        self.interlock_trips = 0  # transitions into SAFE
        self.transitions = 0  # mode changes since boot
        self.last_mode_change_ms = clock.ticks_ms()
        self._in_band_since_ms = 0  # start of the current in-band stretch (LOCKING)
        self._permitted = False  # emission permission seen at the last step()
        self.on_change = None  # callable(old, new): events, housekeeping

    @property
    def pump_allowed(self):
        return self.mode == EMITTING

    @property
    def thermal_on(self):
        return self.mode != OFF

    def _go(self, new):
        old = self.mode
        if new == old:
            return
        self.mode = new
        self.transitions += 1
        self.last_mode_change_ms = self._clock.ticks_ms()
        if new == SAFE:
            self.interlock_trips += 1
        if new == LOCKING:
            self._in_band_since_ms = self.last_mode_change_ms
        if self.on_change is not None:
            self.on_change(old, new)

    def command(self, target):
        """Ask for a mode by telecommand; returns OK or a REFUSED_* reason."""
        m = self.mode
        if target == OFF:
            if m == SAFE and self.interlocks:
                return REFUSED_INTERLOCK
            self._go(OFF)
            return OK
        if self.interlocks:
            return REFUSED_INTERLOCK
        if target == WARMUP:
            if m != OFF:
                return REFUSED_MODE
            self._go(WARMUP)
            return OK
        if target == EMITTING:
            if m == EMITTING:
                return OK
            if m not in (READY, STANDBY):
                return REFUSED_NOT_LOCKED if m in (WARMUP, LOCKING) else REFUSED_MODE
            if not self._permitted:
                return REFUSED_NOT_PERMITTED
            self._go(EMITTING)
            return OK
        if target == STANDBY:
            if m not in (READY, EMITTING):
                return REFUSED_MODE
            self._go(STANDBY)
            return OK
        return REFUSED_UNKNOWN

    def step(self, error_mk, permitted, interlocks):
        """One control period: the crystal's temperature error, the emission permission
        and the open interlock bits, all measured this period."""
        self.interlocks = interlocks
        self._permitted = permitted
        m = self.mode
        if interlocks:
            if m != SAFE:
                self._go(SAFE)
            return
        if m == OFF or m == SAFE:
            return
        in_band = -self.lock_band_mk <= error_mk <= self.lock_band_mk
        if m == WARMUP:
            if in_band:
                self._go(LOCKING)
            return
        if not in_band:  # lock lost (or never held long enough): warm up again, pump off
            self._go(WARMUP)
            return
        if m == LOCKING:
            if ticks_diff(self._clock.ticks_ms(), self._in_band_since_ms) >= self.hold_ms:
                self._go(READY)
            return
        if m == EMITTING and not permitted:
            self._go(STANDBY)
