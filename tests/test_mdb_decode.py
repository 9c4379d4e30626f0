"""Ground decoders generated from the mission database, against what the flight software sends."""

import os
import struct
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bus import mdb, pus
from bus.tm_frame import TmFrameBuilder
from ground_segment import mdb_decode as md
from ground_segment import packets
from tests.flight.payload.ground_stub import Bench

DAYS = 24000  # 2023-09-16
MS = 43_200_000
SET_POINT_MK = 300000
_INT_RANGES = dict(mdb.TYPE_RANGES)


def _cds_unix(days, ms):
    return (datetime(1958, 1, 1, tzinfo=timezone.utc) + timedelta(days=days, milliseconds=ms)).timestamp()


@pytest.fixture(scope="module")
def flight():
    """A payload on the fake HAL, commanded through its lab port; every TM packet it sent, in order."""
    b = Bench()
    sent = []

    def tc(name, *args, **kw):
        b.tc(name, *args, **kw)
        sent.extend(b.lab.tx)
        return b.seq

    b.run_ms(1500)
    sent.extend(b.lab.tx)
    b.lab.tx.clear()
    seqs = {}
    seqs["TIME_SET"] = tc("TIME_SET", DAYS, MS)
    seqs["PARAM_SET"] = tc("PARAM_SET", 1, 0x0206, SET_POINT_MK)
    seqs["PARAM_GET"] = tc("PARAM_GET", 1, 0x0206)
    seqs["MGR_PING"] = tc("MGR_PING")
    seqs["HK_ONE_SHOT"] = tc("HK_ONE_SHOT", 1, 99)  # no such SID: completion failure
    release = struct.pack(">BHI", 0x40, DAYS + 1, 0)
    noop = pus.pack_tc(mdb.APID_MANAGER, 77, 8, 1, b"\x00")
    seqs["SCHED_INSERT"] = tc("SCHED_INSERT", bytes([1]) + release + noop)
    seqs["SCHED_LIST"] = tc("SCHED_LIST")
    seqs["TIME_REPORT_RATE"] = tc("TIME_REPORT_RATE", 1)
    seqs["SRC_MODE"] = tc("SRC_MODE", 1)  # WARMUP
    bad = bytearray(pus.pack_tc(mdb.APID_SOURCE, 500, 17, 1))
    bad[-1] ^= 0xFF
    b.lab.tx.clear()
    b.send_raw(bytes(bad))
    sent.extend(b.lab.tx)
    b.lab.tx.clear()
    b.run_ms(3000)
    sent.extend(b.lab.tx)
    b.lab.tx.clear()
    return {"bench": b, "packets": sent, "seqs": seqs, "space": list(b.hal.links["space"].tx)}


def _records(flight, fast=True):
    dec = md.Decoder(fast=fast)
    out = []
    for p in flight["packets"]:
        out.extend(dec.decode(p))
    assert not dec.errors
    return out


def test_every_flight_packet_decodes_alike_on_both_paths(flight):
    assert len(flight["packets"]) > 40
    fast, slow = _records(flight), _records(flight, fast=False)
    assert fast == slow
    kinds = {type(r).__name__ for r in fast}
    assert kinds == {"Sample", "Event", "Verification", "TimeReport", "ScheduleReport", "AliveReport"}


def test_both_tm_packet_classes_decode_alike(flight):
    for p in flight["packets"]:
        assert md.decode_packet(pus.unpack_tm(p)) == md.decode_packet(packets.decode_tm(p)) == md.decode_bytes(p)


