"""The parameter table in non-volatile storage, its RAM scrub, and the restore after a reset
(MicroPython subset).

Three jobs around the configuration parameters that ``bus.mdb.TABLE_PARAMETERS``
declares (gains, thresholds, limits, set points, the pump power target):

- **Table.** One record in an ``NvStore`` (two copies, commit octet, CRC-16,
  payload/nv_store.py) holding the table version, the boot counters, the
  source's operating intent and the values.  The version is a CRC-16 over the
  persisted layout (pids and types), so a database with another layout refuses
  an old table and says so.  At boot every stored value goes through the range
  PARAM_SET would check; one outside it is refused (counted, EV_TBL_REFUSED) and
  its default kept.  Never silent: EV_TBL_LOADED or EV_TBL_DEFAULTS (reason).
- **Saves.** On TBL_SAVE at once; after a PARAM_SET of a persisted parameter and
  after the source moves one itself (auto-tune result, scan settings, pump
  power target) at the next 1 Hz tick, at most one such save per
  ``min_save_interval_s`` (60 s: changes in between coalesce into one write); a
  change of the operating intent and the boot (boot counters) save without
  waiting; a save the device refused (``OSError``) is tried again after the
  interval.  Saves run in the 1 Hz group, never in a control loop.
- **Scrub.** A RAM shadow of every scrubbed value (the persisted ones and the
  other settable ones, e.g. src_auto_emit) with its own CRC-16.  Each 1 Hz tick
  compares the live flight attributes with it; a difference is an upset:
  EV_TBL_SCRUB (pid, bad, restored), the value restored, counted.  A parameter
  whose owner is moving it on purpose (the crystal set point and the scan
  settings while the phase-matching tuner is active) is skipped while the owner
  is active; its owner reports a legitimate change (``source_changed``) and the
  shadow follows.  A shadow failing its CRC is reloaded from the table (or
  rebuilt from the live values when unsaved changes exist).

Restore after a reset: when the table was saved with the source operating (mode
neither OFF nor SAFE) and the reset cause is WATCHDOG or SOFT, ``boot()`` asks
for WARMUP itself at the stored set point and without a new phase-matching scan
on reaching READY (EV_TBL_RESUME); emission still needs the normal permission
and a command.  After a power-on reset the source stays OFF.

Record layout (big-endian; ``HEADER_LEN`` = 8 octets, then the values in
``TABLE_PARAMETERS`` order, each in its declared type):

======  ======  ==============================================================
offset  octets  field
======  ======  ==============================================================
0       2       table version: CRC-16 over (``RECORD_FORMAT``, pid, type code)...
2       1       flags: bit 0 the source was operating (operating intent)
3       1       number of values
4       2       boot_count
6       2       watchdog_resets
8       ...     values
======  ======  ==============================================================

Design note: docs/param_tables.md.
"""

import struct

from bus import mdb
from bus.compat import const
from bus.crc16 import crc16
from hal.interface import RESET_SOFT, RESET_WATCHDOG
from payload import source_modes
from payload.nv_store import ST_EMPTY, ST_TORN
from payload.parameters import fit

RECORD_FORMAT = const(1)  # layout of the header below; part of the table version
HEADER_FMT = ">HBBHH"
HEADER_LEN = const(8)
FLAG_OPERATING = const(1)
SAVE_MIN_INTERVAL_S = const(60)  # automatic saves: at most one a minute (flash wear, docs/param_tables.md)
_TYPE_CODES = ("u8", "i8", "u16", "i16", "u32", "i32", "f32")

# tbl_state, and the EV_TBL_DEFAULTS reason (1..3)
LOADED = const(0)
NONE_STORED = const(1)
LAYOUT_CHANGED = const(2)
BOTH_BAD = const(3)

# why a save happened (EV_TBL_SAVED reason)
SAVE_COMMAND = const(0)
SAVE_PARAM_SET = const(1)
SAVE_SOURCE = const(2)
SAVE_INTENT = const(3)
SAVE_BOOT = const(4)

# what the source application reports through its on_settings hook
_SOURCE_PARAMETERS = {
    "tune_end": ("crystal_set_point_mk", "autotune_half_range_mk", "autotune_step_mk"),
    "tune_start": ("autotune_half_range_mk", "autotune_step_mk"),
    "pump": ("pump_power_target_uw",),
}


def table_version():
    """CRC-16 over the record format and each persisted parameter's pid and type."""
    names = mdb.TABLE_PARAMETERS
    b = bytearray(1 + 3 * len(names))
    b[0] = RECORD_FORMAT
    i = 1
    for name in names:
        p = mdb.parameter(name)
        b[i] = p[0] >> 8
        b[i + 1] = p[0] & 0xFF
        b[i + 2] = _TYPE_CODES.index(p[2])
        i += 3
    return crc16(b)


