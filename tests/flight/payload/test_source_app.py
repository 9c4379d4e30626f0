"""The source application through its telecommands: modes, refusals, interlocks, events."""

import struct

from bus import mdb
from payload import source_modes as sm
from tests.flight.payload.ground_stub import Bench, of, failure_arg, failure_code
from tests.flight.payload.hazard_support import armed_tc
from tests.flight.support import garbage_bytes

_AUTOTUNE_ON_READY = mdb.parameter("autotune_on_ready")[0]


def _events(tms, name):
    eid = mdb.event(name)[0]
    return [t.app_data[2:] for t in tms if t.service == 5 and struct.unpack(">H", t.app_data[:2])[0] == eid]


def test_warmup_by_command_and_mode_event():
    b = Bench()
    b.hal.analog_in["crystal_thermistor"].uv = 40 * 5000  # crystal 5 K below its set point
    tms = b.tc("SRC_MODE", 1)
    assert of(tms, 1, 7) and b.app.source_app.modes.mode == sm.WARMUP
    assert _events(tms, "EV_SRC_MODE") == [bytes([0, 1])]
    b.run_ms(200)
    assert b.app.crystal.enabled


def test_emission_refused_with_the_reason_until_locked_and_permitted():
    b = Bench()
    assert failure_code(of(armed_tc(b, "SRC_MODE", 4), 1, 8)[0]) == mdb.FAIL_MODE_REFUSED  # from OFF
    b.tc("SRC_MODE", 1)
    assert failure_code(of(armed_tc(b, "SRC_MODE", 4), 1, 8)[0]) == mdb.FAIL_MODE_NOT_LOCKED
    modes = b.app.source_app.modes
    modes.hold_ms = 200
    b.app.params.set(_AUTOTUNE_ON_READY, 0)  # no light on this bench: nothing to tune on (service 20, as
    # the ground would: a direct poke is an upset to the parameter scrub, payload/param_store.py)
    b.hal.analog_in["crystal_thermistor"].uv = 0  # crystal at its set point (25 C)
    b.run_ms(600)
    assert modes.mode == sm.READY
    assert failure_code(of(armed_tc(b, "SRC_MODE", 4), 1, 8)[0]) == mdb.FAIL_MODE_NOT_PERMITTED
    b.hal.digital_in["station_in_view"].level = True
    b.run_ms(200)
    assert of(armed_tc(b, "SRC_MODE", 4), 1, 7) and modes.mode == sm.EMITTING
    b.tc("SRC_PUMP_CURRENT", 40000)
    b.run_ms(500)
    assert b.hal.digital_out["pump_enable"].on and b.hal.analog_out["pump_current"].value > 0


def test_pump_interlock_cuts_and_reports_safe():
    b = Bench()
    b.hal.digital_in["station_in_view"].level = True
    b.tc("SRC_MODE", 1)
    b.app.source_app.modes.hold_ms = 200
    b.app.params.set(_AUTOTUNE_ON_READY, 0)
    b.run_ms(600)
    armed_tc(b, "SRC_MODE", 4)
    b.tc("SRC_PUMP_CURRENT", 40000)
    b.run_ms(500)
    b.lab.tx.clear()
    b.hal.analog_in["pump_current_sense"].uv = 950000  # 95 mA through the shunt
    b.run_ms(150)  # one 10 Hz control period, and a little
    assert b.hal.analog_out["pump_current"].value == 0 and not b.hal.digital_out["pump_enable"].on
    assert b.app.source_app.modes.mode == sm.SAFE
    tms = b.received()
    assert _events(tms, "EV_SRC_MODE")[-1][1] == sm.SAFE
    il = _events(tms, "EV_SRC_INTERLOCK")
    assert len(il) == 1 and il[0][0] == sm.IL_PUMP_OVERCURRENT
    assert failure_code(of(b.tc("SRC_MODE", 0), 1, 8)[0]) == mdb.FAIL_MODE_INTERLOCK  # still open
    b.hal.analog_in["pump_current_sense"].uv = 0
    b.run_ms(150)
    assert of(b.tc("SRC_MODE", 0), 1, 7) and b.app.source_app.modes.mode == sm.OFF


