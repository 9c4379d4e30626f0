"""The parameter table in non-volatile storage, the RAM scrub and the restore after a reset
(payload/param_store.py, docs/param_tables.md; both interpreters)."""

import struct

from bus import mdb
from bus.pus import pack_tc, unpack_tm, ACK_ALL
from hal.fake import FakeHal, PowerCut
from hal.interface import RESET_POWER_ON, RESET_SOFT, RESET_WATCHDOG
from payload import param_store as ps
from payload import phase_tune
from payload import source_modes as sm
from payload.app import NV_TABLE_BASE, NV_TABLE_SLOT, PayloadApp, table_store
from payload.param_store import ParameterStore
from tests.flight.support import raises

KP = mdb.parameter("crystal_kp")[0]
KI = mdb.parameter("crystal_ki")[0]
SET_POINT = mdb.parameter("crystal_set_point_mk")[0]
AUTO_EMIT = mdb.parameter("src_auto_emit")[0]
_UV_PER_MK = 40  # FakeHal crystal bridge: T = 298150 mK - uv / 40


class Payload:
    """A PayloadApp on a FakeHal whose non-volatile store outlives it (a reset keeps only that)."""

    def __init__(self, nvstore=None, cause=RESET_POWER_ON, start=True):
        self.hal = FakeHal()
        if nvstore is not None:
            self.hal.nvstore = nvstore
        self.hal.watchdog.cause = cause
        self.app = PayloadApp(self.hal)
        self.lab = self.hal.links["lab"]
        self.seq = 0
        self.sent = []  # every TM packet since boot, decoded
        if start:
            self.app.start()
            self.run_ms(10)

    def reset(self, cause):
        return Payload(self.hal.nvstore, cause)

    def run_ms(self, ms):
        i = 0
        while i < ms:
            self.app.step()
            self.hal.clock.advance(1000)
            i += 1
        self.sent.extend(unpack_tm(p) for p in self.lab.tx)
        self.lab.tx.clear()

    def tc(self, name, *args, ms=60):
        c = mdb.command(name)
        data = b"" if c[4] is None else bytes([c[4]])
        if c[5]:
            data += struct.pack(mdb.args_format(c[5]), *args)
        self.seq += 1
        before = len(self.sent)
        self.lab.rx.append(pack_tc(c[1], self.seq, c[2], c[3], data, ACK_ALL))
        self.run_ms(ms)
        return self.sent[before:]

    def events(self, name, tms=None):
        """Argument tuples of every report of event ``name``."""
        e = mdb.event(name)
        fmt = mdb.args_format(e[4])
        out = []
        for t in self.sent if tms is None else tms:
            if t.service == 5 and struct.unpack(">H", t.app_data[:2])[0] == e[0]:
                out.append(struct.unpack(fmt, t.app_data[2:2 + struct.calcsize(fmt)]))
        return out


def _completed(tms):
    return [t for t in tms if t.service == 1 and t.subtype == 7]


def _failure(tms):
    f = [t for t in tms if t.service == 1 and t.subtype in (2, 8)]
    return struct.unpack(">H", f[0].app_data[4:6])[0] if f else None


# -- declaration -------------------------------------------------------------------------------

def test_persisted_parameters_are_declared_configuration_and_never_auto_emit():
    assert "src_auto_emit" not in mdb.TABLE_PARAMETERS
    for name in mdb.TABLE_PARAMETERS:
        p = mdb.parameter(name)
        assert p[7] is not None or name in [r[0] for r in mdb.TABLE_COMMAND_RANGES], name
    assert len(set(mdb.TABLE_PARAMETERS)) == len(mdb.TABLE_PARAMETERS)
    assert ps.HEADER_LEN + 4 * len(mdb.TABLE_PARAMETERS) <= NV_TABLE_SLOT - 10  # fits a slot


def test_region_map_places_the_table_in_its_two_slots():
    store = table_store(FakeHal())
    assert (store.base, store.slot_size, NV_TABLE_BASE) == (0, 1024, 0)


