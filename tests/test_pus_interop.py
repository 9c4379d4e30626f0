"""Interoperability of the packet layer (CPython, hypothesis).

spacepackets 0.32 is the independent oracle: it parses every PUS TC and TM our
flight encoders build, with every field equal, and our flight and ground
decoders parse what it builds.  The ground's construct declarations build the
same octets as the flight codecs, and the fast ``decode_tm`` returns exactly
what the construct declaration parses -- and rejects exactly what it rejects,
with the failure code the flight decoder gives.  Any single-bit error is caught
by the CRC on every side.
"""

import struct

import construct
import crcmod.predefined
import pytest
from hypothesis import given, settings, strategies as st
from spacepackets.ccsds.spacepacket import PacketType, SequenceFlags, SpacePacketHeader
from spacepackets.ccsds.time import CdsShortTimestamp
from spacepackets.ecss.tc import InvalidTcCrc16Error, PusTc
from spacepackets.ecss.tm import InvalidTmCrc16Error, MiscParams, PusTm

from bus import pus, spacepacket as sp
from bus.cds_time import MS_PER_DAY, FixedTime, pack_cds_into, unpack_cds
from bus.crc16 import crc16
from ground_segment import packets as gp

crcmod_ccitt_false = crcmod.predefined.mkCrcFun("crc-ccitt-false")

apids = st.integers(0, 0x7FF)
seq_counts = st.integers(0, 0x3FFF)
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
days = st.integers(0, 0xFFFF)
ms_of_day = st.integers(0, MS_PER_DAY - 1)
nibbles = st.integers(0, 0xF)
data = st.binary(max_size=300)

tm_fields = st.fixed_dictionaries(dict(
    apid=apids, seq_count=seq_counts, msg_count=u16, service=u8, subtype=u8, dest_id=u16, days=days,
    ms_of_day=ms_of_day, time_ref_status=nibbles, app_data=data))
tc_fields = st.fixed_dictionaries(dict(
    apid=apids, seq_count=seq_counts, service=u8, subtype=u8, ack_flags=nibbles, source_id=u16, app_data=data))


def flight_tm(f) -> bytes:
    """The packet the flight encoder builds for these fields."""
    w = pus.TmPacketWriter(FixedTime(f["days"], f["ms_of_day"], f["time_ref_status"]), [f["apid"]],
                           max_app_data_len=len(f["app_data"]))
    w.set_counts(f["apid"], f["seq_count"], f["msg_count"])
    n = w.pack(f["apid"], f["service"], f["subtype"], f["app_data"], dest_id=f["dest_id"])
    assert (w.seq_count(f["apid"]), w.msg_count(f["apid"])) == ((f["seq_count"] + 1) & 0x3FFF,
                                                                  (f["msg_count"] + 1) & 0xFFFF)
    return bytes(w.buf[:n])


def flight_tc(f) -> bytes:
    buf = bytearray(pus.TC_MIN_LEN + len(f["app_data"]))
    n = pus.pack_tc_into(buf, f["apid"], f["seq_count"], f["service"], f["subtype"], f["app_data"],
                         ack_flags=f["ack_flags"], source_id=f["source_id"])
    assert n == len(buf)
    return bytes(buf)


def sp_tm(f) -> bytes:
    return bytes(PusTm(service=f["service"], message_subtype=f["subtype"], apid=f["apid"],
                       seq_count=f["seq_count"], message_counter=f["msg_count"], destination_id=f["dest_id"],
                       timestamp=CdsShortTimestamp(f["days"], f["ms_of_day"], init_dt_unix_stamp=False).pack(),
                       source_data=f["app_data"], misc_params=MiscParams(spacecraft_time_ref=f["time_ref_status"]))
                 .pack())


def sp_tc(f) -> bytes:
    return bytes(PusTc(service=f["service"], message_subtype=f["subtype"], apid=f["apid"], seq_count=f["seq_count"],
                       app_data=f["app_data"], ack_flags=f["ack_flags"], source_id=f["source_id"]).pack())


