"""Two-copy NV records: round trip, alternation, a power cut at every octet of a
write, corrupted copies, sequence wrap-around (both interpreters)."""

from hal.fake import FakeNvStore, PowerCut
from payload import nv_store as nvs
from payload.nv_store import NvStore
from tests.flight.support import garbage_bytes, raises

SLOT = 64  # octets per slot in these tests: capacity 54
BASE = 32  # region starts away from 0 so offsets are exercised


def _store(nv, base=BASE, slot=SLOT, tag=nvs.TAG_PARAMETERS):
    """A freshly booted store: nothing in RAM, everything from the device."""
    return NvStore(nv, base, slot, tag)


def _data(version):
    """Payload of version ``version``: its length and contents differ per version."""
    return bytes([(version * 37 + 11 * i) & 0xFF for i in range(17 + 3 * (version % 9))])


def _device_holding(k):
    """A device whose store holds versions 1..k (version k the latest)."""
    nv = FakeNvStore(256)
    s = _store(nv)
    for v in range(1, k + 1):
        assert s.save(_data(v)) == v
    return nv


def _slot_bytes(nv, slot):
    at = BASE + slot * SLOT
    return bytes(nv.mem[at:at + SLOT])


# -- the fake device's fault injection -------------------------------------------------


def test_fake_nvstore_power_cut_lands_exactly_n_bytes_across_writes():
    nv = FakeNvStore(16)
    nv.power_cut_after(5)
    nv.write(0, b"abc")  # 3 land, 2 still allowed
    raises(PowerCut, nv.write, 8, b"wxyz")  # w, x land; the cut fires before y
    assert bytes(nv.mem[0:3]) == b"abc"
    assert bytes(nv.mem[8:12]) == b"wx\xff\xff"
    assert nv.power_cuts == 1 and nv.bytes_written == 5
    nv.write(12, b"ok")  # rebooted: the cut disarmed itself
    assert bytes(nv.mem[12:14]) == b"ok"


def test_fake_nvstore_torn_byte_and_disarm():
    nv = FakeNvStore(8)
    nv.power_cut_after(0, torn=0x5A)
    raises(PowerCut, nv.write, 2, b"\x00\x00")
    assert nv.mem[2] == 0x5A and nv.mem[3] == 0xFF  # half-programmed cell, then nothing
    nv.power_cut_after(1)
    nv.power_cut_after(None)
    nv.write(0, b"\x01\x02\x03")  # disarmed: all of it lands
    assert bytes(nv.mem[0:3]) == b"\x01\x02\x03"
    nv.corrupt(1, 0xFF)
    assert nv.mem[1] == 0xFD
    raises(ValueError, nv.power_cut_after, -1)
    raises(ValueError, nv.corrupt, 8)


# -- normal operation --------------------------------------------------------------------


def test_first_boot_loads_none_with_reason_empty():
    s = _store(FakeNvStore(256))
    assert s.load() is None
    assert s.reason == nvs.ST_EMPTY and s.slot == -1 and s.seq == -1
    assert s.reason_text() == "A: empty, B: empty"
    assert s.load_into(bytearray(8)) == -1


def test_round_trip_survives_a_reboot():
    nv = FakeNvStore(256)
    s = _store(nv)
    payload = b"pump_current_ma=62;crystal_temp_mk=37250"
    assert s.save(payload) == 1
    assert s.load() == payload
    again = _store(nv)  # reboot
    assert again.load() == payload and again.seq == 1 and again.slot == 0
    out = bytearray(s.capacity)
    assert again.load_into(out) == len(payload)
    assert bytes(out[:len(payload)]) == payload
    raises(ValueError, again.load_into, bytearray(len(payload) - 1))


def test_empty_and_full_payloads():
    nv = FakeNvStore(256)
    s = _store(nv)
    assert s.capacity == SLOT - nvs.OVERHEAD
    s.save(b"")
    assert _store(nv).load() == b""
    full = bytes(range(s.capacity))
    s.save(full)
    assert _store(nv).load() == full
    raises(ValueError, s.save, bytes(s.capacity + 1))
    assert _store(nv).load() == full  # a refused save writes nothing


