"""On-board key store, anti-replay counters, and the security application (APID 0x050).

Key slots (``bus.sdls``): slot 0 holds the key-encryption key (KEK), which
only unwraps new keys and never authenticates a frame; slots 1..3 hold the
HMAC-SHA256 keys of SPIs 1..3.  Each SPI can be disabled; a disabled SPI is
rejected like an unknown one.  The KEK cannot be changed over the link.

Everything that must survive a reset goes through a *records* object, the
persistence interface::

    records.load(name)        -> bytes, or None when never saved
    records.save(name, data)  stores the octets of ``data`` (bytes-like) under ``name``

``RamRecords`` implements it in RAM (lost at power-off; survives a simulated
reset when the same object is handed to the new KeyStore); ``NvRecords``
(payload/nv_store.py) implements the same two methods on the HAL's non-volatile
store and is what PayloadApp uses by default (payload/app.py ``key_records``).
Records written here:

    "sec_sn"    N_SPI x u32: last accepted anti-replay sequence number per SPI
                (written on every accepted frame, before its packets run)
    "sec_keys"  N_SPI x 32 octets of keys, N_SPI enable flags, u32 last key-load nonce

With nothing saved the store starts from the public laboratory keys
(``bus.sdls.lab_key``), every SPI enabled: a flight unit is keyed at
integration by saving "sec_keys" into its non-volatile store.

``SecurityApp`` answers SEC_KEY_LOAD (a new key for an SPI, wrapped under the
KEK with a fresh nonce; see bus/sdls.py) and SEC_SPI_ENABLE, like every
application No-op, Reset-Counters (which clears the SDLS rejection counters,
never the anti-replay counters) and are-you-alive.
"""

import struct

from bus import mdb
from bus import sdls
from bus.compat import const
from payload.nv_store import ST_EMPTY
from payload.pus_app import PusApp

_KEYS_RECORD_LEN = sdls.N_SPI * sdls.KEY_LEN + sdls.N_SPI + 4
RESTORED = const(0)
RESTORE_EMPTY = const(1)
RESTORE_BAD = const(2)
_ARG_SPI = 0
_ARG_NONCE = 1


class RamRecords:
    """The persistence interface in RAM: a dict of name -> bytes."""

    def __init__(self):
        self._records = {}
        self.saves = 0  # records written (a flash store would count wear here)

    def load(self, name):
        return self._records.get(name)

    def save(self, name, data):
        self._records[name] = bytes(data)
        self.saves += 1


