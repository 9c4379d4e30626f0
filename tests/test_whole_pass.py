"""A whole micius-2020 pass, flight software in the loop, through the stations' key chain.

One lock-step run (module fixture) of the pass's first 140 s of common view:
the flight code warms the source up, calibrates it, points both beams and
emits under the on-board schedule; the downlinks write the stations' tags and
the ground chain runs from those files alone.  140 s of contact is far too
little for a finite-key bound at 1e-10: the summary must say so, with no key.
The key itself, the eavesdropper alarm and the stations' identical key files
are checked on synthetic passes (sim/photon_channel.py) with enough light.
"""

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ground_segment import bbm92, clock_sync, timetags
from ground_segment.key_session import KeySession
from tools.pass_run import run_pass

ROOT = Path(__file__).resolve().parents[1]
CONTACT_S = 140.0


def _schema():
    """{section: {key: type text}} from the tables of docs/summary.md."""
    out, section = {}, None
    for line in (ROOT / "docs" / "summary.md").read_text().splitlines():
        if line.startswith("## "):
            m = re.match(r"## (?:Top level|`(\w+)(?:\[\])?`)", line)
            section = (m.group(1) or "") if m else None
            out.setdefault(section, {})
        m = re.match(r"\| `(\w+)` \| ([^|]+) \|", line)
        if m and section is not None:
            out[section][m.group(1)] = m.group(2).strip()
    return out


_TYPES = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "list": (list,),
          "object": (dict,)}


def _check(obj, schema, where):
    for key, typ in schema.items():
        assert key in obj, f"{where}: {key} missing"
        kinds = [t.strip() for t in typ.split(" or ")]
        if obj[key] is None:
            assert "null" in kinds, f"{where}.{key} is null"
            continue
        allowed = tuple(t for k in kinds if k != "null" for t in _TYPES[k])
        assert isinstance(obj[key], allowed), f"{where}.{key}: {obj[key]!r} is not {typ}"


@pytest.fixture(scope="module")
def whole_pass(tmp_path_factory):
    from sim.scenarios import get_scenario

    out = tmp_path_factory.mktemp("m2020")
    sc = get_scenario("micius-2020")
    plan = sc.plan()
    view = plan.geometry.visible_span(0, sc.el_mask_deg)[0], plan.geometry.visible_span(1, sc.el_mask_deg)[0]
    duration = max(view) + CONTACT_S
    keep = []
    summary = run_pass("micius-2020", duration, 1, out, keep=keep, replays=False)
    return out, summary, keep


def test_summary_follows_the_documented_schema(whole_pass):
    out, summary, _ = whole_pass
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    schema = _schema()
    _check(summary, schema[""], "summary")
    for section in ("link", "key", "telemetry"):
        _check(summary[section], schema[section], section)
    for row in summary["passes"]:
        _check(row, schema["passes"], "passes[]")
    for st in summary["link"]["stations"]:
        assert set(st) == {"name", "loss_db_min", "loss_db_median"}
    assert (out / "pass.png").stat().st_size > 10_000


def test_the_stations_find_the_pairs_from_their_files_alone(whole_pass):
    out, summary, keep = whole_pass
    link, key = summary["link"], summary["key"]
    assert summary["mode"] == "key"
    # both stations' files, and the chain run again on them alone gives the same coincidences
    paths = sorted((out / "tags" / "pass1").glob("*.tags"))
    assert [p.stem for p in paths] == ["Delingha", "Nanshan"]
    a, b = (timetags.read(out / "tags" / "pass1" / f"{n}.tags") for n in ("Delingha", "Nanshan"))
    geo = keep[0][2].geometry
    lts = [clock_sync.predicted_light_time(geo.orbit, st, t.epoch_unix) for st, t in zip(geo.stations, (a, b))]
    again = bbm92.process_pass(a, b, "key", 1000, lts)
    assert again.coincidences == link["coincidences"] > 50
    assert len(again.alice_bits) == key["sifted_bits"]
    # the simulator's pairs are all found: coincidences = true pairs + the accidentals the ground estimates
    true_pairs = summary["passes"][0]["true_pairs"]
    acc = link["accidental_rate_hz"] * summary["contact_s"]
    assert link["coincidences"] == pytest.approx(true_pairs + acc, abs=4 * math.sqrt(acc + 1) + 3)
    # calibrated to Yin et al. 2020: 2.2 Hz, signal-to-noise 15 (one short pass: loose bounds)
    assert 1.2 < link["coincidence_rate_hz"] < 3.5
    assert 0.08 < link["accidental_rate_hz"] < 0.25
    assert link["qber"] == pytest.approx(link["qber_truth"], abs=0.04)
    assert link["chsh_s"] is None
    # 140 s of contact cannot meet the finite-key bound: no key, said so, not refused
    assert key["secret_bits"] == 0 and key["key_files"] == []
    assert not key["aborted"] and "sifted bits" in key["note"]
    assert not (out / "keys").exists()