def test_slot_layout_is_as_documented():
    nv = FakeNvStore(256)
    s = _store(nv)
    s.save(b"\x01\x02\x03")
    img = _slot_bytes(nv, 0)
    assert img[0] == nvs.COMMIT  # committed
    assert img[1] == nvs.FORMAT
    assert img[2:4] == b"PT"  # TAG_PARAMETERS
    assert img[4:6] == b"\x00\x01"  # sequence 1
    assert img[6:8] == b"\x00\x03"  # length 3
    assert img[8:11] == b"\x01\x02\x03"
    from bus.crc16 import crc16_table
    crc = crc16_table(img, 0, 11)
    assert img[11] == crc >> 8 and img[12] == crc & 0xFF
    assert img[13:] == b"\xff" * (SLOT - 13)
    assert _slot_bytes(nv, 1) == b"\xff" * SLOT  # slot B untouched
    assert nv.mem[BASE - 1] == 0xFF and nv.mem[BASE + 2 * SLOT] == 0xFF  # nothing outside the region


def test_versions_increase_and_alternate_slots():
    nv = FakeNvStore(256)
    s = _store(nv)
    for v in range(1, 8):
        assert s.save(_data(v)) == v
        assert s.slot == (v - 1) % 2  # A, B, A, ...
        again = _store(nv)
        assert again.load() == _data(v) and again.seq == v and again.slot == (v - 1) % 2
        if v > 1:  # the other slot still holds the previous version, intact
            assert again.status[v % 2] == nvs.ST_OK


# -- power cuts ------------------------------------------------------------------------------


def _bytes_per_save():
    nv = _device_holding(1)
    s = _store(nv)
    s.load()
    before = nv.bytes_written
    s.save(_data(2))
    return nv.bytes_written - before


def test_a_save_writes_the_slot_then_the_commit_octet():
    assert _bytes_per_save() == SLOT + 1


def _cut_every_offset(k, torn=None):
    """From a device holding version k, cut the save of k+1 after every octet count."""
    image = bytes(_device_holding(k).mem)
    latest = (k - 1) % 2  # slot of version k (-1 % 2 == 1 when k == 0: no matter, empty)
    total = SLOT + 1
    for cut in range(total + 1):
        nv = FakeNvStore(256)
        nv.mem[:] = image
        s = _store(nv)
        if k:
            assert s.load() == _data(k)
        nv.power_cut_after(cut, torn)
        try:
            s.save(_data(k + 1))
            completed = True
        except PowerCut:
            completed = False
        nv.power_cut_after(None)
        assert completed == (cut >= total), cut
        booted = _store(nv)  # reboot: RAM state gone
        got = booted.load()
        if got == _data(k + 1) and booted.seq == k + 1:
            assert completed or (torn is not None and cut == total - 1), cut  # only a torn commit may complete it
        elif k == 0:
            assert got is None and booted.reason in (nvs.ST_EMPTY, nvs.ST_TORN, nvs.ST_BAD_CRC), cut
        else:
            assert got == _data(k) and booted.seq == k, (cut, booted.seq)
            assert _slot_bytes(nv, latest) == image[BASE + latest * SLOT:BASE + (latest + 1) * SLOT]
        # the rebooted store recovers: its next save lands and is the latest
        booted.save(_data(k + 1))
        final = _store(nv)
        assert final.load() == _data(k + 1), cut


def test_power_cut_at_every_byte_offset_keeps_the_last_good_copy():
    _cut_every_offset(1)  # target slot B, slot A holds version 1
    _cut_every_offset(2)  # target slot A, overwriting version 1; B holds version 2


def test_power_cut_at_every_byte_offset_of_the_first_save():
    _cut_every_offset(0)


def test_power_cut_with_a_torn_byte_at_every_offset():
    for torn in (0x00, nvs.COMMIT, 0xFF, 0x3C):
        _cut_every_offset(2, torn)


def test_power_cut_in_a_retried_save_still_keeps_the_last_good_copy():
    nv = _device_holding(3)
    s = _store(nv)
    for cut in (1, 9, 40):  # three failed attempts in a row, each rebooting
        s = _store(nv)
        nv.power_cut_after(cut)
        raises(PowerCut, s.save, _data(4))
    s = _store(nv)
    assert s.load() == _data(3) and s.seq == 3
    assert s.save(_data(4)) == 4
    assert _store(nv).load() == _data(4)


# -- corruption ------------------------------------------------------------------------------


def test_corrupted_latest_copy_falls_back_to_the_other():
    nv = _device_holding(4)  # version 4 in slot B, 3 in A
    for offset in (0, 1, 2, 5, 7, 8, 20, 8 + len(_data(4)), 9 + len(_data(4))):
        nv2 = FakeNvStore(256)
        nv2.mem[:] = nv.mem
        nv2.corrupt(BASE + SLOT + offset, 0x10)
        s = _store(nv2)
        assert s.load() == _data(3) and s.seq == 3 and s.slot == 0, offset
        assert s.status[1] != nvs.ST_OK
        # the next save goes to the damaged slot, never over the good copy
        assert s.save(_data(5)) == 4 and s.slot == 1
        assert _store(nv2).load() == _data(5)


