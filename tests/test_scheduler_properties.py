"""Property tests (hypothesis) of the flight time base and scheduler, on CPython.

The same modules' example-based tests run on MicroPython too (tests/flight/).
"""

from hypothesis import given, settings, strategies as st

from hal.fake import VirtualClock
from hal.interface import TICKS_MASK, TICKS_PERIOD, ticks_add, ticks_diff
from payload.scheduler import Scheduler

ticks = st.integers(min_value=0, max_value=TICKS_MASK)
deltas = st.integers(min_value=-(TICKS_PERIOD // 2), max_value=TICKS_PERIOD // 2 - 1)


@given(ticks, deltas)
def test_ticks_diff_inverts_ticks_add(t, d):
    assert ticks_diff(ticks_add(t, d), t) == d
    assert 0 <= ticks_add(t, d) <= TICKS_MASK


@given(st.integers(min_value=0, max_value=10**12), st.lists(st.integers(0, 10**7), max_size=50))
def test_virtual_clock_matches_unwrapped_time(start, steps):
    c = VirtualClock(start)
    total = start
    for dt in steps:
        c.advance(dt)
        total += dt
        assert c.ticks_us() == total % TICKS_PERIOD
        assert c.ticks_ms() == (total // 1000) % TICKS_PERIOD


@settings(max_examples=60, deadline=None)
@given(period_us=st.integers(100, 20000), step_us=st.integers(1, 5000),
       start=ticks, duration_us=st.integers(0, 200000))
def test_runs_plus_slips_account_for_every_release(period_us, step_us, start, duration_us):
    """Whatever the step size, every release is either run or counted as a slip."""
    clock = VirtualClock(start)
    s = Scheduler(clock)
    g = s.add_group("g", period_us)
    g.tasks.append(lambda: None)
    s.start()
    elapsed = 0
    while elapsed <= duration_us:
        s.step()
        clock.advance(step_us)
        elapsed += step_us
    last_step = elapsed - step_us  # time of the last step() call
    releases = last_step // period_us + 1
    assert g.runs + g.slips == releases
    assert g.overruns == 0
    if step_us <= period_us:
        assert g.slips == 0