def test_the_pass_was_operated_by_telecommand(whole_pass):
    _, summary, keep = whole_pass
    tm = summary["telemetry"]
    assert tm["tm_packets"] > 500 and tm["tm_bad"] == 0 and tm["tm_gaps"] == 0
    assert tm["tc_failed"] == 0
    assert tm["tc_completed"] == tm["tc_sent"]
    # the flight code's sync laser shone: the stations could map their tags (contact measured from it)
    assert summary["contact_s"] == pytest.approx(summary["passes"][0]["link_s"])
    assert CONTACT_S - 60 < summary["contact_s"] <= CONTACT_S + 5


def test_a_run_without_contact_says_so(tmp_path):
    summary = run_pass("micius-2020", 20.0, 1, tmp_path, replays=False)
    assert summary["contact_s"] == 0.0
    assert summary["key"]["secret_bits"] == 0 and summary["link"]["coincidences"] == 0
    assert summary["key"]["note"]


def _synthetic_session(tmp_path, n_passes, eve=0.0):
    sys.path.insert(0, str(ROOT / "tests"))
    from test_quantum_channel import _run, light_times

    s = KeySession("key")
    contact = 0.0
    for k in range(n_passes):
        (a, b), truth = _run(tmp_path, eve=eve, seed=10 + k, rate_hz=1.5e7)
        pd = bbm92.process_pass(a, b, "key", 1000, light_times())
        s.add_pass(pd, truth)
        contact += pd.link_s
    return s, contact


def test_keys_are_distilled_identical_and_shrink_as_the_bound_demands(tmp_path):
    s, contact = _synthetic_session(tmp_path, 2)
    key = s.distil(contact, tmp_path / "keys", ["A", "B"])
    assert key["secret_bits"] > 0 and not key["aborted"]
    ka, kb = ((tmp_path / f).read_bytes() for f in key["key_files"])
    assert ka == kb and len(ka) == math.ceil(key["net_secret_bits"] / 8)
    assert key["net_secret_bits"] == key["secret_bits"] - key["auth_cost_bits"]
    # below the asymptotic figure, and f is Cascade's
    assert key["secret_bits"] < key["asymptotic_rate_bps"] * contact
    assert 1.0 < key["ec_efficiency"] < 1.3
    assert key["qber"] == pytest.approx(s.qber_truth(), abs=0.01)


def test_an_eavesdropper_is_detected_and_the_key_refused(tmp_path):
    s, contact = _synthetic_session(tmp_path, 1, eve=0.6)
    key = s.distil(contact, tmp_path / "keys", ["A", "B"])
    assert key["aborted"] and key["secret_bits"] == 0
    assert "QBER" in key["abort_reason"] and key["key_files"] == []
    assert not (tmp_path / "keys").exists()


@pytest.mark.parametrize("argv, message", [
    (["--scenario", "nowhere"], "unknown scenario"),
    (["--scenario", "micius-2020", "--eve", "photon-number-splitting:0.1"], "intercept-resend"),
    (["--scenario", "micius-2020", "--eve", "intercept-resend:1.5"], "within 0..1"),
    (["--scenario", "micius-2020", "--passes", "0"], ">= 1"),
    (["--scenario", "source-bench", "--mode", "bell"], "no quantum downlink"),
])
def test_bad_input_is_refused_before_any_work(tmp_path, argv, message):
    r = subprocess.run([sys.executable, "-m", "tools.cli", "pass", *argv, "--out", str(tmp_path / "x")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 or "usage" in r.stderr
    assert not (tmp_path / "x").exists()
