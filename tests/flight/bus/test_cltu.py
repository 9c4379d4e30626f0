"""CLTU (CCSDS 231.0-B-4): exact bytes, round trip, BCH single-error correction, double-error detection."""

from bus.cltu import (
    END_OVERFLOW, END_TAIL, END_UNCORRECTABLE, START_SEQUENCE, TAIL_SEQUENCE, CltuDecoder, bch_parity,
    cltu_encode, syndrome_position,
)
from bus.tc_frame import FRAME_AD, tc_frame
from tests.flight.support import garbage_bytes, raises

FRAME = tc_frame(0x2A5, 1, FRAME_AD, 7, b"\xab\xcd", map_id=2)  # 10 octets: 2 code blocks


def _decode_all(dec, stream):
    """Feed octet by octet; return the candidate frames (bytes)."""
    out = []
    for b in stream:
        n = dec.feed(b)
        if n:
            out.append(bytes(dec.frame[:n]))
    return out


def test_cltu_bytes():
    assert FRAME.hex() == "02a5040907c2abcd7c32"
    assert cltu_encode(FRAME) == bytes([
        0xEB, 0x90,  # start sequence
        0x02, 0xA5, 0x04, 0x09, 0x07, 0xC2, 0xAB,  # code block 1: frame octets 0..6
        0xDE,  # its parity: 7 complemented BCH parity bits 1101111, filler bit 0
        0xCD, 0x7C, 0x32,  # code block 2: frame octets 7..9 ...
        0x55, 0x55, 0x55, 0x55,  # ... and fill 0x55
        0xFC,  # parity 1111110, filler 0
        0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0x79,  # tail sequence
    ])


def test_bch_parity_of_plain_blocks():
    # all-zero information: remainder 0, complemented: 1111111 + filler 0
    assert bch_parity(bytes(7)) == 0xFE
    # a single information bit at the end is x^7 mod g = x^6 + x^2 + 1 -> 1000101, complemented 0111010
    assert bch_parity(b"\x00\x00\x00\x00\x00\x00\x01") == 0b01110100
    assert bch_parity(bytearray(b"xx\x00\x00\x00\x00\x00\x00\x01"), 2) == 0x74


def test_round_trip_octet_by_octet_and_by_buffer():
    dec = CltuDecoder()
    assert _decode_all(dec, cltu_encode(FRAME)) == [FRAME]
    assert dec.end_reason == END_TAIL and dec.cltus == 1 and dec.frames == 1 and dec.blocks == 2
    assert dec.corrected_blocks == 0 and dec.rejected_blocks == 0
    frames = [tc_frame(0x3FF, 63, FRAME_AD, i, bytes(range(i + 1))) for i in (0, 5, 6, 12, 40)]
    stream = b"\x55\x55\xeb\x00" + b"".join(b"\x55" * 3 + cltu_encode(f) for f in frames) + b"\xeb"
    dec = CltuDecoder()
    got = []
    pos = 0
    while pos < len(stream):
        pos = dec.feed_buf(stream, pos)
        if dec.frame_len:
            got.append(bytes(dec.frame[:dec.frame_len]))
    assert got == frames and dec.cltus == 5


def test_maximum_frame_1024():
    frame = tc_frame(0x3FF, 63, FRAME_AD, 255, bytes(1016))
    c = cltu_encode(frame)
    assert len(c) == 2 + 147 * 8 + 8  # 1024 octets need 147 blocks (1029 with 5 fill octets)
    dec = CltuDecoder(1024)
    assert _decode_all(dec, c) == [frame] and dec.blocks == 147