def test_housekeeping_values_match_the_flight_objects(flight):
    b = flight["bench"]
    recs = _records(flight)
    last = {}
    for r in recs:
        if isinstance(r, md.Sample):
            last[r.name] = r
    sp = last["crystal_set_point_mk"]
    assert sp.raw == SET_POINT_MK == b.app.crystal.set_point_mk
    assert sp.eng == pytest.approx(26.85) and sp.unit == "degC" and sp.apid == mdb.APID_SOURCE
    assert last["crystal_temp_mk"].raw == b.app.crystal.temp_mk
    assert last["crystal_temp_mk"].eng == pytest.approx(b.app.crystal.temp_mk / 1000 - 273.15)
    assert last["thermal_enabled"].eng == "ON" and last["thermal_enabled"].raw == 1
    assert last["reset_cause"].eng == "POWER_ON"
    assert last["time_valid"].eng == "ON"
    assert last["tc_packets_rejected"].raw == b.app.router.packets_rejected
    assert last["fine_max_exec_us"].unit == "us" and last["fine_max_exec_us"].eng == last["fine_max_exec_us"].raw
    # time stamps: on-board time set by TIME_SET, carried forward
    assert last["uptime_s"].days == DAYS and last["uptime_s"].ms_of_day > MS
    s = last["uptime_s"]
    assert s.t_unix == pytest.approx(_cds_unix(s.days, s.ms_of_day))
    names = {r.name for r in recs if isinstance(r, md.Sample)}
    assert names == {n for e in mdb.HOUSEKEEPING for n in e[4]}


def test_events_and_parameter_report(flight):
    recs = _records(flight)
    ev = {r.name: r for r in recs if isinstance(r, md.Event)}
    assert ev["EV_BOOT"].args == {"reset_cause": 1} and ev["EV_BOOT"].severity == 1
    assert ev["EV_PARAM_SET"].args == {"pid": 0x0206, "value": SET_POINT_MK}
    assert ev["EV_PARAM_SET"].text == "parameter changed" and ev["EV_PARAM_SET"].apid == mdb.APID_MANAGER
    assert ev["EV_TIME_SET"].args == {"days": DAYS, "ms_of_day": MS}
    assert ev["EV_SRC_MODE"].args == {"from_mode": 0, "to_mode": 1} and ev["EV_SRC_MODE"].apid == mdb.APID_SOURCE
    got = [r for r in recs if isinstance(r, md.Sample) and r.apid == mdb.APID_MANAGER
           and r.name == "crystal_set_point_mk"]  # TM[20,2] comes from the manager
    assert len(got) == 1 and got[0].raw == SET_POINT_MK and got[0].eng == pytest.approx(26.85)


def test_verification_reports_with_failure_words(flight):
    seqs = flight["seqs"]
    ver = [r for r in _records(flight) if isinstance(r, md.Verification)]
    ok = [(v.stage, v.success) for v in ver if v.seq_count == seqs["PARAM_SET"] and v.apid == mdb.APID_MANAGER]
    assert ok == [("acceptance", True), ("start", True), ("completion", True)]
    fail = [v for v in ver if v.seq_count == seqs["HK_ONE_SHOT"] and not v.success]
    assert len(fail) == 1
    f = fail[0]
    assert f.stage in ("start", "completion") and f.code == mdb.FAIL_UNKNOWN_SID
    assert f.failure == "UNKNOWN_SID" and f.reason == "no housekeeping packet has this SID"
    crc = [v for v in ver if v.seq_count == 500]
    assert len(crc) == 1 and crc[0].stage == "acceptance" and not crc[0].success
    assert crc[0].apid == mdb.APID_SOURCE and crc[0].code == pus.INCORRECT_CRC
    assert crc[0].reason == pus.FAILURES[pus.INCORRECT_CRC][1]


def test_time_schedule_and_alive_reports(flight):
    recs = _records(flight)
    tr = [r for r in recs if isinstance(r, md.TimeReport)]
    assert tr and all(r.exponent == 1 and r.days == DAYS for r in tr)
    assert tr[0].t_unix == pytest.approx(_cds_unix(tr[0].days, tr[0].ms_of_day))
    sr = [r for r in recs if isinstance(r, md.ScheduleReport)]
    assert len(sr) == 1 and len(sr[0].activities) == 1
    a = sr[0].activities[0]
    assert (a.name, a.apid, a.seq_count, a.days, a.ms_of_day) == ("MGR_NOOP", mdb.APID_MANAGER, 77, DAYS + 1, 0)
    assert a.packet == pus.pack_tc(mdb.APID_MANAGER, 77, 8, 1, b"\x00")
    assert any(isinstance(r, md.AliveReport) and r.apid == mdb.APID_MANAGER for r in recs)


# --- declarations and the fast path ------------------------------------------------------

