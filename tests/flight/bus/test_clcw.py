"""CLCW (CCSDS 232.0-B-4 §4.2.1): exact bits of every field, maximum values, round trip."""

from bus import clcw as C
from bus.clcw import FIELDS, clcw_from, clcw_into, pack_clcw, unpack_clcw
from tests.flight.support import garbage_bytes, raises


def test_clcw_bytes_with_every_flag():
    w = pack_clcw(vcid=5, report_value=0x2C, lockout=1, wait=1, retransmit=1, farm_b_counter=2,
                  no_rf=1, no_bit_lock=1, status=0)
    buf = bytearray(6)
    clcw_into(buf, 1, w)
    assert bytes(buf) == bytes([
        0x00,  # (offset 1 used)
        0x01,  # control word type 0, version 00, status 000, COP in effect 01
        0x14,  # VCID 000101, spare 00
        0xFC,  # no RF 1, no bit lock 1, lockout 1, wait 1, retransmit 1, FARM-B 10, spare 0
        0x2C,  # report value V(R) = 44
        0x00,
    ])
    assert clcw_from(buf, 1) == w == 0x0114FC2C


def test_clcw_all_clear():
    w = pack_clcw(0, 0)
    assert w == 0x01000000  # only COP in effect = 01
    assert unpack_clcw(w) == {
        "control_word_type": 0, "version": 0, "status": 0, "cop_in_effect": 1, "vcid": 0, "no_rf": 0,
        "no_bit_lock": 0, "lockout": 0, "wait": 0, "retransmit": 0, "farm_b_counter": 0, "report_value": 0,
    }


def test_maximum_values():
    w = pack_clcw(vcid=63, report_value=255, farm_b_counter=3, status=7)
    assert w == 0x1DFC06FF  # status 111, COP 01, VCID 111111, FARM-B 11, V(R) 0xFF
    f = unpack_clcw(w)
    assert (f["status"], f["vcid"], f["farm_b_counter"], f["report_value"]) == (7, 63, 3, 255)
    assert w < (1 << 29)  # a small int on MicroPython


def test_farm_b_counter_keeps_two_low_bits():
    assert C.farm_b_counter(pack_clcw(1, 0, farm_b_counter=7)) == 3
    assert C.farm_b_counter(pack_clcw(1, 0, farm_b_counter=4)) == 0


def test_round_trip_each_flag_alone():
    names = ("no_rf", "no_bit_lock", "lockout", "wait", "retransmit")
    for name in names:
        kw = {name: 1}
        f = unpack_clcw(pack_clcw(9, 17, **kw))
        for other in names:
            assert f[other] == (1 if other == name else 0), (name, other)
        assert f["vcid"] == 9 and f["report_value"] == 17
    assert len(FIELDS) == 12


def test_accessors_and_cop1_check():
    w = pack_clcw(2, 200, lockout=1)
    assert C.lockout(w) == 1 and C.wait(w) == 0 and C.vcid(w) == 2 and C.report_value(w) == 200
    assert C.is_cop1_clcw(w)
    assert not C.is_cop1_clcw(pack_clcw(2, 200, cop_in_effect=0))
    assert not C.is_cop1_clcw(w | (1 << 31))  # control word type 1: not a CLCW
    assert C.control_word_type(w | (1 << 31)) == 1 and C.version(w | (1 << 29)) == 1


def test_out_of_range_fields_raise():
    raises(ValueError, pack_clcw, 64, 0)
    raises(ValueError, pack_clcw, 0, 256)
    raises(ValueError, pack_clcw, 0, 0, 0, 0, 0, 0, 0, 0, 8)
    raises(ValueError, pack_clcw, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4)


def test_mp_pack_clcw_allocates_nothing():
    buf = bytearray(4)

    def one():
        clcw_into(buf, 0, pack_clcw(7, 99, 0, 1, 1, 5))
    assert garbage_bytes(one, 200) == 0
