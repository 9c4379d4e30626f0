"""Verification failure reports name the argument at fault: request ID, code (u16), argument index (u8)."""

import struct

from bus import mdb
from bus.pus import pack_tc, NO_ARGUMENT
from tests.flight.payload.ground_stub import Bench, of, failure_code, failure_arg

SET_POINT = mdb.parameter("crystal_set_point_mk")[0]
TEMP = mdb.parameter("crystal_temp_mk")[0]


def _only(tms, subtype):
    fails = of(tms, 1, subtype)
    assert len(fails) == 1
    return fails[0]


def test_argument_out_of_range_names_its_index():
    b = Bench()
    f = _only(b.tc("SRC_PUMP_CURRENT", 95000), 2)  # current_ua 0..90000
    assert f.apid == mdb.APID_SOURCE and len(f.app_data) == 7
    assert struct.unpack(">HHHB", f.app_data) == (0x1800 | mdb.APID_SOURCE, 0xC000 | b.seq, mdb.FAIL_ARG_RANGE, 0)
    assert failure_arg(_only(b.tc("APT_FINE_ENABLE", 0, 2), 2)) == 1  # beam fine, on 2 is not 0..1
    assert failure_arg(_only(b.tc("APT_FINE_ENABLE", 5, 7), 2)) == 0  # the first one out of range
    f = _only(b.tc("HK_SET_INTERVAL", 1, 1, 0), 2)  # interval_s 1..3600
    assert (failure_code(f), failure_arg(f)) == (mdb.FAIL_ARG_RANGE, 2)
    assert b.app.source_app.cmd_rejected == 1 and b.app.pointing_app.cmd_rejected == 2


def test_out_of_range_parameter_value_points_at_value():
    b = Bench()
    before = b.app.crystal.set_point_mk
    f = _only(b.tc("PARAM_SET", 1, SET_POINT, 999999), 8)
    assert struct.unpack(">HHHB", f.app_data)[2:] == (mdb.FAIL_PARAM_RANGE, 2)  # n, pid, value
    assert [a[0] for a in mdb.command("PARAM_SET")[5]][2] == "value"
    f = _only(b.tc("PARAM_SET", 1, TEMP, 1), 8)
    assert (failure_code(f), failure_arg(f)) == (mdb.FAIL_PARAM_READ_ONLY, 1)  # the parameter
    f = _only(b.tc("PARAM_SET", 1, 0x7777, 1), 8)
    assert (failure_code(f), failure_arg(f)) == (mdb.FAIL_UNKNOWN_PARAMETER, 1)
    assert b.app.crystal.set_point_mk == before
    assert of(b.tc("PARAM_SET", 1, SET_POINT, 300000), 1, 7)  # in range: no failure data at all


def test_handler_failure_names_the_argument_then_resets():
    b = Bench()
    f = _only(b.tc("HK_ONE_SHOT", 1, 99), 8)
    assert (failure_code(f), failure_arg(f)) == (mdb.FAIL_UNKNOWN_SID, 1)  # n, sid
    f = _only(b.tc("EVENT_DISABLE", 1, 0x7777), 8)
    assert (failure_code(f), failure_arg(f)) == (mdb.FAIL_UNKNOWN_EVENT, 1)
    f = _only(b.tc("SCHED_DELETE", 1, 0x030, 5), 8)  # no single argument at fault
    assert (failure_code(f), failure_arg(f)) == (mdb.FAIL_SCHEDULE_NOT_FOUND, NO_ARGUMENT)


def test_any_application_handler_can_name_an_argument():
    b = Bench()
    app = b.app.pointing_app
    cmd = app.commands[(8, 1, mdb.command("APT_FINE_ENABLE")[4])]

    def refuse_on(args, tc):
        app.fail_arg = 1  # "on"
        return mdb.FAIL_MODE_REFUSED

    cmd.handler = refuse_on
    tms = b.tc("APT_FINE_ENABLE", 0, 1)
    f = _only(tms, 8)
    assert (failure_code(f), failure_arg(f)) == (mdb.FAIL_MODE_REFUSED, 1) and f.apid == mdb.APID_POINTING
    assert of(tms, 1, 1) and of(tms, 1, 3)  # accepted and started before the handler refused
    assert app.fail_arg == NO_ARGUMENT and app.cmd_rejected == 1


def test_failures_without_an_argument_carry_none():
    b = Bench()
    b.lab.tx.clear()
    b.send_raw(pack_tc(0x055, 1, 17, 1))  # no such APID
    f = _only(b.received(), 2)
    assert (failure_code(f), failure_arg(f), len(f.app_data)) == (mdb.FAIL_ILLEGAL_APID, NO_ARGUMENT, 7)
    b.lab.tx.clear()
    b.send_raw(pack_tc(0x030, 5, 8, 1, b"\x02\x00"))  # APT_FINE_ENABLE one octet short
    f = _only(b.received(), 2)
    assert (failure_code(f), failure_arg(f)) == (mdb.FAIL_LENGTH, NO_ARGUMENT)
    good = bytearray(pack_tc(0x010, 9, 17, 1))
    good[-1] ^= 0xFF
    b.lab.tx.clear()
    b.send_raw(bytes(good))
    assert failure_arg(_only(b.received(), 2)) == NO_ARGUMENT
