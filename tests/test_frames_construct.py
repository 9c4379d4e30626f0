"""The ground's construct declarations and the flight frame codecs agree, octet for octet, both ways.

Flight packs -> construct parses the same fields; construct builds -> the flight
code parses the same fields (and rejects what the standard says it must); the
FECF of every frame agrees with crcmod's crc-ccitt-false.
"""

import crcmod.predefined
import pytest
from construct import ChecksumError
from hypothesis import given, settings, strategies as st

from bus import clcw as flight_clcw
from bus.tc_frame import (
    BC_SET_VR, BC_UNLOCK, FRAME_AD, FRAME_BC, FRAME_BD, OK, REJECT_BC, REJECT_CRC, REJECT_TYPE, REJECT_VERSION, UNLOCK,
    TcFrameReader, pack_tc_frame_into, set_vr_command,
)
from bus.tm_frame import TmFrameBuilder, TmFrameReader, pack_tm_header_into, unpack_tm_header
from ground_segment.frames import (
    Clcw, TcFrame, TcFramePrimaryHeader, TcSegmentHeader, TmFramePrimaryHeader, fecf_ok, tm_frame,
)

crcmod_ccitt_false = crcmod.predefined.mkCrcFun("crc-ccitt-false")

scids = st.integers(0, 0x3FF)
tc_vcids = st.integers(0, 63)
octets = st.integers(0, 255)


@st.composite
def tc_frames(draw):
    ftype = draw(st.sampled_from((FRAME_AD, FRAME_BD, FRAME_BC)))
    if ftype == FRAME_BC:
        data = draw(st.one_of(st.just(UNLOCK), octets.map(set_vr_command)))
    else:
        data = draw(st.binary(min_size=1, max_size=1016))
    return (draw(scids), draw(tc_vcids), ftype, draw(octets), data, draw(st.integers(0, 63)))


@settings(max_examples=150)
@given(tc_frames())
def test_tc_flight_packs_construct_parses(args):
    scid, vcid, ftype, seq, data, map_id = args
    buf = bytearray(1024)
    n = pack_tc_frame_into(buf, scid, vcid, ftype, seq, data, map_id)
    frame = bytes(buf[:n])
    c = TcFrame.parse(frame)
    h = c.frame.value.header
    assert (h.version, h.spare) == (0, 0)
    assert (h.bypass_flag, h.control_command_flag) == (bool(ftype & 2), bool(ftype & 1))
    assert (h.spacecraft_id, h.virtual_channel_id, h.frame_length, h.frame_sequence_number) == (
        scid, vcid, n - 1, seq)
    seg = c.frame.value.segment_header
    if ftype == FRAME_BC:
        assert seg is None
    else:
        assert (seg.sequence_flags, seg.map_id) == (3, map_id)
    assert c.frame.value.data == data
    assert c.fecf == crcmod_ccitt_false(frame[:-2]) and fecf_ok(frame)


@settings(max_examples=150)
@given(tc_frames())
def test_tc_construct_builds_flight_parses(args):
    scid, vcid, ftype, seq, data, map_id = args
    seg = None if ftype == FRAME_BC else dict(sequence_flags=3, map_id=map_id)
    n = 5 + (0 if seg is None else 1) + len(data) + 2
    frame = TcFrame.build(dict(frame=dict(value=dict(
        header=dict(version=0, bypass_flag=bool(ftype & 2), control_command_flag=bool(ftype & 1), spare=0,
                    spacecraft_id=scid, virtual_channel_id=vcid, frame_length=n - 1,
                    frame_sequence_number=seq),
        segment_header=seg, data=data)), fecf=None))
    assert len(frame) == n and int.from_bytes(frame[-2:], "big") == crcmod_ccitt_false(frame[:-2])
    r = TcFrameReader(scid)
    assert r.parse(frame, n) == OK
    assert (r.frame_type, r.vcid, r.seq, r.frame_len) == (ftype, vcid, seq, n)
    assert frame[r.data_offset:r.data_offset + r.data_len] == data
    if ftype == FRAME_BC:
        assert r.bc_command == (BC_UNLOCK if data == UNLOCK else BC_SET_VR)
        if data != UNLOCK:
            assert r.bc_vr == data[2]
    else:
        assert r.map_id == map_id
    # and the flight writer produces the very same octets
    buf = bytearray(1024)
    assert bytes(buf[:pack_tc_frame_into(buf, scid, vcid, ftype, seq, data, map_id)]) == frame


