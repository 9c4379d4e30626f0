"""The applications other than the manager, in their first form.

Each owns its APID, counters, events and housekeeping packet (declared in
bus/mdb.py); the photon-source, pointing and reliability issues grow them.
"""

from bus import mdb
from payload import source_modes
from payload.pus_app import PusApp


_MODE_REFUSALS = {
    source_modes.REFUSED_INTERLOCK: mdb.FAIL_MODE_INTERLOCK,
    source_modes.REFUSED_NOT_LOCKED: mdb.FAIL_MODE_NOT_LOCKED,
    source_modes.REFUSED_NOT_PERMITTED: mdb.FAIL_MODE_NOT_PERMITTED,
    source_modes.REFUSED_MODE: mdb.FAIL_MODE_REFUSED,
    source_modes.REFUSED_UNKNOWN: mdb.FAIL_ARG_RANGE,
}
# the lowest temperature a working crystal thermistor can report; below it the
# bridge is open or shorted (mK)
CRYSTAL_PLAUSIBLE_MK = (233150, 373150)


class SourceApp(PusApp):
    """Entangled-photon source (APID 0x020): modes, crystal temperature, pump laser.

    ``step()`` runs in the 10 Hz group after the crystal loop: the pump driver
    checks its interlocks first and cuts the current itself in the same step,
    then the mode machine moves (to SAFE on any interlock), and the crystal loop
    and pump follow the mode.  See docs/source.md.
    """

    def __init__(self, services, crystal, pump, clock, permission):
        self.crystal = crystal  # payload.thermal_loop.CrystalThermalLoop
        self.pump = pump  # payload.pump_laser.PumpLaser
        self.modes = source_modes.SourceModes(clock)
        self.modes.on_change = self._mode_changed
        self._permission = permission  # HAL DigitalIn: fine tracking and station in view
        self._ev_mode = mdb.event("EV_SRC_MODE")[0]
        self._ev_interlock = mdb.event("EV_SRC_INTERLOCK")[0]
        super().__init__(mdb.APID_SOURCE, "source", services)

    def _mode_changed(self, old, new):
        self.services.events.raise_args(self._ev_mode, old, new)
        if new == source_modes.SAFE:
            p = self.pump
            self.services.events.raise_args(self._ev_interlock, self.modes.interlocks, p.measured_ua,
                                            p.diode_temp_mk)

    def step(self):
        modes = self.modes
        il = self.pump.step(modes.pump_allowed)
        t = self.crystal.temp_mk
        if t < CRYSTAL_PLAUSIBLE_MK[0] or t > CRYSTAL_PLAUSIBLE_MK[1]:
            il |= source_modes.IL_CRYSTAL_SENSOR
        modes.step(self.crystal.set_point_error_mk, self._permission.value(), il)
        if not modes.pump_allowed:
            self.pump.cut()
        self.crystal.enabled = modes.thermal_on and not (il & source_modes.IL_CRYSTAL_SENSOR)

    def cmd_src_mode(self, args, tc):
        code = self.modes.command(args[0])
        if code:
            return _MODE_REFUSALS[code]
        if not self.modes.pump_allowed:
            self.pump.cut()
        return 0

    def cmd_src_pump_current(self, args, tc):
        return 0 if self.pump.set_current(args[0]) else mdb.FAIL_ARG_RANGE

    def cmd_src_pump_power(self, args, tc):
        return 0 if self.pump.set_power(args[0]) else mdb.FAIL_ARG_RANGE


class PointingApp(PusApp):
    """Acquisition, pointing and tracking (APID 0x030): today the fine loops."""

    def __init__(self, services, beams):
        self.beams = beams
        super().__init__(mdb.APID_POINTING, "pointing", services)

    def end_of_second(self):
        """Restart the fine loops' statistics once housekeeping has reported them (1 Hz)."""
        for loop in self.beams:
            loop.reset_stats()

    def cmd_apt_fine_enable(self, args, tc):
        self.beams[args[0]].enabled = bool(args[1])
        self.services.events.raise_args(mdb.event("EV_FINE_MODE")[0], args[0], args[1])
        return 0


class FdirApp(PusApp):
    """Fault management (APID 0x040): monitors come with the reliability issue."""

    def __init__(self, services):
        super().__init__(mdb.APID_FDIR, "fdir", services)
