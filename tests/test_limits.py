"""Limit monitoring with persistence, from the limits declared in the mission database."""

import pytest

from bus import mdb
from ground_segment.limits import NOMINAL, RED, YELLOW, LimitMonitor, Transition, classify_value, declared_limits

LIM = (-100, -10, 10, 100)  # crystal_error_mk's declared limits


def feed(mon, name, values):
    out = []
    for v in values:
        state, tr = mon.check(name, v)
        out.append((state, tr))
    return out


def test_declared_limits_come_from_the_database():
    lim = declared_limits()
    assert lim["crystal_error_mk"] == LIM
    assert lim["crystal_temp_mk"] == (288150, 293150, 303150, 308150)
    assert set(lim) == {p[1] for p in mdb.PARAMETERS if p[6] is not None}
    assert "uptime_s" not in lim


def test_classification_of_single_values():
    assert [classify_value(v, LIM) for v in (-101, -100, -11, -10, 0, 10, 11, 100, 101)] == [
        RED, YELLOW, YELLOW, NOMINAL, NOMINAL, NOMINAL, YELLOW, YELLOW, RED]
    # 0..0 nominal, 1 yellow, beyond red: tm_packets_dropped (0, 0, 0, 1)
    lim = declared_limits()["tm_packets_dropped"]
    assert [classify_value(v, lim) for v in (0, 1, 2)] == [NOMINAL, YELLOW, RED]
    mon = LimitMonitor()
    assert mon.classify("crystal_error_mk", 50) == YELLOW and mon.classify("uptime_s", 5) is None


def test_persistence_two_samples_by_default():
    mon = LimitMonitor()
    r = feed(mon, "crystal_error_mk", [0, 50, 0, 50, 50])
    assert [s for s, _ in r] == [NOMINAL, NOMINAL, NOMINAL, NOMINAL, YELLOW]
    assert [t for _, t in r][:4] == [None] * 4
    assert r[4][1] == Transition("crystal_error_mk", NOMINAL, YELLOW, 50, None)
    assert mon.state("crystal_error_mk") == YELLOW


def test_transitions_both_ways_and_red_beyond_yellow():
    mon = LimitMonitor(persistence=3)
    values = [0, 500, 500, 500, 500, 50, 50, 50, -5, -5, -5]
    trs = [t for _, t in feed(mon, "crystal_error_mk", values) if t is not None]
    assert [(t.old, t.new, t.value) for t in trs] == [
        (NOMINAL, RED, 500),  # straight to red: every sample was beyond red
        (RED, YELLOW, 50),
        (YELLOW, NOMINAL, -5),
    ]
    assert mon.transitions == 3


def test_mixed_run_settles_on_what_persisted():
    mon = LimitMonitor(persistence=2)
    # yellow then red from nominal: both worse than nominal, the milder persisted
    r = feed(mon, "crystal_error_mk", [50, 500])
    assert r[-1][1] == Transition("crystal_error_mk", NOMINAL, YELLOW, 500, None)
    r = feed(mon, "crystal_error_mk", [500])  # red persists over two samples now
    assert r[-1][0] == YELLOW  # the run restarted at the change: one red sample so far
    r = feed(mon, "crystal_error_mk", [500])
    assert r[-1][1].new == RED
    # from red: yellow then nominal are both better; the worse of them persisted
    r = feed(mon, "crystal_error_mk", [50, 0])
    assert r[-1][1] == Transition("crystal_error_mk", RED, YELLOW, 0, None)


def test_single_outliers_change_nothing():
    mon = LimitMonitor()
    r = feed(mon, "crystal_error_mk", [0, 500, 0, -500, 0, 20, 0])
    assert all(t is None for _, t in r) and mon.state("crystal_error_mk") == NOMINAL


def test_parameter_without_limits():
    mon = LimitMonitor()
    assert not mon.monitored("uptime_s")
    assert feed(mon, "uptime_s", [0, 10**9, 10**9]) == [(None, None)] * 3
    assert mon.state("uptime_s") is None and "uptime_s" not in mon.states()


def test_configurable_persistence_and_limits():
    mon = LimitMonitor(persistence=1, limits={"x": (0, 10, 20, 30)}, persistence_of={"y": 4})
    assert mon.check("x", 25)[1] == Transition("x", NOMINAL, YELLOW, 25, None)
    assert mon.check("x", 15, t_unix=7.5)[1] == Transition("x", YELLOW, NOMINAL, 15, 7.5)
    mon = LimitMonitor(limits={"y": (0, 10, 20, 30)}, persistence_of={"y": 4})
    assert [t for _, t in feed(mon, "y", [40, 40, 40])] == [None] * 3
    assert mon.check("y", 40)[1].new == RED
    mon.reset()
    assert mon.state("y") == NOMINAL
    with pytest.raises(ValueError):
        LimitMonitor(persistence=0)
    with pytest.raises(ValueError):
        LimitMonitor(limits={"z": (5, 0, 10, 20)})


def test_update_takes_decoded_samples():
    from ground_segment.mdb_decode import Sample

    mon = LimitMonitor()
    samples = [Sample("crystal_temp_mk", v, v / 1000 - 273.15, "degC", float(i), 0x20, 0, i)
               for i, v in enumerate([298150, 320000, 320000, 298150, 298150])]
    trs = mon.update(samples)
    assert [(t.old, t.new, t.t_unix) for t in trs] == [(NOMINAL, RED, 2.0), (RED, NOMINAL, 4.0)]
