"""Hazardous commands need HAZ_ARM, then the command itself within the arm's life (payload/hazard_gate.py):
refusal without an arm (nothing changes), one execution per arm, expiry, mismatch, disarm, safing commands
without arming, time-tagged hazardous activities under an armed TC[11,4], interlocks after arming."""

import struct

from bus import mdb
from bus.pus import pack_tc
from payload import source_modes as sm
from tests.flight.payload.ground_stub import Bench, of, failure_code
from tests.flight.payload.hazard_support import arm, arm_args, armed_tc

AUTO_EMIT = mdb.parameter("src_auto_emit")[0]
TIMEOUT = mdb.parameter("hazard_arm_timeout_s")[0]
DAYS = 25000
MS0 = 3600000


def _events(tms, name):
    """Arguments of each event ``name`` in ``tms``, unpacked by its declaration."""
    e = mdb.event(name)
    fmt = mdb.args_format(e[4])
    return [struct.unpack(fmt, bytes(t.app_data[2:])) for t in tms
            if t.service == 5 and struct.unpack(">H", t.app_data[:2])[0] == e[0]]


def _refused(tms):
    """The acceptance failure (TM[1,2]) code, or None."""
    f = of(tms, 1, 2)
    return failure_code(f[0]) if f else None


def test_unarmed_hazardous_command_refused_and_nothing_changes():
    b = Bench()
    gate = b.app.hazard
    pump = b.app.pump
    target = pump.target_ua
    tms = b.tc("SRC_PUMP_CURRENT", 88000)  # above PUMP_HIGH_CURRENT_UA
    assert _refused(tms) == mdb.FAIL_NOT_ARMED and not of(tms, 1, 1) and not of(tms, 1, 7)
    assert pump.target_ua == target and not b.hal.digital_out["pump_enable"].on
    crc = arm_args("SRC_PUMP_CURRENT", 88000)[4]
    assert _events(tms, "EV_HAZ_REFUSED") == [(mdb.APID_SOURCE, 8, 1, 4, crc, 1)]  # reason 1: not armed
    tms = b.tc("SRC_MODE", 4)
    assert _refused(tms) == mdb.FAIL_NOT_ARMED and b.app.source_app.modes.mode == sm.OFF
    assert gate.refused == 2 and gate.executed == 0 and b.app.source_app.cmd_rejected == 2
    assert not b.hal.digital_out["pump_enable"].on


def test_armed_command_executes_once():
    b = Bench()
    gate = b.app.hazard
    arm(b, "PARAM_SET", 1, AUTO_EMIT, 1)
    assert gate.armed == 1 and gate.arms == 1
    tms = b.tc("PARAM_SET", 1, AUTO_EMIT, 1)
    assert of(tms, 1, 7) and b.app.source_app.auto_emit == 1
    crc = arm_args("PARAM_SET", 1, AUTO_EMIT, 1)[4]
    assert _events(tms, "EV_HAZ_EXECUTED") == [(mdb.APID_MANAGER, 20, 3, 0, crc, 0, 0)]
    assert gate.armed == 0 and gate.executed == 1
    b.tc("PARAM_SET", 1, AUTO_EMIT, 0)  # safing: no arm
    assert b.app.source_app.auto_emit == 0
    tms = b.tc("PARAM_SET", 1, AUTO_EMIT, 1)  # the arm was consumed
    assert _refused(tms) == mdb.FAIL_NOT_ARMED and b.app.source_app.auto_emit == 0
    assert _events(tms, "EV_HAZ_REFUSED")[0][5] == 1


