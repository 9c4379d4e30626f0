"""CCSDS space packet primary header: exact bytes, limits, accessors, idle packets."""

from bus import spacepacket as sp
from tests.flight.support import garbage_bytes, raises


def test_header_bytes_spelled_out():
    buf = bytearray(8)
    assert sp.pack_primary_into(buf, 1, sp.PACKET_TYPE_TC, 1, 0x123, sp.SEQ_FLAGS_UNSEGMENTED, 0x1ABC, 0x0102) == 7
    assert buf == bytes([
        0x00,  # untouched octet before the offset
        0x19,  # 000 version, 1 TC, 1 secondary header, APID bits 10-8 = 001
        0x23,  # APID bits 7-0
        0xDA,  # 11 stand-alone, sequence count bits 13-8 = 011010
        0xBC,  # sequence count bits 7-0
        0x01,  # packet data length, high octet
        0x02,  # packet data length, low octet
        0x00,  # untouched octet after the header
    ])


def test_maximum_and_minimum_values():
    buf = bytearray(6)
    sp.pack_primary_into(buf, 0, 1, 1, 0x7FF, 3, 0x3FFF, 0xFFFF)
    assert buf == b"\x1f\xff\xff\xff\xff\xff"
    sp.pack_primary_into(buf, 0, 0, 0, 0, 0, 0, 0)
    assert buf == b"\x00\x00\x00\x00\x00\x00"
    assert sp.packet_len_of(buf) == sp.MIN_PACKET_LEN
    sp.pack_primary_into(buf, 0, 0, True, 1, sp.SEQ_FLAGS_FIRST, 1, 1)  # bool flag accepted
    assert buf == b"\x08\x01\x40\x01\x00\x01"


def test_accessors_read_every_field():
    buf = bytearray(10)
    for ptype, flag, apid, flags, count, dlen in ((1, 1, 0x7FF, 3, 0x3FFF, 0xFFFF), (0, 0, 0x400, 2, 0x2001, 7),
                                                  (0, 1, 0x001, 1, 0x0100, 0), (1, 0, 0x0AA, 0, 0x1555, 300)):
        sp.pack_primary_into(buf, 3, ptype, flag, apid, flags, count, dlen)
        assert sp.version_of(buf, 3) == sp.PACKET_VERSION
        assert sp.packet_type_of(buf, 3) == ptype
        assert sp.sec_hdr_flag_of(buf, 3) == flag
        assert sp.apid_of(buf, 3) == apid
        assert sp.seq_flags_of(buf, 3) == flags
        assert sp.seq_count_of(buf, 3) == count
        assert sp.data_len_of(buf, 3) == dlen
        assert sp.packet_len_of(buf, 3) == dlen + 7
        assert sp.packet_id_of(buf, 3) == (ptype << 12) | (flag << 11) | apid
        assert sp.seq_ctrl_of(buf, 3) == (flags << 14) | count


def test_each_field_out_of_range_raises_with_its_limit():
    buf = bytearray(6)
    good = [0, 1, 1, 0x10, 3, 5, 9]  # offset, type, flag, APID, sequence flags, count, data length
    cases = ((2, 2, "packet type 2 outside 0..1"), (3, 2, "secondary header flag 2 outside 0..1"),
             (4, 0x800, "APID 2048 outside 0..2047"), (5, 4, "sequence flags 4 outside 0..3"),
             (6, 0x4000, "sequence count 16384 outside 0..16383"),
             (7, 0x10000, "packet data length 65536 outside 0..65535"), (4, -1, "APID -1 outside 0..2047"))
    for index, value, message in cases:
        args = [buf] + good
        args[index] = value
        e = raises(ValueError, sp.pack_primary_into, *args)
        assert str(e) == message, str(e)
    assert raises(ValueError, sp.pack_primary_into, bytearray(5), 0, *good[1:])
    assert raises(ValueError, sp.pack_primary_into, bytearray(8), 3, *good[1:])
    assert raises(ValueError, sp.pack_primary_into, bytearray(8), -1, *good[1:])
    assert buf == bytearray(6)  # nothing written on failure


def test_limits_are_the_standards():
    assert sp.PRIMARY_HEADER_LEN == 6 and sp.APID_MASK == 0x7FF and sp.SEQ_COUNT_MASK == 0x3FFF
    assert sp.IDLE_APID == 0x7FF and sp.MAX_DATA_LEN == 65536
    assert sp.MAX_PACKET_LEN == sp.MAX_DATA_LEN + sp.PRIMARY_HEADER_LEN
    assert (sp.PACKET_TYPE_TM, sp.PACKET_TYPE_TC, sp.SEQ_FLAGS_UNSEGMENTED) == (0, 1, 3)


def test_idle_packet():
    buf = bytearray(b"\xee" * 14)
    assert sp.pack_idle_into(buf, 2, 10, seq_count=0x4001) == 12
    assert buf == bytes([
        0xEE, 0xEE,  # before
        0x07,  # version 0, TM, no secondary header, APID bits 10-8 = 111
        0xFF,  # APID bits 7-0: idle APID 0x7FF
        0xC0,  # stand-alone, count bits 13-8 (0x4001 wrapped to 1)
        0x01,  # count bits 7-0
        0x00, 0x03,  # data length: 4 octets - 1
        0x55, 0x55, 0x55, 0x55,  # idle fill
        0xEE, 0xEE,  # after
    ])
    assert sp.is_idle(buf, 2) and sp.packet_len_of(buf, 2) == 10
    sp.pack_idle_into(buf, 0, 7, fill=0)
    assert buf[:7] == b"\x07\xff\xc0\x00\x00\x00\x00" and not sp.is_idle(b"\x07\xfe")


def test_idle_packet_limits():
    buf = bytearray(16)
    assert "idle packet length 6 outside 7..65542" in str(raises(ValueError, sp.pack_idle_into, buf, 0, 6))
    assert raises(ValueError, sp.pack_idle_into, buf, 10, 7)
    assert raises(ValueError, sp.pack_idle_into, buf, 0, 7, 0, 256)


def test_mp_accessors_and_idle_allocate_nothing():
    buf = bytearray(64)
    sp.pack_primary_into(buf, 0, 1, 1, 0x7FF, 3, 0x3FFF, 57)

    def read():
        sp.apid_of(buf, 0)
        sp.seq_count_of(buf, 0)
        sp.packet_len_of(buf, 0)
        sp.packet_type_of(buf, 0)
        sp.sec_hdr_flag_of(buf, 0)
        sp.data_len_of(buf, 0)

    def pack():
        sp.pack_primary_into(buf, 0, 1, 1, 0x7FF, 3, 0x3FFF, 57)
        sp.pack_idle_into(buf, 6, 40, 5)

    assert garbage_bytes(read, 50) == 0
    assert garbage_bytes(pack, 50) == 0
