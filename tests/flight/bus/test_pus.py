"""PUS-C TC and TM packets: exact bytes, limits, counters, every failure code, no garbage."""

from bus import pus
from bus.cds_time import FixedTime, FlightTime
from bus.crc16 import crc16
from bus.spacepacket import pack_primary_into
from tests.flight.support import garbage_bytes, raises

PING_TC = bytes([  # TC[17,1] to APID 0x001, count 22: spacepackets' own doc example
    0x18, 0x01,  # version 0, TC, secondary header, APID 0x001
    0xC0, 0x16,  # stand-alone, sequence count 22
    0x00, 0x06,  # packet data length: 7 octets - 1
    0x2F,  # PUS version 2, ack flags 1111
    0x11,  # service 17
    0x01,  # subtype 1
    0x00, 0x00,  # source ID 0
    0xAB, 0x62,  # CRC-16/CCITT-FALSE
])


class StepClock:
    def __init__(self, step_ms):
        self.ms = 0
        self.step_ms = step_ms

    def ticks_ms(self):
        self.ms = (self.ms + self.step_ms) & 0x3FFFFFFF
        return self.ms


def _refresh_crc(buf, n):
    """Re-seal a deliberately altered packet so that only the altered field is wrong."""
    c = crc16(buf, 0, n - 2)
    buf[n - 2] = c >> 8
    buf[n - 1] = c & 0xFF


def _tc(app_data=b"\x01\x02\x03", **kw):
    buf = bytearray(pus.TC_MIN_LEN + len(app_data))
    n = pus.pack_tc_into(buf, kw.get("apid", 0x020), kw.get("seq_count", 7), kw.get("service", 8),
                         kw.get("subtype", 1), app_data)
    return buf, n


def test_tc_bytes_spelled_out():
    buf = bytearray(16)
    n = pus.pack_tc_into(buf, 0x020, 0x0123, 8, 1, b"\x01\x02\x03",
                         ack_flags=pus.ACK_ACCEPTANCE | pus.ACK_COMPLETION, source_id=0x4142)
    assert n == 16
    assert buf == bytes([
        0x18,  # 000 version, 1 TC, 1 secondary header, APID bits 10-8 = 000
        0x20,  # APID 0x020 (photon source)
        0xC1,  # 11 stand-alone, sequence count bits 13-8 = 000001
        0x23,  # sequence count bits 7-0: 0x0123
        0x00, 0x09,  # packet data length: 5 + 3 + 2 octets - 1
        0x29,  # 0010 PUS-C, ack flags 1001: completion and acceptance
        0x08,  # service 8 (function management)
        0x01,  # subtype 1
        0x41, 0x42,  # source ID 0x4142
        0x01, 0x02, 0x03,  # application data
        0x60, 0xC6,  # CRC-16/CCITT-FALSE of the 14 octets before
    ])
    assert pus.pack_tc(0x001, 22, 17, 1) == PING_TC


def test_tm_bytes_spelled_out():
    w = pus.TmPacketWriter(FixedTime(0x5C3A, 0x0123ABCD), [0x030], dest_id=0x0102)
    w.set_counts(0x030, 0x0ABC, 0x1234)
    n = w.pack(0x030, 3, 25, b"\xde\xad\xbe\xef")
    assert n == 26
    assert w.buf[:n] == bytes([
        0x08,  # 000 version, 0 TM, 1 secondary header, APID bits 10-8 = 000
        0x30,  # APID 0x030 (pointing)
        0xCA,  # 11 stand-alone, sequence count bits 13-8 = 001010
        0xBC,  # sequence count bits 7-0: 0x0ABC
        0x00, 0x13,  # packet data length: 7 + 7 + 4 + 2 octets - 1 = 19
        0x21,  # 0010 PUS-C, time reference status 0001 (time set by ground)
        0x03,  # service 3 (housekeeping)
        0x19,  # subtype 25 (housekeeping report)
        0x12, 0x34,  # message type counter
        0x01, 0x02,  # destination ID
        0x40,  # CDS P-field
        0x5C, 0x3A,  # days since 1958-01-01
        0x01, 0x23, 0xAB, 0xCD,  # ms of day
        0xDE, 0xAD, 0xBE, 0xEF,  # source data
        0xB1, 0xDE,  # CRC-16/CCITT-FALSE of the 24 octets before
    ])
    assert crc16(w.buf, 0, n) == 0


def test_packet_crc_is_bus_crc16():
    data = bytearray(range(256)) + bytearray(range(255, -1, -1))
    for start, end in ((0, 512), (3, 300), (100, 100), (7, 8)):
        assert pus.packet_crc(data, start, end) == crc16(data, start, end)
    assert pus.packet_crc(b"123456789") == 0x29B1


