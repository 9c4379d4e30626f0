"""The fault-injection campaign (tools/faults.py) over the real flight software in lock-step.

The whole campaign runs once with the FDIR monitors on; a control run of some of the faults
with the monitors off (FDIR_ENABLE 255 0) shows that the table measures what the monitors do.
"""

import json

import pytest

from sim.faults import KINDS, FaultInjector, check_injection, load_schedule
from tools import faults as F

pytestmark = pytest.mark.timeout(900)
CONTROL = ("pump_overcurrent", "mirror_stuck", "clock_jump", "param_bit_flip")


@pytest.fixture(scope="module")
def base():
    return F.Base(seed=1)


@pytest.fixture(scope="module")
def rows(base):
    return {c.fault: F.run_fault(base, c, monitors=True) for c in F.CAMPAIGN}


@pytest.fixture(scope="module")
def control(base):
    return {c.fault: F.run_fault(base, c, monitors=False) for c in F.CAMPAIGN if c.fault in CONTROL}


def test_campaign_covers_twelve_kinds_and_the_base_is_a_pass_in_progress(base):
    assert len({c.fault for c in F.CAMPAIGN}) >= 12
    assert {c.fault for c in F.CAMPAIGN} == set(KINDS)
    app = base.runner.app
    assert app.source_app.modes.mode == 4  # EMITTING
    assert [b.state for b in app.apt] == [4, 4]  # both beams in fine track


def test_every_fault_is_detected_and_recovered(rows):
    for name, row in rows.items():
        assert row["detected"], f"{name}: not detected ({row['events']})"
        assert row["recovered"], f"{name}: not recovered within its bound ({row})"


def test_no_laser_while_pointing_is_lost_or_an_interlock_is_open(rows):
    """From the simulator's truth: the pump never lases while a beam's truth error exceeds the
    downlink divergence or an interlock condition holds, beyond the 0.2 s reaction allowance."""
    for name, row in rows.items():
        assert row["laser_unsafe_s"] == 0.0, f"{name}: {row['laser_unsafe_s']} s of lasing while unsafe"


def test_watchdog_reset_reports_its_cause_and_restores_the_source(rows):
    row = rows["hung_rate_group"]
    assert row["resets"] == 1 and row["reset_cause_hk"] == 3  # WATCHDOG, in HK_MANAGER as the ground decoded it
    assert "EV_TBL_LOADED" in row["events"] and "EV_TBL_RESUME" in row["events"]
    assert row["recovered"]  # the source warmed up again on the stored set point by itself


def test_time_to_safe_within_bounds(rows):
    # source interlocks cut the pump in the 10 Hz step they open in; the truth's resolution is the
    # source plant's 0.1 s step; a hung processor is safe once the 2 s watchdog has reset it
    for name in ("thermistor_open", "thermistor_short", "pump_overcurrent"):
        assert rows[name]["time_to_safe_s"] <= 0.4, rows[name]
    for name in ("mirror_stuck", "beacon_loss"):
        assert rows[name]["time_to_safe_s"] <= 0.5, rows[name]
    assert rows["mirror_saturation"]["time_to_safe_s"] <= 5.0  # the drift needs ~3 s to fill the mirror's travel
    assert 1.9 <= rows["hung_rate_group"]["time_to_safe_s"] <= 2.5
    assert rows["clock_jump"]["time_to_safe_s"] <= 0.2  # on-board time corrected
    assert rows["param_bit_flip"]["time_to_safe_s"] <= 1.1  # scrubbed within a housekeeping second


def test_data_lost_matches_the_link_truth(rows):
    for name, row in rows.items():
        if name == "tm_link_down":
            continue
        assert row["data_lost"] == 0, row
    link = rows["tm_link_down"]
    assert link["link_lost_tm"] > 0  # the link really lost telemetry ...
    assert link["data_lost"] == 0  # ... and the packet store's playback gave all of it back


