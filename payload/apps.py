"""The applications other than the manager, in their first form.

Each owns its APID, counters, events and housekeeping packet (declared in
bus/mdb.py); the photon-source, pointing and reliability issues grow them.
"""

from bus import mdb
from payload.pus_app import PusApp


class SourceApp(PusApp):
    """Entangled-photon source (APID 0x020): today the crystal temperature loop."""

    def __init__(self, services, crystal):
        self.crystal = crystal
        super().__init__(mdb.APID_SOURCE, "source", services)

    def cmd_src_thermal_enable(self, args, tc):
        self.crystal.enabled = bool(args[0])
        self.services.events.raise_args(mdb.event("EV_THERMAL_MODE")[0], args[0])
        return 0


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