def _restore_range(p):
    """(min, max) a stored value of parameter ``p`` must lie in: its settable range, or the
    range of the command argument that sets it (``mdb.TABLE_COMMAND_RANGES``)."""
    if p[7] is not None:
        return p[7]
    for name, command, index in mdb.TABLE_COMMAND_RANGES:
        if name == p[1]:
            a = mdb.command(command)[5][index]
            return (a[2], a[3])
    raise ValueError("param_store: persisted parameter %s has no range" % p[1])


class _Scrubbed:
    """One value in the shadow: where it lives in flight code and in the shadow image."""

    def __init__(self, p, entry, offset, persisted):
        self.pid = p[0]
        self.name = p[1]
        self.typ = p[2]
        self.obj = entry[0]
        self.attr = entry[1]
        self.fmt = ">" + mdb.TYPE_FORMATS[p[2]]
        self.offset = offset  # in the shadow image (octets)
        self.size = struct.calcsize(self.fmt)
        self.persisted = persisted
        self.range = _restore_range(p) if persisted else p[7]
        self.owner = None  # object with .active while it moves the value on purpose


class ParameterStore:
    """The parameter table on ``nv`` (an NvStore, or None: nothing persists).

    Build it before the ParameterTable (the ``tables.*`` parameters read it),
    then ``bind(params, owners)``: that loads the stored table and applies it.
    ``boot()`` in ``PayloadApp.start`` reports the outcome, counts the boot,
    resumes the source when due and saves.  ``tick_1hz()`` scrubs and saves.
    """

    def __init__(self, nv, events, source, reset_cause, min_save_interval_s=SAVE_MIN_INTERVAL_S):
        self._nv = nv
        self._events = events
        self._source = source  # payload.apps.SourceApp: operating intent, resume
        self.reset_cause = reset_cause
        self.min_save_interval_s = min_save_interval_s
        self.version = table_version()
        self.state = NONE_STORED  # tbl_state: how the table came up at boot
        self.stored_version = 0  # version found in storage (LAYOUT_CHANGED: differs from ``version``)
        self.seq = 0  # sequence number of the copy last loaded or saved
        self.saves = 0
        self.save_failures = 0
        self.scrub_enabled = True  # FDIR_ENABLE 255 0 (the campaign's control run) stops it too
        self.repairs = 0  # scrub repairs since boot
        self.shadow_faults = 0  # shadow CRC failures since boot
        self.applied = 0  # values applied at the last load
        self.refused = 0  # values refused at the last load
        self.boot_count = 0  # persisted
        self.watchdog_resets = 0  # persisted
        self.operating_stored = False  # operating intent found in the table at boot
        self.operating = False  # operating intent last saved (or loaded)
        self.resumed = False  # boot() restarted the source's warm-up
        self._refusals = []  # (pid, value) refused at the last load, for the events
        self._items = []
        self._by_name = {}
        self._by_pid = {}
        self._shadow = None
        self._shadow_crc = 0
        self._record = None
        self._persisted_len = 0
        self._dirty = -1  # reason of a pending save; -1: none
        self._urgent = False
        self._since_save_s = min_save_interval_s
        self._ev_loaded = mdb.event("EV_TBL_LOADED")[0]
        self._ev_defaults = mdb.event("EV_TBL_DEFAULTS")[0]
        self._ev_saved = mdb.event("EV_TBL_SAVED")[0]
        self._ev_scrub = mdb.event("EV_TBL_SCRUB")[0]
        self._ev_shadow = mdb.event("EV_TBL_SHADOW")[0]
        self._ev_resume = mdb.event("EV_TBL_RESUME")[0]
        self._ev_refused = mdb.event("EV_TBL_REFUSED")[0]
        self._ev_save_failed = mdb.event("EV_TBL_SAVE_FAILED")[0]

    # -- boot ---------------------------------------------------------------------------
    def bind(self, params, owners=None):
        """Resolve the scrubbed parameters on ``params`` (a ParameterTable), load and apply the
        stored table, and build the shadow.  ``owners``: {parameter name: object whose
        ``active`` is True while flight code moves that value on purpose}."""
        offset = 0
        for name in mdb.TABLE_PARAMETERS:
            p = mdb.parameter(name)
            if p[2] == "f32":
                raise ValueError("param_store: %s: only integer parameters persist" % name)
            offset = self._add(p, params.entry(name), offset, True)
        self._persisted_len = offset
        for p in mdb.PARAMETERS:  # the other configuration: settable, kept in RAM only
            if p[7] is not None and p[1] not in self._by_name and p[2] != "f32":
                offset = self._add(p, params.entry(p[1]), offset, False)
        if owners:
            for name in owners:
                self._by_name[name].owner = owners[name]
        self._shadow = bytearray(offset)
        self._record = bytearray(HEADER_LEN + self._persisted_len)
        self.state = self._load(True)
        self._rebuild_shadow()
        params.on_set = self.param_changed
        if self._source is not None:
            self._source.on_settings = self.source_changed

    def _add(self, p, entry, offset, persisted):
        item = _Scrubbed(p, entry, offset, persisted)
        self._items.append(item)
        self._by_name[item.name] = item
        self._by_pid[item.pid] = item
        return offset + item.size

    def _load(self, at_boot):
        """Read the stored table and apply it; LOADED, or why not (nothing applied then)."""
        blob = self._nv.load() if self._nv is not None else None
        if blob is None:
            st = self._nv.status if self._nv is not None else (ST_EMPTY, ST_EMPTY)
            none = (st[0] == ST_EMPTY or st[0] == ST_TORN) and (st[1] == ST_EMPTY or st[1] == ST_TORN)
            return NONE_STORED if none else BOTH_BAD
        n = len(self._record)
        self.stored_version = (blob[0] << 8) | blob[1] if len(blob) >= 2 else 0
        if self.stored_version != self.version or len(blob) != n or blob[3] != len(mdb.TABLE_PARAMETERS):
            return LAYOUT_CHANGED
        self.seq = self._nv.seq
        if at_boot:
            _, flags, _, self.boot_count, self.watchdog_resets = struct.unpack_from(HEADER_FMT, blob, 0)
            self.operating_stored = bool(flags & FLAG_OPERATING)
            self.operating = self.operating_stored
        self.applied = 0
        self.refused = 0
        self._refusals = []
        for item in self._items:
            if not item.persisted:
                continue
            value = struct.unpack_from(item.fmt, blob, HEADER_LEN + item.offset)[0]
            lo, hi = item.range
            if value < lo or value > hi:
                self.refused += 1
                self._refusals.append((item.pid, fit(value, "i32")))
                continue
            setattr(item.obj, item.attr, value)
            self.applied += 1
        return LOADED

    def boot(self):
        """At start: report the load, count the boot, resume the source when due, save."""
        ev = self._events
        if self.state == LOADED:
            ev.raise_args(self._ev_loaded, self.version, self.applied, self.refused, self.seq)
        else:
            st = self._nv.status if self._nv is not None else (ST_EMPTY, ST_EMPTY)
            ev.raise_args(self._ev_defaults, self.state, self.stored_version, st[0], st[1])
        for pid, value in self._refusals:
            ev.raise_args(self._ev_refused, pid, value)
        self.boot_count = (self.boot_count + 1) & 0xFFFF
        cause = self.reset_cause
        if cause == RESET_WATCHDOG:
            self.watchdog_resets = (self.watchdog_resets + 1) & 0xFFFF
        src = self._source
        if (src is not None and self.state == LOADED and self.operating_stored
                and (cause == RESET_WATCHDOG or cause == RESET_SOFT)):
            src.resume_without_tune = True
            if src.modes.command(source_modes.WARMUP) == source_modes.OK:
                self.resumed = True
                ev.raise_args(self._ev_resume, cause, src.crystal.set_point_mk)
            else:
                src.resume_without_tune = False
        self.save(SAVE_BOOT)

    # -- changes that flight code makes on purpose ----------------------------------------
    def param_changed(self, pid):
        """Service 20 set a parameter (ParameterTable.on_set): the shadow follows, and a
        persisted one is saved at the next allowed tick."""
        item = self._by_pid.get(pid)
        if item is None:
            return
        self._adopt(item)
        if item.persisted:
            self._request(SAVE_PARAM_SET, False)

    def source_changed(self, what):
        """The source application's hook (SourceApp.on_settings): ``"mode"`` (a mode change:
        the operating intent may differ), ``"tune_start"``, ``"tune_end"``, ``"pump"``."""
        if what == "mode":
            if self._operating_now() != self.operating:
                self._request(SAVE_INTENT, True)
            return
        names = _SOURCE_PARAMETERS.get(what)
        if names is None:
            return
        changed = False
        for name in names:
            item = self._by_name[name]
            if getattr(item.obj, item.attr) != self._shadow_value(item):
                self._adopt(item)
                changed = True
        if changed:
            self._request(SAVE_SOURCE, False)

    def _operating_now(self):
        src = self._source
        if src is None:
            return False
        m = src.modes.mode
        return m != source_modes.OFF and m != source_modes.SAFE

    def _request(self, reason, urgent):
        if self._dirty < 0 or urgent:
            self._dirty = reason
        self._urgent = self._urgent or urgent

    # -- shadow -------------------------------------------------------------------------
    def _shadow_value(self, item):
        return struct.unpack_from(item.fmt, self._shadow, item.offset)[0]

    def _adopt(self, item):
        """Copy a live value into the shadow (a legitimate change) and re-seal the shadow.
        A shadow already failing its CRC is rebuilt whole first (never sealed over)."""
        if crc16(self._shadow) != self._shadow_crc:
            self.shadow_faults += 1
            self._rebuild_shadow()
            self._events.raise_args(self._ev_shadow, 0)
            return
        v = getattr(item.obj, item.attr)
        struct.pack_into(item.fmt, self._shadow, item.offset, fit(v, item.typ))
        self._shadow_crc = crc16(self._shadow)

    def _rebuild_shadow(self):
        for item in self._items:
            v = getattr(item.obj, item.attr)
            struct.pack_into(item.fmt, self._shadow, item.offset, fit(v, item.typ))
        self._shadow_crc = crc16(self._shadow)

    def scrub(self):
        """Compare every live scrubbed value with the shadow; restore and report differences.
        Returns the number of values repaired."""
        if crc16(self._shadow) != self._shadow_crc:
            self.shadow_faults += 1
            reloaded = 0
            if self._dirty < 0 and self._load(False) == LOADED:
                reloaded = 1  # the stored table is what the shadow held: apply it again
            self._rebuild_shadow()
            self._events.raise_args(self._ev_shadow, reloaded)
            return 0
        repaired = 0
        for item in self._items:
            owner = item.owner
            if owner is not None and owner.active:
                continue
            live = getattr(item.obj, item.attr)
            good = self._shadow_value(item)
            if live != good:
                setattr(item.obj, item.attr, good)
                self.repairs += 1
                repaired += 1
                self._events.raise_args(self._ev_scrub, item.pid, fit(live, "i32"), fit(good, "i32"))
        return repaired

    def flip_shadow_bit(self, octet, bit):
        """Flip one bit of the shadow image (fault injection for tests; no telecommand reaches it)."""
        self._shadow[octet] ^= 1 << bit

    # -- saving and loading -------------------------------------------------------------
    def tick_1hz(self):
        """1 Hz group: scrub (unless FDIR switched the monitors off: ``scrub_enabled``), then a
        pending save when it is due."""
        if self.scrub_enabled:
            self.scrub()
        self._since_save_s += 1
        if self._dirty >= 0 and (self._urgent or self._since_save_s >= self.min_save_interval_s):
            self.save(self._dirty)

    def save(self, reason):
        """Write the table (shadow values, counters, operating intent) now; 0 or a failure code."""
        if crc16(self._shadow) != self._shadow_crc:
            self.scrub()  # never store a corrupted shadow: rebuild it first
        rec = self._record
        operating = self._operating_now()
        struct.pack_into(HEADER_FMT, rec, 0, self.version, FLAG_OPERATING if operating else 0,
                         len(mdb.TABLE_PARAMETERS), self.boot_count, self.watchdog_resets)
        sh = self._shadow
        i = 0
        n = self._persisted_len
        while i < n:
            rec[HEADER_LEN + i] = sh[i]
            i += 1
        self._dirty = -1
        self._urgent = False
        self._since_save_s = 0
        if self._nv is None:
            return mdb.FAIL_TBL_WRITE
        try:
            self.seq = self._nv.save(rec)
        except OSError:
            self.save_failures += 1
            self._dirty = reason  # try again after the interval (not every second)
            self._events.raise_args(self._ev_save_failed, reason)
            return mdb.FAIL_TBL_WRITE
        self.operating = operating
        self.saves += 1
        self._events.raise_args(self._ev_saved, self.seq, reason)
        return 0

    def reload(self):
        """TBL_LOAD: apply the stored table again; 0 or a failure code (nothing changed)."""
        for item in self._items:
            if item.persisted and item.owner is not None and item.owner.active:
                return mdb.FAIL_BUSY
        if self._load(False) != LOADED:
            return mdb.FAIL_TBL_NONE
        self._rebuild_shadow()
        ev = self._events
        for pid, value in self._refusals:
            ev.raise_args(self._ev_refused, pid, value)
        ev.raise_args(self._ev_loaded, self.version, self.applied, self.refused, self.seq)
        return 0
