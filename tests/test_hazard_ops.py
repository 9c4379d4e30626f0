"""Hazardous commands on the ground (docs/hazardous_commands.md): the declaration read by the operator
tools, the HAZ_ARM built for exactly one command (the board's CRC), the pass plans' arms, and
``qsat tc`` end to end: refused without ``--arm`` (exit code 2, nothing sent), armed with it."""

import json
import subprocess
import time

from bus import mdb
from bus.crc16 import crc16
from bus.pus import TC_APP_DATA_OFFSET
from ground_segment.commanding import arm_args, arm_args_for_packet, build_tc, hazard_reason
from ground_segment.schedule import insert_data, time_tag
from tests.test_e2e_ops import QSAT, _free_tcp_port, _tc, system  # noqa: F401 - the fixture, started here again

AUTO_EMIT = mdb.parameter("src_auto_emit")[0]
T0 = 2_000_000_000.0


def test_hazard_reason_follows_the_declaration():
    assert hazard_reason("SRC_MODE", {"mode": "4"}) == "SRC_MODE mode=4 is hazardous"
    for name, args in (("SRC_MODE", {"mode": "0"}), ("SRC_MODE", {"mode": "1"}), ("SYNC_LASER", {"on": "off"}),
                       ("APT_STOP", {"beam": "0"}), ("PARAM_SET", {"pid": str(AUTO_EMIT), "value": "0"}),
                       ("PARAM_SET", {"pid": "0x0206", "value": "300000"}), ("MGR_PING", {}),
                       ("SRC_PUMP_CURRENT", {"current_ua": str(mdb.PUMP_HIGH_CURRENT_UA)}),
                       ("SRC_PUMP_POWER", {"power_uw": "37500"})):
        assert hazard_reason(name, args) is None, name
    assert hazard_reason("SYNC_LASER", {"on": "on"}) == "SYNC_LASER on=1 is hazardous"
    assert hazard_reason("SRC_PUMP_CURRENT", {"current_ua": str(mdb.PUMP_HIGH_CURRENT_UA + 1)})
    assert hazard_reason("SRC_PUMP_POWER", {"power_uw": "40001"})
    assert "src_auto_emit" in hazard_reason("PARAM_SET", {"pid": str(AUTO_EMIT), "value": "1"})
    assert hazard_reason("APT_START", {"beam": "0"}).startswith("APT_START is hazardous (when")  # state: unknown here


def test_a_schedule_insert_is_hazardous_when_it_embeds_a_hazardous_command():
    safe, = insert_data(time_tag([(T0, "SRC_MODE", {"mode": 1}), (T0 + 1, "SYNC_LASER", {"on": 0})]))
    risky, = insert_data(time_tag([(T0, "SRC_MODE", {"mode": 1}), (T0 + 1, "SYNC_LASER", {"on": 1})]))
    assert hazard_reason("SCHED_INSERT", {"data": safe.hex()}) is None
    assert "SYNC_LASER on=1" in hazard_reason("SCHED_INSERT", {"data": risky.hex()})


def test_arm_names_exactly_the_command_with_the_boards_crc():
    pkt = build_tc("SRC_MODE", {"mode": 4}, seq_count=77)
    a = arm_args("SRC_MODE", {"mode": "4"})
    assert a == arm_args_for_packet(pkt) == {"apid": mdb.APID_SOURCE, "service": 8, "subtype": 1, "function": 3,
                                             "crc": crc16(pkt[TC_APP_DATA_OFFSET:-2])}
    assert arm_args("SRC_MODE", {"mode": 5})["crc"] != a["crc"]  # another value, another arm
    p = arm_args("PARAM_SET", {"pid": AUTO_EMIT, "value": 1})
    assert (p["service"], p["subtype"], p["function"]) == (20, 3, 0)
    build_tc("HAZ_ARM", a, seq_count=1)  # within HAZ_ARM's declared ranges


def test_pass_plans_arm_every_hazardous_immediate_command():
    from sim.scenarios import get_scenario

    for name in ("micius-2020", "cubesat-bench"):
        plan = get_scenario(name).plan()
        up = list(plan.uplink)
        packets = [p for _, p in plan.commands()]
        for i, (_, n, args) in enumerate(up):
            if hazard_reason(n, args) is not None:
                assert up[i - 1][1] == "HAZ_ARM" and up[i - 1][2] == arm_args_for_packet(packets[i]), (name, n)
        assert sum(1 for _, n, _ in up if n == "HAZ_ARM") >= 1
        if plan.schedule:
            assert plan.schedule_seq_counts()[0] == len(up) + 1


def test_hazardous_command_refused_without_arm_before_anything_is_sent():
    # no ground station on this port: the tool refuses before trying to reach one
    r = subprocess.run(QSAT + ["tc", "SRC_MODE", "mode=4", "--port", str(_free_tcp_port())], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and r.stderr.strip() == "qsat tc: SRC_MODE mode=4 is hazardous: repeat with --arm"


def test_arm_then_execute_over_the_space_link(system):  # noqa: F811 - the fixture
    r = _tc(system, "PARAM_SET", f"pid=0x{AUTO_EMIT:04X}", "value=1")
    assert r.returncode == 2 and "repeat with --arm" in r.stderr and "sent" not in r.stdout
    r = _tc(system, "PARAM_SET", f"pid=0x{AUTO_EMIT:04X}", "value=1", "--arm")
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0].startswith("sent HAZ_ARM") and any(line.startswith("sent PARAM_SET") for line in out)
    assert r.stdout.count("completion  ok") == 2 and "armed PARAM_SET" in r.stdout
    assert "executed PARAM_SET" in r.stdout
    # arming never bypasses an interlock: every beam is idle, so the sync laser is refused after its arm
    r = _tc(system, "SYNC_LASER", "on=1", "--arm")
    assert r.returncode == 1 and "armed SYNC_LASER" in r.stdout
    assert "no beam is started" in r.stderr
    time.sleep(1.0)
    c = subprocess.run(QSAT + ["archive", "commands", "--archive", str(system["archive"]), "--limit", "20"],
                       capture_output=True, text=True, timeout=30)
    rows = [json.loads(line) for line in c.stdout.splitlines()]
    names = [row["name"] for row in rows]
    assert names[-4:] == ["HAZ_ARM", "PARAM_SET", "HAZ_ARM", "SYNC_LASER"], names
    e = subprocess.run(QSAT + ["archive", "events", "EV_HAZ_EXECUTED", "--archive", str(system["archive"])],
                       capture_output=True, text=True, timeout=30)
    codes = [json.loads(line)["args"]["code"] for line in e.stdout.splitlines()]
    assert codes[-2:] == [0, mdb.FAIL_SYNC_NO_BEAM]