def test_pump_limits_refused():
    b = Bench()
    assert failure_code(of(b.tc("SRC_PUMP_CURRENT", 95000), 1, 2)[0]) == mdb.FAIL_ARG_RANGE
    assert b.app.pump.target_ua == 0


def _ready(b):
    """Bench source in READY with the crystal at its set point; no tuning on entry."""
    b.hal.analog_in["crystal_thermistor"].uv = 0
    app = b.app.source_app
    app.modes.hold_ms = 200
    b.app.params.set(_AUTOTUNE_ON_READY, 0)
    b.tc("SRC_MODE", 1)
    b.run_ms(600)
    assert app.modes.mode == sm.READY
    return app


def test_autotune_refused_when_it_makes_no_sense():
    b = Bench()
    tm = of(b.tc("SRC_AUTOTUNE", 2000, 100), 1, 8)[0]
    assert failure_code(tm) == mdb.FAIL_MODE_NOT_LOCKED  # OFF: no locked crystal to scan
    app = _ready(b)
    b.app.params.set(mdb.parameter("crystal_set_point_mk")[0], 289150)  # 1 K above the lowest settable set point
    tm = of(b.tc("SRC_AUTOTUNE", 2000, 100), 1, 8)[0]
    assert failure_code(tm) == mdb.FAIL_SCAN_RANGE and failure_arg(tm) == 0  # names half_range_mk
    tm = of(b.tc("SRC_AUTOTUNE", 1000, 10), 1, 8)[0]
    assert failure_code(tm) == mdb.FAIL_SCAN_STEP and failure_arg(tm) == 1  # 201 points: names step_mk
    assert app.tuner.runs == 0 and b.app.crystal.set_point_mk == 289150 and not app.calibrating
    tm = of(b.tc("SRC_AUTOTUNE", 99, 100), 1, 2)[0]  # below the declared 100 mK: refused at acceptance
    assert failure_code(tm) == mdb.FAIL_ARG_RANGE and failure_arg(tm) == 0


def test_autotune_by_command_runs_the_pump_and_reports_its_start():
    b = Bench()
    app = _ready(b)
    b.lab.tx.clear()
    tms = b.tc("SRC_AUTOTUNE", 500, 100)
    assert of(tms, 1, 7) and app.tuner.active and app.calibrating
    ev = _events(tms, "EV_SRC_AUTOTUNE_START")
    assert len(ev) == 1 and struct.unpack(">BiHH", ev[0]) == (2, 298150, 500, 100)
    b.run_ms(300)
    assert b.hal.digital_out["pump_enable"].on  # calibrating in READY: the pump runs
    assert failure_code(of(b.tc("SRC_AUTOTUNE", 500, 100), 1, 8)[0]) == mdb.FAIL_BUSY
    b.tc("SRC_MODE", 0)
    assert not app.tuner.active and b.app.crystal.set_point_mk == 298150
    b.run_ms(200)
    assert not b.hal.digital_out["pump_enable"].on


def test_entering_ready_starts_the_scan():
    b = Bench()
    b.hal.analog_in["crystal_thermistor"].uv = 0
    app = b.app.source_app
    app.modes.hold_ms = 200
    b.tc("SRC_MODE", 1)
    b.run_ms(600)
    tms = b.received()
    ev = _events(tms, "EV_SRC_AUTOTUNE_START")
    assert len(ev) == 1 and ev[0][0] == 0  # reason: entering READY
    assert app.tuner.runs == 1


def test_mp_source_cycle_allocates_nothing_between_quality_updates():
    b = Bench()
    b.hal.digital_in["station_in_view"].level = True
    app = _ready(b)
    armed_tc(b, "SRC_MODE", 4)
    b.run_ms(1000)
    assert app.modes.mode == sm.EMITTING and b.hal.digital_out["pump_enable"].on
    app.monitor.cycles_per_basis = 1000000  # the once-a-second quality update may allocate; the rest not
    for n in ("coinc_a0b0", "singles_a0"):
        b.hal.counters[n].add(100)
    assert garbage_bytes(app.step, 100) == 0