# -- save and load -------------------------------------------------------------------------------

def test_first_boot_uses_defaults_and_says_why_then_the_boot_save_loads():
    p = Payload()
    assert p.events("EV_TBL_DEFAULTS") == [(ps.NONE_STORED, 0, 1, 1)]  # both slots empty
    assert p.app.tables.state == ps.NONE_STORED and p.app.tables.boot_count == 1
    assert p.events("EV_TBL_SAVED") == [(1, ps.SAVE_BOOT)]
    again = p.reset(RESET_POWER_ON)
    version = ps.table_version()
    assert again.events("EV_TBL_LOADED") == [(version, len(mdb.TABLE_PARAMETERS), 0, 1)]
    assert again.app.tables.state == ps.LOADED and again.app.tables.boot_count == 2
    assert not again.events("EV_TBL_DEFAULTS")


def test_save_and_load_round_trip_through_telecommands():
    p = Payload()
    assert _completed(p.tc("PARAM_SET", 1, KP, 1234)) and _completed(p.tc("PARAM_SET", 1, SET_POINT, 301000))
    tms = p.tc("TBL_SAVE")
    assert _completed(tms) and p.events("EV_TBL_SAVED", tms) == [(2, ps.SAVE_COMMAND)]
    p.app.crystal.kp = 5  # RAM changes after the save are not in the table
    again = p.reset(RESET_POWER_ON)
    assert again.app.crystal.kp == 1234 and again.app.crystal.set_point_mk == 301000
    assert again.app.params.get(mdb.parameter("tbl_seq")[0]) == again.app.tables.seq == 3  # boot save


def test_tbl_load_reapplies_the_stored_table_and_refuses_without_one():
    p = Payload()
    p.app.tables.min_save_interval_s = 3600
    p.tc("PARAM_SET", 1, KP, 777)  # not saved yet (rate limit)
    tms = p.tc("TBL_LOAD")
    assert _completed(tms) and p.app.crystal.kp == 400
    assert p.events("EV_TBL_LOADED", tms)[0][1] == len(mdb.TABLE_PARAMETERS)
    nv = p.hal.nvstore
    nv.corrupt(NV_TABLE_BASE + 20)
    nv.corrupt(NV_TABLE_BASE + NV_TABLE_SLOT + 20)
    p.tc("PARAM_SET", 1, KP, 778)
    assert _failure(p.tc("TBL_LOAD")) == mdb.FAIL_TBL_NONE and p.app.crystal.kp == 778


def test_param_set_saves_automatically_at_most_once_per_interval():
    p = Payload()
    t = p.app.tables
    t.min_save_interval_s = 3
    p.run_ms(3000)  # the boot save is behind us by more than the interval
    saves = t.saves
    p.tc("PARAM_SET", 1, KP, 1000)
    p.run_ms(1000)
    assert t.saves == saves + 1 and p.events("EV_TBL_SAVED")[-1][1] == ps.SAVE_PARAM_SET
    p.tc("PARAM_SET", 1, KP, 1001)
    p.tc("PARAM_SET", 1, KI, 50)
    p.run_ms(1000)
    assert t.saves == saves + 1  # within the interval: coalesced, not yet written
    p.run_ms(2000)
    assert t.saves == saves + 2
    again = p.reset(RESET_POWER_ON)
    assert (again.app.crystal.kp, again.app.crystal.ki) == (1001, 50)


def test_a_non_persisted_parameter_set_does_not_write():
    p = Payload()
    p.app.tables.min_save_interval_s = 1
    saves = p.app.tables.saves
    p.tc("PARAM_SET", 1, AUTO_EMIT, 1)
    p.run_ms(2000)
    assert p.app.tables.saves == saves


def test_src_auto_emit_never_persists():
    p = Payload()
    p.tc("PARAM_SET", 1, AUTO_EMIT, 1)
    p.tc("TBL_SAVE")
    again = p.reset(RESET_WATCHDOG)
    assert again.app.source_app.auto_emit == 0


