"""TC transfer frames (CCSDS 232.0-B-4): exact bytes, maximum values, every rejection, no garbage."""

from bus.crc16 import crc16
from bus.tc_frame import (
    BC_NONE, BC_SET_VR, BC_UNLOCK, FRAME_AD, FRAME_BC, FRAME_BD, MAX_DATA_LEN, MAX_FRAME_LEN, N_RESULTS, OK,
    REJECT_BC, REJECT_CRC, REJECT_LENGTH, REJECT_SCID, REJECT_SEGMENT, REJECT_TOO_LONG, REJECT_TOO_SHORT,
    REJECT_TYPE, REJECT_VCID, REJECT_VERSION, RESULT_NAMES, UNLOCK, TcFrameReader, pack_tc_frame_into,
    set_vr_command, tc_frame,
)
from tests.flight.support import garbage_bytes, raises

SCID = 0x2A5


def _refecf(frame):
    """Recompute the FECF after a header edit (to reach the checks behind the CRC)."""
    f = bytearray(frame)
    c = crc16(f, 0, len(f) - 2)
    f[-2] = c >> 8
    f[-1] = c & 0xFF
    return f


def test_type_ad_frame_bytes():
    frame = tc_frame(SCID, 1, FRAME_AD, 7, b"\xab\xcd", map_id=2)
    assert frame == bytes([
        0x02,  # version 00, bypass 0, control command 0, spare 00, SCID[9:8] = 10
        0xA5,  # SCID[7:0]: SCID 0x2A5
        0x04,  # VCID 000001, frame length[9:8] = 00
        0x09,  # frame length[7:0]: 10 octets - 1
        0x07,  # frame sequence number N(S) = 7
        0xC2,  # segment header: sequence flags 11 (unsegmented), MAP id 2
        0xAB, 0xCD,  # frame data
        0x7C, 0x32,  # FECF: CRC-16/CCITT-FALSE of the 8 octets before it
    ])


def test_type_bd_frame_bytes():
    frame = tc_frame(SCID, 0, FRAME_BD, 0, b"\x01")
    assert frame[:6] == bytes([
        0x22,  # version 00, bypass 1, control command 0, spare 00, SCID[9:8] = 10
        0xA5,  # SCID[7:0]
        0x00,  # VCID 0, frame length[9:8] = 00
        0x08,  # frame length 9 - 1
        0x00,  # N(S) = 0 (not used by Type-B frames)
        0xC0,  # segment header: unsegmented, MAP 0
    ])
    assert frame[6] == 0x01 and len(frame) == 9 and crc16(frame) == 0


def test_type_bc_unlock_and_set_vr_bytes():
    unlock = tc_frame(SCID, 3, FRAME_BC, 0, UNLOCK)
    assert unlock[:6] == bytes([
        0x32,  # version 00, bypass 1, control command 1, spare 00, SCID[9:8] = 10
        0xA5,  # SCID[7:0]
        0x0C,  # VCID 000011, frame length[9:8] = 00
        0x07,  # frame length 8 - 1 (no segment header on Type-BC frames)
        0x00,  # N(S)
        0x00,  # control command Unlock
    ])
    assert len(unlock) == 8 and crc16(unlock) == 0
    set_vr = tc_frame(SCID, 3, FRAME_BC, 0, set_vr_command(0xC8))
    assert set_vr[4:8] == bytes([
        0x00,  # N(S)
        0x82, 0x00,  # control command Set V(R)
        0xC8,  # the new V(R) = 200
    ])
    assert len(set_vr) == 10 and set_vr[3] == 9


def test_maximum_values():
    data = bytes(range(256)) * 3 + bytes(range(248))
    assert len(data) == MAX_DATA_LEN
    buf = bytearray(MAX_FRAME_LEN)
    n = pack_tc_frame_into(buf, 0x3FF, 63, FRAME_AD, 255, data, map_id=63)
    assert n == MAX_FRAME_LEN
    assert bytes(buf[:6]) == bytes([
        0x03,  # Type-AD, SCID[9:8] = 11
        0xFF,  # SCID[7:0]: SCID 0x3FF
        0xFF,  # VCID 63, frame length[9:8] = 11
        0xFF,  # frame length 1023: 1024 octets
        0xFF,  # N(S) 255
        0xFF,  # unsegmented, MAP 63
    ])
    r = TcFrameReader(0x3FF)
    assert r.parse(buf, n) == OK
    assert (r.frame_type, r.vcid, r.seq, r.map_id) == (FRAME_AD, 63, 255, 63)
    assert (r.data_offset, r.data_len, r.frame_len) == (6, MAX_DATA_LEN, 1024)
    assert bytes(buf[r.data_offset:r.data_offset + r.data_len]) == data


def test_reader_fields_for_each_type():
    r = TcFrameReader(SCID, vcids=(0, 1, 3))
    for ftype, data in ((FRAME_AD, b"pkt"), (FRAME_BD, b"bd")):
        f = tc_frame(SCID, 1, ftype, 9, data, map_id=5)
        assert r.parse(f, len(f)) == OK
        assert r.frame_type == ftype and r.bc_command == BC_NONE and r.map_id == 5
        assert bytes(f[r.data_offset:r.data_offset + r.data_len]) == data
    f = tc_frame(SCID, 3, FRAME_BC, 0, UNLOCK)
    assert r.parse(f, len(f)) == OK and r.frame_type == FRAME_BC and r.bc_command == BC_UNLOCK
    f = tc_frame(SCID, 3, FRAME_BC, 0, set_vr_command(255))
    assert r.parse(f, len(f)) == OK and r.bc_command == BC_SET_VR and r.bc_vr == 255
    assert r.accepted == 4 and sum(r.rejected) == 0


