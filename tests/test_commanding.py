"""Operator command syntax from the mission database, and the reasons of refused commands."""

import json
import struct

import pytest
from spacepackets.ecss import PusTc

from bus import mdb, pus
from ground_segment import mdb_decode as md
from ground_segment import packets
from ground_segment.commanding import CommandError, build_tc, describe, encode, failure_reason, parse_args


def test_function_commands_and_arguments():
    assert encode("MGR_NOOP", {}) == (0x010, 8, 1, b"\x00")
    apid, svc, sub, data = encode("apt_fine_enable", parse_args(["beam=1", "on=off"]))
    assert (apid, svc, sub, data) == (0x030, 8, 1, b"\x02\x01\x00")
    pid = mdb.parameter("crystal_set_point_mk")[0]
    _, _, _, data = encode("PARAM_SET", {"pid": hex(pid), "value": "300000"})
    assert data == struct.pack(">BHi", 1, pid, 300000)  # the one-element count filled in


def test_errors_are_one_line_reasons():
    with pytest.raises(CommandError, match="unknown command"):
        encode("LAUNCH_MISSILES", {})
    with pytest.raises(CommandError, match="needs beam="):
        encode("APT_FINE_ENABLE", {"on": "1"})
    with pytest.raises(CommandError, match="outside 0..1"):
        encode("APT_FINE_ENABLE", {"beam": "2", "on": "1"})
    with pytest.raises(CommandError, match="no argument colour"):
        encode("MGR_PING", {"colour": "red"})
    with pytest.raises(CommandError, match="not an integer"):
        encode("TIME_SET", {"days": "soon", "ms_of_day": "0"})
    with pytest.raises(CommandError, match="key=value"):
        parse_args(["beam"])
    with pytest.raises(CommandError, match="data=HEX"):
        encode("SCHED_INSERT", {})


def test_built_packets_parse_with_spacepackets():
    raw = build_tc("TIME_SET", {"days": "24800", "ms_of_day": "1000"}, seq_count=42)
    tc = PusTc.unpack(raw)
    assert (tc.apid, tc.service, tc.seq_count) == (0x010, 9, 42)
    assert tc.app_data == struct.pack(">HI", 24800, 1000)


def test_every_command_has_usage():
    for c in mdb.COMMANDS:
        assert describe(c[0]).startswith(c[0])


# --- verification failures: the limit that was violated, in words ---------------------------

SET_POINT = mdb.parameter("crystal_set_point_mk")[0]


def _failure_report(apid, seq, subtype, code, arg_index=None):
    """TM[1,subtype] as the payload sends it: request ID, code, then the argument index (absent: old flight)."""
    data = struct.pack(">HHH", 0x1800 | apid, 0xC000 | seq, code)
    if arg_index is not None:
        data += bytes([arg_index])
    return packets.build_tm(apid, 3, 1, subtype, 24800, 1000, data)


def test_failure_reasons_name_the_limit():
    assert (failure_reason("SRC_PUMP_CURRENT", {"current_ua": "95000"}, mdb.FAIL_ARG_RANGE, 0)
            == "argument current_ua=95000 outside 0..90000 uA")
    assert (failure_reason("apt_fine_enable", {"beam": 0, "on": 2}, mdb.FAIL_ARG_RANGE, 1)
            == "argument on=2 outside 0..1")  # no unit declared
    assert (failure_reason("PARAM_SET", {"pid": hex(SET_POINT), "value": "999999"}, mdb.FAIL_PARAM_RANGE, 2)
            == "value 999999 of crystal_set_point_mk outside the parameter's settable range 288150..333150 mK")
    assert (failure_reason("HK_ONE_SHOT", {"sid": "99"}, mdb.FAIL_UNKNOWN_SID, 1)
            == "no housekeeping packet has this SID (argument sid)")
    assert (failure_reason("PARAM_SET", {"pid": "0x7777", "value": "1"}, mdb.FAIL_UNKNOWN_PARAMETER, 1)
            == "no parameter has this ID (argument pid)")
    # no argument named, or one the ground does not know: the code's text as before
    assert failure_reason("SCHED_DELETE", {"apid": "0x30", "seq_count": "5"}, mdb.FAIL_SCHEDULE_NOT_FOUND) \
        == "no scheduled command has this request ID"
    assert failure_reason("MGR_PING", {}, mdb.FAIL_ARG_RANGE, 3) == "an argument is outside its declared range (argument 3)"
    assert failure_reason("NO_SUCH_COMMAND", {}, pus.INCORRECT_CRC) == pus.FAILURES[pus.INCORRECT_CRC][1]


