"""The SQLite archive: round trips, queries by time and name, sequence gaps, command stages, concurrent readers."""

import sqlite3
import threading

import pytest

from bus import mdb
from bus.tm_frame import TmFrameBuilder
from ground_segment import mdb_decode as md
from ground_segment import packets
from ground_segment.archive import SCHEMA_VERSION, Archive, SequenceGaps
from ground_segment.limits import LimitMonitor

DAYS = 24000


def hk_source(seq, ms, set_point=300000, temp=298150):
    values = {name: 0 for name in next(h for h in mdb.HOUSEKEEPING if h[0] == 2)[4]}  # every declared field
    values.update(src_cmd_accepted=1, crystal_temp_mk=temp, crystal_error_mk=set_point - temp,
                  tec_drive_u16=32768, crystal_set_point_mk=set_point, thermal_enabled=1)
    data = md.hk_struct(2).build(values)
    return packets.build_tm(mdb.APID_SOURCE, seq, 3, 25, DAYS, ms, data)


def t_of(ms):
    return md.cds_to_unix(DAYS, ms)


@pytest.fixture
def arch():
    a = Archive(":memory:")
    yield a
    a.close()


def test_schema_is_idempotent_and_versioned(tmp_path):
    path = tmp_path / "g.sqlite"
    with Archive(path) as a:
        assert a.schema_version == SCHEMA_VERSION
        a.add_packet(1.0, hk_source(0, 0))
    with Archive(path) as a:  # opening again changes nothing
        assert a.schema_version == SCHEMA_VERSION and len(a.packets()) == 1
        assert a.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert a.conn.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 1
    with Archive(path, readonly=True) as r:
        assert len(r.packets()) == 1
        with pytest.raises(sqlite3.OperationalError):
            r.add_packet(2.0, hk_source(1, 0))


def test_frames_and_packets_round_trip(arch):
    pkt = hk_source(5, 1000)
    arch.add_packet(100.5, pkt)
    bad = bytearray(pkt)
    bad[-1] ^= 1
    arch.add_packet(100.6, bytes(bad))
    arch.add_packet(100.7, b"\x08")  # a stub: kept, fields unknown
    rows = arch.packets()
    assert [(r.apid, r.seq_count, r.service, r.subtype, r.ok) for r in rows] == [
        (mdb.APID_SOURCE, 5, 3, 25, True), (mdb.APID_SOURCE, 5, 3, 25, False), (None, None, None, None, False)]
    assert rows[0].data == pkt and rows[0].rx_time == 100.5 and rows[0].pkt_time == t_of(1000)
    frame = bytes([0x1A, 0x53, 7, 9]) + bytes(100)
    fid = arch.add_frame(50.0, frame)
    arch.add_frames([(51.0, frame), (52.0, frame)])
    fr = arch.frames()
    assert fid == fr[0].id and [(f.vcid, f.mc_count, f.vc_count) for f in fr] == [(1, 7, 9)] * 3
    assert fr[0].data == frame and len(arch.frames(50.5, 51.5)) == 1 and len(arch.frames(vcid=2)) == 0
    assert len(arch.packets(apid=mdb.APID_SOURCE)) == 2 and len(arch.packets(t_of(1001), None)) == 0


def test_parameters_by_name_and_time_range(arch):
    mon = LimitMonitor()
    for i in range(10):
        temp = 298150 if i < 5 else 320000  # red from the 6th sample on
        recs = md.decode_packet(hk_source(i, i * 1000, temp=temp))
        arch.add_records(recs, 1000.0 + i, mon)
    rows = arch.parameters("crystal_temp_mk")
    assert len(rows) == 10 and [r.raw for r in rows][:6] == [298150] * 5 + [320000]
    assert rows[0].eng == pytest.approx(25.0) and isinstance(rows[0].eng, float)
    assert [r.limit_state for r in rows] == ["NOMINAL"] * 5 + ["RED"] * 5
    sub = arch.parameters("crystal_temp_mk", t_of(2000), t_of(4000))
    assert [r.pkt_time for r in sub] == [t_of(2000), t_of(3000), t_of(4000)]
    assert arch.parameters("crystal_temp_mk", 1002.0, 1003.0, by="receive")[0].rx_time == 1002.0
    en = arch.latest("thermal_enabled")
    assert en.eng == "ON" and en.raw == 1 and en.pkt_time == t_of(9000) and en.limit_state is None
    assert arch.latest("no_such_parameter") is None
    assert arch.parameters("uptime_s") == []
    assert "crystal_set_point_mk" in arch.parameter_names()