def test_fast_formats_are_the_databases():
    for e in mdb.HOUSEKEEPING:
        fmt, names, consts = md.flat_format(md.hk_struct(e[0]))
        assert fmt == ">H" + mdb.hk_format(e)[1:] == md.hk_format(e[0])
        assert names == ["sid", *e[4]] and consts == {0: e[0]}
        dt = md.hk_dtype(e[0])
        assert dt.itemsize == pus.TM_MIN_LEN + struct.calcsize(fmt)
    for e in mdb.EVENTS:
        fmt, names, _ = md.flat_format(md.event_struct(e[0]))
        assert fmt == ">H" + mdb.args_format(e[4])[1:]
    assert md.flat_format(md.VERIFICATION_STRUCTS[2])[0] == ">HHHB"  # request ID, code, argument index
    assert md.flat_format(md.VERIFICATION_FAILURE_SHORT)[0] == ">HHH"  # earlier flight software
    assert md.flat_format(md.TIME_REPORT)[0] == ">BBHI"


def _value(typ):
    if typ == "f32":
        return st.floats(width=32, allow_nan=False)
    lo, hi = _INT_RANGES[typ]
    return st.integers(lo, hi)


_hk_values = st.sampled_from(mdb.HOUSEKEEPING).flatmap(
    lambda e: st.tuples(st.just(e), st.tuples(*[_value(mdb.parameter(n)[2]) for n in e[4]])))


@settings(max_examples=150, deadline=None)
@given(_hk_values, st.integers(0, 0xFFFF), st.integers(0, 86_399_999), st.integers(0, 0x3FFF))
def test_construct_fast_and_numpy_paths_agree_on_every_sid(ev, days, ms, seq):
    e, values = ev
    sid, apid = e[0], e[1]
    data = struct.pack(">H", sid) + struct.pack(mdb.hk_format(e), *values)  # as payload/s3_housekeeping packs
    parsed = md.hk_struct(sid).parse(data)
    assert tuple(parsed[n] for n in e[4]) == values
    pkt = packets.build_tm(apid, seq, 3, 25, days, ms, data)
    fast = md.Decoder().decode(pkt)
    assert fast == md.Decoder(fast=False).decode(pkt)
    assert [s.raw for s in fast] == list(values)
    row = np.frombuffer(pkt, dtype=md.hk_dtype(sid))[0]
    assert [row[n].item() for n in e[4]] == list(values)
    assert (row["sid"], row["days"], row["ms_of_day"]) == (sid, days, ms)
    for s in fast:
        assert s.eng == md.calibrate(s.name, s.raw)
        assert s.t_unix == md.cds_to_unix(days, ms)


_SERVICES = [(3, 25), (5, 1), (5, 2), (5, 3), (1, 1), (1, 2), (1, 5), (1, 8), (9, 3), (11, 10), (17, 2), (20, 2)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_SERVICES), st.sampled_from([a[0] for a in mdb.APPLICATIONS]), st.binary(max_size=40),
       st.sampled_from([b"", b"\x00\x01", b"\x00\x02", b"\x01\x00", b"\x01\x02\x06", b"\x01", b"\x02\x40"]))
def test_fast_and_construct_paths_agree_on_any_source_data(svc, apid, tail, head):
    pkt = packets.build_tm(apid, 1, svc[0], svc[1], DAYS, MS, head + tail)

    def outcome(fast):
        try:
            return md.Decoder(fast=fast).decode(pkt)
        except md.DecodeError as e:
            return type(e).__name__, e.reason

    assert outcome(True) == outcome(False)


def test_calibration():
    assert md.calibrate("crystal_temp_mk", 298150) == pytest.approx(25.0)
    assert md.calibrate("reset_cause", 3) == "WATCHDOG"
    assert md.calibrate("reset_cause", 7) == "UNKNOWN(7)"
    assert md.calibrate("uptime_s", 12) == 12
    assert md.cds_to_unix(4383, 0) == 0.0
    assert md.cds_to_unix(DAYS, MS) == _cds_unix(DAYS, MS)