def test_tc_maximum_values_round_trip():
    app = bytes(range(200))
    buf = bytearray(pus.TC_MIN_LEN + 200)
    n = pus.pack_tc_into(buf, 0x7FF, 0x3FFF, 255, 255, app, ack_flags=0xF, source_id=0xFFFF)
    assert buf[:11] == b"\x1f\xff\xff\xff\x00\xce\x2f\xff\xff\xff\xff"
    r = pus.TcPacketReader()
    assert r.parse(buf, n, 0) == pus.OK
    assert (r.apid, r.seq_flags, r.seq_count, r.ack_flags) == (0x7FF, 3, 0x3FFF, 0xF)
    assert (r.service, r.subtype, r.source_id, r.packet_len) == (255, 255, 0xFFFF, n)
    assert buf[r.app_data_offset:r.app_data_offset + r.app_data_len] == app
    n = pus.pack_tc_into(buf, 0, 0, 0, 0, b"", ack_flags=pus.ACK_NONE, source_id=0, offset=5)
    assert n == pus.TC_MIN_LEN
    assert r.parse(buf, n, 5) == pus.OK
    assert (r.apid, r.seq_count, r.service, r.subtype, r.ack_flags, r.source_id) == (0, 0, 0, 0, 0, 0)
    assert (r.app_data_offset, r.app_data_len) == (16, 0)


def test_tc_field_limits():
    buf = bytearray(32)
    args = [buf, 0x10, 0, 17, 1, b"", 0xF, 0]
    for index, bad, message in ((1, 0x800, "APID 2048 outside 0..2047"),
                                (2, 0x4000, "sequence count 16384 outside 0..16383"),
                                (3, 256, "service type 256 outside 0..255"),
                                (4, 256, "message subtype 256 outside 0..255"),
                                (6, 16, "acknowledgement flags 16 outside 0..15"),
                                (7, 0x10000, "source ID 65536 outside 0..65535"),
                                (3, -1, "service type -1 outside 0..255")):
        a = list(args)
        a[index] = bad
        assert str(raises(ValueError, pus.pack_tc_into, *a)) == message
    assert "no room" in str(raises(ValueError, pus.pack_tc_into, bytearray(12), 1, 0, 17, 1))
    assert raises(ValueError, pus.pack_tc_into, buf, 1, 0, 17, 1, bytes(20))  # 33 octets in 32
    assert buf == bytearray(32)


def test_tm_counters_wrap_per_apid():
    w = pus.TmPacketWriter(FixedTime(), [0x010, 0x7FF], max_app_data_len=0)
    w.set_counts(0x7FF, 0x3FFE, 0xFFFE)
    seen = []
    for _ in range(3):
        n = w.pack(0x7FF, 255, 255, b"", dest_id=0xFFFF)
        p = pus.unpack_tm(w.buf, 0, n)
        seen.append((p.seq_count, p.msg_count))
        assert (p.apid, p.service, p.subtype, p.dest_id) == (0x7FF, 255, 255, 0xFFFF)
    assert seen == [(0x3FFE, 0xFFFE), (0x3FFF, 0xFFFF), (0, 0)]
    assert (w.seq_count(0x010), w.msg_count(0x010)) == (0, 0)  # the other APID untouched
    n = w.pack(0x010, 1, 1, b"")
    assert n == pus.TM_MIN_LEN and pus.unpack_tm(w.buf, 0, n).seq_count == 0
    assert (w.seq_count(0x010), w.msg_count(0x010), w.seq_count(0x7FF)) == (1, 1, 1)


def test_tm_seal_in_place_and_caller_buffer():
    time = FixedTime(1, 2)
    w1 = pus.TmPacketWriter(time, [0x040], max_app_data_len=8)
    w2 = pus.TmPacketWriter(time, [0x040])
    n1 = w1.pack(0x040, 5, 1, b"\x00\x11\x22\x33")
    buf = bytearray(40)
    buf[pus.TM_APP_DATA_OFFSET + 3:pus.TM_APP_DATA_OFFSET + 7] = b"\x00\x11\x22\x33"
    n2 = w2.seal(buf, 3, 0x040, 5, 1, 4)
    assert n1 == n2 == 26 and buf[3:3 + n2] == w1.buf[:n1]
    data = bytearray(b"\x00\x11\x22\x33\x44\x55")
    assert w1.pack_into(buf, 10, 0x040, 5, 1, data, 4) == 26  # first 4 octets of a bigger buffer
    p = pus.unpack_tm(buf, 10, 26)
    assert (p.seq_count, p.app_data, p.days, p.ms_of_day, p.time_ref_status) == (1, b"\x00\x11\x22\x33", 1, 2, 1)