def expected_tm(f) -> tuple:
    return (f["apid"], 3, f["seq_count"], f["time_ref_status"], f["service"], f["subtype"], f["msg_count"],
            f["dest_id"], f["days"], f["ms_of_day"], f["app_data"])


def assert_reader_matches(raw, f):
    r = pus.TcPacketReader()
    assert r.parse(raw, len(raw), 0) == pus.OK
    assert (r.apid, r.seq_flags, r.seq_count, r.service, r.subtype, r.ack_flags, r.source_id) == (
        f["apid"], 3, f["seq_count"], f["service"], f["subtype"], f["ack_flags"], f["source_id"])
    assert raw[r.app_data_offset:r.app_data_offset + r.app_data_len] == f["app_data"]


# --- spacepackets parses what we build --------------------------------------------

@settings(max_examples=150, deadline=None)
@given(tm_fields)
def test_spacepackets_parses_every_tm_we_build(f):
    raw = flight_tm(f)
    tm = PusTm.unpack(raw, timestamp_len=7)
    assert (tm.apid, tm.seq_count, tm.seq_flags, tm.service, tm.message_subtype) == (
        f["apid"], f["seq_count"], SequenceFlags.UNSEGMENTED, f["service"], f["subtype"])
    sec = tm.pus_tm_sec_header
    assert (sec.message_counter, sec.dest_id, sec.spacecraft_time_ref, sec.pus_version) == (
        f["msg_count"], f["dest_id"], f["time_ref_status"], 2)
    assert CdsShortTimestamp.unpack_from_raw(tm.timestamp) == (f["days"], f["ms_of_day"])
    assert tm.source_data == f["app_data"] and tm.packet_len == len(raw)
    assert raw == sp_tm(f)


@settings(max_examples=150, deadline=None)
@given(tc_fields)
def test_spacepackets_parses_every_tc_we_build(f):
    raw = flight_tc(f)
    tc = PusTc.unpack(raw)
    assert (tc.apid, tc.seq_count, tc.service, tc.message_subtype, tc.source_id, tc.app_data) == (
        f["apid"], f["seq_count"], f["service"], f["subtype"], f["source_id"], f["app_data"])
    assert tc.pus_tc_sec_header.ack_flags == f["ack_flags"] and tc.sp_header.seq_flags == SequenceFlags.UNSEGMENTED
    assert raw == sp_tc(f)


# --- we parse what spacepackets builds ---------------------------------------------

@settings(max_examples=150, deadline=None)
@given(tm_fields)
def test_our_decoders_parse_every_tm_spacepackets_builds(f):
    raw = sp_tm(f)
    want = expected_tm(f)
    assert pus.unpack_tm(raw).fields() == want  # flight-side decoder (also runs on MicroPython)
    assert tuple(gp.decode_tm(raw)) == want  # ground fast path
    assert tuple(gp.decode_tm_construct(raw)) == want  # ground construct declaration
    assert tuple(gp.decode_tm_construct(raw, compiled=True)) == want


@settings(max_examples=150, deadline=None)
@given(tc_fields)
def test_our_decoders_parse_every_tc_spacepackets_builds(f):
    raw = sp_tc(f)
    assert_reader_matches(raw, f)
    assert tuple(gp.decode_tc_construct(raw)) == (f["apid"], f["seq_count"], f["ack_flags"], f["service"],
                                                  f["subtype"], f["source_id"], f["app_data"])
    assert gp.tc_from_container(gp.compiled_tc_packet().parse(raw)) == gp.decode_tc_construct(raw)


def test_spacepackets_doc_ping_is_ours():
    ping = PusTc(service=17, message_subtype=1, seq_count=22, apid=0x01).pack()
    assert pus.pack_tc(0x01, 22, 17, 1) == ping == gp.build_tc(0x01, 22, 17, 1)


# --- construct declarations agree with the flight codecs byte for byte -------------

