"""The payload application: builds the rate groups and their tasks on a HAL.

Boot order follows MicroPython practice: construct everything (large buffers
first, before the heap fragments), then ``start()``; no work happens at import.
The same class runs on a board (``main.py`` -> ``hal.board``), under the
lock-step runner (``hal.emulated``) and in the tests (``hal.fake``).
"""

from bus import mdb
from bus.cds_time import FlightTime
from bus.compat import const
from bus.pus import TcPacketReader, TmPacketWriter
from hal.interface import BEAMS
from payload.apps import FdirApp, PointingApp, SourceApp
from payload.fdir import Fdir
from payload.key_store import KeyStore, RamRecords, SecurityApp
from payload.link import LinkStack
from payload.manager import Manager
from payload.nv_store import NvRecords, NvStore, TAG_PARAMETERS
from payload.param_store import ParameterStore
from payload.packet_store import PacketStore, STORE_OCTETS_DEFAULT
from payload.parameters import ParameterTable
from payload.s11_schedule import Schedule
from payload.s1_verification import Verification
from payload.s3_housekeeping import Housekeeping
from payload.s5_events import EventService
from payload.s9_time import TimeService
from payload.tc_router import TcRouter
from payload.hazard_gate import HazardGate
from payload.tm_out import TmOut
from payload.scheduler import (
    Scheduler, FINE_PERIOD_US, COARSE_PERIOD_US, THERMAL_PERIOD_US, HK_PERIOD_US,
)
from payload.apt_beam import BeamPointing
from payload.ephemeris import Ephemeris
from payload.fine_loop import FinePointingLoop
from payload.vib_canceller import VibrationCanceller, WheelPhases
from payload.pump_laser import PumpLaser
from payload.thermal_loop import CrystalThermalLoop

WATCHDOG_TIMEOUT_MS = const(2000)  # fed by the 10 Hz group: 20 missed releases
COMMS_PERIOD_US = const(50000)  # 20 Hz: link polling, TC routing, TM frames, schedule

# Region map of the HAL's non-volatile store (docs/nv_store.md, "Region map"); octets:
#   [0, 2048)     parameter table: two 1024-octet slots (payload/param_store.py, docs/param_tables.md)
#   [2048, 2560)  "sec_keys": two 256-octet slots (136-octet record)
#   [2560, 2624)  "sec_sn":   two 32-octet slots (16-octet record)
#   [2624, size)  spare (the board's device and the fake's default are 4096 octets)
NV_TABLE_BASE = const(0)
NV_TABLE_SLOT = const(1024)
NV_KEY_RECORDS_BASE = const(2048)
NV_KEY_RECORDS = (("sec_keys", 256), ("sec_sn", 32))


def key_records(hal):
    """The key store's persistence on ``hal.nvstore`` (NvRecords on the region map above),
    or RamRecords for a HAL without a non-volatile store.  A device too small for the map
    is a ValueError at boot (a configuration error, never silently volatile)."""
    nv = getattr(hal, "nvstore", None)
    if nv is None:
        return RamRecords()
    return NvRecords(nv, NV_KEY_RECORDS, NV_KEY_RECORDS_BASE)


def table_store(hal):
    """The parameter table's two-copy store on ``hal.nvstore`` (region map above), or None
    for a HAL without a non-volatile store (nothing persists then)."""
    nv = getattr(hal, "nvstore", None)
    if nv is None:
        return None
    return NvStore(nv, NV_TABLE_BASE, NV_TABLE_SLOT, TAG_PARAMETERS)