def test_tm_writer_rejects_bad_calls():
    w = pus.TmPacketWriter(FixedTime(), [0x010], max_app_data_len=4)
    assert "not one of this writer's" in str(raises(ValueError, w.pack, 0x011, 1, 1, b""))
    assert raises(ValueError, w.pack, 0x010, 256, 1, b"")
    assert raises(ValueError, w.pack, 0x010, 1, -1, b"")
    assert "destination ID 65536" in str(raises(ValueError, w.pack, 0x010, 1, 1, b"", -1, 0x10000))
    assert "no room for 5 octets" in str(raises(ValueError, w.pack, 0x010, 1, 1, bytes(5)))
    assert raises(ValueError, w.pack, 0x010, 1, 1, bytes(2), 3)
    assert raises(ValueError, w.seal, w.buf, 0, 0x010, 1, 1, -1)
    assert raises(ValueError, w.set_counts, 0x010, 0x4000, 0)
    assert raises(ValueError, pus.TmPacketWriter, FixedTime(), [0x800])
    assert raises(ValueError, pus.TmPacketWriter, FixedTime(), [1, 1])
    assert raises(ValueError, pus.TmPacketWriter, FixedTime(), [1], 70000)
    assert raises(ValueError, w.pack, 0x010, 1, 1, None, 1)
    assert (w.seq_count(0x010), w.msg_count(0x010)) == (0, 0)  # no failed call counted
    assert w.pack(0x010, 17, 2, None) == pus.TM_MIN_LEN  # no source data at all


def test_tc_reader_accepts_what_pack_tc_builds_with_offset():
    buf = bytearray(40)
    n = pus.pack_tc_into(buf, 0x030, 99, 20, 3, b"\xaa\xbb", ack_flags=pus.ACK_START, source_id=7, offset=9)
    r = pus.TcPacketReader()
    assert r.parse(buf, n, 9) == pus.OK
    assert (r.apid, r.seq_count, r.service, r.subtype, r.ack_flags, r.source_id) == (0x030, 99, 20, 3, 2, 7)
    assert (r.app_data_offset, r.app_data_len) == (20, 2)
    rid = bytearray(4)
    assert r.request_id_into(rid, 0) == 4 and rid == buf[9:13]


def test_tc_reader_incomplete_and_length_failures():
    r = pus.TcPacketReader()
    buf, n = _tc()
    assert r.parse(buf, 3, 0) == pus.INCOMPLETE and not r.request_id_valid
    assert r.parse(buf, 5, 0) == pus.INCOMPLETE and r.request_id_valid and r.apid == 0x020 and r.seq_count == 7
    assert r.parse(buf, n - 1, 0) == pus.INCOMPLETE
    assert r.parse(buf, n, 2) == pus.INCOMPLETE  # runs past the end of the buffer
    longer = buf + b"\x00"
    assert r.parse(longer, n + 1, 0) == pus.LENGTH_MISMATCH
    short = bytearray(12)  # a CRC-correct space packet, one octet short of a PUS TC
    pack_primary_into(short, 0, 1, 1, 0x020, 3, 1, 5)
    short[6] = 0x2F
    _refresh_crc(short, 12)
    assert r.parse(short, 12, 0) == pus.TOO_SHORT


def test_tc_reader_each_header_failure():
    r = pus.TcPacketReader()
    cases = (  # octet, AND mask, OR mask, expected code, re-seal the CRC
        (12, 0xFF, 0x80, pus.INCORRECT_CRC, False),  # corrupted application data
        (0, 0xFF, 0x20, pus.ILLEGAL_CCSDS_VERSION, True),
        (0, 0xEF, 0x00, pus.ILLEGAL_PACKET_TYPE, True),  # a TM
        (0, 0xF7, 0x00, pus.ILLEGAL_SEC_HDR, True),
        (2, 0x3F, 0x40, pus.ILLEGAL_SEQ_FLAGS, True),  # first segment
        (6, 0x0F, 0x10, pus.ILLEGAL_PUS_VERSION, True),  # PUS-A
    )
    for index, and_mask, or_mask, code, reseal in cases:
        buf, n = _tc()
        buf[index] = buf[index] & and_mask | or_mask
        if reseal:
            _refresh_crc(buf, n)
        assert r.parse(buf, n, 0) == code, (code, r.parse(buf, n, 0))
        assert r.request_id_valid and r.apid == 0x020 and r.seq_count == 7
    buf, n = _tc()
    buf[n - 1] ^= 0x80  # the CRC itself damaged
    assert r.parse(buf, n, 0) == pus.INCORRECT_CRC