@settings(max_examples=100, deadline=None)
@given(tm_fields, tc_fields)
def test_construct_builds_what_the_flight_builds(ftm, ftc):
    assert gp.build_tm(ftm["apid"], ftm["seq_count"], ftm["service"], ftm["subtype"], ftm["days"],
                       ftm["ms_of_day"], ftm["app_data"], ftm["msg_count"], ftm["dest_id"],
                       ftm["time_ref_status"]) == flight_tm(ftm)
    assert gp.build_tc(ftc["apid"], ftc["seq_count"], ftc["service"], ftc["subtype"], ftc["app_data"],
                       ftc["ack_flags"], ftc["source_id"]) == flight_tc(ftc)
    assert_reader_matches(gp.build_tc(**ftc), ftc)


@settings(max_examples=100, deadline=None)
@given(apids, st.sampled_from([0, 1]), st.sampled_from([0, 1]), st.integers(0, 3), seq_counts, u16)
def test_primary_header_three_ways(apid, ptype, flag, seq_flags, count, dlen):
    buf = bytearray(6)
    sp.pack_primary_into(buf, 0, ptype, flag, apid, seq_flags, count, dlen)
    theirs = SpacePacketHeader(packet_type=PacketType(ptype), apid=apid, seq_count=count, data_len=dlen,
                               sec_header_flag=bool(flag), seq_flags=SequenceFlags(seq_flags))
    assert bytes(buf) == theirs.pack()
    assert SpacePacketHeader.unpack(bytes(buf)).packet_len == sp.packet_len_of(buf) == dlen + 7
    c = gp.SpacePacketPrimaryHeader.parse(bytes(buf))
    assert (c.packet_type, c.sec_hdr_flag, c.apid, c.seq_flags, c.seq_count, c.data_len) == (
        sp.packet_type_of(buf), sp.sec_hdr_flag_of(buf), sp.apid_of(buf), sp.seq_flags_of(buf),
        sp.seq_count_of(buf), sp.data_len_of(buf))
    assert gp.SpacePacketPrimaryHeader.build(c) == bytes(buf)


@settings(max_examples=100, deadline=None)
@given(days, ms_of_day)
def test_cds_time_three_ways(d, ms):
    buf = bytearray(7)
    pack_cds_into(buf, 0, d, ms)
    assert bytes(buf) == CdsShortTimestamp(d, ms, init_dt_unix_stamp=False).pack()
    assert unpack_cds(buf) == CdsShortTimestamp.unpack_from_raw(bytes(buf)) == (d, ms)
    c = gp.CdsShortTime.parse(bytes(buf))
    assert (c.days, c.ms_of_day) == (d, ms) and gp.CdsShortTime.build(c) == bytes(buf)


def test_idle_packet_is_a_space_packet_to_spacepackets():
    buf = bytearray(40)
    sp.pack_idle_into(buf, 0, 40, seq_count=9)
    h = SpacePacketHeader.unpack(bytes(buf))
    assert (h.apid, h.packet_len, h.sec_header_flag, h.packet_type, h.seq_count) == (0x7FF, 40, False,
                                                                                     PacketType.TM, 9)


# --- the fast decoder is the construct declaration ---------------------------------

mutations = st.lists(st.tuples(st.sampled_from(["flip", "set", "cut", "add"]), st.integers(0, 400),
                               st.integers(0, 255)), min_size=1, max_size=3)


@settings(max_examples=400, deadline=None)
@given(tm_fields, mutations, st.booleans())
def test_decode_tm_equals_construct_on_good_and_bad_packets(f, muts, reseal):
    raw = bytearray(flight_tm(f))
    for kind, where, value in muts:
        i = where % len(raw)
        if kind == "flip":
            raw[i] ^= 1 << (value & 7)
        elif kind == "set" and i < 20:  # a header field, where the checks live
            raw[i] = value
        elif kind == "cut":
            del raw[i:]
        elif kind == "add":
            raw.append(value)
        if not raw:
            raw.append(value)
    if reseal and len(raw) > 2:  # make the CRC right so that the header checks are reached
        c = crc16(raw, 0, len(raw) - 2)
        raw[-2:] = bytes([c >> 8, c & 0xFF])
    raw = bytes(raw)
    try:
        want = gp.decode_tm_construct(raw)
    except (construct.ConstructError, ValueError):
        want = None
    if want is None:
        with pytest.raises(pus.PusError) as e:
            gp.decode_tm(raw)
        assert e.value.code == pus.check_tm(raw, 0, len(raw)) != pus.OK
        with pytest.raises(pus.PusError):
            pus.unpack_tm(raw)
        with pytest.raises((construct.ConstructError, ValueError)):
            gp.compiled_tm_packet().parse(raw)
    else:
        assert gp.decode_tm(raw) == want == gp.decode_tm_construct(raw, compiled=True)
        assert pus.unpack_tm(raw).fields() == tuple(want)