@pytest.mark.parametrize("fast", [True, False])
def test_failure_reports_decode_with_and_without_the_argument_index(fast):
    dec = md.Decoder(fast=fast)
    new, = dec.decode(_failure_report(mdb.APID_SOURCE, 12, 2, mdb.FAIL_ARG_RANGE, 0))
    assert (new.apid, new.seq_count, new.stage, new.success) == (mdb.APID_SOURCE, 12, "acceptance", False)
    assert (new.code, new.failure, new.arg_index) == (mdb.FAIL_ARG_RANGE, "ARGUMENT_OUT_OF_RANGE", 0)
    none, = dec.decode(_failure_report(mdb.APID_MANAGER, 13, 8, mdb.FAIL_SCHEDULE_NOT_FOUND, pus.NO_ARGUMENT))
    assert none.stage == "completion" and none.code == mdb.FAIL_SCHEDULE_NOT_FOUND and none.arg_index is None
    old, = dec.decode(_failure_report(mdb.APID_MANAGER, 14, 8, mdb.FAIL_PARAM_RANGE))  # 6 octets: earlier flight
    assert (old.seq_count, old.code, old.arg_index) == (14, mdb.FAIL_PARAM_RANGE, None)
    assert old.reason == "value outside the parameter's settable range"
    with pytest.raises(md.MalformedPacket):  # neither 6 nor 7 octets
        dec.decode(packets.build_tm(mdb.APID_MANAGER, 3, 1, 2, 0, 0, bytes(8)))


class _Tool:
    """The stream of an operator tool waiting on a command."""

    def __init__(self):
        self.lines = []

    def is_closing(self):
        return False

    def write(self, data):
        self.lines.extend(json.loads(x) for x in data.decode().splitlines())


def test_ground_station_reports_the_limit_to_the_operator(tmp_path):
    from ground_segment.station import GroundStation, PendingCommand

    gs = GroundStation(archive_path=str(tmp_path / "g.sqlite"), key_file=str(tmp_path / "keys.json"))
    sent = [("PARAM_SET", {"pid": "0x0206", "value": "999999"}, mdb.APID_MANAGER, 8, mdb.FAIL_PARAM_RANGE, 2),
            ("SRC_PUMP_CURRENT", {"current_ua": "95000"}, mdb.APID_SOURCE, 2, mdb.FAIL_ARG_RANGE, 0),
            ("HK_ONE_SHOT", {"sid": "99"}, mdb.APID_MANAGER, 8, mdb.FAIL_UNKNOWN_SID, 1),
            ("PARAM_SET", {"pid": "0x0206", "value": "999999"}, mdb.APID_MANAGER, 8, mdb.FAIL_PARAM_RANGE, None),
            ("SRC_PUMP_CURRENT", {"current_ua": "95000"}, mdb.APID_SOURCE, 2, mdb.FAIL_ARG_RANGE, None)]
    tools = []
    for seq, (name, args, apid, subtype, code, idx) in enumerate(sent):
        row = gs.archive.add_command(name, args, apid, seq, 0.0)
        tool = _Tool()
        gs.pending[(apid, seq)] = PendingCommand(name, args, apid, seq, 0b1111, 10.0, row, tool)
        gs.on_packet(_failure_report(apid, seq, subtype, code, idx), 1.0)
        tools.append(tool)
    done = [t.lines[-1] for t in tools]
    assert all(d["event"] == "done" and not d["success"] for d in done)
    assert [d["reason"] for d in done] == [
        "completion failed: value 999999 of crystal_set_point_mk outside the parameter's settable range "
        "288150..333150 mK",
        "acceptance failed: argument current_ua=95000 outside 0..90000 uA",
        "completion failed: no housekeeping packet has this SID (argument sid)",
        "completion failed: value 999999 of crystal_set_point_mk outside the parameter's settable range "
        "288150..333150 mK",  # an old report without the index: PARAM_SET still names its parameter
        "acceptance failed: an argument is outside its declared range",  # old report: which one is not known
    ]
    assert tools[1].lines[0] == {"event": "stage", "stage": "acceptance", "success": False,
                                 "code": mdb.FAIL_ARG_RANGE, "reason": "argument current_ua=95000 outside 0..90000 uA"}
    gs.archive.commit()
    assert [c.state for c in gs.archive.commands()] == [d["reason"] for d in done]
    assert not gs.pending
