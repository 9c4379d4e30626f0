"""The flight CRC agrees with crcmod's C extension (the ground's CRC) on any input."""

import crcmod.predefined
from hypothesis import given, strategies as st

from bus.crc16 import crc16

_ground = crcmod.predefined.mkCrcFun("crc-ccitt-false")


def test_crcmod_uses_its_c_extension():
    import crcmod._crcfunext  # noqa: F401  (ImportError means the slow pure-Python path)


@given(st.binary(max_size=2048))
def test_flight_and_ground_crc_agree(data):
    assert crc16(data) == _ground(data)
