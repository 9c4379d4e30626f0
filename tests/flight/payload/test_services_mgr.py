"""Manager services: parameters (20), housekeeping (3), time (9), schedule (11)."""

import struct

from bus import mdb
from bus.pus import pack_tc
from tests.flight.payload.ground_stub import Bench, of, failure_code, event_ids

SET_POINT = mdb.parameter("crystal_set_point_mk")[0]
TEMP = mdb.parameter("crystal_temp_mk")[0]


def test_parameter_set_within_range_and_reported():
    b = Bench()
    tms = b.tc("PARAM_SET", 1, SET_POINT, 300000)
    assert of(tms, 1, 7) and b.app.crystal.set_point_mk == 300000
    assert mdb.event("EV_PARAM_SET")[0] in event_ids(tms)
    rep = of(b.tc("PARAM_GET", 1, SET_POINT), 20, 2)[0]
    assert struct.unpack(">BHi", rep.app_data) == (1, SET_POINT, 300000)


def test_parameter_set_refusals_change_nothing():
    b = Bench()
    before = b.app.crystal.set_point_mk
    assert failure_code(of(b.tc("PARAM_SET", 1, SET_POINT, 400000), 1, 8)[0]) == mdb.FAIL_PARAM_RANGE
    assert failure_code(of(b.tc("PARAM_SET", 1, TEMP, 1), 1, 8)[0]) == mdb.FAIL_PARAM_READ_ONLY
    assert failure_code(of(b.tc("PARAM_SET", 1, 0x7777, 1), 1, 8)[0]) == mdb.FAIL_UNKNOWN_PARAMETER
    assert b.app.crystal.set_point_mk == before


def test_housekeeping_periodic_disable_one_shot_interval():
    b = Bench()
    b.lab.tx.clear()
    b.run_ms(3000)
    sids = [struct.unpack(">H", t.app_data[:2])[0] for t in of(b.received(), 3, 25)]
    assert sids.count(1) == 3 and sids.count(2) == 3 and sids.count(3) == 3
    b.tc("HK_DISABLE", 1, 2)
    b.lab.tx.clear()
    b.run_ms(2000)
    sids = [struct.unpack(">H", t.app_data[:2])[0] for t in of(b.received(), 3, 25)]
    assert 2 not in sids and 1 in sids
    tms = b.tc("HK_ONE_SHOT", 1, 2)
    assert [struct.unpack(">H", t.app_data[:2])[0] for t in of(tms, 3, 25)] == [2]
    assert failure_code(of(b.tc("HK_ENABLE", 1, 99), 1, 8)[0]) == mdb.FAIL_UNKNOWN_SID
    b.tc("HK_SET_INTERVAL", 1, 1, 2)
    b.lab.tx.clear()
    b.run_ms(4000)
    sids = [struct.unpack(">H", t.app_data[:2])[0] for t in of(b.received(), 3, 25)]
    assert sids.count(1) == 2


def test_housekeeping_layout_matches_database():
    b = Bench()
    b.lab.tx.clear()
    b.run_ms(1000)
    rep = [t for t in of(b.received(), 3, 25) if t.app_data[:2] == b"\x00\x02"][0]
    decl = [h for h in mdb.HOUSEKEEPING if h[0] == 2][0]
    values = struct.unpack(mdb.hk_format(decl), rep.app_data[2:])
    named = dict(zip(decl[4], values))
    assert named["crystal_set_point_mk"] == b.app.crystal.set_point_mk
    assert named["crystal_temp_mk"] == b.app.crystal.temp_mk


def test_time_set_stamps_telemetry():
    b = Bench()
    tms = b.tc("TIME_SET", 24800, 43200000)
    assert of(tms, 1, 7) and b.app.services.time.valid == 1
    b.lab.tx.clear()
    b.run_ms(1000)
    t = of(b.received(), 3, 25)[-1]
    assert t.days == 24800 and 43200000 < t.ms_of_day <= 43201100
    assert t.time_ref_status == 1


def _activity(days, ms, packet):
    return bytes([0x40]) + struct.pack(">HI", days, ms) + packet


def test_schedule_releases_at_its_time_and_refuses_the_past():
    b = Bench()
    b.tc("TIME_SET", 24800, 1000)
    ping = pack_tc(0x020, 77, 17, 1)
    insert = bytes([1]) + _activity(24800, 3000, ping)
    assert of(b.tc("SCHED_INSERT", insert), 1, 7)
    assert b.app.schedule.count == 1
    b.lab.tx.clear()
    b.run_ms(1500)  # now ~2.6 s of day
    assert not of(b.received(), 17, 2)
    b.run_ms(600)
    tms = b.received()
    assert len(of(tms, 17, 2)) == 1 and of(tms, 17, 2)[0].apid == 0x020
    ev = [t for t in of(tms, 5, 1) if struct.unpack(">H", t.app_data[:2])[0] == mdb.event("EV_SCHED_EXECUTED")[0]]
    assert len(ev) == 1 and struct.unpack(">HH", ev[0].app_data[2:]) == (0x020, 77)  # its request ID
    assert of(tms, 1, 7)[0].app_data[2:4] == b"\xc0\x4d"  # its completion report: sequence count 77
    assert b.app.schedule.count == 0 and b.app.schedule.released == 1
    past = bytes([1]) + _activity(24800, 10, ping)
    assert failure_code(of(b.tc("SCHED_INSERT", past), 1, 8)[0]) == mdb.FAIL_RELEASE_IN_PAST


def test_schedule_needs_time_and_is_atomic():
    b = Bench()
    ping = pack_tc(0x020, 1, 17, 1)
    one = bytes([1]) + _activity(1, 5000, ping)
    assert failure_code(of(b.tc("SCHED_INSERT", one), 1, 8)[0]) == mdb.FAIL_TIME_NOT_SET
    b.tc("TIME_SET", 100, 0)
    bad = bytes([2]) + _activity(100, 9000, ping) + _activity(100, 9000, ping[:-3])
    assert failure_code(of(b.tc("SCHED_INSERT", bad), 1, 8)[0]) != 0
    assert b.app.schedule.count == 0  # the good first activity was not stored either


def test_schedule_delete_and_list():
    b = Bench()
    b.tc("TIME_SET", 100, 0)
    ins = bytes([2]) + _activity(100, 90000, pack_tc(0x030, 5, 17, 1)) + _activity(100, 95000, pack_tc(0x040, 6, 17, 1))
    b.tc("SCHED_INSERT", ins)
    rep = of(b.tc("SCHED_LIST"), 11, 10)
    assert len(rep) == 1 and rep[0].app_data[0] == 2
    assert of(b.tc("SCHED_DELETE", 1, 0x030, 5), 1, 7)
    assert b.app.schedule.count == 1
    assert failure_code(of(b.tc("SCHED_DELETE", 1, 0x030, 5), 1, 8)[0]) == mdb.FAIL_SCHEDULE_NOT_FOUND
    b.tc("SCHED_RESET")
    assert b.app.schedule.count == 0