@given(st.integers(0, 3), st.booleans(), st.booleans(), st.integers(0, 3), scids, tc_vcids, octets,
       st.binary(min_size=1, max_size=40))
def test_tc_header_any_bits_flight_verdict(version, bypass, ctrl, spare, scid, vcid, seq, data):
    """Every header construct can build gets the flight reader's verdict the standard asks for."""
    n = 5 + 1 + len(data) + 2 if not ctrl else 5 + len(data) + 2
    body = TcFramePrimaryHeader.build(dict(
        version=version, bypass_flag=bypass, control_command_flag=ctrl, spare=spare, spacecraft_id=scid,
        virtual_channel_id=vcid, frame_length=n - 1, frame_sequence_number=seq))
    if not ctrl:
        body += TcSegmentHeader.build(dict(sequence_flags=3, map_id=0))
    body += data
    frame = body + crcmod_ccitt_false(body).to_bytes(2, "big")
    r = TcFrameReader(scid)
    got = r.parse(frame, n)
    if version:
        assert got == REJECT_VERSION
    elif ctrl and not bypass:
        assert got == REJECT_TYPE
    elif ctrl:
        is_command = data == b"\x00" or (len(data) == 3 and data[:2] == b"\x82\x00")
        assert got == (OK if is_command else REJECT_BC)
    else:  # the spare bits are not checked by the flight reader
        assert got == OK and r.frame_type == (FRAME_BD if bypass else FRAME_AD)
    bad = bytearray(frame)
    bad[-1] ^= 0x01
    assert r.parse(bad, n) == REJECT_CRC


tm_headers = st.fixed_dictionaries(dict(
    version=st.just(0), spacecraft_id=scids, virtual_channel_id=st.integers(0, 7), ocf_flag=st.booleans(),
    master_channel_frame_count=octets, virtual_channel_frame_count=octets,
    secondary_header_flag=st.just(False), synchronisation_flag=st.just(False), packet_order_flag=st.just(False),
    segment_length_id=st.just(3), first_header_pointer=st.integers(0, 0x7FF)))


@given(tm_headers)
def test_tm_header_both_directions(h):
    built = TmFramePrimaryHeader.build(h)
    buf = bytearray(6)
    pack_tm_header_into(buf, 0, h["spacecraft_id"], h["virtual_channel_id"], h["master_channel_frame_count"],
                        h["virtual_channel_frame_count"], h["first_header_pointer"], h["ocf_flag"])
    assert bytes(buf) == built
    assert unpack_tm_header(built) == (0, h["spacecraft_id"], h["virtual_channel_id"], int(h["ocf_flag"]),
                                       h["master_channel_frame_count"], h["virtual_channel_frame_count"],
                                       0, 0, 0, 3, h["first_header_pointer"])
    parsed = TmFramePrimaryHeader.parse(bytes(buf))
    assert {k: parsed[k] for k in h} == h


@given(st.integers(0, 1), st.integers(0, 3), st.integers(0, 1), st.integers(0, 7))
def test_tm_header_flags_construct_to_flight(version, seg_id, flags, fhp_hi):
    """The fields the flight builder always zeroes are still read back faithfully."""
    built = TmFramePrimaryHeader.build(dict(
        version=version, spacecraft_id=1, virtual_channel_id=2, ocf_flag=True, master_channel_frame_count=3,
        virtual_channel_frame_count=4, secondary_header_flag=bool(flags), synchronisation_flag=not flags,
        packet_order_flag=bool(flags), segment_length_id=seg_id, first_header_pointer=fhp_hi << 8 | 0x5A))
    assert unpack_tm_header(built) == (version, 1, 2, 1, 3, 4, flags, 1 - flags, flags, seg_id, fhp_hi << 8 | 0x5A)


clcw_fields = st.fixed_dictionaries(dict(
    control_word_type=st.just(0), clcw_version_number=st.just(0), status_field=st.integers(0, 7),
    cop_in_effect=st.integers(0, 3), virtual_channel_id=tc_vcids, spare_0=st.just(0),
    no_rf_available=st.booleans(), no_bit_lock=st.booleans(), lockout=st.booleans(), wait=st.booleans(),
    retransmit=st.booleans(), farm_b_counter=st.integers(0, 3), spare_1=st.just(0), report_value=octets))


def _flight_word(c):
    return flight_clcw.pack_clcw(c["virtual_channel_id"], c["report_value"], c["lockout"], c["wait"],
                                 c["retransmit"], c["farm_b_counter"], c["no_rf_available"], c["no_bit_lock"],
                                 c["status_field"], c["cop_in_effect"])