def test_unknown_and_malformed_packets_raise_countable_errors():
    dec = md.Decoder()
    cases = [
        (packets.build_tm(mdb.APID_SOURCE, 0, 3, 25, 0, 0, b"\x00\x63" + bytes(20)), md.UnknownPacket, "unknown_sid"),
        (packets.build_tm(mdb.APID_MANAGER, 0, 3, 25, 0, 0, b"\x00\x02" + bytes(28)), md.UnknownPacket,
         "unknown_sid"),  # SID 2 belongs to the source
        (packets.build_tm(0x055, 0, 3, 25, 0, 0, b"\x00\x01"), md.UnknownPacket, "unknown_apid"),
        (packets.build_tm(mdb.APID_MANAGER, 0, 3, 26, 0, 0, b""), md.UnknownPacket, "unknown_service"),
        (packets.build_tm(mdb.APID_MANAGER, 0, 5, 1, 0, 0, b"\x7f\x7f"), md.UnknownPacket, "unknown_event"),
        (packets.build_tm(mdb.APID_MANAGER, 0, 20, 2, 0, 0, b"\x01\x09\x99\x00"), md.UnknownPacket,
         "unknown_parameter"),
        (packets.build_tm(mdb.APID_SOURCE, 0, 3, 25, 0, 0, b"\x00\x02\x00"), md.MalformedPacket, "wrong_length"),
        (packets.build_tm(mdb.APID_MANAGER, 0, 5, 2, 0, 0, b"\x01\x00\x01"), md.MalformedPacket, "wrong_severity"),
        (packets.build_tm(mdb.APID_MANAGER, 0, 1, 2, 0, 0, b"\x18\x10\xc0"), md.MalformedPacket, "wrong_length"),
        (packets.build_tm(mdb.APID_MANAGER, 0, 9, 3, 0, 0, b"\x01\x41" + bytes(6)), md.MalformedPacket, "bad_field"),
    ]
    for pkt, err, reason in cases:
        with pytest.raises(err) as ei:
            dec.decode(pkt)
        assert ei.value.reason == reason and isinstance(ei.value, (md.DecodeError, ValueError))
        with pytest.raises(err):
            md.Decoder(fast=False).decode(pkt)
    bad = bytearray(cases[0][0])
    bad[-1] ^= 1
    with pytest.raises(md.MalformedPacket) as ei:
        dec.decode(bytes(bad))
    assert ei.value.code == pus.INCORRECT_CRC and ei.value.reason == "incorrect_crc"
    assert sum(dec.errors.values()) == len(cases) + 1 and dec.errors["unknown_sid"] == 2
    assert dec.decoded == 0


# --- bulk: frame streams -------------------------------------------------------------------

def _same_bulk(a, b):
    assert a.records == b.records
    assert a.columns.keys() == b.columns.keys()
    for k in a.columns:
        ca, cb = a.columns[k], b.columns[k]
        assert (ca.name, ca.unit, ca.apid) == (cb.name, cb.unit, cb.apid)
        for f in ("t_unix", "raw", "eng", "days", "ms_of_day"):
            x, y = getattr(ca, f), getattr(cb, f)
            assert x.dtype == y.dtype and np.array_equal(x, y), (k, f)
    for f in ("frames", "bad_frames", "idle_frames", "vc_gaps", "packets", "idle_packets", "hk_packets"):
        assert getattr(a, f) == getattr(b, f), f
    assert a.errors == b.errors


def test_frame_stream_decodes_alike_on_the_numpy_and_reader_paths(flight):
    frames = flight["space"]
    assert len(frames) >= 5 and {len(f) for f in frames} == {mdb.TM_FRAME_LEN}
    stream = b"".join(frames)
    a, b = md.decode_frames(stream), md.decode_frames(stream, method="reader")
    _same_bulk(a, b)
    assert a.frames == len(frames) and a.bad_frames == 0 and a.hk_packets > 10
    # the frames carry what the lab port carried: the same samples and records
    lab = _records(flight)
    assert sorted(a.samples()) == sorted(r for r in lab if isinstance(r, md.Sample))
    assert a.records == [r for r in lab if not (isinstance(r, md.Sample) and r.apid == _SID_APID[r.name])]


_SID_APID = {n: e[1] for e in mdb.HOUSEKEEPING for n in e[4]}


