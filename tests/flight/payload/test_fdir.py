"""FDIR monitors on the fake HAL: persistence, trips and their actions, recoveries, the switch
(payload/fdir.py; both interpreters)."""

from bus import mdb
from bus.pus import pack_tc
from hal.fake import FakeHal
from payload import apt_beam, fdir, source_modes
from payload.app import PayloadApp
from payload.fdir import Monitor

_TRIP = mdb.event("EV_FDIR_TRIP")[0]
_CLEAR = mdb.event("EV_FDIR_CLEAR")[0]
_RECOVERY = mdb.event("EV_FDIR_RECOVERY")[0]
_GAVE_UP = mdb.event("EV_FDIR_GAVE_UP")[0]


def _boot():
    hal = FakeHal()
    hal.analog_in["crystal_thermistor"].uv = 0  # 25 degC: a plausible crystal reading
    hal.analog_in["diode_thermistor"].uv = 0
    app = PayloadApp(hal)
    log = []
    events = app.services.events
    raise_args = events.raise_args

    def spy(event_id, *values):
        log.append((event_id,) + tuple(values))
        raise_args(event_id, *values)

    events.raise_args = spy
    app.start()
    return hal, app, log


def _run(hal, app, ms):
    i = 0
    while i < ms:
        app.step()
        hal.clock.advance(1000)
        i += 1


def _trips(log, monitor):
    return [e for e in log if e[0] == _TRIP and e[1] == monitor]


def _command(hal, app, name, args, seq):
    decl = mdb.command(name)
    data = bytearray()
    if decl[4] is not None:
        data.append(decl[4])
    import struct

    data += struct.pack(mdb.args_format(decl[5]), *[args[a[0]] for a in decl[5]])
    hal.links["lab"].rx.append(pack_tc(decl[1], seq, decl[2], decl[3], bytes(data)))
    _run(hal, app, 60)


def test_monitor_trips_after_persistence_and_clears_after_clear_persistence():
    m = Monitor(1, 3, 2)
    assert [m.sample(True) for _ in range(3)] == [0, 0, 1]
    assert m.tripped and m.trips == 1
    assert m.sample(True) == 0  # already tripped: no second trip
    assert [m.sample(False), m.sample(False)] == [0, -1]
    assert not m.tripped
    assert [m.sample(True), m.sample(False), m.sample(True)] == [0, 0, 0]  # a gap restarts the count


def test_clock_jump_detected_and_on_board_time_corrected():
    hal, app, log = _boot()
    app.flight_time.set_epoch(24000, 1000)
    _run(hal, app, 1000)
    hal.clock.advance(10000000)  # the timer jumps 10 s; time did not pass
    _run(hal, app, 1000)
    trips = _trips(log, fdir.M_CLOCK)
    assert len(trips) == 1
    assert 9990 <= trips[0][2] <= 10010 and trips[0][3] == fdir.A_TIME_CORRECT
    t = app.flight_time
    t.rebase()
    assert t.days == 24000 and abs(t.ms_of_day - 3000) <= 20  # 2 s of real time since the epoch
    assert app.fdir.time_corrections == 1


def test_fdir_enable_all_off_leaves_the_jump_uncorrected():
    hal, app, log = _boot()
    app.flight_time.set_epoch(24000, 1000)
    _command(hal, app, "FDIR_ENABLE", {"monitor": 255, "on": 0}, 1)
    assert not app.fdir.enabled and not app.tables.scrub_enabled  # the RAM scrub is a monitor too
    hal.clock.advance(10000000)
    _run(hal, app, 1000)
    assert not _trips(log, fdir.M_CLOCK)
    t = app.flight_time
    t.rebase()
    assert t.ms_of_day > 11000  # the jump stays in the on-board time
    _command(hal, app, "FDIR_ENABLE", {"monitor": 13, "on": 1}, 2)  # no monitor 13: refused
    assert app.fdir_app.cmd_rejected == 1


