"""On-board counting for the source: latch, per-cycle coincidences, one basis a second (MicroPython subset).

Runs in the 10 Hz source cycle.  Each cycle it latches the coincidence unit
(``hal.latch_counters()``: all eight counters frozen together), takes each
counter's increment and

- reports the cycle's coincidences over all four detector pairs
  (``cycle_coincidences``; -1 when the cycle is not valid) to whoever wants a
  rate (the phase-matching tuner);
- accumulates singles and coincidences of the basis in use.  Every second
  (``cycles_per_basis`` cycles) it hands the totals to the quality monitor and
  flips ``basis_select`` (H/V, then D/A, ...; ``hold_da`` keeps D/A).  The first cycle after a flip
  is dropped: the liquid-crystal rotators and the retarder settle in tens of
  milliseconds, so those counts mix both bases.

Counting only means something while the pump is on; with it off the monitor
keeps latching (so the increments stay fresh) but accumulates nothing.
The 10 Hz path allocates nothing; the once-a-second quality update may.
"""

from array import array

from bus.compat import const
from hal.interface import COUNTERS, count_diff
from payload.quality import BASIS_DA, BASIS_HV

_N = const(8)


class SourceMonitor:
    def __init__(self, hal, basis_out, quality, cycles_per_basis=10, cycle_s=0.1):
        self._hal = hal
        self._counters = [hal.counters[n] for n in COUNTERS]  # singles a0 a1 b0 b1, coinc a0b0 a0b1 a1b0 a1b1
        self._basis_out = basis_out  # DigitalOut basis_select: low H/V, high D/A
        self.quality = quality  # payload.quality.QualityMonitor
        self.cycles_per_basis = cycles_per_basis
        self.cycle_s = cycle_s
        self._last = array("i", [0] * _N)
        self._delta = array("i", [0] * _N)
        self.singles = array("i", [0] * 4)  # this basis period's totals
        self.coinc = array("i", [0] * 4)
        self.basis = BASIS_HV
        self._cycle = 0  # cycles into this basis period
        self._valid = 0  # cycles accumulated in this basis period
        self.cycle_coincidences = -1  # last cycle, all pairs; -1: not valid
        self.updates = 0  # quality updates made
        self.on_update = None  # callable(basis) after each quality update
        self.hold_da = False  # stay on D/A (the retarder sweep wants only D/A)
        self._prime()
        basis_out.set(False)

    def _prime(self):
        self._hal.latch_counters()
        for i in range(_N):
            self._last[i] = self._counters[i].count()

    def _take(self):
        self._hal.latch_counters()
        last, delta, ctr = self._last, self._delta, self._counters
        for i in range(_N):
            c = ctr[i].count()
            delta[i] = count_diff(c, last[i])
            last[i] = c

    def _clear(self):
        for i in range(4):
            self.singles[i] = 0
            self.coinc[i] = 0
        self._valid = 0

    def step(self, counting):
        """One cycle; ``counting``: the pump is on and its light is worth measuring."""
        self._take()
        if not counting:
            if self._cycle or self._valid or self.cycle_coincidences >= 0:
                self.quality.idle()
            self.cycle_coincidences = -1
            self._cycle = 0
            self._clear()
            return
        d = self._delta
        first = self._cycle == 0
        self._cycle += 1
        if first:  # analysers still settling on this basis
            self.cycle_coincidences = -1
        else:
            self.cycle_coincidences = d[4] + d[5] + d[6] + d[7]
            s, c = self.singles, self.coinc
            for i in range(4):
                s[i] += d[i]
                c[i] += d[4 + i]
            self._valid += 1
        if self._cycle >= self.cycles_per_basis:
            self._end_period()

    def _end_period(self):
        basis = self.basis
        if self._valid:
            self.quality.update(basis, self._valid * self.cycle_s, self.singles, self.coinc)
            self.updates += 1
        self._clear()
        self._cycle = 0
        self.basis = BASIS_DA if (basis == BASIS_HV or self.hold_da) else BASIS_HV
        self._basis_out.set(self.basis == BASIS_DA)
        if self.on_update is not None and self.updates:
            self.on_update(basis)
