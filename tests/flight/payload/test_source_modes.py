"""Source operating modes: the state machine of payload/source_modes.py."""

from hal.fake import VirtualClock
from payload import source_modes as sm


def _machine(hold_ms=1000):
    clock = VirtualClock()
    m = sm.SourceModes(clock, lock_band_mk=10, hold_ms=hold_ms)
    log = []
    m.on_change = lambda old, new: log.append((sm.MODE_NAMES[old], sm.MODE_NAMES[new]))
    return clock, m, log


def _steps(clock, m, n, error_mk=0, permitted=True, interlocks=0, dt_ms=100):
    i = 0
    while i < n:
        m.step(error_mk, permitted, interlocks)
        clock.advance(dt_ms * 1000)
        i += 1


def test_cold_start_to_emitting():
    clock, m, log = _machine()
    assert m.command(sm.WARMUP) == sm.OK
    _steps(clock, m, 5, error_mk=500)  # still heating
    assert m.mode == sm.WARMUP
    _steps(clock, m, 1, error_mk=5)
    assert m.mode == sm.LOCKING
    _steps(clock, m, 10, error_mk=-3)  # 1 s in band
    _steps(clock, m, 1, error_mk=2)
    assert m.mode == sm.READY and not m.pump_allowed
    assert m.command(sm.EMITTING) == sm.OK and m.pump_allowed
    assert log == [("OFF", "WARMUP"), ("WARMUP", "LOCKING"), ("LOCKING", "READY"), ("READY", "EMITTING")]


def test_leaving_the_band_restarts_the_hold():
    clock, m, _ = _machine()
    m.command(sm.WARMUP)
    _steps(clock, m, 1, error_mk=0)
    _steps(clock, m, 5, error_mk=0)
    _steps(clock, m, 1, error_mk=25)
    assert m.mode == sm.WARMUP
    _steps(clock, m, 1, error_mk=0)
    _steps(clock, m, 8, error_mk=0)  # 0.9 s of the new hold
    assert m.mode == sm.LOCKING


def _ready(hold_ms=100):
    clock, m, log = _machine(hold_ms)
    m.command(sm.WARMUP)
    _steps(clock, m, 4, error_mk=0)
    assert m.mode == sm.READY
    return clock, m, log


def test_emission_needs_permission_and_stops_without_it():
    clock, m, _ = _ready()
    _steps(clock, m, 1, permitted=False)
    assert m.command(sm.EMITTING) == sm.REFUSED_NOT_PERMITTED and m.mode == sm.READY
    _steps(clock, m, 1, permitted=True)
    assert m.command(sm.EMITTING) == sm.OK
    _steps(clock, m, 1, permitted=False)
    assert m.mode == sm.STANDBY and not m.pump_allowed
    _steps(clock, m, 1, permitted=True)
    assert m.mode == sm.STANDBY  # no autonomous restart: emission is commanded
    assert m.command(sm.EMITTING) == sm.OK


def test_lost_lock_cuts_emission():
    clock, m, _ = _ready()
    _steps(clock, m, 1)
    m.command(sm.EMITTING)
    _steps(clock, m, 1, error_mk=-40)
    assert m.mode == sm.WARMUP and not m.pump_allowed


def test_interlock_from_any_mode_to_safe_within_one_period():
    for start in ("off", "warmup", "ready", "emitting"):
        clock, m, log = _ready()
        _steps(clock, m, 1)
        if start == "emitting":
            m.command(sm.EMITTING)
        elif start == "warmup":
            m.command(sm.OFF)
            m.command(sm.WARMUP)
        elif start == "off":
            m.command(sm.OFF)
        m.step(0, True, sm.IL_PUMP_OVERCURRENT)
        assert m.mode == sm.SAFE and not m.pump_allowed, start
        assert m.interlock_trips == 1


def test_safe_is_left_only_by_command_with_interlocks_closed():
    clock, m, _ = _ready()
    m.step(0, True, sm.IL_DIODE_OVERTEMP)
    assert m.command(sm.OFF) == sm.REFUSED_INTERLOCK and m.mode == sm.SAFE
    assert m.command(sm.EMITTING) == sm.REFUSED_INTERLOCK
    m.step(0, True, 0)
    assert m.mode == sm.SAFE  # closing the interlock alone does not leave SAFE
    assert m.command(sm.WARMUP) == sm.REFUSED_MODE
    assert m.command(sm.OFF) == sm.OK and m.mode == sm.OFF


def test_commands_that_make_no_sense_are_refused_and_change_nothing():
    clock, m, log = _machine()
    assert m.command(sm.EMITTING) == sm.REFUSED_MODE
    assert m.command(sm.STANDBY) == sm.REFUSED_MODE
    assert m.command(99) == sm.REFUSED_UNKNOWN
    m.command(sm.WARMUP)
    assert m.command(sm.EMITTING) == sm.REFUSED_NOT_LOCKED
    assert m.command(sm.WARMUP) == sm.REFUSED_MODE
    assert log == [("OFF", "WARMUP")]