def test_corrupted_older_copy_is_ignored():
    nv = _device_holding(4)
    nv.corrupt(BASE + 12, 0x80)  # payload octet of version 3 in slot A
    s = _store(nv)
    assert s.load() == _data(4) and s.seq == 4
    assert s.status[0] == nvs.ST_BAD_CRC and s.reason == nvs.ST_OK


def test_both_copies_corrupt_gives_none_with_a_reason():
    nv = _device_holding(4)
    nv.corrupt(BASE + 10, 0x01)
    nv.corrupt(BASE + SLOT + 10, 0x01)
    s = _store(nv)
    assert s.load() is None and s.load_into(bytearray(64)) == -1
    assert s.reason == nvs.ST_BAD_CRC
    assert s.reason_text() == "A: bad crc, B: bad crc"
    nv.corrupt(BASE + 6, 0x40)  # slot A's length field beyond the slot
    nv.corrupt(BASE + SLOT, 0xFF)  # slot B's commit octet: 0xA5 -> 0x5A
    s = _store(nv)
    assert s.load() is None
    assert s.reason == nvs.ST_BAD_LENGTH and s.status[1] == nvs.ST_FOREIGN
    assert s.save(_data(1)) == 1 and s.slot == 0  # nothing valid: start again in slot A
    assert _store(nv).load() == _data(1)


def test_torn_slot_reason():
    nv = _device_holding(0)
    s = _store(nv)
    nv.power_cut_after(5)
    raises(PowerCut, s.save, b"abc")
    s = _store(nv)
    assert s.load() is None and s.reason == nvs.ST_TORN
    assert s.reason_text() == "A: torn write, B: empty"


# -- sequence numbers ----------------------------------------------------------------------


def test_seq_newer_wraps():
    assert nvs.seq_newer(1, 0) and not nvs.seq_newer(0, 1)
    assert nvs.seq_newer(0, 0xFFFF) and not nvs.seq_newer(0xFFFF, 0)
    assert nvs.seq_newer(5, 0xFFFB)
    assert not nvs.seq_newer(7, 7)
    assert nvs.seq_newer(0x7FFF, 0) and not nvs.seq_newer(0x8000, 0)


def test_version_wraps_around():
    nv = FakeNvStore(256)
    s = _store(nv)
    s.save(_data(1))  # slot A, seq 1
    s.seq = 0xFFFD  # jump the counter near the wrap (65,000 saves skipped)
    assert s.save(_data(2)) == 0xFFFE and s.slot == 1
    assert s.save(_data(3)) == 0xFFFF and s.slot == 0
    assert s.save(_data(4)) == 0 and s.slot == 1
    booted = _store(nv)  # B holds 0, A holds 0xFFFF: 0 is newer
    assert booted.load() == _data(4) and booted.seq == 0 and booted.slot == 1
    assert booted.save(_data(5)) == 1 and booted.slot == 0
    booted = _store(nv)
    assert booted.load() == _data(5) and booted.seq == 1
    nv.corrupt(BASE + 10)  # the newest copy (seq 1) goes bad: seq 0 is next best
    assert _store(nv).load() == _data(4)


# -- regions -------------------------------------------------------------------------------


def test_two_stores_share_a_device_on_their_own_regions():
    nv = FakeNvStore(4096)
    params = NvStore(nv, 0, 1024, nvs.TAG_PARAMETERS)
    keys = NvStore(nv, 2048, 512, nvs.TAG_KEYS)
    for v in range(1, 4):
        params.save(_data(v))
        keys.save(bytes([0x6B, 0x65, 0x79, v]))
    assert NvStore(nv, 0, 1024, nvs.TAG_PARAMETERS).load() == _data(3)
    assert NvStore(nv, 2048, 512, nvs.TAG_KEYS).load() == b"key\x03"
    wrong = NvStore(nv, 2048, 512, nvs.TAG_PARAMETERS)  # a parameter store on the keys' region
    assert wrong.load() is None and wrong.reason == nvs.ST_WRONG_TAG