def test_arm_expires_after_its_timeout():
    b = Bench()
    gate = b.app.hazard
    assert of(b.tc("PARAM_SET", 1, TIMEOUT, 2), 1, 7) and gate.arm_timeout_s == 2
    assert _refused(b.tc("PARAM_SET", 1, TIMEOUT, 301)) is None  # outside 1..300: refused at completion
    assert gate.arm_timeout_s == 2
    tms = b.tc("HAZ_ARM", *arm_args("SYNC_LASER", 1))
    ev = _events(tms, "EV_HAZ_ARMED")
    assert ev == [(mdb.APID_POINTING, 8, 1, 9, arm_args("SYNC_LASER", 1)[4], 2)]
    b.lab.tx.clear()
    b.run_ms(1900)
    assert gate.armed == 1
    b.run_ms(200)
    tms = b.received()
    assert gate.armed == 0 and gate.expired == 1
    assert [e[5] for e in _events(tms, "EV_HAZ_EXPIRED")] == [0]  # reason 0: timeout
    tms = b.tc("SYNC_LASER", 1)
    assert _refused(tms) == mdb.FAIL_NOT_ARMED and _events(tms, "EV_HAZ_REFUSED")[0][5] == 3  # expired


def test_mismatch_refused_and_the_arm_stays_for_its_command():
    b = Bench()
    gate = b.app.hazard
    arm(b, "SRC_PUMP_CURRENT", 88000)
    tms = b.tc("SRC_PUMP_CURRENT", 89000)  # another value: another CRC
    assert _refused(tms) == mdb.FAIL_NOT_ARMED and _events(tms, "EV_HAZ_REFUSED")[0][5] == 2
    assert b.app.pump.target_ua != 89000 and gate.armed == 1
    tms = b.tc("SRC_PUMP_CURRENT", 88000)
    assert of(tms, 1, 7) and b.app.pump.target_ua == 88000 and gate.armed == 0


def test_new_arm_replaces_the_old_and_disarm_drops_it():
    b = Bench()
    gate = b.app.hazard
    arm(b, "SRC_PUMP_CURRENT", 88000)
    tms = b.tc("HAZ_ARM", *arm_args("PARAM_SET", 1, AUTO_EMIT, 1))
    assert [e[5] for e in _events(tms, "EV_HAZ_EXPIRED")] == [2]  # replaced
    assert _refused(b.tc("SRC_PUMP_CURRENT", 88000)) == mdb.FAIL_NOT_ARMED
    tms = b.tc("HAZ_DISARM")
    assert of(tms, 1, 7) and gate.armed == 0 and [e[5] for e in _events(tms, "EV_HAZ_EXPIRED")] == [1]
    assert _refused(b.tc("PARAM_SET", 1, AUTO_EMIT, 1)) == mdb.FAIL_NOT_ARMED
    assert b.app.source_app.auto_emit == 0
    assert of(b.tc("HAZ_DISARM"), 1, 7)  # nothing armed: still completes


def test_arm_refused_for_a_command_that_cannot_be_hazardous():
    b = Bench()
    tms = b.tc("HAZ_ARM", *arm_args("SRC_NOOP"))
    f = of(tms, 1, 8)
    assert f and failure_code(f[0]) == mdb.FAIL_HAZ_TARGET and b.app.hazard.armed == 0


def test_safing_commands_never_need_arming():
    b = Bench()
    b.tc("TIME_SET", DAYS, MS0)
    for name, args in (("SRC_MODE", (0,)), ("APT_STOP", (0,)), ("APT_STOP", (1,)), ("SYNC_LASER", (0,)),
                       ("PARAM_SET", (1, AUTO_EMIT, 0)), ("SRC_PUMP_CURRENT", (40000,)),
                       ("SRC_PUMP_POWER", (37500,)), ("SRC_MODE", (1,))):
        tms = b.tc(name, *args)
        assert of(tms, 1, 7) and _refused(tms) is None, name
    assert b.app.hazard.refused == 0 and b.app.source_app.modes.mode in (sm.WARMUP, sm.LOCKING)


def test_interlocks_still_refuse_after_arming():
    b = Bench()
    gate = b.app.hazard
    tms = armed_tc(b, "SYNC_LASER", 1)  # every beam idle: the laser would have no station
    f = of(tms, 1, 8)
    assert f and failure_code(f[0]) == mdb.FAIL_SYNC_NO_BEAM and not b.app.pointing_app.sync_armed
    ev = _events(tms, "EV_HAZ_EXECUTED")
    assert len(ev) == 1 and ev[0][6] == mdb.FAIL_SYNC_NO_BEAM and gate.armed == 0
    tms = armed_tc(b, "SRC_MODE", 4)  # OFF: emission makes no sense
    assert failure_code(of(tms, 1, 8)[0]) == mdb.FAIL_MODE_REFUSED and b.app.source_app.modes.mode == sm.OFF


