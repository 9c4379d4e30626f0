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
    def __init__(self, hal, fine_period_us=FINE_PERIOD_US):
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

    def start(self):
        """Release the rate groups, enable the loops and start the watchdog."""
        self._boot_ms = self.hal.clock.ticks_ms()
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
