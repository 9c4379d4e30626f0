"""Anti-replay counters and keys on the HAL's non-volatile store survive a reset
(payload/app.py wires the key store to NvRecords; both interpreters)."""

import struct

from bus import mdb
from bus import sdls
from bus.cltu import cltu_encode
from bus.pus import pack_tc
from bus.tc_frame import tc_frame, FRAME_AD
from hal.fake import FakeHal, PowerCut
from payload import app as app_mod
from payload.app import PayloadApp
from payload.key_store import KeyStore, RamRecords
from payload.nv_store import NvRecords
from tests.flight.support import raises

_PING = pack_tc(mdb.APID_MANAGER, 1, 17, 1)
_LAB_MAC = sdls.HmacSha256(sdls.lab_key(1))


def _boot(hal):
    app = PayloadApp(hal)
    app.start()
    _run(hal, app, 100)
    return app


def _reset(hal):
    """A reset: a new HAL (RAM gone) on the same non-volatile device, a new application."""
    again = FakeHal()
    again.nvstore = hal.nvstore
    return again, _boot(again)


def _run(hal, app, ms):
    i = 0
    while i < ms:
        app.step()
        hal.clock.advance(1000)
        i += 1


def _frame(sn, seq=0, packet=_PING, spi=1, mac=None):
    """A CLTU carrying a Type-AD frame authenticated with SN ``sn``."""
    plain = tc_frame(mdb.SPACECRAFT_ID, mdb.TC_VCID, FRAME_AD, seq, packet)
    return cltu_encode(sdls.secure_tc_frame(plain, spi, sn, mac or _LAB_MAC))


def _uplink(hal, app, cltu, ms=60):
    hal.links["space"].rx.append(cltu)
    _run(hal, app, ms)


def test_default_records_are_on_the_hal_nvstore_with_the_documented_map():
    hal = FakeHal()
    app = PayloadApp(hal)
    assert isinstance(app.records, NvRecords)
    keys = app.records.store("sec_keys")
    sn = app.records.store("sec_sn")
    assert (keys.base, keys.slot_size) == (2048, 256)
    assert (sn.base, sn.slot_size) == (2560, 32)
    assert app.records.end == 2624 <= hal.nvstore.size


def test_hal_without_nvstore_keeps_ram_records():
    class NoNv:
        nvstore = None

    assert isinstance(app_mod.key_records(NoNv()), RamRecords)


def test_an_explicit_records_object_is_used():
    records = RamRecords()
    app = PayloadApp(FakeHal(), records=records)
    assert app.records is records


def test_replay_after_a_reset_is_rejected_and_the_next_sn_accepted():
    hal = FakeHal()
    app = _boot(hal)
    _uplink(hal, app, _frame(41))
    assert app.link.sdls.accepted == 1 and app.keys.last_sn(1) == 41
    routed = app.router.packets_routed
    assert routed >= 1
    hal, app = _reset(hal)
    assert app.keys.last_sn(1) == 41
    before = app.router.packets_routed
    _uplink(hal, app, _frame(41))  # the frame recorded before the reset, replayed
    assert app.link.sdls.replayed == 1 and app.link.sdls.accepted == 0
    assert app.router.packets_routed == before
    _uplink(hal, app, _frame(42))  # the next SN (the new FARM-1 expects frame sequence 0 again)
    assert app.link.sdls.accepted == 1 and app.keys.last_sn(1) == 42
    assert app.router.packets_routed == before + 1


def _key_load_packet(spi, nonce, key):
    c = mdb.command("SEC_KEY_LOAD")
    wrapped = sdls.wrap_key(sdls.lab_key(0), spi, nonce, key)
    data = b""
    if c[4] is not None:
        data = bytes([c[4]])
    data += struct.pack(mdb.args_format(c[5]), spi, nonce, *struct.unpack(">8I", wrapped))
    return pack_tc(c[1], 1, c[2], c[3], data)


def test_key_loaded_by_sec_key_load_survives_a_reset():
    hal = FakeHal()
    app = _boot(hal)
    new_key = bytes(range(100, 132))
    _uplink(hal, app, _frame(1, packet=_key_load_packet(2, 7, new_key)), ms=200)
    assert app.keys.key_loads == 1 and app.keys.last_nonce == 7
    hal, app = _reset(hal)
    assert app.keys.last_nonce == 7  # a nonce is never reused, across resets too
    assert app.keys.load_key(2, 7, sdls.wrap_key(sdls.lab_key(0), 2, 7, new_key)) == mdb.FAIL_SEC_NONCE
    before = app.router.packets_routed
    _uplink(hal, app, _frame(1, spi=2, mac=sdls.HmacSha256(sdls.lab_key(2))))  # the old key of SPI 2
    assert app.link.sdls.bad_mac == 1 and app.router.packets_routed == before
    _uplink(hal, app, _frame(2, spi=2, mac=sdls.HmacSha256(new_key)))
    assert app.link.sdls.accepted == 1 and app.router.packets_routed == before + 1
    assert app.keys.last_sn(1) == 1  # SPI 1's counter came back too


def test_key_store_api_load_and_disable_survive_a_reset():
    hal = FakeHal()
    app = PayloadApp(hal)
    key = b"\x3c" * 32
    assert app.keys.load_key(3, 9, sdls.wrap_key(sdls.lab_key(0), 3, 9, key)) == 0
    assert app.keys.set_enabled(1, 0) == 0
    again = FakeHal()
    again.nvstore = hal.nvstore
    reborn = PayloadApp(again)
    assert reborn.keys.spi_enabled_mask == (1 << 2) | (1 << 3)
    assert reborn.keys.mac_for(1) is None
    assert reborn.keys.last_nonce == 9