@given(clcw_fields)
def test_clcw_both_directions(c):
    word = _flight_word(c)
    assert Clcw.build(c) == word.to_bytes(4, "big")
    buf = bytearray(4)
    flight_clcw.clcw_into(buf, 0, word)
    parsed = Clcw.parse(bytes(buf))
    assert {k: parsed[k] for k in c} == c
    f = flight_clcw.unpack_clcw(int.from_bytes(Clcw.build(c), "big"))
    assert (f["status"], f["cop_in_effect"], f["vcid"], f["no_rf"], f["no_bit_lock"], f["lockout"], f["wait"],
            f["retransmit"], f["farm_b_counter"], f["report_value"]) == (
        c["status_field"], c["cop_in_effect"], c["virtual_channel_id"], c["no_rf_available"], c["no_bit_lock"],
        c["lockout"], c["wait"], c["retransmit"], c["farm_b_counter"], c["report_value"])


@given(st.integers(0, 1), st.integers(0, 3))
def test_clcw_type_and_version_bits(cwt, ver):
    word = int.from_bytes(Clcw.build(dict(
        control_word_type=cwt, clcw_version_number=ver, status_field=0, cop_in_effect=1, virtual_channel_id=0,
        spare_0=0, no_rf_available=False, no_bit_lock=False, lockout=False, wait=False, retransmit=False,
        farm_b_counter=0, spare_1=0, report_value=0)), "big")
    assert flight_clcw.control_word_type(word) == cwt and flight_clcw.version(word) == ver
    assert flight_clcw.is_cop1_clcw(word) == (cwt == 0 and ver == 0)


@settings(max_examples=60)
@given(st.sampled_from((64, 512, 1115)), scids, st.lists(st.binary(min_size=1, max_size=300), max_size=6),
       clcw_fields)
def test_tm_frames_flight_builds_construct_parses(frame_len, scid, payloads, c):
    b = TmFrameBuilder(scid, frame_len=frame_len, vc_slots=(8,))
    word = _flight_word(c)
    for i, p in enumerate(payloads):
        dl = len(p) - 1
        b.queue_packet(0, bytes([0x08, 0x20, 0xC0, i, dl >> 8, dl & 0xFF]) + p)
    for _ in range(len(payloads) + 2):
        frame = bytes(b.next_frame(word))
        parsed = tm_frame(frame_len).parse(frame)  # raises ChecksumError on an FECF mismatch
        h = parsed.frame.value.header
        assert (h.version, h.spacecraft_id, h.ocf_flag, h.segment_length_id) == (0, scid, True, 3)
        assert (h.virtual_channel_id, h.master_channel_frame_count, h.virtual_channel_frame_count,
                h.first_header_pointer) == unpack_tm_header(frame)[2:3] + unpack_tm_header(frame)[4:6] + (
            unpack_tm_header(frame)[10],)
        assert {k: parsed.frame.value.ocf[k] for k in c} == c
        assert parsed.fecf == crcmod_ccitt_false(frame[:-2])


@settings(max_examples=60)
@given(st.sampled_from((64, 512)), scids, tm_headers, clcw_fields, st.data())
def test_tm_frames_construct_builds_flight_reads(frame_len, scid, h, c, data):
    h = dict(h, spacecraft_id=scid, ocf_flag=True, first_header_pointer=0x7FE)
    field = data.draw(st.binary(min_size=frame_len - 12, max_size=frame_len - 12))
    frame = tm_frame(frame_len).build(dict(frame=dict(value=dict(header=h, data_field=field, ocf=c)), fecf=None))
    assert len(frame) == frame_len and int.from_bytes(frame[-2:], "big") == crcmod_ccitt_false(frame[:-2])
    r = TmFrameReader(scid, frame_len)
    assert r.read(frame) == [] and r.frames == 1 and r.idle_frames == 1 and r.crc_errors == 0
    assert r.clcw == _flight_word(c)
    bad = bytearray(frame)
    bad[7] ^= 0x80
    assert r.read(bytes(bad)) == [] and r.crc_errors == 1
    with pytest.raises(ChecksumError):
        tm_frame(frame_len).parse(bytes(bad))


@given(st.binary(max_size=1100))
def test_fecf_is_crcmod_crc_ccitt_false(data):
    from bus.crc16 import crc16
    assert crc16(data) == crcmod_ccitt_false(data)
    frame = data + crc16(data).to_bytes(2, "big")
    assert fecf_ok(frame) and crc16(frame) == 0
