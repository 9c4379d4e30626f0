"""The payload application on the fake HAL: boot, rate groups, housekeeping, garbage."""

from hal.fake import FakeHal
from bus import mdb
from hal.interface import RESET_WATCHDOG
from payload.app import PayloadApp
from tests.flight.support import garbage_bytes


def _boot(cause=None):
    hal = FakeHal()
    if cause is not None:
        hal.watchdog.cause = cause
    app = PayloadApp(hal)
    app.start()
    return hal, app


def _run(hal, app, ms):
    i = 0
    while i < ms:
        hal.fine_sensor[0].publish(1000, -1000)
        hal.fine_sensor[1].publish(-2000, 2000)
        app.step()
        hal.clock.advance(1000)
        i += 1


def test_rate_groups_run_at_their_rates_for_two_seconds():
    hal, app = _boot()
    _run(hal, app, 2000)
    assert app.fine.runs == 2000
    assert app.coarse.runs == 200
    assert app.thermal.runs == 20
    assert app.hk_group.runs == 2
    for g in app.sched.groups:
        assert g.overruns == 0 and g.slips == 0


def test_housekeeping_reports_counters_and_loops():
    hal, app = _boot(RESET_WATCHDOG)
    _run(hal, app, 1001)
    p = app.params
    assert p.get(mdb.parameter("uptime_s")[0]) == 1
    assert p.get(mdb.parameter("reset_cause")[0]) == RESET_WATCHDOG
    assert p.get(mdb.parameter("fine_runs")[0]) == 1001  # fine runs first at t = 1 s too
    slow = len([h for h in mdb.HOUSEKEEPING if h[3] > 1])  # HK_FDIR, HK_SECURITY every 10 s
    assert app.housekeeping.reports == 2 * len(mdb.HOUSEKEEPING) - slow
    assert p.get(mdb.parameter("beam0_frames")[0]) == 0  # statistics restart after each report
    assert app.beams[0].max_abs_err_nrad == 0


def test_watchdog_fed_by_thermal_group():
    hal, app = _boot()
    _run(hal, app, 5000)
    assert hal.watchdog.timeout_ms == 2000
    assert not hal.watchdog.expired()
    assert hal.watchdog.feeds == app.thermal.runs


def test_stalled_scheduler_lets_watchdog_expire():
    hal, app = _boot()
    _run(hal, app, 100)
    hal.clock.advance(2500 * 1000)  # nothing runs for 2.5 s
    assert hal.watchdog.expired()


def test_mp_fine_group_dispatch_allocates_nothing():
    hal, app = _boot()
    _run(hal, app, 10)
    s0, s1 = hal.fine_sensor
    sched, fine = app.sched, app.fine

    def one():
        s0.publish(1200, -800)
        s1.publish(-300, 400)
        sched.run(fine)  # the real dispatcher with both beams' fine loops
        hal.clock.advance(1000)
    assert garbage_bytes(one, 1000) == 0
    assert fine.runs >= 1000