# --- CRC failures are detected everywhere ------------------------------------------

@settings(max_examples=150, deadline=None)
@given(tm_fields, tc_fields, st.integers(0, 10_000))
def test_any_single_bit_error_is_caught(ftm, ftc, bit):
    tm = bytearray(flight_tm(ftm))
    tc = bytearray(flight_tc(ftc))
    # a bit outside the packet length field (which changes the length instead)
    for raw in (tm, tc):
        i = bit % (len(raw) * 8 - 16)
        i = i if i < 32 else i + 16
        raw[i // 8] ^= 0x80 >> (i % 8)
    assert pus.TcPacketReader().parse(tc, len(tc), 0) == pus.INCORRECT_CRC
    with pytest.raises((InvalidTcCrc16Error, ValueError)):  # spacepackets checks the PUS version first
        PusTc.unpack(bytes(tc))
    assert pus.check_tm(tm, 0, len(tm)) == pus.INCORRECT_CRC
    with pytest.raises(pus.PusError) as e:
        gp.decode_tm(bytes(tm))
    assert e.value.code == pus.INCORRECT_CRC
    with pytest.raises(construct.ConstructError):  # ChecksumError, or ConstError for a header bit
        gp.PusTmPacket.parse(bytes(tm))
    with pytest.raises((InvalidTmCrc16Error, ValueError)):  # a flipped PUS version fails first
        PusTm.unpack(bytes(tm), timestamp_len=7)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.integers(0, 600), st.integers(0, 600))
def test_packet_crc_matches_table_and_crcmod(blob, a, b):
    start, end = sorted((a % (len(blob) + 1), b % (len(blob) + 1)))
    assert pus.packet_crc(blob, start, end) == crc16(blob, start, end) == crcmod_ccitt_false(blob[start:end])
    assert gp.crc16(blob) == crc16(blob)


def test_struct_format_of_the_fast_path_is_the_declarations_size():
    assert struct.calcsize(">HHHBBBHHBHI") == pus.TM_APP_DATA_OFFSET == (
        gp.SpacePacketPrimaryHeader.sizeof() + gp.PusTmSecondaryHeader.sizeof())
    assert gp.PusTcSecondaryHeader.sizeof() == pus.TC_SEC_HDR_LEN and gp.CdsShortTime.sizeof() == 7


@settings(max_examples=150, deadline=None)
@given(apid=st.integers(0, 0x7FF), seq=st.integers(0, 0x3FFF), service=st.integers(0, 255),
       subtype=st.integers(0, 255), days=st.integers(0, 0xFFFF), ms=st.integers(0, 86_399_999),
       data=st.binary(max_size=200), msg=st.integers(0, 0xFFFF), dest=st.integers(0, 0xFFFF),
       status=st.integers(0, 15))
def test_ground_encode_tm_equals_the_construct_declaration(apid, seq, service, subtype, days, ms, data, msg,
                                                           dest, status):
    fast = gp.encode_tm(apid, seq, service, subtype, days, ms, data, msg, dest, status)
    assert fast == gp.build_tm(apid, seq, service, subtype, days, ms, data, msg, dest, status)
    t = PusTm.unpack(fast, timestamp_len=7)
    assert (t.apid, t.seq_count, t.service, t.source_data) == (apid, seq, service, data)


def test_ground_encode_tm_rejects_out_of_range_fields():
    with pytest.raises(ValueError, match="out of range"):
        gp.encode_tm(0x800, 0, 3, 25, 0, 0)
    with pytest.raises(ValueError, match="out of range"):
        gp.encode_tm(1, 0, 3, 25, 0, 86_401_000)