def test_single_bit_error_corrected_in_every_position():
    clean = cltu_encode(FRAME)
    dec = CltuDecoder()
    for block in range(2):
        for bit in range(64):
            c = bytearray(clean)
            c[2 + block * 8 + bit // 8] ^= 0x80 >> (bit % 8)
            assert _decode_all(dec, c) == [FRAME], (block, bit)
    assert dec.corrected_blocks == 2 * 63  # the filler bit is not part of the code word
    assert dec.rejected_blocks == 0 and dec.frames == 128


def test_every_double_bit_error_is_detected():
    # syndrome level, all 1953 pairs: no pair looks like a single error or like no error
    single = []
    for k in range(63):
        e = bytearray(8)
        e[k // 8] ^= 0x80 >> (k % 8)
        single.append((bch_parity(e) ^ bch_parity(bytes(7)) ^ e[7]) >> 1)
    assert len(set(single)) == 63 and 0 not in single
    assert [syndrome_position(s) for s in single] == list(range(63)) and syndrome_position(0) == -1
    for i in range(63):
        for j in range(i + 1, 63):
            assert syndrome_position(single[i] ^ single[j]) == -2, (i, j)


def test_double_bit_error_rejects_the_block():
    clean = cltu_encode(FRAME)
    dec = CltuDecoder()
    for i, j in ((0, 1), (0, 62), (13, 40), (55, 56), (57, 62)):
        c = bytearray(clean)
        for k in (i, j):
            c[2 + k // 8] ^= 0x80 >> (k % 8)
        assert _decode_all(dec, c) == [], (i, j)
        assert dec.end_reason == END_UNCORRECTABLE
    assert dec.rejected_blocks == 5 and dec.incomplete == 5 and dec.frames == 0


def test_detection_only_mode_rejects_single_errors():
    c = bytearray(cltu_encode(FRAME))
    c[12] ^= 0x04
    dec = CltuDecoder(correct=False)
    assert _decode_all(dec, c) == [] and dec.rejected_blocks == 1
    assert _decode_all(dec, cltu_encode(FRAME)) == [FRAME]


def test_error_in_the_last_block_after_the_frame_still_delivers():
    # an uncorrectable block after the frame's own length ends the CLTU like a tail
    frame = tc_frame(1, 0, FRAME_AD, 0, b"1234567890abc")  # 21 octets: exactly 3 blocks
    bad = bytes(7) + bytes([0xFE ^ 0x06])  # two parity bits wrong: uncorrectable
    c = bytearray(cltu_encode(frame)[:-8]) + bad  # tail replaced by a bad block
    dec = CltuDecoder()
    assert _decode_all(dec, c) == [frame] and dec.end_reason == END_UNCORRECTABLE


def test_tail_with_a_bit_error_still_ends_the_cltu():
    c = bytearray(cltu_encode(FRAME))
    c[-3] ^= 0x10
    dec = CltuDecoder()
    assert _decode_all(dec, c) == [FRAME] and dec.end_reason == END_UNCORRECTABLE


def test_overflow_and_truncated_cltu():
    big = tc_frame(1, 0, FRAME_AD, 0, bytes(100))
    dec = CltuDecoder(max_frame_len=50)
    assert _decode_all(dec, cltu_encode(big)) == [] and dec.end_reason == END_OVERFLOW
    assert dec.incomplete == 1
    # the decoder searches again after the overflow
    assert _decode_all(dec, cltu_encode(FRAME)) == [FRAME]
    dec = CltuDecoder()
    assert _decode_all(dec, START_SEQUENCE + TAIL_SEQUENCE) == [] and dec.incomplete == 1
    dec.feed(0xEB)
    assert not dec.in_cltu
    dec.feed(0x90)
    assert dec.in_cltu
    dec.reset()
    assert not dec.in_cltu
    dec.feed(0xEB)
    assert _decode_all(dec, b"\x90" + TAIL_SEQUENCE) == [] and dec.cltus == 3
    raises(ValueError, CltuDecoder, 6)
    raises(ValueError, cltu_encode, b"")


def test_mp_decoder_allocates_nothing_per_octet():
    stream = bytearray(b"\x55\x55" + cltu_encode(tc_frame(0x2A5, 1, FRAME_AD, 3, bytes(range(50)))))
    stream[10] ^= 0x20  # one correctable error per CLTU
    n = len(stream)
    dec = CltuDecoder(256)
    box = [0]

    def one():
        i = box[0]
        dec.feed(stream[i])
        i += 1
        box[0] = 0 if i == n else i
    assert garbage_bytes(one, 5 * n) == 0
    assert dec.frames == 5 and dec.corrected_blocks == 5

    def whole():
        pos = 0
        while pos < n:
            pos = dec.feed_buf(stream, pos, n)
    assert garbage_bytes(whole, 5) == 0