def test_stored_value_outside_its_range_is_refused_and_counted():
    p = Payload()
    store = table_store(p.hal)
    blob = bytearray(store.load())
    k = 0
    for name in mdb.TABLE_PARAMETERS:  # offset of crystal_kp in the record
        if name == "crystal_kp":
            break
        k += struct.calcsize(mdb.TYPE_FORMATS[mdb.parameter(name)[2]])
    struct.pack_into(">H", blob, ps.HEADER_LEN + k, 4001)  # settable range 0..4000
    store.save(blob)
    again = p.reset(RESET_POWER_ON)
    assert again.app.crystal.kp == 400 and again.app.tables.refused == 1
    assert again.events("EV_TBL_REFUSED") == [(KP, 4001)]
    assert again.events("EV_TBL_LOADED")[0][1:3] == (len(mdb.TABLE_PARAMETERS) - 1, 1)


def test_layout_change_refuses_the_old_table_and_says_so():
    p = Payload()
    p.tc("PARAM_SET", 1, KP, 1500)
    p.tc("TBL_SAVE")
    old_version = ps.table_version()
    saved = mdb.TABLE_PARAMETERS
    try:
        mdb.TABLE_PARAMETERS = saved[:-1]  # a database without emit_beams in the table
        assert ps.table_version() != old_version
        again = p.reset(RESET_POWER_ON)
        assert again.events("EV_TBL_DEFAULTS")[0][:2] == (ps.LAYOUT_CHANGED, old_version)
        assert again.app.crystal.kp == 400 and again.app.tables.state == ps.LAYOUT_CHANGED
    finally:
        mdb.TABLE_PARAMETERS = saved


def test_both_copies_bad_gives_defaults_with_the_reason():
    p = Payload()
    p.tc("TBL_SAVE")  # two copies now
    p.hal.nvstore.corrupt(NV_TABLE_BASE + 12)
    p.hal.nvstore.corrupt(NV_TABLE_BASE + NV_TABLE_SLOT + 12)
    again = p.reset(RESET_POWER_ON)
    assert again.events("EV_TBL_DEFAULTS")[0][0] == ps.BOTH_BAD
    assert again.events("EV_TBL_DEFAULTS")[0][2:] == (6, 6)  # bad crc in both slots


# -- power cut during a save ------------------------------------------------------------------

_OLD = (1111, 111)  # kp, ki in the last good copy
_NEW = (2222, 222)  # ... in the save that is cut


def _table_after_cut(p, k, torn):
    """Save _OLD, cut the save of _NEW after ``k`` octets; the (kp, ki) a reboot then loads."""
    app = p.app
    app.params.set(KP, _OLD[0])
    app.params.set(KI, _OLD[1])
    app.tables.save(ps.SAVE_COMMAND)
    app.params.set(KP, _NEW[0])
    app.params.set(KI, _NEW[1])
    p.hal.nvstore.power_cut_after(k, torn)
    raises(PowerCut, app.tables.save, ps.SAVE_COMMAND)
    app.crystal.kp = 400  # RAM is gone: defaults until the table loads
    app.crystal.ki = 40
    reborn = ParameterStore(table_store(p.hal), app.services.events, None, RESET_POWER_ON)
    reborn.bind(app.params)  # service 20 now reports to the reborn store
    assert reborn.state == ps.LOADED, (k, torn, reborn.state)
    app.tables = reborn  # ... which saves the next round
    return (app.crystal.kp, app.crystal.ki)


def test_power_cut_at_every_octet_of_a_table_save_boots_with_the_last_good_copy():
    p = Payload()
    k = 0
    while k <= NV_TABLE_SLOT:  # the slot image, then the commit octet
        assert _table_after_cut(p, k, None) == _OLD, k
        k += 1
    p.hal.nvstore.power_cut_after(None)
    assert p.app.tables.save(ps.SAVE_COMMAND) == 0  # and the next save succeeds


