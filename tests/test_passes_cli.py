"""``qsat passes``: pass lists, common passes, and one-line errors on bad input."""

import re
import subprocess
import sys

import pytest

from tools.cli import main

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
PASS_ROW = re.compile(rf"^({ISO})\s+({ISO})\s+({ISO})\s+(\d+)\s+([\d.]+)$")
COMMON_ROW = re.compile(rf"^({ISO})\s+({ISO})\s+(\d+)\s+([\d.]+)\s+([\d.]+)$")


def test_passes_over_delingha_for_two_days(capsys):
    assert main(["passes", "--station", "delingha", "--days", "2"]) == 0
    out = capsys.readouterr().out
    assert "NORAD 41731" in out and "TLE epoch 2021-04-27" in out and "Delingha" in out
    rows = [PASS_ROW.match(ln) for ln in out.splitlines()]
    rows = [m for m in rows if m]
    assert 3 <= len(rows) <= 12
    for m in rows:
        rise, culm, set_, dur, max_el = m.groups()
        assert rise <= culm <= set_ and rise.startswith(("2021-04-27", "2021-04-28", "2021-04-29"))
        assert 0 < int(dur) <= 720 and 10.0 <= float(max_el) <= 90.0
    assert f"{len(rows)} passes" in out


def test_common_passes_with_nanshan_over_a_week(capsys):
    assert main(["passes", "--station", "Delingha", "--with", "NANSHAN", "--days", "7"]) == 0
    out = capsys.readouterr().out
    rows = [m for m in map(COMMON_ROW.match, out.splitlines()) if m]
    assert len(rows) >= 1
    for m in rows:
        start, end, dur, el_a, el_b = m.groups()
        assert start < end and 0 < int(dur) <= 720 and float(el_a) >= 10 and float(el_b) >= 10
    assert f"{len(rows)} common passes" in out


def test_start_and_mask_options(capsys):
    assert main(["passes", "--station", "ngari", "--days", "1", "--start", "2021-04-28T00:00:00Z",
                 "--min-elevation", "30"]) == 0
    out = capsys.readouterr().out
    rows = [m for m in map(PASS_ROW.match, out.splitlines()) if m]
    for m in rows:
        assert m.group(1) >= "2021-04-28T00:00:00Z" and float(m.group(5)) >= 30.0


@pytest.mark.parametrize("argv, why", [
    (["--station", "graz"], "unknown station 'graz'"),
    (["--station", "delingha", "--with", "atlantis"], "unknown station 'atlantis'"),
    (["--station", "delingha", "--days", "0"], "--days must be in (0, 30]"),
    (["--station", "delingha", "--days", "31"], "--days must be in (0, 30]"),
    (["--station", "delingha", "--days", "two"], "--days is not a number"),
    (["--station", "delingha", "--start", "2021-02-30"], "--start is not an ISO 8601"),
    (["--station", "delingha", "--min-elevation", "-1"], "--min-elevation must be in 0..90"),
    (["--station", "delingha", "--min-elevation", "95"], "--min-elevation must be in 0..90"),
    ([], "--station is required"),
])
def test_bad_input_is_one_line_exit_2(argv, why):
    proc = subprocess.run([sys.executable, "-m", "tools.cli", "passes", *argv], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and why in lines[0] and "Traceback" not in proc.stderr
    assert proc.stdout == ""
