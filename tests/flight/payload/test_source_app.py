"""The source application through its telecommands: modes, refusals, interlocks, events."""

import struct

from bus import mdb
from payload import source_modes as sm
from tests.flight.payload.ground_stub import Bench, of, failure_code


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
    assert failure_code(of(b.tc("SRC_MODE", 4), 1, 8)[0]) == mdb.FAIL_MODE_REFUSED  # from OFF
    b.tc("SRC_MODE", 1)
    assert failure_code(of(b.tc("SRC_MODE", 4), 1, 8)[0]) == mdb.FAIL_MODE_NOT_LOCKED
    modes = b.app.source_app.modes
    modes.hold_ms = 200
    b.hal.analog_in["crystal_thermistor"].uv = 0  # crystal at its set point (25 C)
    b.run_ms(600)
    assert modes.mode == sm.READY
    assert failure_code(of(b.tc("SRC_MODE", 4), 1, 8)[0]) == mdb.FAIL_MODE_NOT_PERMITTED
    b.hal.digital_in["station_in_view"].level = True
    b.run_ms(200)
    assert of(b.tc("SRC_MODE", 4), 1, 7) and modes.mode == sm.EMITTING
    b.tc("SRC_PUMP_CURRENT", 40000)
    b.run_ms(500)
    assert b.hal.digital_out["pump_enable"].on and b.hal.analog_out["pump_current"].value > 0


def test_pump_interlock_cuts_and_reports_safe():
    b = Bench()
    b.hal.digital_in["station_in_view"].level = True
    b.tc("SRC_MODE", 1)
    b.app.source_app.modes.hold_ms = 200
    b.run_ms(600)
    b.tc("SRC_MODE", 4)
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
