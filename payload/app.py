"""The payload application: builds the rate groups and their tasks on a HAL.

Boot order follows MicroPython practice: construct everything (large buffers
first, before the heap fragments), then ``start()``; no work happens at import.
The same class runs on a board (``main.py`` -> ``hal.board``), under the
lock-step runner (``hal.emulated``) and in the tests (``hal.fake``).
"""

from array import array

from bus.compat import const
from hal.interface import BEAMS, ticks_diff
from payload.scheduler import (
    Scheduler, FINE_PERIOD_US, COARSE_PERIOD_US, THERMAL_PERIOD_US, HK_PERIOD_US,
)
from payload.fine_loop import FinePointingLoop
from payload.thermal_loop import CrystalThermalLoop

WATCHDOG_TIMEOUT_MS = const(2000)  # fed by the 10 Hz group: 20 missed releases
COMMS_PERIOD_US = const(50000)  # 20 Hz: link polling, TC routing, TM frames, schedule

# Housekeeping parameters in the order of PayloadApp.hk (issue 3 turns this
# into PUS service 3 packets declared in the mission database).
HK_FIELDS = (
    "uptime_ms",
    "reset_cause",
    "fine_runs", "fine_overruns", "fine_slips", "fine_max_exec_us",
    "coarse_runs", "coarse_overruns", "thermal_runs", "thermal_overruns",
    "hk_runs",
    "crystal_temp_mk", "crystal_error_mk", "tec_drive_u16",
    "fsm0_x_nrad", "fsm0_y_nrad", "beam0_mean_abs_err_nrad", "beam0_max_abs_err_nrad",
    "fsm1_x_nrad", "fsm1_y_nrad", "beam1_mean_abs_err_nrad", "beam1_max_abs_err_nrad",
    "fine_frames", "fine_no_frame",
)


