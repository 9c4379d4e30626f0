"""The qsat command line: the main job and its error handling."""

import subprocess
import sys

from tools.cli import main


def test_run_prints_housekeeping(capsys):
    assert main(["run", "--duration", "2", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "booting emulated payload (seed 4)" in out
    assert "ran 2 s virtual" in out and "real-time factor" in out
    lines = [ln for ln in out.splitlines() if ln.strip() and ln.split()[0].isdigit()]
    assert [int(ln.split()[0]) for ln in lines] == [0, 1]  # one HK row per second (uptime_s)


def test_bad_duration_is_one_line_error():
    proc = subprocess.run([sys.executable, "-m", "tools.cli", "run", "--duration", "-3"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "must be > 0" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_command_rejected():
    proc = subprocess.run([sys.executable, "-m", "tools.cli", "fly-to-the-moon"], capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
