"""docs/icd.md and the XTCE export come from the mission database and stay in step with it."""

import xml.etree.ElementTree as ET

from bus import mdb
from ground_segment import icd, xtce

X = f"{{{xtce.NS}}}"


def test_committed_icd_is_generated():
    assert icd.ICD_PATH.read_text() == icd.generate(), "docs/icd.md is stale: run 'qsat icd'"


def test_icd_names_everything_declared():
    text = icd.generate()
    for p in mdb.PARAMETERS:
        assert f"| {p[1]} |" in text or p[7] is None and p[1] not in sum((h[4] for h in mdb.HOUSEKEEPING), ())
    for c in mdb.COMMANDS:
        assert f"| {c[0]} |" in text
    for e in mdb.EVENTS:
        assert f"| {e[1]} |" in text
    for code, name, _ in mdb.FAILURES:
        assert f"| {name} |" in text
    for port in (mdb.PORT_LAB, mdb.PORT_SPACE_TC, mdb.PORT_SPACE_TM):
        assert f"| {port} |" in text
    assert f"{mdb.TM_FRAME_LEN} octets" in text


def test_xtce_is_well_formed_and_complete():
    root = ET.fromstring(xtce.generate())
    assert root.tag == f"{X}SpaceSystem"
    params = {p.get("name") for p in root.iter(f"{X}Parameter")}
    assert {p[1] for p in mdb.PARAMETERS} <= params
    commands = {m.get("name") for m in root.iter(f"{X}MetaCommand")}
    assert {c[0] for c in mdb.COMMANDS} <= commands
    types = {t.get("name") for t in root.iter() if t.tag.endswith("ParameterType")}
    for p in root.iter(f"{X}Parameter"):
        assert p.get("parameterTypeRef") in types, p.get("name")


def test_xtce_housekeeping_containers_follow_the_declaration():
    root = ET.fromstring(xtce.generate())
    containers = {c.get("name"): c for c in root.iter(f"{X}SequenceContainer")}
    for sid, apid, name, _, params in mdb.HOUSEKEEPING:
        c = containers[name]
        refs = [e.get("parameterRef") for e in c.find(f"{X}EntryList")]
        assert refs == ["hk_sid", *params]
        comp = {x.get("parameterRef"): int(x.get("value")) for x in c.iter(f"{X}Comparison")}
        assert comp == {"ccsds_apid": apid, "pus_service": 3, "pus_subtype": 25, "hk_sid": sid}


def test_xtce_calibration_and_alarms():
    root = ET.fromstring(xtce.generate())
    t = next(t for t in root.iter(f"{X}FloatParameterType") if t.get("name") == "crystal_temp_mk_t")
    terms = {int(x.get("exponent")): float(x.get("coefficient")) for x in t.iter(f"{X}Term")}
    assert terms == {0: -273.15, 1: 0.001}
    crit = t.find(f".//{X}CriticalRange")
    assert abs(float(crit.get("minInclusive")) - 15.0) < 1e-9  # 288150 mK in degC
