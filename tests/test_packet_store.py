"""No data lost: the packet store played back in each contact, merged by the ground archive over several orbits.

The real payload (``PayloadApp`` on ``hal.fake``, 256 KiB packet store) and the
real ``GroundStation`` are wired back to back (tests/space_link_pair.py); both
directions of the space link are up only during one contact per orbit
(``sim.link_impairments.contact_outages``).  The orbit is compressed ten times
to keep the suite fast: a 570 s orbit with a 90 s contact (a real LEO orbit is
about 5,700 s with a pass of 5 to 10 minutes), three orbits, four contacts;
the payload runs with a 50 ms fine period and the harness steps 50 ms (the
comms group's period).  Every APID's sequence count starts 400 below the 14-bit
wrap, so the merge is checked across it.  In each contact the ground commands
STORE_PLAYBACK through the station (signed, FOP-1); the archive must then hold
every packet the payload sent, once, with no gap for any APID, and refuse the
copies it already had (the packets recorded while in contact come down twice).

Control: without playback the outages show as gaps that account exactly for
what the payload sent.  Overflow: a store too small for an outage overwrites
its oldest records, counts them on board and the ground sees the loss.
"""

import pytest

from bus import mdb
from payload.packet_store import MODE_IDLE, STORE_OCTETS_EMULATOR
from sim.link_impairments import LinkImpairments, contact_outages
from tests.space_link_pair import SpaceLinkPair, Writer

ORBIT_S = 570  # compressed ten times (real: ~5,700 s)
CONTACT_S = 90
STEP_MS = 50
FINE_PERIOD_US = 50000
SEQ_START = 16384 - 400  # every APID wraps during the first outage
APIDS = [a[0] for a in mdb.APPLICATIONS]
STORED_APIDS = sorted({h[1] for h in mdb.HOUSEKEEPING})  # every APID sends housekeeping: all are stored


def near_wrap(app):
    w = app.services.tm.writer
    for apid in APIDS:
        w.set_counts(apid, SEQ_START, 0)


class Mission(SpaceLinkPair):
    """A payload and a station over a contact-only link, orbit after orbit."""

    def __init__(self, tmp_path, orbits, store_octets=STORE_OCTETS_EMULATOR, seed=11, orbit_s=ORBIT_S,
                 contact_s=CONTACT_S):
        outages = contact_outages(orbit_s, contact_s, orbits)
        self.orbit_s = orbit_s
        super().__init__(tmp_path,
                         LinkImpairments(seed=seed, outages=outages, delay_ms=5, name="uplink"),
                         LinkImpairments(seed=seed + 1, outages=outages, delay_ms=5, name="downlink"),
                         virtual_station=True, before_start=near_wrap, archive_path=":memory:",
                         app_kw={"fine_period_us": FINE_PERIOD_US, "store_octets": store_octets})
        self.orbits = orbits
        self.replies = []  # (command name, Writer)

    def send(self, name, args=None):
        w = Writer()
        self.gs.send_command(name, args or {}, writer=w, timeout_s=1e6)
        self.replies.append((name, w))
        return w

    def run_to(self, t_s):
        while self.now_ms < t_s * 1000:
            self.step(STEP_MS)

    def fly(self, playback=True, in_contact=None):
        """Every contact: (playback) STORE_PLAYBACK 5 s after AOS; ``in_contact(k)`` 20 s after AOS."""
        for k in range(self.orbits + 1):
            aos = k * self.orbit_s
            self.run_to(aos + 5)
            if playback:
                self.send("STORE_PLAYBACK")
            self.run_to(aos + 20)
            if in_contact is not None:
                in_contact(k)
            if k < self.orbits:
                self.run_to(aos + self.orbit_s)
        self.run_to(self.orbits * self.orbit_s + 60)
        # quiet the payload (no housekeeping, hence no events either) and let the link drain
        for p in self.app.housekeeping.packets:
            p.enabled = False
        self.run_to(self.orbits * self.orbit_s + 65)
        assert self.app.store.mode == MODE_IDLE
        return self

    def sent_per_apid(self):
        w = self.app.services.tm.writer
        return {apid: (w.seq_count(apid) - SEQ_START) % 16384 for apid in APIDS}


