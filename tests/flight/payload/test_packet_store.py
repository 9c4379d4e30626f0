"""The packet store (payload/packet_store.py) and service 15 on the manager APID, on both interpreters."""

import struct

from bus import mdb
from bus.cds_time import FixedTime
from bus.pus import TmPacketWriter, check_tm, OK
from payload.packet_store import (
    PacketStore, MODE_IDLE, MODE_OPEN, SUMMARY_FORMAT, SUMMARY_LEN,
)
from hal.fake import FakeHal
from payload.app import PayloadApp
from tests.flight.payload.ground_stub import Bench, of, failure_code, failure_arg, event_ids
from tests.flight.support import garbage_bytes, raises

APID = mdb.APID_MANAGER


class Source:
    """Packets as the payload's TmOut packs them, at a time the test sets."""

    def __init__(self, days=24000, ms=0):
        self.time = FixedTime(days, ms)
        self.writer = TmPacketWriter(self.time, [APID, mdb.APID_SOURCE], max_app_data_len=1024)
        self.data = bytearray(1024)

    def packet(self, service=3, subtype=25, data_len=40, apid=APID, ms=None):
        if ms is not None:
            self.time.ms_of_day = ms
        for i in range(data_len):
            self.data[i] = (i * 7 + self.time.ms_of_day) & 0xFF
        n = self.writer.pack(apid, service, subtype, self.data, data_len)
        return bytes(self.writer.buf[:n])


def play_all(store):
    """Run a playback to its end as the link stack does; return the packets."""
    out = bytearray(1100)
    got = []
    while True:
        n = store.next_len()
        if n == 0:
            store.finish(0)
            return got
        n = store.take(out)
        got.append(bytes(out[:n]))


def test_records_only_selected_types():
    src = Source()
    s = PacketStore(4096)
    kept = [src.packet(3, 25), src.packet(5, 1), src.packet(5, 4)]
    for p in kept:
        assert s.record(p, len(p))
    for svc, sub in ((1, 7), (17, 2), (15, 13), (3, 26)):
        p = src.packet(svc, sub)
        assert not s.record(p, len(p))
    assert s.count == 3 and s.used_octets == sum(len(p) + 2 for p in kept)
    s.enabled = False
    p = src.packet(3, 25)
    assert not s.record(p, len(p)) and s.count == 3


def test_open_playback_returns_packets_unchanged_once():
    src = Source()
    s = PacketStore(4096)
    sent = [src.packet(3, 25, 30 + i, ms=1000 * i) for i in range(12)]
    for p in sent:
        s.record(p, len(p))
    assert s.unplayed == 12
    assert s.start_open() == 0 and s.mode == MODE_OPEN
    assert s.start_open() == mdb.FAIL_STORE_BUSY
    got = play_all(s)
    assert got == sent and s.mode == MODE_IDLE and s.unplayed == 0
    assert all(check_tm(p, 0, len(p)) == OK for p in got)  # CRC as sent
    more = [src.packet(5, 1, ms=20000), src.packet(3, 25, ms=21000)]
    for p in more:
        s.record(p, len(p))
    s.start_open()
    assert play_all(s) == more  # only what was not played back yet
    assert s.played == 14 and s.count == 14  # played records stay until overwritten or deleted


def test_overflow_overwrites_oldest_and_counts_across_many_wraps():
    src = Source()
    s = PacketStore(1000)
    model = []  # what the store should hold, oldest first
    for i in range(400):
        p = src.packet(3, 25, 10 + (i * 37) % 150, ms=i)  # 30..179-octet packets: records wrap everywhere
        s.record(p, len(p))
        model.append(p)
        while sum(len(q) + 2 for q in model) > 1000:
            model.pop(0)
        assert s.count <= len(model) and s.count + s.overwritten == s.recorded == i + 1
        assert s.used_octets == sum(len(q) + 2 for q in model[len(model) - s.count:]) <= 1000
    held = model[len(model) - s.count:]
    s.start_range(0, 0, 0xFFFF, 86399999)
    assert play_all(s) == held  # the newest, whole and in order
    assert s.overwritten == 400 - len(held) and s.unplayed_lost == s.overwritten


def test_playback_overtaken_by_overwriting_goes_on_from_the_oldest():
    src = Source()
    s = PacketStore(600)
    for i in range(5):
        p = src.packet(3, 25, 60, ms=i)
        s.record(p, len(p))
    s.start_open()
    out = bytearray(1100)
    assert s.next_len() and s.take(out)  # the oldest went out
    newer = []
    for i in range(5, 20):  # the store turns over while the playback waits for room on VC 1
        p = src.packet(3, 25, 60, ms=i)
        s.record(p, len(p))
        newer.append(p)
    got = play_all(s)
    assert got == newer[len(newer) - s.count:] and s.unplayed == 0


def test_range_playback_delete_and_refusals():
    src = Source(days=24000)
    s = PacketStore(8192)
    sent = [src.packet(3, 25, ms=1000 * i) for i in range(10)]
    for p in sent:
        s.record(p, len(p))
    assert s.start_range(24000, 3000, 24000, 5500) == 0
    assert s.delete_until(24000, 9000) == mdb.FAIL_STORE_BUSY  # not during a playback
    assert play_all(s) == sent[3:6]
    assert s.unplayed == 10  # a range playback leaves the open retrieval alone
    assert s.start_range(24000, 5000, 24000, 4999) == mdb.FAIL_STORE_RANGE
    assert s.start_range(24001, 0, 24000, 86399999) == mdb.FAIL_STORE_RANGE
    assert s.mode == MODE_IDLE
    assert s.delete_until(24000, 4000) == 0 and s.count == 5 and s.deleted == 5 and s.overwritten == 0
    s.start_open()
    assert play_all(s) == sent[5:]
    assert s.delete_until(0xFFFF, 86399999) == 0 and s.count == 0 and s.used_octets == 0
    p = src.packet(5, 2, ms=50000)
    s.record(p, len(p))
    s.start_open()
    assert play_all(s) == [p]  # a store emptied by a delete fills and plays again from offset 0


