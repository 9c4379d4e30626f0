"""``qsat plan``: common passes with the time-tagged schedule that operates each, text and JSON, and
one-line errors on bad input."""

import json
import re
import subprocess
import sys

import pytest

from bus import mdb
from tools.cli import main

AUTO_EMIT = mdb.parameter("src_auto_emit")[0]
PASS_LINE = re.compile(r"^pass \d+: (\S+) to \S+, \d+ s of contact; max elevation \w+ ([\d.]+) deg, \w+ ([\d.]+) deg$")


@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "plan.json"
    proc = subprocess.run([sys.executable, "-m", "tools.cli", "plan", "--stations", "Delingha,Nanshan",
                           "--days", "2", "--json", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, json.loads(path.read_text())


def _index(acts, command, **args):
    for i, a in enumerate(acts):
        if a["command"] == command and all(a["args"].get(k) == v for k, v in args.items()):
            return i
    raise AssertionError(f"no {command} {args} in {[a['command'] for a in acts]}")


def test_each_pass_has_a_complete_ordered_schedule(two_days):
    out, passes = two_days
    assert len(passes) >= 1
    assert f"{len(passes)} common pass" in out and "NORAD 41731" in out
    for p in passes:
        assert p["stations"] == ["Delingha", "Nanshan"] and p["start_utc"] < p["end_utc"]
        assert 0 < p["contact_s"] <= 720 and min(p["max_elevation_deg"].values()) >= 10.0
        acts = p["activities"]
        assert 0 < len(acts) <= mdb.SCHEDULE_MAX_ACTIVITIES
        times = [a["release_utc"] for a in acts]
        assert times == sorted(times)
        assert p["uploads_utc"] < times[0]  # the schedule goes up before its first release
        warmup = _index(acts, "SRC_MODE", mode=1)
        start0, start1 = _index(acts, "APT_START", beam=0), _index(acts, "APT_START", beam=1)
        assert warmup < min(start0, start1)
        sync_on, sync_off = _index(acts, "SYNC_LASER", on=1), _index(acts, "SYNC_LASER", on=0)
        opens = _index(acts, "PARAM_SET", pid=AUTO_EMIT, value=1)
        closes = _index(acts, "PARAM_SET", pid=AUTO_EMIT, value=0)
        stop0, stop1 = _index(acts, "APT_STOP", beam=0), _index(acts, "APT_STOP", beam=1)
        off = _index(acts, "SRC_MODE", mode=0)
        assert max(start0, start1) < sync_on < opens < closes <= off < sync_off < min(stop0, stop1)
        # the emission window is the common view; the pass's operations lie around it
        assert p["emission_window_utc"] == [p["start_utc"], p["end_utc"]]
        assert times[opens] == p["start_utc"] and times[closes] == p["end_utc"]
        assert times[warmup] < p["start_utc"] < p["end_utc"] < times[stop0]
        for a in acts:
            assert a["release_utc"] in out


def test_text_lists_the_pass_and_its_commands(two_days):
    out = two_days[0]
    assert "pass 1: 2021-04-27T18:06:05.553Z to 2021-04-27T18:11:50.584Z, 345 s of contact" in out  # micius-2020
    assert "SYNC_LASER" in out and "emission window opens" in out and "beam 1 starts tracking (Nanshan)" in out


def test_start_and_mask_narrow_the_search(capsys):
    assert main(["plan", "--stations", "nanshan,delingha", "--days", "1", "--start", "2021-04-28T00:00:00Z",
                 "--el-mask", "20"]) == 0
    out = capsys.readouterr().out
    assert "Nanshan (beam 0) and Delingha (beam 1)" in out and "elevation mask 20 deg" in out
    rows = [PASS_LINE.match(line) for line in out.splitlines()]
    rows = [m for m in rows if m]
    assert rows
    for m in rows:
        assert m.group(1) >= "2021-04-28T00:00:00Z" and float(m.group(2)) >= 20.0 and float(m.group(3)) >= 20.0


@pytest.mark.parametrize("argv, why", [
    (["--stations", "Delingha,Graz"], "unknown station 'Graz'"),
    (["--stations", "Delingha"], "--stations needs two stations"),
    (["--stations", "Delingha,Nanshan,Ngari"], "--stations needs two stations"),
    (["--stations", "Delingha,DELINGHA"], "names Delingha twice"),
    (["--stations", "Delingha,Nanshan", "--days", "0"], "--days must be in (0, 30]"),
    (["--stations", "Delingha,Nanshan", "--days", "-2"], "--days must be in (0, 30]"),
    (["--stations", "Delingha,Nanshan", "--days", "two"], "--days is not a number"),
    (["--stations", "Delingha,Nanshan", "--el-mask", "-1"], "--el-mask must be in 0..90"),
    (["--stations", "Delingha,Nanshan", "--el-mask", "91"], "--el-mask must be in 0..90"),
    (["--stations", "Delingha,Nanshan", "--start", "2021-02-30"], "--start is not an ISO 8601"),
])
def test_bad_input_is_one_line_and_exit_2(argv, why, capsys):
    assert main(["plan", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qsat plan: ") and why in err and err.count("\n") == 1


def test_unwritable_json_is_one_line(tmp_path, capsys):
    assert main(["plan", "--stations", "Delingha,Nanshan", "--days", "0.5", "--json", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qsat plan: cannot write") and err.count("\n") == 1