def test_construction_limits():
    nv = FakeNvStore(256)
    raises(ValueError, NvStore, nv, 0, nvs.MIN_SLOT - 1, 1)
    raises(ValueError, NvStore, nv, 0, nvs.MAX_SLOT + 1, 1)
    raises(ValueError, NvStore, nv, 129, 64, 1)  # 128 octets past the end
    raises(ValueError, NvStore, nv, -1, 64, 1)
    raises(ValueError, NvStore, nv, 0, 64, 0x10000)
    assert NvStore(nv, 128, 64, 1).capacity == 54
    assert NvStore(FakeNvStore(8192), 0, 4096, 1).capacity == nvs.MAX_PAYLOAD  # CRC's HD-4 limit


def test_records_interface_for_the_key_store():
    nv = FakeNvStore(4096)
    layout = (("sec_keys", 256), ("sec_sn", 32))
    rec = nvs.NvRecords(nv, layout, base=1024)
    assert rec.end == 1024 + 2 * 256 + 2 * 32
    assert rec.load("sec_keys") is None and rec.store("sec_keys").reason == nvs.ST_EMPTY
    rec.save("sec_keys", bytes(range(136)))
    for sn in range(1, 5):
        rec.save("sec_sn", bytes([0, 0, 0, sn]) * 4)
    assert rec.saves == 5
    again = nvs.NvRecords(nv, layout, base=1024)  # reboot
    assert again.load("sec_keys") == bytes(range(136))
    assert again.load("sec_sn") == bytes([0, 0, 0, 4]) * 4 and again.store("sec_sn").seq == 4
    raises(ValueError, again.load, "sec_other")
    raises(ValueError, again.save, "sec_other", b"x")
    swapped = nvs.NvRecords(nv, (("sec_sn", 256), ("sec_keys", 32)), base=1024)  # wrong layout
    assert swapped.load("sec_sn") is None and swapped.store("sec_sn").reason == nvs.ST_WRONG_TAG
    raises(ValueError, nvs.NvRecords, nv, (("a", 64), ("a", 64)))
    raises(ValueError, nvs.NvRecords, nv, (("a", 2048), ("b", 64)))  # beyond the device


# -- MicroPython heap ----------------------------------------------------------------------


def test_mp_save_and_load_into_allocate_nothing():
    nv = FakeNvStore(4096)
    s = NvStore(nv, 0, 1024, nvs.TAG_PARAMETERS)
    data = bytearray(1000)
    out = bytearray(1014)
    assert garbage_bytes(lambda: s.save(data), 20) == 0
    assert garbage_bytes(lambda: s.load_into(out), 20) == 0
    assert garbage_bytes(lambda: s.scan(), 20) == 0
    rec = nvs.NvRecords(nv, (("sec_sn", 32),), base=2048)
    sn = bytearray(16)
    assert garbage_bytes(lambda: rec.save("sec_sn", sn), 20) == 0


def test_mp_load_allocates_only_the_payload_copy():
    nv = FakeNvStore(4096)
    s = NvStore(nv, 0, 1024, nvs.TAG_PARAMETERS)
    s.save(bytearray(1000))
    per_load = garbage_bytes(lambda: s.load(), 10) // 10
    assert 1000 <= per_load <= 2 * 1000 + 128, per_load  # the slice and the bytes made from it


# -- the board's file backend -----------------------------------------------------------------


def _board_file_nvstore():
    """hal.board.FileNvStore on a fresh file (the fake ``machine`` lets hal.board import)."""
    import sys  # noqa: PLC0415

    from tests.flight.support import IS_MICROPYTHON, fakes_path  # noqa: PLC0415

    if fakes_path() not in sys.path:
        sys.path.insert(0, fakes_path())
    import hal.board as board  # noqa: PLC0415

    if IS_MICROPYTHON:
        path = "/nv_store_test.bin"
        try:
            import os  # noqa: PLC0415
            os.remove(path)
        except OSError:
            pass
    else:
        import os  # noqa: PLC0415
        import tempfile  # noqa: PLC0415
        path = os.path.join(tempfile.mkdtemp(prefix="qsat-nv-"), "nvstore.bin")
    return board, path


def test_store_on_the_board_file_backend_survives_a_new_board():
    board, path = _board_file_nvstore()
    nv = board.FileNvStore(path, board.NVSTORE_SIZE)
    s = NvStore(nv, 0, 512, nvs.TAG_PARAMETERS)
    assert s.load() is None and s.reason == nvs.ST_EMPTY  # file created erased
    for v in range(1, 4):
        s.save(_data(v))
    again = NvStore(board.FileNvStore(path, board.NVSTORE_SIZE), 0, 512, nvs.TAG_PARAMETERS)
    assert again.load() == _data(3) and again.seq == 3 and again.slot == 0
