"""TM transfer frames (CCSDS 132.0-B-3): exact bytes, first header pointer, spanning packets,
gaps, counters, idle frames, queue overflow, attached sync marker; no garbage on board."""

from bus.clcw import pack_clcw
from bus.crc16 import crc16
from bus.tm_frame import (
    ASM, FHP_IDLE, FHP_NO_PACKET, IDLE_VCID, AsmSynchroniser, TmFrameBuilder, TmFrameReader, asm_into,
    fecf_ok, pack_tm_header_into, unpack_tm_header,
)
from tests.flight.support import garbage_bytes, raises

SCID = 0x2A5


def _packet(apid, seq, n_data, fill=None):
    """A space packet (TM, no secondary header) with ``n_data`` data octets."""
    dl = n_data - 1
    h = bytes([0x08 | (apid >> 8), apid & 0xFF, 0xC0 | (seq >> 8), seq & 0xFF, dl >> 8, dl & 0xFF])
    body = bytes(((seq + i) & 0xFF) if fill is None else fill for i in range(n_data))
    return h + body


def _frames(b, clcw, count):
    return [bytes(b.next_frame(clcw)) for _ in range(count)]


def test_frame_bytes_packet_padded_with_idle_packet():
    b = TmFrameBuilder(SCID, frame_len=26, vc_slots=(2,))
    assert b.data_len == 14
    assert b.queue_packet(0, _packet(0x10, 0, 1, fill=0x42))
    frame = bytes(b.next_frame(pack_clcw(0, 5)))
    assert frame[:-2] == bytes([
        0x2A,  # version 00, SCID[9:4] = 101010
        0x51,  # SCID[3:0] = 0101, VCID 000, OCF flag 1
        0x00,  # master channel frame count
        0x00,  # virtual channel frame count
        0x18,  # secondary header 0, sync 0, packet order 0, segment length id 11, FHP[10:8] = 000
        0x00,  # FHP[7:0]: the first packet starts at octet 0 of the data field
        0x08, 0x10, 0xC0, 0x00, 0x00, 0x00, 0x42,  # the packet: APID 0x010, seq 0, 1 data octet
        0x07, 0xFF, 0xC0, 0x00, 0x00, 0x00, 0x55,  # idle packet (APID 0x7FF) filling the field
        0x01, 0x00, 0x00, 0x05,  # OCF: the CLCW (COP-1, VC 0, V(R) = 5)
    ])
    assert (frame[-2] << 8 | frame[-1]) == crc16(frame, 0, 24) and fecf_ok(frame)


def test_idle_frame_bytes():
    b = TmFrameBuilder(SCID, frame_len=20, vc_slots=(2,))
    frame = bytes(b.next_frame(pack_clcw(0, 0)))
    assert frame[:6] == bytes([
        0x2A,  # version 00, SCID[9:4]
        0x5F,  # SCID[3:0], VCID 111 (idle), OCF flag 1
        0x00, 0x00,  # master and VC 7 frame counts
        0x1F,  # flags 0 0 0, segment length id 11, FHP[10:8] = 111
        0xFE,  # FHP 0x7FE: idle data only
    ])
    assert frame[6:14] == b"\x55" * 8 and b.idle_frames == 1
    assert unpack_tm_header(frame)[10] == FHP_IDLE


def test_header_maximum_values_round_trip():
    buf = bytearray(6)
    pack_tm_header_into(buf, 0, 0x3FF, 7, 255, 255, FHP_NO_PACKET)
    assert bytes(buf) == b"\x3f\xff\xff\xff\x1f\xff"
    assert unpack_tm_header(buf) == (0, 0x3FF, 7, 1, 255, 255, 0, 0, 0, 3, 0x7FF)
    pack_tm_header_into(buf, 0, 0, 0, 0, 0, 0, 0)
    assert bytes(buf) == b"\x00\x00\x00\x00\x18\x00"


def test_packets_spanning_frames_and_fhp_values():
    b = TmFrameBuilder(SCID, frame_len=64, vc_slots=(8,))  # data field 52 octets
    r = TmFrameReader(SCID, 64)
    p1 = _packet(0x20, 1, 144)  # 150 octets: 52 + 52 + 46
    p2 = _packet(0x21, 2, 30)  # 36 octets: 6 in frame 3, 30 in frame 4
    assert b.queue_packet(0, p1) and b.queue_packet(0, p2)
    frames = _frames(b, pack_clcw(0, 0), 4)
    fhps = [unpack_tm_header(f)[10] for f in frames]
    assert fhps == [0, FHP_NO_PACKET, 46, 30]  # frame 3: p2's last 30 octets, then the idle packet
    got = []
    for f in frames:
        got += r.read(f)
    assert got == [(0, p1), (0, p2)]
    assert r.packets == 2 and r.idle_packets == 1 and r.vc_gaps == 0 and r.fhp_errors == 0