class PayloadApp:
    def __init__(self, hal, fine_period_us=FINE_PERIOD_US, lab_enabled=True, tc_auth=True, records=None,
                 store_octets=STORE_OCTETS_DEFAULT):
        hal.check()
        self.hal = hal
        self.store = PacketStore(store_octets)  # service 15; the largest buffer: first, before the heap fragments
        self.sched = Scheduler(hal.clock)
        self.fine = self.sched.add_group("fine", fine_period_us, isr=True)
        self.coarse = self.sched.add_group("coarse", COARSE_PERIOD_US)
        self.thermal = self.sched.add_group("thermal", THERMAL_PERIOD_US)
        self.hk_group = self.sched.add_group("hk", HK_PERIOD_US)
        self.flight_time = FlightTime(hal.clock)
        self.wheels = WheelPhases(hal.tachometers)
        self.fine.tasks.append(self.wheels.step)
        self.beams = []
        self.cancellers = []
        self.apt = []
        for b in range(BEAMS):
            canc = VibrationCanceller(self.wheels, fs_hz=1000000 // fine_period_us)
            loop = FinePointingLoop(hal.fine_sensor[b], hal.fsm[b], canc)
            self.cancellers.append(canc)
            self.beams.append(loop)
            self.apt.append(BeamPointing(b, hal.gimbal[b], hal.coarse_sensor[b], loop, Ephemeris(), self.flight_time))
            self.fine.tasks.append(loop.step)
        self.crystal = CrystalThermalLoop(hal.analog_in["crystal_thermistor"],
                                          hal.analog_out["crystal_tec"])
        self.pump = PumpLaser(hal.analog_out["pump_current"], hal.digital_out["pump_enable"],
                              hal.analog_in["pump_current_sense"], hal.analog_in["pump_monitor_pd"],
                              hal.analog_in["diode_thermistor"])
        self.thermal.tasks.append(self.crystal.step)
        self.thermal.tasks.append(hal.watchdog.feed)
        self.comms = self.sched.add_group("comms", COMMS_PERIOD_US)
        # persistence interface (payload.key_store): the HAL's non-volatile store unless one is given
        self.records = records if records is not None else key_records(hal)
        self._build_services(lab_enabled, tc_auth)

    def _build_services(self, lab_enabled, tc_auth=True):
        """PUS services, applications and the link stack (bus/mdb.py declares them)."""
        hal = self.hal
        apids = [a[0] for a in mdb.APPLICATIONS]
        flight_time = self.flight_time
        tm = TmOut(TmPacketWriter(flight_time, apids, max_app_data_len=1024))
        self.services = services = Services()
        services.tm = tm
        services.time = TimeService(tm, flight_time)
        services.verification = Verification(tm, apids, mdb.APID_MANAGER)
        services.events = EventService(tm)
        self.pointing_app = PointingApp(services, self.beams, self.apt, self.cancellers, hal.digital_out["beacon_enable"],
                                        hal.digital_in["station_in_view"], hal.digital_out["sync_enable"])
        self.coarse.tasks.append(self.pointing_app.step)
        self.source_app = SourceApp(services, self.crystal, self.pump, hal, self.pointing_app)
        self.thermal.tasks.append(self.source_app.step)
        self.pointing_app.on_permission_lost = self.source_app.permission_lost
        self.fdir = Fdir(services.events, self.source_app, self.beams, self.apt, self.wheels,
                         self.fine, self.flight_time, None, self.fine.period_us, WATCHDOG_TIMEOUT_MS)
        self.thermal.tasks.append(self.fdir.step_10hz)
        self.coarse.tasks.append(self.fdir.step_100hz)
        self.fdir_app = FdirApp(services, self.fdir)
        reader = TcPacketReader()
        self.schedule = Schedule(tm, services.time.now, self._release_scheduled)
        self._ev_sched = mdb.event("EV_SCHED_EXECUTED")[0]
        objects = {
            "fine": self.fine, "coarse": self.coarse, "thermal": self.thermal,
            "schedule": self.schedule, "events": services.events, "time": services.time,
            "source": self.source_app, "crystal": self.crystal, "pointing": self.pointing_app,
            "modes": self.source_app.modes, "pump": self.pump, "quality": self.source_app.quality,
            "tuner": self.source_app.tuner, "retarder": self.source_app.retarder, "monitor": self.source_app.monitor,
            "beam0": self.beams[0], "beam1": self.beams[1], "fdir": self.fdir_app,
            "apt0": self.apt[0], "apt1": self.apt[1], "canc0": self.cancellers[0], "canc1": self.cancellers[1],
            "ephem0": self.apt[0].ephem, "ephem1": self.apt[1].ephem,
        }
        self.manager = Manager(services, self.schedule, hal.clock, hal.watchdog.reset_cause())
        self.keys = KeyStore(self.records)
        self.security_app = SecurityApp(services, self.keys, None)
        self.hazard = HazardGate(services, hal.clock)
        self.manager.hazard = self.hazard
        self.schedule.gate = self.hazard
        self.router = TcRouter(services, reader, (self.manager, self.source_app, self.pointing_app, self.fdir_app,
                                                  self.security_app), self.hazard)
        self.link = LinkStack(hal, self.router, tm, services.events, lab_enabled=lab_enabled, keys=self.keys,
                              tc_auth=tc_auth)
        self.security_app.receiver = self.link.sdls
        self.fdir.link = self.link
        tm.sinks.append(self.store.record)  # a copy of each housekeeping report and event (docs/packet_store.md)
        self.store.events = services.events
        self.link.attach_store(self.store, len(tm.writer.buf))
        self.manager.store = self.store
        objects["security"] = self.security_app
        objects["fdir_core"] = self.fdir
        objects["keys"] = self.keys
        objects["sdls"] = self.link.sdls
        objects["manager"] = self.manager
        objects["router"] = self.router
        objects["hazard"] = self.hazard
        objects["link"] = self.link
        objects["store"] = self.store
        self.tables = ParameterStore(table_store(hal), services.events, self.source_app, hal.watchdog.reset_cause())
        objects["tables"] = self.tables
        # every object a parameter reads from exists now: bind the database to them
        self.params = ParameterTable(objects)
        tuner = self.source_app.tuner  # moves these on purpose while it scans
        self.tables.bind(self.params, {"crystal_set_point_mk": tuner, "autotune_half_range_mk": tuner,
                                       "autotune_step_mk": tuner})
        self.manager.tables = self.tables
        self.fdir.tables = self.tables
        self.housekeeping = Housekeeping(tm, self.params)
        self.manager.params = self.params
        self.manager.hk = self.housekeeping
        self.comms.tasks.append(self.link.poll)
        self.comms.tasks.append(self.schedule.tick)
        self.comms.tasks.append(self.hazard.tick)
        self.hk_group.tasks.append(self.manager.tick_1hz)
        self.hk_group.tasks.append(self.tables.tick_1hz)  # scrub before housekeeping reports
        self.hk_group.tasks.append(self.housekeeping.tick_1hz)
        self.hk_group.tasks.append(self.pointing_app.end_of_second)
        self.hk_group.tasks.append(self.store.tick_1hz)

    def _release_scheduled(self, buf, n, authorised=0):
        """A time-tagged command is due: EV_SCHED_EXECUTED with its request ID, then the same
        acceptance path as a command from the ground (its verification reports follow);
        ``authorised``: hazardous, inserted by an armed TC[11,4] (payload.hazard_gate)."""
        self.services.events.raise_args(self._ev_sched, ((buf[0] & 0x07) << 8) | buf[1],
                                        ((buf[2] & 0x3F) << 8) | buf[3])
        self.hazard.release_authorised = authorised
        try:
            self.router.accept(buf, n, 0)
        finally:
            self.hazard.release_authorised = 0

    def start(self):
        """Release the rate groups, enable the loops and start the watchdog."""
        self.services.events.raise_args(mdb.event("EV_BOOT")[0], self.hal.watchdog.reset_cause())
        self.security_app.report_restore()
        self.tables.boot()  # EV_TBL_LOADED or EV_TBL_DEFAULTS, boot counters, resume after a reset
        for loop in self.beams:
            loop.enabled = True
        self.hal.watchdog.start(WATCHDOG_TIMEOUT_MS)
        self.sched.start()

    def run_fine_isr(self, _timer=None):
        """Timer-interrupt handler of the fine group (bound once at boot)."""
        self.sched.run(self.fine)

    def step(self):
        """Lock-step / polling driver: run the fine group if due, then the rest."""
        if self.sched.due(self.fine):
            self.sched.run(self.fine)
        return self.sched.step()


class Services:
    """What every application reaches: tm, time, verification, events."""

    tm = None
    time = None
    verification = None
    events = None

