"""SDLS-style TC authentication (bus/sdls.py, payload/key_store.py) on both interpreters."""

import binascii

from bus import mdb
from bus import sdls
from bus.tc_frame import FRAME_AD, FRAME_BD, TcFrameReader, tc_frame, OK
from bus.pus import pack_tc
from payload.key_store import KeyStore, RamRecords
from tests.flight.support import raises


def _h(text):
    return binascii.unhexlify(text)


# -- HMAC-SHA256 against RFC 4231 ----------------------------------------------------------
def test_hmac_rfc4231_case_1():
    mac = sdls.hmac_sha256(b"\x0b" * 20, b"Hi There")
    assert mac == _h("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")


def test_hmac_rfc4231_case_2():
    mac = sdls.hmac_sha256(b"Jefe", b"what do ya want for nothing?")
    assert mac == _h("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_hmac_rfc4231_case_6_key_longer_than_a_block():
    mac = sdls.hmac_sha256(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First")
    assert mac == _h("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")


def test_hmac_of_a_buffer_region_equals_hmac_of_its_copy():
    h = sdls.HmacSha256(b"k" * 32)
    buf = bytearray(b"xx" + b"the frame" + b"yy")
    out = bytearray(32)
    h.digest_into(out, buf, 2, 11)
    assert bytes(out) == sdls.hmac_sha256(b"k" * 32, b"the frame")


# -- frames -------------------------------------------------------------------------------
_PING = pack_tc(mdb.APID_MANAGER, 1, 17, 1)


class Board:
    """Frame reader + SDLS receiver + key store, as payload/link.py chains them."""

    def __init__(self, records=None):
        self.records = records if records is not None else RamRecords()
        self.keys = KeyStore(self.records)
        self.rx = sdls.SdlsReceiver(self.keys)
        self.reader = TcFrameReader(mdb.SPACECRAFT_ID, vcids=(mdb.TC_VCID,), max_len=mdb.TC_FRAME_MAX_LEN)

    def accept(self, frame):
        """SEC_* code of a frame (the frame checks must pass)."""
        buf = bytearray(frame)
        assert self.reader.parse(buf, len(buf), 0) == OK
        code = self.rx.verify(buf, 0, self.reader.data_offset, self.reader.data_len)
        if code == sdls.SEC_OK:
            self.packet = bytes(buf[self.rx.data_offset:self.rx.data_offset + self.rx.data_len])
        return code


def _signed(sn, spi=1, key=None, seq=0, packet=_PING, ftype=FRAME_AD):
    mac = sdls.HmacSha256(key if key is not None else sdls.lab_key(spi))
    plain = tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, ftype, seq, packet)
    return sdls.secure_tc_frame(plain, spi, sn, mac)


def test_secured_frame_layout():
    f = _signed(0x01020304, spi=1)
    assert len(f) == 5 + 1 + 6 + len(_PING) + 16 + 2
    assert f[6:12] == b"\x00\x01\x01\x02\x03\x04"  # SPI 1, SN 0x01020304
    assert f[12:12 + len(_PING)] == _PING
    mac = sdls.hmac_sha256(sdls.lab_key(1), f[:-18])
    assert f[-18:-2] == mac[:16]  # over primary header, segment header, security header and data


def test_signed_frame_accepted_and_packet_recovered():
    b = Board()
    assert b.accept(_signed(1)) == sdls.SEC_OK
    assert b.packet == _PING
    assert b.rx.accepted == 1 and b.keys.last_sn(1) == 1
    assert b.accept(_signed(2, ftype=FRAME_BD)) == sdls.SEC_OK  # bypass frames are secured too


def test_forged_mac_rejected():
    b = Board()
    f = bytearray(_signed(5))
    f[12 + 3] ^= 0x01  # change the packet, then repair the FECF as a forger would
    from bus.crc16 import crc16
    c = crc16(f, 0, len(f) - 2)
    f[-2] = c >> 8
    f[-1] = c & 0xFF
    assert b.accept(f) == sdls.SEC_BAD_MAC
    assert b.accept(_signed(6, key=b"\x00" * 32)) == sdls.SEC_BAD_MAC  # wrong key
    assert b.rx.bad_mac == 2 and b.rx.accepted == 0 and b.keys.last_sn(1) == 0  # nothing advanced


def test_replay_and_window():
    b = Board()
    f = _signed(10)
    assert b.accept(f) == sdls.SEC_OK
    assert b.accept(f) == sdls.SEC_REPLAY  # the same frame again
    assert b.accept(_signed(9)) == sdls.SEC_REPLAY  # older
    assert b.accept(_signed(10 + sdls.ARSN_WINDOW + 1)) == sdls.SEC_REPLAY  # too far ahead
    assert b.accept(_signed(10 + sdls.ARSN_WINDOW)) == sdls.SEC_OK  # at the window's edge
    assert b.rx.replayed == 3 and b.rx.accepted == 2


def test_sequence_numbers_are_per_spi():
    b = Board()
    assert b.accept(_signed(100, spi=1)) == sdls.SEC_OK
    assert b.accept(_signed(1, spi=2)) == sdls.SEC_OK
    assert b.keys.last_sn(1) == 100 and b.keys.last_sn(2) == 1


def test_truncated_frame_rejected():
    b = Board()
    plain = tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, FRAME_AD, 0, b"\x00" * (sdls.SEC_OVERHEAD))
    assert b.accept(plain) == sdls.SEC_TRUNCATED
    assert b.rx.truncated == 1