def test_power_cut_with_a_torn_octet_gives_the_old_or_the_new_table_never_a_mix():
    p = Payload()
    for torn in (0x00, 0xA5, 0x5A):
        k = 0
        while k <= NV_TABLE_SLOT:
            got = _table_after_cut(p, k, torn)
            # the new table only when the torn octet is the commit octet reading 0xA5 (save complete)
            assert got == _OLD or (got == _NEW and k == NV_TABLE_SLOT and torn == 0xA5), (torn, k, got)
            # every octet of header, record, CRC and the commit octet; the erased fill in between
            # (already covered untorn above) with a stride, to keep MicroPython's run short
            k += 29 if 64 <= k < NV_TABLE_SLOT - 64 else 1
    # the commit octet itself, torn to 0xA5, completes the save: the new table
    assert _table_after_cut(p, NV_TABLE_SLOT, 0xA5) == _NEW


# -- scrub --------------------------------------------------------------------------------------

def test_bit_flip_in_a_live_parameter_is_repaired_within_one_housekeeping_second():
    p = Payload()
    p.run_ms(1000)
    bad = p.app.params.flip_bit("crystal_kp", 5)
    assert bad == 400 ^ 32 and p.app.crystal.kp == bad
    p.run_ms(1000)
    assert p.app.crystal.kp == 400
    assert p.events("EV_TBL_SCRUB") == [(KP, bad, 400)]
    assert p.app.params.get(mdb.parameter("tbl_scrub_repairs")[0]) == 1


def test_bit_flip_turning_auto_emit_on_is_repaired_though_it_never_persists():
    p = Payload()
    p.app.params.flip_bit("src_auto_emit", 0)
    p.run_ms(1000)
    assert p.app.source_app.auto_emit == 0 and p.events("EV_TBL_SCRUB") == [(AUTO_EMIT, 1, 0)]


def test_commanded_changes_are_not_mistaken_for_upsets():
    p = Payload()
    p.tc("PARAM_SET", 1, KP, 900)
    p.tc("SRC_PUMP_POWER", 20000)
    p.run_ms(2000)
    assert p.app.crystal.kp == 900 and p.app.pump.power_target_uw == 20000
    assert not p.events("EV_TBL_SCRUB") and p.app.tables.repairs == 0


def test_set_point_moved_by_the_tuner_is_not_scrubbed_and_its_result_is_kept():
    p = Payload()
    src = p.app.source_app
    tuner = src.tuner
    tuner.state = phase_tune.SCANNING  # a scan owns the set point
    p.app.crystal.set_point_mk = 297000
    p.run_ms(2000)
    assert p.app.crystal.set_point_mk == 297000 and not p.events("EV_TBL_SCRUB")
    tuner.state = phase_tune.DONE  # the scan settled on its peak
    tuner.found_mk = 297000
    src._tune_finished(tuner)
    p.app.tables.min_save_interval_s = 1
    p.run_ms(1000)
    assert p.events("EV_TBL_SAVED")[-1][1] == ps.SAVE_SOURCE and not p.events("EV_TBL_SCRUB")
    assert p.reset(RESET_POWER_ON).app.crystal.set_point_mk == 297000


def test_shadow_failing_its_crc_is_reloaded_from_the_table():
    p = Payload()
    p.app.tables.flip_shadow_bit(0, 1)
    p.run_ms(1000)
    assert p.events("EV_TBL_SHADOW") == [(1,)] and p.app.tables.shadow_faults == 1
    p.app.params.flip_bit("crystal_ki", 2)  # the rebuilt shadow still catches upsets
    p.run_ms(1000)
    assert p.app.crystal.ki == 40 and len(p.events("EV_TBL_SCRUB")) == 1


# -- restore after a reset -------------------------------------------------------------------