def _dense_stream(flight, n_frames):
    """Frames packed full of the payload's own packets, on VCs 0 and 1, with a few idle frames."""
    b = TmFrameBuilder(mdb.SPACECRAFT_ID, mdb.TM_FRAME_LEN, vc_slots=(16, 8))
    pk = flight["packets"]
    out, i = [], 0
    while len(out) < n_frames:
        if len(out) % 40 == 39:  # drain both queues (partly filled frames padded), then one idle frame
            while b.pending(0) or b.pending(1):
                out.append(bytes(b.next_frame(0)))
            out.append(bytes(b.next_frame(0)))
            continue
        while b.free_bytes(0) > 300 and b.free_bytes(1) > 300:
            b.queue_packet(1 if i % 3 == 0 else 0, pk[i % len(pk)])
            i += 1
        out.append(bytes(b.next_frame(0x01000000)))
    return out[:n_frames]


def test_gaps_corruption_and_junk_are_handled_alike(flight):
    frames = _dense_stream(flight, 120)
    damaged = list(frames)
    del damaged[30:33]  # a gap
    f = bytearray(damaged[50])
    f[200] ^= 0x10  # FECF fails
    damaged[50] = bytes(f)
    g = bytearray(damaged[70])
    g[1] ^= 0x40  # another spacecraft (FECF recomputed)
    crc = packets.crc16(bytes(g[:-2]))
    g[-2:] = crc.to_bytes(2, "big")
    damaged[70] = bytes(g)
    stream = b"".join(damaged) + b"\x00" * 100  # trailing partial frame
    a, b = md.decode_frames(stream), md.decode_frames(stream, method="reader")
    _same_bulk(a, b)
    assert a.bad_frames == 3 and a.vc_gaps >= 3
    clean = md.decode_frames(b"".join(frames))
    assert clean.vc_gaps == 0 and clean.hk_packets > a.hk_packets and clean.idle_frames >= 2


@pytest.fixture(scope="module")
def dense(flight):
    return _dense_stream(flight, 40)


def _refecf(frame: bytearray) -> bytes:
    frame[-2:] = packets.crc16(bytes(frame[:-2])).to_bytes(2, "big")
    return bytes(frame)


def test_inconsistent_pointers_and_lost_frames_handled_as_tm_frame_reader_does(dense):
    """Frames whose first header pointer lies (with a valid FECF) or that go missing: same outcome."""

    @settings(max_examples=int(os.environ.get("QSAT_FUZZ_EXAMPLES", "40")), deadline=None)
    @given(st.data())
    def check(data):
        frames = list(dense)
        n = len(frames)
        for k in data.draw(st.lists(st.integers(0, n - 1), max_size=4, unique=True), label="corrupt"):
            f = bytearray(frames[k])
            fhp = data.draw(st.one_of(st.integers(0, mdb.TM_FRAME_LEN - 13), st.sampled_from([0x7FF, 0x7FE, 1200])),
                            label="fhp")
            f[4] = (f[4] & 0xF8) | (fhp >> 8)
            f[5] = fhp & 0xFF
            frames[k] = _refecf(f)
        for k in sorted(data.draw(st.lists(st.integers(0, n - 1), max_size=3, unique=True), label="drop"),
                        reverse=True):
            del frames[k]
        stream = b"".join(frames)
        a, b = md.decode_frames(stream), md.decode_frames(stream, method="reader")
        _same_bulk(a, b)
        assert a.fhp_errors == b.fhp_errors

    check()


def test_dense_stream_numpy_columns_equal_packet_by_packet_samples(flight):
    frames = _dense_stream(flight, 60)
    a = md.decode_frames(b"".join(frames))
    b = md.decode_frames(b"".join(frames), method="reader")
    _same_bulk(a, b)
    assert a.n_samples == len(a.samples()) > 1000
    assert a.columns["reset_cause"].eng[0] == "POWER_ON"
    assert a.columns["crystal_set_point_mk"].eng.dtype == np.float64


def test_decode_frames_of_nothing():
    r = md.decode_frames(b"")
    assert r.frames == 0 and not r.columns and not r.records
    with pytest.raises(ValueError):
        md.decode_frames(b"", method="magic")
