"""Operator command syntax from the mission database."""

import struct

import pytest
from spacepackets.ecss import PusTc

from bus import mdb
from ground_segment.commanding import CommandError, build_tc, describe, encode, parse_args


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