def test_interlock_trips_then_restarts_a_running_source_after_the_clear_time():
    hal, app, log = _boot()
    src = app.source_app
    assert src.modes.command(source_modes.WARMUP) == source_modes.OK
    _run(hal, app, 500)
    hal.analog_in["pump_current_sense"].uv = 95 * 10000  # 95 mA on the sense: over-current
    _run(hal, app, 500)
    assert src.modes.mode == source_modes.SAFE
    assert len(_trips(log, fdir.M_SRC_INTERLOCK)) == 1
    hal.analog_in["pump_current_sense"].uv = 0
    _run(hal, app, 9000)
    assert src.modes.mode == source_modes.SAFE  # not before the interlocks stayed closed 10 s
    _run(hal, app, 1500)
    assert src.modes.mode in (source_modes.WARMUP, source_modes.LOCKING)  # warming up again
    rec = [e for e in log if e[0] == _RECOVERY]
    assert rec == [(_RECOVERY, fdir.M_SRC_INTERLOCK, fdir.A_SOURCE_RESTART, 1)]


def test_restart_budget_ends_in_gave_up():
    hal, app, log = _boot()
    src = app.source_app
    src.modes.command(source_modes.WARMUP)
    _run(hal, app, 500)
    for _ in range(app.fdir.max_restarts + 1):
        hal.analog_in["pump_current_sense"].uv = 95 * 10000
        _run(hal, app, 300)
        hal.analog_in["pump_current_sense"].uv = 0
        _run(hal, app, 10500)
    assert [e for e in log if e[0] == _GAVE_UP] == [(_GAVE_UP, fdir.M_SRC_INTERLOCK, app.fdir.max_restarts)]
    assert src.modes.mode == source_modes.SAFE


def test_interlock_while_off_does_not_start_the_source():
    hal, app, log = _boot()
    hal.analog_in["pump_current_sense"].uv = 95 * 10000
    _run(hal, app, 300)
    hal.analog_in["pump_current_sense"].uv = 0
    _run(hal, app, 12000)
    assert len(_trips(log, fdir.M_SRC_INTERLOCK)) == 1
    assert not [e for e in log if e[0] == _RECOVERY]
    assert app.source_app.modes.mode == source_modes.SAFE


def test_stuck_mirror_trips_and_the_beam_leaves_fine_track():
    hal, app, log = _boot()
    loop = app.beams[0]
    assert loop.enabled  # closed at boot, as a test of the loop alone would have it
    hal.fsm[0].follow = False  # seized at 0
    for _ in range(200):
        hal.fine_sensor[0].publish(150000, 0)  # the beacon 150 urad off: the loop drives the mirror
        app.step()
        hal.clock.advance(1000)
    trips = _trips(log, fdir.M_MIRROR_STUCK_0)
    assert len(trips) == 1 and trips[0][2] > 20000 and trips[0][3] == fdir.A_LEAVE_FINE
    assert not _trips(log, fdir.M_MIRROR_STUCK_1)
    apt = app.apt[0]
    apt._go(apt_beam.COARSE)
    apt.declare_lost()  # the action the trip takes on a tracking beam
    assert apt.state == apt_beam.LOST and not loop.enabled


def test_pump_headroom_derates_the_power_target():
    hal, app, log = _boot()
    p = app.pump
    p.set_power(37500)
    p.target_ua = p.loop_max_ua
    p.set_ua = p.loop_max_ua
    p.power_uw = 30000
    fd = app.fdir
    i = 0
    while i < 30:
        fd.step_10hz()
        i += 1
    trips = _trips(log, fdir.M_PUMP_HEADROOM)
    assert trips == [(_TRIP, fdir.M_PUMP_HEADROOM, 27000, fdir.A_DERATE_PUMP)]
    assert p.power_target_uw == 27000
    app.tables.tick_1hz()  # the parameter scrub knows the derating: it does not undo it
    assert p.power_target_uw == 27000
    assert app.tables.repairs == 0
