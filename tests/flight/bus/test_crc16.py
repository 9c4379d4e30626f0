"""CRC-16/CCITT-FALSE: check value, partial buffers, continuation, no garbage."""

from bus.crc16 import crc16
from tests.flight.support import garbage_bytes


def test_check_value():
    assert crc16(b"123456789") == 0x29B1


def test_empty_is_init():
    assert crc16(b"") == 0xFFFF


def test_range_and_continuation():
    data = b"xx123456789yy"
    assert crc16(data, 2, 11) == 0x29B1
    assert crc16(b"56789", crc=crc16(b"1234")) == 0x29B1


def test_appending_crc_gives_zero_residue():
    frame = bytearray(b"\x20\x03\x00\x0a\x00payload")
    c = crc16(frame)
    frame.append(c >> 8)
    frame.append(c & 0xFF)
    assert crc16(frame) == 0


def test_mp_crc_allocates_nothing():
    buf = bytearray(range(200))
    assert garbage_bytes(lambda: crc16(buf, 10, 190), 100) == 0