def test_summary_and_refusal_of_a_packet_larger_than_the_store():
    src = Source(days=24001)
    s = PacketStore(256)
    big = src.packet(3, 25, 300)
    assert not s.record(big, len(big)) and s.refused == 1
    a = src.packet(3, 25, 20, ms=1000)
    b = src.packet(5, 1, 20, ms=2000)
    s.record(a, len(a))
    s.record(b, len(b))
    n = s.summary_into()
    assert n == SUMMARY_LEN == struct.calcsize(SUMMARY_FORMAT)
    assert struct.unpack(SUMMARY_FORMAT, s.summary) == (1, 2, len(a) + len(b) + 4, 256, 24001, 1000, 24001, 2000,
                                                        0, 2, 1, 0)
    raises(ValueError, PacketStore, 100)


def test_mp_record_allocates_nothing():
    src = Source()
    s = PacketStore(2048)
    hk = src.packet(3, 25, 120)
    ev = src.packet(5, 2, 11)
    other = src.packet(1, 7, 4)

    def record():
        s.record(hk, len(hk))  # the store wraps and overwrites in the steady state
        s.record(ev, len(ev))
        s.record(other, len(other))

    assert garbage_bytes(record, 200) == 0
    assert s.overwritten > 0


# -- service 15 through the payload application (lab port) -------------------------------------------

def test_service_15_report_playback_and_refusals():
    b = Bench()
    b.run_ms(3000)
    rt = [p for p in b.lab.tx]
    assert of(b.received(), 3, 25)
    rep = of(b.tc("STORE_REPORT"), 15, 13)[0]
    fields = struct.unpack(SUMMARY_FORMAT, rep.app_data)
    store = b.app.store
    assert 0 < fields[1] <= store.count and fields[3] == store.size_octets and fields[-1] == MODE_IDLE
    stored_rt = [p for p in rt if p[7] in (3, 5)]
    tms = b.tc("STORE_PLAYBACK", ms=200)
    ids = event_ids(tms)
    assert mdb.event("EV_STORE_PLAYBACK_START")[0] in ids and mdb.event("EV_STORE_PLAYBACK_END")[0] in ids
    played = [p for p in b.lab.tx if p in stored_rt]
    assert played[:len(stored_rt)] == stored_rt  # each stored packet again, unchanged, one per datagram
    # bad arguments: refused with a failure report, nothing changes
    f = of(b.tc("STORE_PLAYBACK_RANGE", 24000, 5000, 23999, 0), 1, 8)[0]
    assert failure_code(f) == mdb.FAIL_STORE_RANGE and failure_arg(f) == 2 and store.mode == MODE_IDLE
    c = mdb.command("STORE_DELETE")
    from bus.pus import pack_tc
    b.lab.tx.clear()
    b.send_raw(pack_tc(c[1], 900, c[2], c[3], struct.pack(">HI", 1, 86400000)))  # ms of day out of range
    assert failure_code(of(b.received(), 1, 2)[0]) == mdb.FAIL_ARG_RANGE
    count = store.count
    b.send_raw(pack_tc(c[1], 901, c[2], c[3], b"\x00\x01"))  # too short
    assert failure_code(of(b.received(), 1, 2)[-1]) == mdb.FAIL_LENGTH and store.count >= count
    # disabled: nothing recorded
    b.tc("STORE_DISABLE")
    n = store.recorded
    b.run_ms(2000)
    assert store.recorded == n and not store.enabled
    b.tc("STORE_ENABLE")
    b.run_ms(1100)
    assert store.recorded > n


def test_store_housekeeping_packet():
    b = Bench()
    decl = [h for h in mdb.HOUSEKEEPING if h[2] == "HK_STORE"][0]
    assert decl[0] == 6 and decl[1] == mdb.APID_MANAGER
    tms = b.tc("HK_ONE_SHOT", 1, 6)
    rep = [t for t in of(tms, 3, 25) if t.app_data[:2] == b"\x00\x06"][0]
    named = dict(zip(decl[4], struct.unpack(mdb.hk_format(decl), rep.app_data[2:])))
    assert named["store_capacity_b"] == b.app.store.size_octets and named["store_enabled"] == 1
    assert 0 < named["store_records"] <= b.app.store.count


def test_playback_on_vc1_leaves_real_time_first():
    hal = FakeHal()
    app = PayloadApp(hal, fine_period_us=50000)  # coarse: one step per comms release (50 ms)
    app.start()

    def release():
        app.step()
        hal.clock.advance(50000)

    for _ in range(100):  # 5 s: about 25 housekeeping reports and events in the store
        release()
    space = hal.links["space"]
    builder = app.link.builder
    store = app.store
    held = store.count
    space.tx.clear()
    assert store.start_open() == 0
    vc1_per_poll = []
    backlog = 0
    while store.mode != MODE_IDLE and len(vc1_per_poll) < 40:
        release()
        vcs = [(f[1] >> 1) & 7 for f in space.tx]  # datagram space link: no ASM before the frame
        space.tx.clear()
        vc1_per_poll.append(vcs.count(mdb.VC_PLAYBACK))
        backlog = max(backlog, builder.pending(mdb.VC_REALTIME))
    assert store.mode == MODE_IDLE and store.played >= held
    assert max(vc1_per_poll) <= 2 and sum(vc1_per_poll) >= 2  # paced: at most VC 1's two slots a poll
    assert backlog <= 1 and app.link.packets_dropped == 0  # real time never waits for playback