class KeyStore:
    """Keys per SPI, their precomputed HMAC pads, and the anti-replay state, persisted."""

    def __init__(self, records):
        self._records = records
        self._keys = bytearray(sdls.N_SPI * sdls.KEY_LEN)
        self._enabled = bytearray(sdls.N_SPI)  # 1: SPI accepted (slot 0, the KEK: always 0)
        self._macs = [sdls.HmacSha256() for _ in range(sdls.N_SPI)]  # keyed HMAC per slot
        self._sn = [0] * sdls.N_SPI  # last accepted SN per SPI
        self._sn_rec = bytearray(sdls.N_SPI * 4)  # "sec_sn" as written
        self._keys_rec = bytearray(_KEYS_RECORD_LEN)
        self.last_nonce = 0  # of the last SEC_KEY_LOAD: the next must be larger
        self.key_loads = 0  # keys changed since boot
        # how each record came back at boot: RESTORED, or why not (RESTORE_EMPTY: never written, the
        # laboratory keys / zero counters are in force; RESTORE_BAD: both copies unreadable)
        self.keys_restore = RESTORED
        self.sn_restore = RESTORED
        self._restore()

    # -- persistence ------------------------------------------------------------------
    def _why_not(self, name):
        store = getattr(self._records, "store", None)  # NvRecords knows why a load found nothing
        if store is None:
            return RESTORE_EMPTY
        return RESTORE_EMPTY if store(name).reason == ST_EMPTY else RESTORE_BAD

    def _restore(self):
        rec = self._records.load("sec_keys")
        if rec is None or len(rec) != _KEYS_RECORD_LEN:
            self.keys_restore = self._why_not("sec_keys")
        if rec is not None and len(rec) == _KEYS_RECORD_LEN:
            self._keys[:] = rec[0:len(self._keys)]
            o = len(self._keys)
            self._enabled[:] = rec[o:o + sdls.N_SPI]
            self.last_nonce = struct.unpack_from(">I", rec, o + sdls.N_SPI)[0]
        else:
            slot = 0
            while slot < sdls.N_SPI:
                self._keys[slot * sdls.KEY_LEN:(slot + 1) * sdls.KEY_LEN] = sdls.lab_key(slot)
                self._enabled[slot] = 0 if slot == 0 else 1
                slot += 1
        self._enabled[0] = 0
        slot = 0
        while slot < sdls.N_SPI:
            self._macs[slot].set_key(self._key(slot))
            slot += 1
        rec = self._records.load("sec_sn")
        if rec is None or len(rec) != len(self._sn_rec):
            self.sn_restore = self._why_not("sec_sn")
        if rec is not None and len(rec) == len(self._sn_rec):
            self._sn_rec[:] = rec
            slot = 0
            while slot < sdls.N_SPI:
                self._sn[slot] = struct.unpack_from(">I", rec, 4 * slot)[0]
                slot += 1

    def _save_keys(self):
        r = self._keys_rec
        n = len(self._keys)
        r[0:n] = self._keys
        r[n:n + sdls.N_SPI] = self._enabled
        struct.pack_into(">I", r, n + sdls.N_SPI, self.last_nonce)
        self._records.save("sec_keys", r)

    def _key(self, slot):
        return memoryview(self._keys)[slot * sdls.KEY_LEN:(slot + 1) * sdls.KEY_LEN]

    # -- what bus.sdls.SdlsReceiver asks ---------------------------------------------------
    def mac_for(self, spi):
        if spi < sdls.SPI_MIN or spi > sdls.SPI_MAX or not self._enabled[spi]:
            return None
        return self._macs[spi]

    def last_sn(self, spi):
        return self._sn[spi]

    def accept_sn(self, spi, sn):
        self._sn[spi] = sn
        struct.pack_into(">I", self._sn_rec, 4 * spi, sn)
        self._records.save("sec_sn", self._sn_rec)

    # -- key management ----------------------------------------------------------------------
    def enabled(self, spi):
        return sdls.SPI_MIN <= spi <= sdls.SPI_MAX and self._enabled[spi] == 1

    @property
    def spi_enabled_mask(self):
        m = 0
        for spi in range(sdls.SPI_MIN, sdls.SPI_MAX + 1):
            if self._enabled[spi]:
                m |= 1 << spi
        return m

    @property
    def last_sn_1(self):
        return self._sn[1]

    @property
    def last_sn_2(self):
        return self._sn[2]

    @property
    def last_sn_3(self):
        return self._sn[3]

    def load_key(self, spi, nonce, wrapped):
        """Unwrap ``wrapped`` (32 octets) under the KEK with ``nonce`` into SPI ``spi``; 0 or a failure code."""
        if spi < sdls.SPI_MIN or spi > sdls.SPI_MAX:
            return mdb.FAIL_SEC_SPI
        if nonce <= self.last_nonce:
            return mdb.FAIL_SEC_NONCE
        key = sdls.unwrap_key(self._macs[0], spi, nonce, wrapped)
        self._keys[spi * sdls.KEY_LEN:(spi + 1) * sdls.KEY_LEN] = key
        self._macs[spi].set_key(key)
        self.last_nonce = nonce
        self.key_loads += 1
        self._save_keys()
        return 0

    def set_enabled(self, spi, on):
        if spi < sdls.SPI_MIN or spi > sdls.SPI_MAX:
            return mdb.FAIL_SEC_SPI
        if not on and self.spi_enabled_mask == (1 << spi):
            return mdb.FAIL_SEC_LAST_SPI
        self._enabled[spi] = 1 if on else 0
        self._save_keys()
        return 0


class SecurityApp(PusApp):
    """Commands of the key store (cFS application shape; bus/mdb.py declares them)."""

    def __init__(self, services, keys, receiver):
        self.keys = keys  # KeyStore
        self.receiver = receiver  # bus.sdls.SdlsReceiver (counters reset by Reset-Counters)
        self._ev_key = mdb.event("EV_SEC_KEY_LOADED")[0]
        self._ev_spi = mdb.event("EV_SEC_SPI_STATE")[0]
        self._wrapped = bytearray(sdls.KEY_LEN)
        super().__init__(mdb.APID_SECURITY, "security", services)

    def reset_counters(self):
        self.receiver.reset_counters()

    def report_restore(self):
        """At boot: EV_SEC_STORE for each record that did not come back from non-volatile storage,
        so a key store on laboratory keys or anti-replay counters back at zero is never silent."""
        ev = mdb.event("EV_SEC_STORE")[0]
        if self.keys.keys_restore != RESTORED:
            self.services.events.raise_args(ev, 0, self.keys.keys_restore)
        if self.keys.sn_restore != RESTORED:
            self.services.events.raise_args(ev, 1, self.keys.sn_restore)

    def cmd_sec_key_load(self, args, tc):
        spi = args[0]
        nonce = args[1]
        struct.pack_into(">8I", self._wrapped, 0, *args[2:10])
        code = self.keys.load_key(spi, nonce, self._wrapped)
        if code:
            self.fail_arg = _ARG_NONCE if code == mdb.FAIL_SEC_NONCE else _ARG_SPI
            return code
        self.services.events.raise_args(self._ev_key, spi, nonce)
        return 0

    def cmd_sec_spi_enable(self, args, tc):
        code = self.keys.set_enabled(args[0], args[1])
        if code:
            self.fail_arg = _ARG_SPI
            return code
        self.services.events.raise_args(self._ev_spi, args[0], args[1])
        return 0