def _ephemeris(b, beam, a_urad):
    e = b.app.apt[beam].ephem
    assert e.begin(DAYS, MS0, 2000, 50) == 0
    for i in range(50):
        e.put(i, a_urad, 0, 0, 0, 4500)
    assert e.commit(e.table_crc()) == 0


def test_apt_start_hazardous_only_near_the_gimbal_travel():
    b = Bench()
    b.tc("TIME_SET", DAYS, MS0 + 1000)
    _ephemeris(b, 0, 0)
    _ephemeris(b, 1, mdb.GIMBAL_TRAVEL_URAD - 50000)  # 77 deg: within 5 deg of the stop
    p = b.app.pointing_app
    assert not p.hazard_state("near_travel_limit", (0,)) and p.hazard_state("near_travel_limit", (1,))
    assert of(b.tc("APT_START", 0), 1, 7) and b.app.apt[0].state != 0
    tms = b.tc("APT_START", 1)
    assert _refused(tms) == mdb.FAIL_NOT_ARMED and b.app.apt[1].state == 0
    assert of(armed_tc(b, "APT_START", 1), 1, 7) and b.app.apt[1].state != 0


def _insert(seq0, activities):
    """TC[11,4] application data: (ms after MS0, name, args) each, embedded packets numbered from seq0."""
    data = bytearray([len(activities)])
    for i, (dt_ms, name, args) in enumerate(activities):
        c = mdb.command(name)
        ad = (bytes([c[4]]) if c[4] is not None else b"") + struct.pack(mdb.args_format(c[5]), *args)
        data += struct.pack(">BHI", 0x40, DAYS, MS0 + dt_ms) + pack_tc(c[1], seq0 + i, c[2], c[3], ad)
    return bytes(data)


def test_scheduled_hazardous_activity_runs_on_the_authority_of_its_armed_insert():
    b = Bench()
    gate = b.app.hazard
    b.tc("TIME_SET", DAYS, MS0)
    hazardous = _insert(100, [(500, "MGR_NOOP", ()), (800, "PARAM_SET", (1, AUTO_EMIT, 1))])
    tms = b.tc("SCHED_INSERT", hazardous)
    assert _refused(tms) == mdb.FAIL_NOT_ARMED and b.app.schedule.count == 0  # unarmed: nothing stored
    assert of(b.tc("SCHED_INSERT", _insert(200, [(300, "SRC_MODE", (0,))])), 1, 7)  # nothing hazardous: no arm
    assert of(armed_tc(b, "SCHED_INSERT", hazardous), 1, 7) and b.app.schedule.count == 3
    assert gate.armed == 0 and gate.executed == 1
    assert sorted(b.app.schedule.authorised[i] for i in range(3)) == [0, 0, 1]  # only PARAM_SET is marked
    b.lab.tx.clear()
    b.run_ms(1000)
    tms = b.received()
    assert b.app.schedule.count == 0 and b.app.source_app.auto_emit == 1
    assert _refused(tms) is None and len(of(tms, 1, 7)) == 3
    ev = _events(tms, "EV_HAZ_EXECUTED")
    crc = arm_args("PARAM_SET", 1, AUTO_EMIT, 1)[4]
    assert ev == [(mdb.APID_MANAGER, 20, 3, 0, crc, 1, 0)] and gate.executed == 2  # scheduled, completed


def test_hazard_counters_in_manager_housekeeping():
    hk = [h for h in mdb.HOUSEKEEPING if h[2] == "HK_MANAGER"][0]
    for name in ("haz_armed", "haz_arms", "haz_executed", "haz_refused", "haz_expired"):
        assert name in hk[4]
    b = Bench()
    b.tc("SYNC_LASER", 1)
    arm(b, "SYNC_LASER", 1)
    params = b.app.params
    assert params.get(mdb.parameter("haz_refused")[0]) == 1 and params.get(mdb.parameter("haz_armed")[0]) == 1
    assert params.get(TIMEOUT) == mdb.HAZ_ARM_TIMEOUT_S == 30
