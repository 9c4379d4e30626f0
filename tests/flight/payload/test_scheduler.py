"""Rate-group scheduler: release times, overruns, slips, determinism."""

from hal.fake import VirtualClock
from hal.interface import TICKS_MASK
from payload.scheduler import Scheduler
from tests.flight.support import raises, garbage_bytes


class Recorder:
    def __init__(self, clock, name, log, burn_us=0):
        self.clock = clock
        self.name = name
        self.log = log
        self.burn_us = burn_us  # virtual time the task "takes"

    def run(self):
        self.log.append((self.name, self.clock.ticks_us()))
        if self.burn_us:
            self.clock.advance(self.burn_us)


def _drive(sched, clock, step_us, steps):
    i = 0
    while i < steps:
        sched.step()
        clock.advance(step_us)
        i += 1


def test_groups_release_at_their_rates():
    clock = VirtualClock()
    s = Scheduler(clock)
    log = []
    for name, period in (("slow", 10000), ("fast", 1000), ("mid", 5000)):
        g = s.add_group(name, period)
        g.tasks.append(Recorder(clock, name, log).run)
    assert [g.name for g in s.groups] == ["fast", "mid", "slow"]
    s.start()
    _drive(s, clock, 500, 40)  # 20 ms
    count = {}
    for name, _ in log:
        count[name] = count.get(name, 0) + 1
    assert count == {"fast": 20, "mid": 4, "slow": 2}
    fast_times = [t for n, t in log if n == "fast"]
    assert fast_times[:3] == [0, 1000, 2000]
    assert s.group("fast").overruns == 0 and s.group("fast").slips == 0


def test_fastest_group_runs_first_in_a_step():
    clock = VirtualClock()
    s = Scheduler(clock)
    log = []
    s.add_group("hk", 1000000).tasks.append(Recorder(clock, "hk", log).run)
    s.add_group("fine", 1000).tasks.append(Recorder(clock, "fine", log).run)
    s.start()
    s.step()
    assert [n for n, _ in log] == ["fine", "hk"]


def test_overrun_and_slip_are_counted():
    clock = VirtualClock()
    s = Scheduler(clock)
    log = []
    g = s.add_group("thermal", 1000)
    task = Recorder(clock, "t", log, burn_us=2500)
    g.tasks.append(task.run)
    s.start()
    s.step()  # runs 0..2500 us: one overrun, releases at 1000 and 2000 missed
    assert g.runs == 1 and g.overruns == 1 and g.slips == 2
    assert g.max_exec_us == 2500
    assert g.next_due_us == 3000
    task.burn_us = 0
    _drive(s, clock, 100, 10)
    assert g.runs == 2 and g.overruns == 1


def test_scheduler_runs_across_clock_wrap():
    clock = VirtualClock(start_us=TICKS_MASK - 2500)
    s = Scheduler(clock)
    log = []
    s.add_group("fast", 1000).tasks.append(Recorder(clock, "fast", log).run)
    s.start()
    _drive(s, clock, 250, 40)  # 10 ms spanning the wrap
    assert len(log) == 10
    assert s.group("fast").slips == 0


def test_isr_group_left_to_its_timer():
    clock = VirtualClock()
    s = Scheduler(clock)
    log = []
    g = s.add_group("fine", 1000, isr=True)
    g.tasks.append(Recorder(clock, "fine", log).run)
    s.start()
    assert s.step() == 0 and log == []
    assert s.due(g)
    s.run(g)
    assert len(log) == 1 and not s.due(g)


def test_invalid_groups_rejected():
    s = Scheduler(VirtualClock())
    raises(ValueError, s.add_group, "bad", 0)
    s.start()
    raises(RuntimeError, s.add_group, "late", 1000)


def test_same_inputs_same_schedule():
    def trace():
        clock = VirtualClock(start_us=123)
        s = Scheduler(clock)
        log = []
        for name, period in (("a", 700), ("b", 1300), ("c", 5000)):
            s.add_group(name, period).tasks.append(Recorder(clock, name, log, burn_us=10).run)
        s.start()
        _drive(s, clock, 100, 300)
        return log
    assert trace() == trace()


class _Noop:
    def __init__(self):
        self.n = 0

    def run(self):
        self.n += 1


def test_mp_dispatch_allocates_nothing():
    clock = VirtualClock()
    s = Scheduler(clock)
    g = s.add_group("fine", 1000, isr=True)
    t = _Noop()
    g.tasks.append(t.run)
    s.start()

    def one():
        s.run(g)
        clock.advance(1000)
    assert garbage_bytes(one, 1000) == 0
    assert t.n == 1001
