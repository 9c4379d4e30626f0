"""CRC-16/CCITT-FALSE, table-driven (poly 0x1021, init 0xFFFF, no reflection, no xorout).

Used for the PUS packet error control (ECSS-E-ST-70-41C §7.4.3.1) and the TC/TM
transfer frames' FECF (CCSDS 232.0-B §4.1.4, 132.0-B §4.1.6).  Check value:
``crc16(b"123456789") == 0x29B1``.  The ground side checks the same CRC with
crcmod's C extension; tests prove they agree.

``crc16`` takes start/end offsets instead of slices so that computing over part
of a buffer allocates nothing.  On MicroPython it is the table-driven
``crc16_table``; on CPython (emulation and ground) the same CRC comes from
``binascii.crc_hqx``, which is C code (MicroPython's binascii lacks it); tests
compare both with crcmod.
"""

from bus.compat import IS_MICROPYTHON, const

INIT = const(0xFFFF)
POLY = const(0x1021)


def _make_table():
    t = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ POLY) & 0xFFFF if c & 0x8000 else (c << 1) & 0xFFFF
        t.append(c)
    return tuple(t)


_TABLE = _make_table()


def crc16_table(buf, start=0, end=-1, crc=INIT):
    """CRC of ``buf[start:end]`` (``end`` -1: to the end), continuing from ``crc``."""
    if end < 0:
        end = len(buf)
    table = _TABLE
    i = start
    while i < end:
        crc = ((crc << 8) & 0xFF00) ^ table[((crc >> 8) ^ buf[i]) & 0xFF]
        i += 1
    return crc


if IS_MICROPYTHON:
    crc16 = crc16_table
else:
    from binascii import crc_hqx as _crc_hqx

    def crc16(buf, start=0, end=-1, crc=INIT):
        """CRC of ``buf[start:end]`` (``end`` -1: to the end), continuing from ``crc``."""
        if end < 0:
            end = len(buf)
        return _crc_hqx(buf[start:end], crc)  # a copy beats a memoryview at packet sizes