def _operating_at(p, set_point_mk):
    """Source in WARMUP by command with the auto-tune's set point saved."""
    p.app.params.set(SET_POINT, set_point_mk)
    assert _completed(p.tc("SRC_MODE", sm.WARMUP))
    p.run_ms(1000)  # the intent is saved at the next tick
    assert p.events("EV_TBL_SAVED")[-1][1] in (ps.SAVE_INTENT, ps.SAVE_PARAM_SET)
    assert p.app.tables.operating


def _hk_manager(p):
    decl = [h for h in mdb.HOUSEKEEPING if h[2] == "HK_MANAGER"][0]
    rep = [t for t in p.sent if t.service == 3 and t.app_data[:2] == struct.pack(">H", decl[0])][-1]
    return dict(zip(decl[4], struct.unpack(mdb.hk_format(decl), rep.app_data[2:])))


def test_watchdog_reset_restores_the_set_point_and_resumes_warmup_without_a_scan():
    p = Payload()
    _operating_at(p, 300000)
    again = p.reset(RESET_WATCHDOG)
    app = again.app
    src = app.source_app
    assert app.crystal.set_point_mk == 300000 and src.modes.mode == sm.WARMUP
    assert again.events("EV_TBL_RESUME") == [(RESET_WATCHDOG, 300000)]
    src.modes.hold_ms = 200
    again.hal.analog_in["crystal_thermistor"].uv = -(300000 - 298150) * _UV_PER_MK  # crystal at the set point
    again.run_ms(3000)
    assert src.modes.mode == sm.READY and src.tuner.runs == 0 and not src.calibrating
    assert not again.hal.digital_out["pump_enable"].on  # READY: emission still needs its command
    hk = _hk_manager(again)
    assert hk["reset_cause"] == RESET_WATCHDOG and hk["watchdog_resets"] == 1 and hk["boot_count"] == 2
    assert again.events("EV_BOOT") == [(RESET_WATCHDOG,)]


def test_soft_reset_resumes_too_but_power_on_boots_off():
    p = Payload()
    _operating_at(p, 299000)
    soft = p.reset(RESET_SOFT)
    assert soft.app.source_app.modes.mode == sm.WARMUP
    cold = soft.reset(RESET_POWER_ON)
    assert cold.app.source_app.modes.mode == sm.OFF and cold.app.crystal.set_point_mk == 299000
    assert not cold.events("EV_TBL_RESUME") and _hk_manager(cold)["reset_cause"] == RESET_POWER_ON
    # the power-on boot saved the source as not operating: a later watchdog reset stays OFF
    assert cold.reset(RESET_WATCHDOG).app.source_app.modes.mode == sm.OFF


def test_source_commanded_off_is_not_resumed_after_a_watchdog_reset():
    p = Payload()
    _operating_at(p, 300000)
    p.tc("SRC_MODE", sm.OFF)
    p.run_ms(1000)
    assert not p.app.tables.operating
    again = p.reset(RESET_WATCHDOG)
    assert again.app.source_app.modes.mode == sm.OFF and not again.events("EV_TBL_RESUME")


# -- refusals ---------------------------------------------------------------------------------

def test_a_device_write_error_fails_the_save_and_it_is_tried_again_later():
    p = Payload()
    nv = p.hal.nvstore
    write = nv.write

    def broken(offset, data):
        raise OSError(5)

    nv.write = broken
    p.app.tables.min_save_interval_s = 2
    tms = p.tc("TBL_SAVE")
    assert _failure(tms) == mdb.FAIL_TBL_WRITE and p.events("EV_TBL_SAVE_FAILED", tms) == [(ps.SAVE_COMMAND,)]
    nv.write = write
    saves = p.app.tables.saves
    p.run_ms(2000)
    assert p.app.tables.saves == saves + 1  # the pending save went through once the device wrote again


def test_tbl_load_is_refused_while_a_scan_owns_the_set_point():
    p = Payload()
    p.app.source_app.tuner.state = phase_tune.SCANNING
    assert _failure(p.tc("TBL_LOAD")) == mdb.FAIL_BUSY