def test_samples_in_one_executemany_and_bulk_columns(arch):
    samples = [md.Sample("x", i, i * 0.5, "V", float(i), 0x10, 0, i) for i in range(100)]
    arch.add_samples(samples, rx_time=5.0, states=["NOMINAL"] * 100)
    rows = arch.parameters("x", 10.0, 19.0)
    assert [r.raw for r in rows] == list(range(10, 20)) and rows[0].eng == 5.0
    # a replayed frame stream, decoded in bulk, archived column by column
    b = TmFrameBuilder(mdb.SPACECRAFT_ID, mdb.TM_FRAME_LEN, vc_slots=(4,))
    for i in range(30):
        b.queue_packet(0, hk_source(i, i * 1000, set_point=290000 + i))
    stream = b"".join(bytes(b.next_frame(0)) for _ in range(4))
    res = md.decode_frames(stream)
    n_fields = len(next(h for h in mdb.HOUSEKEEPING if h[0] == 2)[4])
    assert arch.add_columns(res.columns, 7.0) == 30 * n_fields
    rows = arch.parameters("crystal_set_point_mk")
    assert [r.raw for r in rows] == [290000 + i for i in range(30)]
    assert rows[3].eng == pytest.approx(290.003 - 273.15) and rows[3].pkt_time == t_of(3000)
    assert arch.latest("thermal_enabled").eng == "ON"


def test_events_round_trip(arch):
    ev = md.Event(0x0104, "EV_PARAM_SET", 1, mdb.APID_MANAGER, {"pid": 0x206, "value": 300000}, "parameter changed",
                  10.0, DAYS, 0)
    arch.add_event(ev, 11.0)
    arch.add_records([ev._replace(t_unix=20.0), md.Event(0x100, "EV_BOOT", 1, 0x10, {"reset_cause": 1}, "x", 30.0,
                                                         0, 0)], 31.0)
    assert [e.pkt_time for e in arch.events()] == [10.0, 20.0, 30.0]
    assert [e.pkt_time for e in arch.events(15.0, 35.0)] == [20.0, 30.0]
    got = arch.events(name="EV_PARAM_SET")
    assert len(got) == 2 and got[0].args == {"pid": 0x206, "value": 300000} and got[0].severity == 1
    assert got[0].rx_time == 11.0 and got[0].text == "parameter changed"