def test_frame_at_an_offset_in_a_larger_buffer():
    buf = bytearray(64)
    n = pack_tc_frame_into(buf, SCID, 2, FRAME_AD, 1, b"abc", offset=10)
    r = TcFrameReader(SCID)
    assert r.parse(buf, n, 10) == OK and r.data_offset == 16 and r.data_len == 3


def test_every_rejection_is_named_and_counted():
    r = TcFrameReader(SCID, vcids=(0, 1), max_len=64)
    good = tc_frame(SCID, 1, FRAME_AD, 0, b"hello")
    cases = [
        (good[:6], 6, REJECT_TOO_SHORT),
        (tc_frame(SCID, 1, FRAME_AD, 0, bytes(60)), 68, REJECT_TOO_LONG),
        (good, len(good) - 1, REJECT_LENGTH),  # length field says one more octet
        (good + b"\x00", len(good) + 1, REJECT_LENGTH),
        (good, len(good) + 4, REJECT_LENGTH),  # n beyond the buffer
    ]
    bad_crc = bytearray(good)
    bad_crc[7] ^= 0x01
    cases.append((bad_crc, len(good), REJECT_CRC))
    v = bytearray(good)
    v[0] |= 0x40  # version 01
    cases.append((_refecf(v), len(good), REJECT_VERSION))
    ac = bytearray(good)
    ac[0] |= 0x10  # bypass 0, control command 1: Type-AC is reserved
    cases.append((_refecf(ac), len(good), REJECT_TYPE))
    cases.append((tc_frame(0x2A4, 1, FRAME_AD, 0, b"hello"), len(good), REJECT_SCID))
    cases.append((tc_frame(SCID, 2, FRAME_AD, 0, b"hello"), len(good), REJECT_VCID))
    seg = bytearray(good)
    seg[5] = 0x40  # sequence flags 01: first segment
    cases.append((_refecf(seg), len(good), REJECT_SEGMENT))
    cases.append((tc_frame(SCID, 1, FRAME_BC, 0, b"\x01"), 8, REJECT_BC))
    cases.append((tc_frame(SCID, 1, FRAME_BC, 0, b"\x82\x01\x05"), 10, REJECT_BC))
    cases.append((tc_frame(SCID, 1, FRAME_BC, 0, b"\x00\x00"), 9, REJECT_BC))
    only_seg = _refecf(bytes([0x02, 0xA5, 0x04, 0x07, 0x00, 0xC0, 0, 0]))  # Type-AD, no data
    cases.append((only_seg, 8, REJECT_TOO_SHORT))
    expected = [0] * N_RESULTS
    for frame, n, code in cases:
        got = r.parse(frame, n)
        assert got == code, (RESULT_NAMES[got], RESULT_NAMES[code], bytes(frame))
        expected[code] += 1
    assert r.rejected == expected and r.accepted == 0
    assert r.parse(good, len(good)) == OK and r.accepted == 1
    r.reset_counters()
    assert sum(r.rejected) == 0 and r.accepted == 0


def test_buffer_shorter_than_claimed_is_rejected_not_raised():
    r = TcFrameReader(SCID)
    assert r.parse(bytearray(10), 20) == REJECT_LENGTH


def test_writer_rejects_out_of_range_fields():
    buf = bytearray(1100)
    assert "scid" in str(raises(ValueError, pack_tc_frame_into, buf, 0x400, 0, FRAME_AD, 0, b"x"))
    assert "vcid" in str(raises(ValueError, pack_tc_frame_into, buf, 1, 64, FRAME_AD, 0, b"x"))
    assert "sequence" in str(raises(ValueError, pack_tc_frame_into, buf, 1, 0, FRAME_AD, 256, b"x"))
    assert "map" in str(raises(ValueError, pack_tc_frame_into, buf, 1, 0, FRAME_AD, 0, b"x", 64))
    assert "type" in str(raises(ValueError, pack_tc_frame_into, buf, 1, 0, 1, 0, b"x"))
    assert "empty" in str(raises(ValueError, pack_tc_frame_into, buf, 1, 0, FRAME_AD, 0, b""))
    assert "1024" in str(raises(ValueError, pack_tc_frame_into, buf, 1, 0, FRAME_AD, 0, bytes(1017)))
    assert "too small" in str(raises(ValueError, pack_tc_frame_into, bytearray(8), 1, 0, FRAME_AD, 0, b"xy"))
    raises(ValueError, set_vr_command, 256)
    raises(ValueError, TcFrameReader, 0x400)
    raises(ValueError, TcFrameReader, 1, (64,))
    raises(ValueError, TcFrameReader, 1, None, 1025)


def test_mp_reader_parse_allocates_nothing():
    frame = bytearray(tc_frame(SCID, 1, FRAME_AD, 42, bytes(range(64)), map_id=3))
    n = len(frame)
    r = TcFrameReader(SCID, vcids=(1,))
    assert garbage_bytes(lambda: r.parse(frame, n), 200) == 0
    bad = bytearray(frame)
    bad[9] ^= 0xFF
    assert garbage_bytes(lambda: r.parse(bad, n), 200) == 0
    assert r.accepted == 201 and r.rejected[REJECT_CRC] == 201
