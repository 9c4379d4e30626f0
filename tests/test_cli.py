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


SOURCE_FIELDS = ("crystal_temp_error_rms_mk", "crystal_temp_error_pp_mk", "autotune_error_k", "time_to_emitting_s",
                 "pair_rate_hz", "visibility_hv", "visibility_da", "chsh_s", "interlock_trips", "mode_timeline")


def test_pass_writes_summary_and_truth(tmp_path, capsys):
    import json

    import numpy as np

    out = tmp_path / "run"
    assert main(["pass", "--scenario", "micius-2020", "--duration", "30", "--seed", "2", "--out", str(out),
                 "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "source.mode_timeline" in text and "1 s WARMUP" in text  # released by the on-board schedule at 1 s
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "micius-2020" and summary["seed"] == 2 and summary["duration_s"] == 30.0
    assert all(k in summary["source"] for k in SOURCE_FIELDS)
    assert summary["source"]["time_to_emitting_s"] is None  # 30 s is not enough to warm up and tune
    truth = np.load(out / "source_truth.npz")
    assert {"t_s", "crystal_temp_k", "setpoint_k", "setpoint_held", "phase_match_temp_k",
            "pump_current_ma"} <= set(truth.files)
    assert len(truth["t_s"]) == 300 and truth["phase_match_temp_k"][0] == 297.15


def test_pass_bad_input_is_one_line_and_writes_nothing(tmp_path):
    for argv, why in ((["--scenario", "nope"], "unknown scenario 'nope'"),
                      (["--scenario", "micius-2020", "--duration", "-5"], "must be > 0")):
        out = tmp_path / "x"
        proc = subprocess.run([sys.executable, "-m", "tools.cli", "pass", *argv, "--out", str(out)],
                              capture_output=True, text=True)
        assert proc.returncode == 2 and why in proc.stderr and "Traceback" not in proc.stderr
        assert not out.exists()
    f = tmp_path / "file"
    f.write_text("")
    proc = subprocess.run([sys.executable, "-m", "tools.cli", "pass", "--scenario", "micius-2020", "--out", str(f)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "not a directory" in proc.stderr