def test_many_packets_round_trip_and_counts_wrap():
    b = TmFrameBuilder(SCID, frame_len=64, vc_slots=(4, 4))
    r = TmFrameReader(SCID, 64)
    sent = []
    got = []
    clcw = pack_clcw(1, 77)
    for i in range(300):
        if i % 3 == 0:
            p = _packet(0x30 + (i & 7), i & 0x3FFF, 1 + (i * 37) % 90)
            vc = (i // 3) & 1
            if b.queue_packet(vc, p):
                sent.append((vc, p))
        got += r.read(bytes(b.next_frame(clcw)))
    for _ in range(20):
        got += r.read(bytes(b.next_frame(clcw)))
    assert sorted(got) == sorted(sent) and len(sent) == 100
    for vc in (0, 1):
        assert [p for v, p in got if v == vc] == [p for v, p in sent if v == vc]  # order kept per VC
    assert b.frames == 320 and b.mc_count == 320 & 0xFF
    assert r.mc_gaps == 0 and r.vc_gaps == 0 and r.crc_errors == 0 and r.clcw == clcw
    assert sum(r.vc_frames) == 320


def test_vc_count_wraps_at_255():
    b = TmFrameBuilder(SCID, frame_len=32, vc_slots=(2,))
    r = TmFrameReader(SCID, 32)
    counts = []
    for _ in range(258):
        f = bytes(b.next_frame(0x01000000))
        counts.append(unpack_tm_header(f)[5])
        r.read(f)
    assert counts[254:] == [254, 255, 0, 1] and r.vc_gaps == 0 and r.mc_gaps == 0
    assert r.idle_frames == 258 and r.vc_frames[IDLE_VCID] == 258


def test_gap_discards_partial_and_resynchronises_on_fhp():
    b = TmFrameBuilder(SCID, frame_len=64, vc_slots=(8,))
    r = TmFrameReader(SCID, 64)
    p1 = _packet(0x40, 1, 144)  # frames 0..2
    p2 = _packet(0x41, 2, 20)  # starts in frame 2 at 46
    p3 = _packet(0x42, 3, 40)  # frames 3 and 4
    for p in (p1, p2, p3):
        assert b.queue_packet(0, p)
    frames = _frames(b, 0x01000000, 5)
    got = r.read(frames[0]) + r.read(frames[2]) + r.read(frames[3]) + r.read(frames[4])  # frame 1 lost
    assert got == [(0, p2), (0, p3)]
    assert r.vc_gaps == 1 and r.mc_gaps == 1 and r.partials_discarded == 1


def test_joining_inside_a_long_packet_waits_for_the_next_header():
    b = TmFrameBuilder(SCID, frame_len=64, vc_slots=(8,))
    r = TmFrameReader(SCID, 64)
    p1 = _packet(0x40, 1, 200)  # 206 octets = 3 * 52 + 50: frames 0..3
    p2 = _packet(0x41, 2, 10)  # 16 octets: 2 in frame 3, 14 in frame 4
    b.queue_packet(0, p1)
    b.queue_packet(0, p2)
    frames = _frames(b, 0x01000000, 5)
    assert [unpack_tm_header(f)[10] for f in frames] == [0, FHP_NO_PACKET, FHP_NO_PACKET, 50, 14]
    assert r.read(frames[1]) + r.read(frames[2]) == []  # joined mid-packet: nothing to deliver
    assert r.read(frames[3]) == []  # p2 begins at the first header pointer
    assert r.read(frames[4]) == [(0, p2)]
    assert r.vc_gaps == 0 and r.partials_discarded == 0 and r.fhp_errors == 0


def test_reader_counts_bad_frames():
    b = TmFrameBuilder(SCID, frame_len=40, vc_slots=(2,))
    r = TmFrameReader(SCID, 40)
    good = bytes(b.next_frame(0x01000000))
    bad = bytearray(good)
    bad[20] ^= 1
    assert r.read(bytes(bad)) == [] and r.crc_errors == 1
    assert r.read(good[:-1]) == [] and r.length_errors == 1
    other = TmFrameBuilder(0x3FF, frame_len=40, vc_slots=(2,))
    assert r.read(bytes(other.next_frame(0))) == [] and r.scid_errors == 1
    v = bytearray(good)
    v[0] |= 0x40
    c = crc16(v, 0, 38)
    v[38] = c >> 8
    v[39] = c & 0xFF
    assert r.read(bytes(v)) == [] and r.version_errors == 1
    assert r.frames == 0 and r.read(good) == [] and r.frames == 1


def test_fhp_inconsistent_with_partial_packet_is_counted():
    r = TmFrameReader(SCID, 40)  # data field 28
    b = TmFrameBuilder(SCID, frame_len=40, vc_slots=(4,))
    b.queue_packet(0, _packet(0x50, 0, 40))  # 46 octets: 28 + 18
    f0 = bytes(b.next_frame(0))
    r.read(f0)
    forged = bytearray(28)
    buf = bytearray(40)
    pack_tm_header_into(buf, 0, SCID, 0, 1, 1, 10)  # FHP says a packet starts at 10, not 18
    buf[6:34] = forged
    c = crc16(buf, 0, 38)
    buf[38] = c >> 8
    buf[39] = c & 0xFF
    r.read(bytes(buf))
    assert r.fhp_errors == 1 and r.partials_discarded == 1


def test_queue_overflow_refuses_newest_and_counts():
    b = TmFrameBuilder(SCID, frame_len=64, vc_slots=(2, 3))  # VC0 holds 104 octets
    p = _packet(0x60, 0, 54)  # 60 octets
    assert b.free_bytes(0) == 104 and b.queue_packet(0, p) and b.free_bytes(0) == 44
    assert not b.queue_packet(0, p)
    assert b.dropped == [1, 0] and b.queued == [1, 0]
    assert b.queue_packet(1, p) and b.queue_packet(1, p)
    # full slots first, lowest VC first; then partly filled slots (padded), lowest VC first
    vcs = [unpack_tm_header(f)[2] for f in _frames(b, 0, 6)]
    assert vcs == [0, 1, 1, 0, 1, IDLE_VCID]
    assert b.pending(0) == 0
    raises(ValueError, b.queue_packet, 2, p)
    raises(ValueError, b.queue_packet, 0, p[:6])
    raises(ValueError, TmFrameBuilder, SCID, 18)
    raises(ValueError, TmFrameBuilder, SCID, 64, (1,))
    raises(ValueError, TmFrameBuilder, SCID, 64, (2,) * 8)
    raises(ValueError, TmFrameBuilder, 0x400)


def test_short_remainder_spills_idle_packet_into_next_slot():
    b = TmFrameBuilder(SCID, frame_len=26, vc_slots=(3,))  # data field 14
    r = TmFrameReader(SCID, 26)
    p = _packet(0x70, 5, 5)  # 11 octets: 3 left, too few for an idle packet
    assert b.queue_packet(0, p)
    f0 = bytes(b.next_frame(0))
    assert f0[6:17] == p and f0[17:20] == b"\x07\xff\xc0"  # idle packet begins ...
    f1 = bytes(b.next_frame(0))
    assert unpack_tm_header(f1)[2] == IDLE_VCID  # ... its rest waits, no frame wasted on it
    q = _packet(0x71, 6, 10)
    assert b.queue_packet(0, q)
    f2 = bytes(b.next_frame(0))
    assert f2[6:10] == b"\x00\x00\x00\x55" and unpack_tm_header(f2)[10] == 4  # rest of idle, then q
    got = r.read(f0) + r.read(f1) + r.read(f2) + r.read(bytes(b.next_frame(0)))
    assert got == [(0, p), (0, q)] and r.fhp_errors == 0


def test_asm_and_stream_synchroniser():
    b = TmFrameBuilder(SCID, frame_len=48, vc_slots=(2,), asm=True)
    assert bytes(b.frame[:4]) == ASM == b"\x1a\xcf\xfc\x1d"
    buf = bytearray(6)
    asm_into(buf, 1)
    assert bytes(buf[1:5]) == ASM
    frames = []
    stream = bytearray(b"\x00\x1a\xcf")  # garbage, including half a marker
    for i in range(6):
        b.queue_packet(0, _packet(0x10, i, 20))
        out = bytes(b.next_frame(0x01000000))
        assert out[:4] == ASM and len(out) == 52
        frames.append(out[4:])
        stream += out
        stream += ASM + b"junk" if i == 2 else b"\xff" * i  # a false marker between frames
    s = AsmSynchroniser(48)
    got = []
    for k in range(0, len(stream), 7):
        got += s.feed(bytes(stream[k:k + 7]))
    assert got == frames and s.frames == 6 and s.rejected >= 1
    assert s.garbage == len(stream) - 6 * 52 - 3  # the last 3 octets could begin a marker


def test_mp_builder_allocates_nothing_per_frame():
    b = TmFrameBuilder(SCID, frame_len=512, vc_slots=(4, 2), asm=True)
    pkt = bytearray(_packet(0x20, 9, 194))  # 200 octets, whole-buffer fast path
    big = bytearray(400)
    big[0:150] = _packet(0x21, 3, 144)  # 150 octets inside a larger buffer: octet loop
    clcw = pack_clcw(0, 12)
    box = bytearray(1)

    def one():
        b.queue_packet(0, pkt)
        if box[0] & 1:
            b.queue_packet(1, big, 150)
        box[0] += 1
        b.next_frame(clcw)
    assert garbage_bytes(one, 60) == 0
    assert b.dropped == [0, 0] and b.frames == 61

    def idle():
        b.next_frame(clcw)
    for _ in range(10):
        idle()
    assert b.pending(0) == 0 and b.pending(1) == 0
    assert garbage_bytes(idle, 50) == 0