def test_unsigned_frame_rejected():
    b = Board()
    plain = tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, FRAME_AD, 0, _PING + b"\x00" * 20)
    assert b.accept(plain) != sdls.SEC_OK


def test_wrong_spi_rejected():
    b = Board()
    assert b.accept(_signed(1, spi=7, key=sdls.lab_key(1))) == sdls.SEC_BAD_SPI  # unknown
    assert b.accept(_signed(1, spi=0, key=sdls.lab_key(0))) == sdls.SEC_BAD_SPI  # the KEK slot
    assert b.keys.set_enabled(2, 0) == 0
    assert b.accept(_signed(1, spi=2)) == sdls.SEC_BAD_SPI  # disabled
    assert b.rx.bad_spi == 3


def test_last_spi_cannot_be_disabled():
    b = Board()
    assert b.keys.set_enabled(1, 0) == 0 and b.keys.set_enabled(2, 0) == 0
    assert b.keys.set_enabled(3, 0) == mdb.FAIL_SEC_LAST_SPI
    assert b.keys.set_enabled(4, 1) == mdb.FAIL_SEC_SPI


def test_counters_survive_a_reset():
    records = RamRecords()
    b = Board(records)
    f = _signed(41)
    assert b.accept(f) == sdls.SEC_OK
    reborn = Board(records)  # a reset: new key store and receiver, same persistent records
    assert reborn.keys.last_sn(1) == 41
    assert reborn.accept(f) == sdls.SEC_REPLAY  # a frame recorded before the reset does not replay
    assert reborn.accept(_signed(42)) == sdls.SEC_OK


def test_key_load_unwraps_under_the_kek_and_persists():
    records = RamRecords()
    b = Board(records)
    new_key = bytes(range(32))
    wrapped = sdls.wrap_key(sdls.lab_key(0), 2, 7, new_key)
    assert wrapped != new_key
    assert b.keys.load_key(2, 7, wrapped) == 0
    assert b.accept(_signed(1, spi=2)) == sdls.SEC_BAD_MAC  # the old key no longer works
    assert b.accept(_signed(2, spi=2, key=new_key)) == sdls.SEC_OK
    assert b.keys.load_key(2, 7, wrapped) == mdb.FAIL_SEC_NONCE  # a nonce is never reused
    reborn = Board(records)
    assert reborn.accept(_signed(3, spi=2, key=new_key)) == sdls.SEC_OK


def test_secure_refuses_fields_out_of_range():
    mac = sdls.HmacSha256(sdls.lab_key(1))
    plain = tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, FRAME_AD, 0, _PING)
    raises(ValueError, sdls.secure_tc_frame, plain, 1, -1, mac)
    raises(ValueError, sdls.secure_tc_frame, plain, 0x10000, 1, mac)
