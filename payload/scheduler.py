"""Rate-group scheduler on the HAL clock.

A rate group is a period and a list of tasks (bound methods created once at
init).  ``step()`` runs every group that is due, fastest first; it is called
from the main loop on a board and by the lock-step runner in emulation, so the
same code is deterministic under the virtual clock.  A group marked ``isr`` is
not run by ``step()``: on a board a hardware timer calls ``run(group)`` at its
rate (see ``hal.board.start_fine_timer``), and the lock-step runner calls it
directly.  ``run()`` allocates nothing, so it is legal in a hard interrupt.

Timing policy (per group):

- ``runs``          times the group ran;
- ``overruns``      runs whose execution took longer than the period;
- ``slips``         whole periods skipped because the group started more than a
                    period late; missed periods are dropped, not replayed in a
                    burst (a late control output is worse than a skipped one);
- ``max_exec_us``   longest execution seen, ``last_exec_us`` the latest.

Default rates (justified in docs/scheduler.md): fine pointing 1 kHz, coarse
pointing 100 Hz, thermal 10 Hz, housekeeping 1 Hz.
"""

from bus.compat import const
from hal.interface import ticks_diff, ticks_add

FINE_PERIOD_US = const(1000)  # 1 kHz fine pointing loop
COARSE_PERIOD_US = const(10000)  # 100 Hz gimbal loop
THERMAL_PERIOD_US = const(100000)  # 10 Hz crystal temperature loop
HK_PERIOD_US = const(1000000)  # 1 Hz housekeeping


class RateGroup:
    """One rate group: tasks run in order at a fixed period."""

    def __init__(self, name, period_us, isr=False):
        if period_us <= 0:
            raise ValueError("rate group %s: period must be > 0 us" % name)
        self.name = name
        self.period_us = period_us  # us
        self.isr = isr  # True: run from a timer interrupt, not by step()
        self.tasks = []  # callables, no arguments
        self.next_due_us = 0  # clock ticks (us) of the next release
        self.runs = 0
        self.overruns = 0
        self.slips = 0
        self.max_exec_us = 0
        self.last_exec_us = 0

    def reset_counters(self):
        self.runs = 0
        self.overruns = 0
        self.slips = 0
        self.max_exec_us = 0
        self.last_exec_us = 0


class Scheduler:
    """Runs rate groups on the HAL clock."""

    def __init__(self, clock):
        self._clock = clock
        self.groups = []  # fastest first
        self.started = False

    def add_group(self, name, period_us, isr=False):
        if self.started:
            raise RuntimeError("scheduler: add groups before start()")
        g = RateGroup(name, period_us, isr)
        i = 0
        while i < len(self.groups) and self.groups[i].period_us <= period_us:
            i += 1
        self.groups.insert(i, g)
        return g

    def group(self, name):
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)

    def start(self):
        """Release every group now."""
        now = self._clock.ticks_us()
        for g in self.groups:
            g.next_due_us = now
        self.started = True

    def run(self, g):
        """Run one release of group ``g``; allocation-free."""
        clock = self._clock
        t0 = clock.ticks_us()
        for task in g.tasks:
            task()
        t1 = clock.ticks_us()
        ex = ticks_diff(t1, t0)
        g.last_exec_us = ex
        if ex > g.max_exec_us:
            g.max_exec_us = ex
        if ex > g.period_us:
            g.overruns += 1
        g.runs += 1
        # next release; drop whole periods already missed
        period = g.period_us
        nxt = ticks_add(g.next_due_us, period)
        late = ticks_diff(t1, nxt)
        if late >= 0:
            missed = late // period + 1
            g.slips += missed
            nxt = ticks_add(nxt, missed * period)
        g.next_due_us = nxt

    def step(self):
        """Run every non-interrupt group that is due; return how many ran."""
        ran = 0
        for g in self.groups:
            if g.isr:
                continue
            if ticks_diff(self._clock.ticks_us(), g.next_due_us) >= 0:
                self.run(g)
                ran += 1
        return ran

    def due(self, g):
        """True when group ``g`` is released (for a driver that runs isr groups)."""
        return ticks_diff(self._clock.ticks_us(), g.next_due_us) >= 0
