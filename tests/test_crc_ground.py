"""The flight CRC agrees with crcmod's C extension (the ground's CRC) on any input."""

import crcmod.predefined
from hypothesis import given, strategies as st

from bus.crc16 import crc16, crc16_table

_ground = crcmod.predefined.mkCrcFun("crc-ccitt-false")


def test_crcmod_uses_its_c_extension():
    import crcmod._crcfunext  # noqa: F401  (ImportError means the slow pure-Python path)


@given(st.binary(max_size=2048), st.integers(0, 2048), st.integers(-1, 2048))
def test_flight_and_ground_crc_agree(data, start, end):
    """The table (what MicroPython runs) and the C path agree with crcmod, on any slice."""
    start = min(start, len(data))
    stop = len(data) if end < 0 else max(start, min(end, len(data)))
    assert crc16_table(data, start, end if end < 0 else stop) == _ground(data[start:stop])
    assert crc16(data, start, end if end < 0 else stop) == _ground(data[start:stop])