class PayloadApp:
    def __init__(self, hal, fine_period_us=FINE_PERIOD_US, lab_enabled=True):
        hal.check()
        self.hal = hal
        self.hk = array("i", [0] * len(HK_FIELDS))  # latest housekeeping sample
        self.hk_seq = 0  # samples taken
        self.sched = Scheduler(hal.clock)
        self.fine = self.sched.add_group("fine", fine_period_us, isr=True)
        self.coarse = self.sched.add_group("coarse", COARSE_PERIOD_US)
        self.thermal = self.sched.add_group("thermal", THERMAL_PERIOD_US)
        self.hk_group = self.sched.add_group("hk", HK_PERIOD_US)
        self.beams = []
        for b in range(BEAMS):
            loop = FinePointingLoop(hal.fine_sensor[b], hal.fsm[b])
            self.beams.append(loop)
            self.fine.tasks.append(loop.step)
        self.crystal = CrystalThermalLoop(hal.analog_in["crystal_thermistor"],
                                          hal.analog_out["crystal_tec"])
        self.thermal.tasks.append(self.crystal.step)
        self.thermal.tasks.append(hal.watchdog.feed)
        self.hk_group.tasks.append(self.sample_hk)
        self._boot_ms = 0
        self.comms = self.sched.add_group("comms", COMMS_PERIOD_US)
        self._build_services(lab_enabled)

    def _build_services(self, lab_enabled):
        """PUS services, applications and the link stack (bus/mdb.py declares them)."""
        from bus import mdb
        from bus.cds_time import FlightTime
        from bus.pus import TcPacketReader, TmPacketWriter
        from payload.apps import FdirApp, PointingApp, SourceApp
        from payload.link import LinkStack
        from payload.manager import Manager
        from payload.parameters import ParameterTable
        from payload.s11_schedule import Schedule
        from payload.s1_verification import Verification
        from payload.s3_housekeeping import Housekeeping
        from payload.s5_events import EventService
        from payload.s9_time import TimeService
        from payload.tc_router import TcRouter
        from payload.tm_out import TmOut

        hal = self.hal
        apids = [a[0] for a in mdb.APPLICATIONS]
        flight_time = FlightTime(hal.clock)
        tm = TmOut(TmPacketWriter(flight_time, apids, max_app_data_len=1024))
        self.services = services = Services()
        services.tm = tm
        services.time = TimeService(tm, flight_time)
        services.verification = Verification(tm, apids, mdb.APID_MANAGER)
        services.events = EventService(tm)
        self.source_app = SourceApp(services, self.crystal)
        self.pointing_app = PointingApp(services, self.beams)
        self.fdir_app = FdirApp(services)
        reader = TcPacketReader()
        self.schedule = Schedule(tm, services.time.now, self._release_scheduled)
        objects = {
            "fine": self.fine, "coarse": self.coarse, "thermal": self.thermal,
            "schedule": self.schedule, "events": services.events, "time": services.time,
            "source": self.source_app, "crystal": self.crystal, "pointing": self.pointing_app,
            "beam0": self.beams[0], "beam1": self.beams[1], "fdir": self.fdir_app,
        }
        self.manager = Manager(services, self.schedule, hal.clock, hal.watchdog.reset_cause())
        self.router = TcRouter(services, reader, (self.manager, self.source_app, self.pointing_app, self.fdir_app))
        self.link = LinkStack(hal, self.router, tm, lab_enabled=lab_enabled)
        objects["manager"] = self.manager
        objects["router"] = self.router
        objects["link"] = self.link
        # every object a parameter reads from exists now: bind the database to them
        self.params = ParameterTable(objects)
        self.housekeeping = Housekeeping(tm, self.params)
        self.manager.params = self.params
        self.manager.hk = self.housekeeping
        self.comms.tasks.append(self.link.poll)
        self.comms.tasks.append(self.schedule.tick)
        self.hk_group.tasks.append(self.manager.tick_1hz)
        self.hk_group.tasks.append(self.housekeeping.tick_1hz)

    def _release_scheduled(self, buf, n):
        self.router.accept(buf, n, 0)

    def start(self):
        """Release the rate groups, enable the loops and start the watchdog."""
        from bus import mdb

        self._boot_ms = self.hal.clock.ticks_ms()
        self.services.events.raise_args(mdb.event("EV_BOOT")[0], self.hal.watchdog.reset_cause())
        for loop in self.beams:
            loop.enabled = True
        self.crystal.enabled = True
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

    def sample_hk(self):
        h = self.hk
        clock = self.hal.clock
        fine = self.fine
        h[0] = ticks_diff(clock.ticks_ms(), self._boot_ms)
        h[1] = self.hal.watchdog.reset_cause()
        h[2] = fine.runs
        h[3] = fine.overruns
        h[4] = fine.slips
        h[5] = fine.max_exec_us
        h[6] = self.coarse.runs
        h[7] = self.coarse.overruns
        h[8] = self.thermal.runs
        h[9] = self.thermal.overruns
        h[10] = self.hk_group.runs + 1  # this run included
        h[11] = self.crystal.temp_mk
        h[12] = self.crystal.error_mk
        h[13] = self.crystal.drive
        frames = 0
        no_frame = 0
        i = 14
        for loop in self.beams:
            h[i] = loop.u_x_nrad
            h[i + 1] = loop.u_y_nrad
            h[i + 2] = loop.sum_abs_err_nrad // (2 * loop.frames) if loop.frames else 0
            h[i + 3] = loop.max_abs_err_nrad
            frames += loop.frames
            no_frame += loop.no_frame
            loop.reset_stats()
            i += 4
        h[22] = frames
        h[23] = no_frame
        self.hk_seq += 1

    def hk_dict(self):
        """Latest housekeeping as {name: value} (ground side and printing)."""
        d = {}
        for i in range(len(HK_FIELDS)):
            d[HK_FIELDS[i]] = self.hk[i]
        return d


class Services:
    """What every application reaches: tm, time, verification, events."""

    tm = None
    time = None
    verification = None
    events = None