# -- power cut during the counter save ------------------------------------------------------

_SN_SLOT = 32  # NV_KEY_RECORDS: "sec_sn" slot size; a save writes the slot, then its commit octet


def _sn_save_bytes():
    return _SN_SLOT + 1


def test_power_cut_during_the_counter_save_boots_with_the_last_good_counter():
    hal = FakeHal()
    app = _boot(hal)
    _uplink(hal, app, _frame(5))
    routed = app.router.packets_routed
    hal.nvstore.power_cut_after(10)  # inside the save of SN 6
    hal.links["space"].rx.append(_frame(6))
    raises(PowerCut, _run, hal, app, 60)
    assert app.router.packets_routed == routed  # the processor stopped before the frame's packet ran
    hal, app = _reset(hal)
    assert app.keys.last_sn(1) == 5
    before = app.router.packets_routed
    _uplink(hal, app, _frame(5))
    assert app.link.sdls.replayed == 1 and app.router.packets_routed == before
    _uplink(hal, app, _frame(6))  # never executed, so taking it now is no replay
    assert app.link.sdls.accepted == 1 and app.router.packets_routed == before + 1


def _cut_at(k, torn=None):
    """Accept SN 5, cut the save of SN 6 after ``k`` octets; return the rebooted key store."""
    hal = FakeHal()
    records = app_mod.key_records(hal)
    keys = KeyStore(records)
    keys.accept_sn(1, 5)
    hal.nvstore.power_cut_after(k, torn)
    raises(PowerCut, keys.accept_sn, 1, 6)  # the frame of SN 6 would only run after this returned
    return KeyStore(app_mod.key_records(hal))


def test_power_cut_at_every_octet_of_the_counter_save_never_loses_the_last_good_counter():
    k = 0
    while k < _sn_save_bytes():
        reborn = _cut_at(k)
        assert reborn.last_sn(1) == 5, k
        reborn.accept_sn(1, 6)  # the next save after the cut succeeds
        assert reborn.last_sn(1) == 6
        k += 1


def test_torn_octet_in_the_counter_save_gives_the_old_or_the_new_counter_never_lower():
    for torn in (0x00, 0xA5, 0x5A):
        k = 0
        while k < _sn_save_bytes():
            sn = _cut_at(k, torn).last_sn(1)
            # 6 only if the save completed (torn commit octet reads 0xA5): the frame of SN 6 is then
            # lost, never replayable; 5 otherwise.  Never below 5, whose frame ran.
            assert sn == 5 or (sn == 6 and k == _SN_SLOT and torn == 0xA5), (torn, k, sn)
            k += 1


# -- the board entry point -------------------------------------------------------------------


class _TimerHal(FakeHal):
    """FakeHal with what payload.boot.main calls of a board HAL."""

    def start_fine_timer(self, period_us, handler):
        self.timer = (period_us, handler)

    def stop_fine_timer(self):
        self.timer = None

    def idle(self):
        self.clock.advance(1000)


class _MicroPythonShim:
    def alloc_emergency_exception_buf(self, size):
        pass


def test_boot_builds_the_flight_configuration_on_the_nvstore():
    import sys  # noqa: PLC0415

    import payload.boot  # noqa: PLC0415

    try:
        import micropython  # noqa: PLC0415, F401

        shim = None
    except ImportError:
        shim = _MicroPythonShim()
        sys.modules["micropython"] = shim
    try:
        hal = _TimerHal()
        app = payload.boot.main(hal=hal, cycles=3, flight=True)
    finally:
        if shim is not None:
            del sys.modules["micropython"]
    assert app.link.lab_enabled is False and app.link.tc_auth is True
    assert isinstance(app.records, NvRecords)
    assert hal.timer is None  # main stopped the timer on the way out


def _store_events(hal):
    """(record, status) of every EV_SEC_STORE the payload sent on the lab port."""
    eid = mdb.event("EV_SEC_STORE")[0]
    out = []
    for p in hal.links["lab"].tx:
        if p[7] == 5 and struct.unpack_from(">H", p, 20)[0] == eid:
            out.append((p[22], p[23]))
    return out


def test_boot_reports_records_that_did_not_come_back():
    hal = FakeHal()
    app = _boot(hal)  # first boot: nothing stored yet
    assert _store_events(hal) == [(0, 1), (1, 1)]
    _uplink(hal, app, _frame(5))  # accepted: the counter record is written (slot A) ...
    _uplink(hal, app, _frame(6, seq=1))  # ... and again (slot B)
    assert app.keys.set_enabled(2, 1) == 0  # the keys record is written
    hal2, app2 = _reset(hal)
    assert _store_events(hal2) == []  # both records came back
    sn = app_mod.NV_KEY_RECORDS_BASE + 2 * 256  # the counters: two 32-octet slots after the keys' two
    hal2.nvstore.corrupt(sn + 10)  # a payload octet of slot A ...
    hal2.nvstore.corrupt(sn + 32 + 10)  # ... and of slot B
    hal3, app3 = _reset(hal2)
    assert _store_events(hal3) == [(1, 2)], hal3.nvstore.mem[sn:sn + 64]  # reported, not silently zero