def test_unpack_tm_round_trip_and_each_failure():
    w = pus.TmPacketWriter(FixedTime(100, 200), [0x020])
    n = w.pack(0x020, 17, 2, b"xyz", dest_id=3)
    good = bytes(w.buf[:n])
    p = pus.unpack_tm(good)
    assert p.fields() == (0x020, 3, 0, 1, 17, 2, 0, 3, 100, 200, b"xyz")
    assert p == pus.unpack_tm(bytearray(b"..") + good, 2) and "apid=0x020" in repr(p)
    cases = (
        (good[:-1], pus.INCOMPLETE), (good + b"\x00", pus.LENGTH_MISMATCH),
        (good[:10] + b"\x01" + good[11:], pus.INCORRECT_CRC),
        (PING_TC, pus.TOO_SHORT),  # 13 octets: shorter than any PUS TM
        (pus.pack_tc(0x020, 0, 17, 2, bytes(12)), pus.ILLEGAL_PACKET_TYPE),
    )
    for data, code in cases:
        e = raises(pus.PusError, pus.unpack_tm, data)
        assert e.code == code and isinstance(e, ValueError), (code, e.code)
        assert str(e).startswith(pus.FAILURE_TEXT[code])
        assert pus.check_tm(data, 0, len(data)) == code
    for index, value, code in ((0, 0x28, pus.ILLEGAL_CCSDS_VERSION), (0, 0x00, pus.ILLEGAL_SEC_HDR),
                               (6, 0x11, pus.ILLEGAL_PUS_VERSION), (13, 0x41, pus.ILLEGAL_TIME_CODE)):
        bad = bytearray(good)
        bad[index] = value
        _refresh_crc(bad, n)
        assert raises(pus.PusError, pus.unpack_tm, bad).code == code


def test_failure_codes_have_text_and_are_distinct():
    names = ("INCOMPLETE", "LENGTH_MISMATCH", "TOO_SHORT", "INCORRECT_CRC", "ILLEGAL_CCSDS_VERSION",
             "ILLEGAL_PACKET_TYPE", "ILLEGAL_SEC_HDR", "ILLEGAL_SEQ_FLAGS", "ILLEGAL_PUS_VERSION", "ILLEGAL_TIME_CODE")
    codes = [getattr(pus, name) for name in names]
    assert len(set(codes)) == len(codes) == len(pus.FAILURE_TEXT) == len(pus.FAILURES)
    for name, c in zip(names, codes):
        assert pus.failure_text(c) == pus.FAILURE_TEXT[c] == pus.FAILURES[c][1] and pus.FAILURES[c][0] == name
        assert 0 <= c < 0x0100  # below the mission database's FAIL_* codes
    assert pus.failure_text(99) == "unknown failure code 99"
    assert pus.OK == 0 and pus.failure_text(pus.OK) == "accepted" and pus.OK not in pus.FAILURES
    assert pus.PusError(pus.INCORRECT_CRC, "APID 0x20").args[0].endswith(": APID 0x20")


def test_header_constants():
    assert (pus.TC_MIN_LEN, pus.TM_MIN_LEN, pus.TC_APP_DATA_OFFSET, pus.TM_APP_DATA_OFFSET) == (13, 22, 11, 20)
    assert pus.TC_MAX_APP_DATA_LEN == 65536 - pus.TC_SEC_HDR_LEN - pus.CRC_LEN
    assert pus.TM_MAX_APP_DATA_LEN == 65536 - pus.TM_SEC_HDR_LEN - pus.TM_TIME_LEN - pus.CRC_LEN
    assert pus.ACK_ALL == pus.ACK_ACCEPTANCE | pus.ACK_START | pus.ACK_PROGRESS | pus.ACK_COMPLETION == 0xF


def test_mp_tm_packing_allocates_nothing():
    w = pus.TmPacketWriter(FlightTime(StepClock(1234567)), [0x010, 0x020], max_app_data_len=64)
    data = bytearray(range(64))
    out = bytearray(100)

    def pack():
        w.pack(0x020, 3, 25, data)
        w.pack(0x010, 5, 1, data, 10, 0xFFFF)  # part of a buffer, explicit destination
        w.seal(out, 4, 0x010, 1, 1, 40)

    assert garbage_bytes(pack, 50) == 0  # 51 calls in all
    assert pus.unpack_tm(w.buf, 0, 10 + 22).seq_count == 100
    assert pus.unpack_tm(out, 4, 40 + 22).seq_count == 101


def test_mp_tc_parsing_allocates_nothing():
    r = pus.TcPacketReader()
    buf, n = _tc(bytes(range(48)))
    bad = bytearray(buf)
    bad[20] ^= 4
    rid = bytearray(4)

    def parse():
        assert r.parse(buf, n, 0) == 0
        r.request_id_into(rid, 0)
        r.parse(bad, n, 0)
        r.parse(buf, n - 1, 0)

    assert garbage_bytes(parse, 50) == 0