def test_control_run_without_monitors_shows_faults_undetected(rows, control):
    for name in CONTROL:
        assert rows[name]["detected"]
        assert not control[name]["detected"], control[name]
    # without the monitors the source stays SAFE after the over-current, the stuck mirror's beam is
    # only dropped by the tracking logic, the jumped clock stays wrong
    assert not control["pump_overcurrent"]["recovered"]
    assert not control["clock_jump"]["recovered"]
    assert control["mirror_stuck"]["laser_unsafe_s"] >= rows["mirror_stuck"]["laser_unsafe_s"]


def test_cli_prints_the_table_and_writes_the_json_rows(rows, tmp_path, capsys, monkeypatch):
    """``qsat faults --json`` end to end, on the campaign the fixture ran (not run twice)."""
    from tools.cli import main

    def campaign(cases, seed, monitors, say):
        assert seed == 1 and monitors
        return [rows[c.fault] for c in cases]

    monkeypatch.setattr(F, "run_campaign", campaign)
    out = tmp_path / "faults.json"
    assert main(["faults", "--only", "clock_jump,beacon_loss", "--json", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert [r["fault"] for r in data] == ["beacon_loss", "clock_jump"]
    for r in data:
        assert {"fault", "detected", "time_to_safe_s", "recovered", "data_lost"} <= set(r)
        assert r["detected"] is True and isinstance(r["data_lost"], int)
    table = capsys.readouterr().out
    assert "clock_jump" in table and "2/2 detected, 2/2 recovered, 0 packets lost" in table


def test_bad_input_is_refused_with_a_reason(tmp_path, capsys):
    from tools.cli import main

    assert main(["faults", "--only", "meteor"]) == 2
    assert "unknown fault meteor" in capsys.readouterr().err
    assert main(["faults", "--json", str(tmp_path / "no" / "dir.json")]) == 2
    with pytest.raises(ValueError, match="unknown fault"):
        check_injection("meteor", 0.0, None)
    with pytest.raises(ValueError, match="duration"):
        check_injection("tec_failure", 1.0, -5)
    with pytest.raises(ValueError, match="no parameter"):
        check_injection("tec_failure", 1.0, None, {"volts": 3})
    bad = tmp_path / "faults.json"
    bad.write_text('[{"fault": "beacon_loss", "at_s": 1, "params": {"beam": 7}}]')
    with pytest.raises(ValueError, match="entry 0: fault beacon_loss: beam 7 out of range"):
        load_schedule(bad)
    bad.write_text("{")
    with pytest.raises(ValueError, match="not JSON"):
        load_schedule(bad)


def test_injector_starts_and_clears_on_time():
    class Plant:
        tec_failed = False

    class Runner:
        t_us = 0
        thermal = Plant()

    r = Runner()
    inj = FaultInjector()
    inj.add("tec_failure", 1.0, 2.0)
    for t_ms in range(0, 4000, 10):
        r.t_us = t_ms * 1000
        inj.tick(r)
        assert r.thermal.tec_failed == (1000 <= t_ms < 3000)
    assert [(round(t, 2), w) for t, f, w in inj.log] == [(1.0, "start"), (3.0, "end")]


def test_pass_takes_a_fault_file(tmp_path):
    """``qsat pass --faults FILE`` in lock-step: a pump over-current on the bench source trips the interlock
    the file's fault starts, and the pass row says when it started and ended."""
    from tools.cli import main

    faults = tmp_path / "faults.json"
    faults.write_text('[{"fault": "pump_overcurrent", "at_s": 100, "duration_s": 5}]')
    out = tmp_path / "run"
    assert main(["pass", "--scenario", "source-bench", "--duration", "120", "--out", str(out), "--quiet",
                 "--faults", str(faults)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["passes"][0]["faults"] == [{"t_s": 100.0, "fault": "pump_overcurrent", "edge": "start"},
                                              {"t_s": 105.0, "fault": "pump_overcurrent", "edge": "end"}]
    assert summary["source"]["interlock_trips"] == 1
    faults.write_text('[{"fault": "pump_overcurrent"}]')
    assert main(["pass", "--scenario", "source-bench", "--out", str(out), "--faults", str(faults)]) == 2