def test_playback_every_contact_merges_without_gap_or_duplicate(tmp_path):
    m = Mission(tmp_path, orbits=3).fly()
    arch = m.gs.archive
    done = [w.lines[-1] for _, w in m.replies]
    assert len(done) == 4 and all(d == {"event": "done", "success": True, "reason": "completed"} for d in done)
    report = arch.completeness()
    sent = m.sent_per_apid()
    store = m.app.store
    figures = {"virtual_s": m.now_ms / 1000, "packets_sent": m.app.services.tm.packets_sent,
               "recorded": store.recorded, "played": store.played, "overwritten": store.overwritten,
               "station": {k: m.gs.counters[k] for k in ("frames", "packets", "playback", "duplicates")},
               "downlink": m.downlink.stats(), "per_apid": {hex(a): tuple(r) for a, r in report.items()}}
    print("\npacket store, 3 compressed orbits:", figures)
    assert store.unplayed_lost == 0 and store.played > 0  # old records overwritten had been played back
    for apid in STORED_APIDS:
        r = report[apid]
        assert (r.gaps, r.missing) == (0, 0), r
        assert r.received == r.expected == sent[apid], (hex(apid), r, sent[apid])
        assert r.playback > 0 and r.duplicates > 0  # outage packets came by playback; in-contact copies refused
    assert sum(r.received for r in report.values()) == m.app.services.tm.packets_sent
    assert m.gs.counters["duplicates"] == sum(r.duplicates for r in report.values()) > 0
    assert m.downlink.lost_outage > 0  # the outages did cut the link
    assert m.app.link.packets_dropped == 0  # playback never crowded the real-time VC out
    # each packet once; the wrap crossed for every APID
    assert arch.conn.execute("SELECT COUNT(*) FROM (SELECT 1 FROM packets WHERE ok = 1 "
                             "GROUP BY apid, seq_count, pkt_time HAVING COUNT(*) > 1)").fetchone()[0] == 0
    wrapped = [apid for apid in STORED_APIDS if sent[apid] > 400]  # HK_SECURITY (10 s) sends fewer
    assert len(wrapped) == 4
    for apid in wrapped:
        seqs = {r.seq_count for r in arch.packets(apid=apid)}
        assert SEQ_START in seqs and 0 in seqs and 16383 in seqs
    assert arch.sequence_gaps(mdb.APID_SOURCE) == (0, 0)
    # playback events reached the ground (real time or played)
    assert len(arch.events(name="EV_STORE_PLAYBACK_END")) >= 4


def test_without_playback_the_outages_are_gaps_and_bad_arguments_are_refused(tmp_path):
    m = Mission(tmp_path, orbits=1, orbit_s=300, contact_s=60)

    def bad_range(k):  # refused on board: the store plays nothing
        m.send("STORE_PLAYBACK_RANGE", {"days0": 24000, "ms0": 5000, "days1": 24000, "ms1": 4000})

    m.fly(playback=False, in_contact=lambda k: bad_range(k) if k == 1 else None)
    report = m.gs.archive.completeness()
    sent = m.sent_per_apid()
    missing = 0
    for apid in STORED_APIDS:
        r = report[apid]
        assert r.playback == 0 and r.received + r.missing == sent[apid], (hex(apid), r, sent[apid])
        missing += r.missing
    assert report[mdb.APID_SOURCE].gaps == 1 and missing >= 3 * (300 - 60 - 1)  # 1 Hz HK of 3 APIDs, the outage
    done = m.replies[0][1].lines[-1]
    assert done["success"] is False and "ends before it starts" in done["reason"], done
    assert m.app.store.played == 0 and m.app.store.mode == MODE_IDLE


@pytest.mark.parametrize("store_octets", [65536])
def test_overflow_is_counted_on_board_and_seen_on_the_ground(tmp_path, store_octets):
    m = Mission(tmp_path, orbits=1, store_octets=store_octets, orbit_s=300, contact_s=60).fly()  # 240 s outage
    store = m.app.store
    report = m.gs.archive.completeness()
    missing = sum(report[a].missing for a in STORED_APIDS)
    assert store.overwritten > 0 and 0 < missing <= store.unplayed_lost
    assert 0 < m.gs.archive.latest("store_overwritten").raw <= store.overwritten  # HK_STORE every 10 s
    assert m.gs.archive.events(name="EV_STORE_OVERWRITE")  # reported, never silent
    print("\npacket store overflow (%d octets): overwritten %d, unplayed lost %d, ground missing %d"
          % (store_octets, store.overwritten, store.unplayed_lost, missing))