def test_command_history_with_verification_stages(arch):
    a = arch.add_command("PARAM_SET", {"pid": 0x206, "value": 300000}, mdb.APID_MANAGER, 7, 100.0)
    arch.add_command("HK_ONE_SHOT", {"sid": 99}, mdb.APID_MANAGER, 8, 101.0)
    c = arch.add_command("MGR_PING", {}, mdb.APID_MANAGER, 9, 102.0)
    assert arch.last_seq_count(mdb.APID_MANAGER) == 9 and arch.last_seq_count(mdb.APID_SOURCE) == -1

    def ver(seq, subtype, code=None):
        stage = md.STAGES[subtype - (subtype + 1) % 2]
        failure, reason = md.failure_of(code) if code else (None, None)
        return md.Verification(mdb.APID_MANAGER, seq, stage, code is None, code, failure, reason, None,
                               mdb.APID_MANAGER, 0.0, 0, 0)

    for st in (1, 3, 7):
        assert arch.add_verification(ver(7, st), 100.1 + st / 100) == a
    arch.add_verification(ver(8, 1), 101.1)
    arch.add_verification(ver(8, 8, mdb.FAIL_UNKNOWN_SID), 101.2)
    arch.add_stage(c, "acceptance", True, None, None, 102.1)
    arch.finish_command(c, "timeout: no completion report within the time allowed", 112.0)
    assert arch.add_verification(ver(99, 1)) is None  # no such command: not archived
    cmds = arch.commands()
    assert [x.name for x in cmds] == ["PARAM_SET", "HK_ONE_SHOT", "MGR_PING"]
    pa, hk, ping = cmds
    assert pa.args == {"pid": 0x206, "value": 300000} and pa.state == "completed" and pa.final_time == pa.stages[-1].time
    assert [(s.stage, s.success) for s in pa.stages] == [("acceptance", True), ("start", True), ("completion", True)]
    assert hk.state == "completion failed: no housekeeping packet has this SID"
    assert hk.stages[-1].code == mdb.FAIL_UNKNOWN_SID and not hk.stages[-1].success
    assert ping.state.startswith("timeout") and ping.final_time == 112.0
    assert [x.name for x in arch.commands(100.5, 101.5)] == ["HK_ONE_SHOT"]
    d = pa._asdict()
    assert d["stages"][0]["stage"] == "acceptance"
    # sequence counts wrap: a re-used request ID tracks the latest command
    a2 = arch.add_command("PARAM_SET", {}, mdb.APID_MANAGER, 7, 200.0)
    assert arch.add_verification(ver(7, 1), 200.1) == a2


def test_sequence_gaps_per_apid(arch):
    seqs = [0, 1, 2, 5, 6, 6, 7, 16383, 0, 1, 3]  # a gap of 2, a repeat, a gap of 16375, a wrap, a gap of 1
    for i, s in enumerate(seqs):
        arch.add_packet(float(i), hk_source(s, i))
    bad = bytearray(hk_source(100, 0))
    bad[-1] ^= 1
    arch.add_packet(99.0, bytes(bad))  # a corrupted packet's count is not trusted
    arch.add_packet(100.0, packets.build_tm(mdb.APID_MANAGER, 40, 17, 2, 0, 0))
    assert arch.sequence_gaps(mdb.APID_SOURCE) == SequenceGaps(3, 2 + (16383 - 7 - 1) + 1)
    assert arch.sequence_gaps(mdb.APID_MANAGER) == SequenceGaps(0, 0)
    assert arch.sequence_gaps(mdb.APID_POINTING) == SequenceGaps(0, 0)


def test_batch_commits_once_and_rolls_back(tmp_path):
    path = tmp_path / "b.sqlite"
    w = Archive(path)
    r = Archive(path, readonly=True)
    with w.batch():
        w.add_packet(1.0, hk_source(0, 0))
        w.add_packet(2.0, hk_source(1, 0))
        assert len(r.packets()) == 0  # not committed yet
    assert len(r.packets()) == 2
    with pytest.raises(RuntimeError):
        with w.batch():
            w.add_packet(3.0, hk_source(2, 0))
            raise RuntimeError("boom")
    assert len(r.packets()) == 2 and len(w.packets()) == 2
    r.close()
    w.close()


def test_concurrent_reader_while_writing(tmp_path):
    path = tmp_path / "c.sqlite"
    Archive(path).close()
    n_writes = 150
    done = threading.Event()
    errors = []
    seen = []

    def writer():
        try:
            with Archive(path) as w:
                for i in range(n_writes):
                    recs = md.decode_packet(hk_source(i, i * 1000))
                    with w.batch():
                        w.add_packet(float(i), hk_source(i, i * 1000))
                        w.add_records(recs, float(i))
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append(e)
        finally:
            done.set()

    def reader():
        try:
            with Archive(path, readonly=True) as r:
                while not done.is_set():
                    n = len(r.parameters("crystal_set_point_mk"))
                    p = len(r.packets())
                    assert p >= n  # each batch commits packet and samples together
                    seen.append(n)
                seen.append(len(r.parameters("crystal_set_point_mk")))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert seen == sorted(seen) and seen[-1] == n_writes and len(seen) > 2