# -- the ground archive's merge (fast, synthetic packets) ---------------------------------------------

def _tm(seq, ms, apid=mdb.APID_SOURCE, data=b"\x00\x02"):
    from ground_segment import packets

    return packets.build_tm(apid, seq, 3, 25, 24000, ms, data)


def test_archive_refuses_copies_and_notes_them():
    from ground_segment.archive import Archive

    a = Archive(":memory:")
    p = _tm(7, 1000)
    assert a.add_packet(1.0, p) is not None
    assert a.add_packet(2.0, p, "playback") is None  # the same packet again: refused
    assert a.add_packet(3.0, _tm(7, 1000, data=b"\x00\x03")) is not None  # same header, other packet: kept
    bad = bytearray(p)
    bad[-1] ^= 1
    assert a.add_packet(4.0, bytes(bad)) is not None and a.add_packet(5.0, bytes(bad)) is not None  # bad: kept
    assert [(r.rx_time, r.source, r.ok) for r in a.packets()] == [
        (1.0, "realtime", True), (3.0, "realtime", True), (4.0, "realtime", False), (5.0, "realtime", False)]
    assert a.conn.execute("SELECT rx_time, apid, seq_count, source FROM packet_duplicates").fetchall() == [
        (2.0, mdb.APID_SOURCE, 7, "playback")]
    assert a.completeness()[mdb.APID_SOURCE].duplicates == 1


def test_gaps_in_packet_time_order_across_the_wrap():
    from ground_segment.archive import Archive

    a = Archive(":memory:")
    # 1 Hz seconds of two packets each (one time stamp per second), counts crossing 16383 -> 0 inside a second;
    # the playback brings seconds 2..5 after seconds 6..7 came real time, and the order of a second is swapped
    seconds = {s: [(16378 + 2 * s) % 16384, (16379 + 2 * s) % 16384] for s in range(8)}
    for s in (0, 1, 6, 7):
        for q in seconds[s]:
            a.add_packet(float(s), _tm(q, 1000 * s))
    assert a.sequence_gaps(mdb.APID_SOURCE) == (1, 8)
    for s in (5, 4, 3, 2):
        for q in reversed(seconds[s]):
            a.add_packet(100.0, _tm(q, 1000 * s), "playback")
    assert a.sequence_gaps(mdb.APID_SOURCE) == (0, 0)
    r = a.completeness()[mdb.APID_SOURCE]
    assert (r.received, r.expected, r.gaps, r.missing, r.realtime, r.playback) == (16, 16, 0, 0, 8, 8)
    lost = a.completeness(t0=None, t1=None)
    assert lost == {mdb.APID_SOURCE: r}
    # a time span: the first four seconds only
    from ground_segment.mdb_decode import cds_to_unix

    part = a.completeness(cds_to_unix(24000, 0), cds_to_unix(24000, 3000))[mdb.APID_SOURCE]
    assert (part.received, part.expected) == (8, 8)


def test_version_1_archive_is_migrated(tmp_path):
    import sqlite3

    from ground_segment.archive import SCHEMA_VERSION, Archive

    path = tmp_path / "v1.sqlite"
    c = sqlite3.connect(path)
    c.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE packets (id INTEGER PRIMARY KEY, rx_time REAL NOT NULL, apid INTEGER, seq_count INTEGER,
            service INTEGER, subtype INTEGER, pkt_time REAL, ok INTEGER NOT NULL, data BLOB NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');""")
    p = _tm(3, 500)
    from ground_segment.archive import _packet_fields

    for t in (1.0, 2.0):  # the same packet twice: version 1 kept both
        c.execute("INSERT INTO packets (rx_time, apid, seq_count, service, subtype, pkt_time, ok, data) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (t, *_packet_fields(p), p))
    c.commit()
    c.close()
    with pytest.raises(RuntimeError):
        Archive(path, readonly=True)  # read-only: cannot migrate
    with Archive(path) as a:
        assert a.schema_version == SCHEMA_VERSION == 2
        assert [(r.rx_time, r.source) for r in a.packets()] == [(1.0, "realtime")]
        assert a.completeness()[mdb.APID_SOURCE].duplicates == 1
        assert a.add_packet(3.0, p) is None
