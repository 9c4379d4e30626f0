"""Two-copy records in non-volatile storage that survive a power cut (MicroPython subset).

A record (a parameter table, the key store: any blob of bytes) lives in two
fixed-size slots, A and B, of one region of a ``hal.interface.NonVolatileStore``.
``save()`` always writes the slot that does *not* hold the latest valid copy,
with the sequence number one higher, so a write cut at any byte can only spoil
the slot being written; ``load()`` returns the valid copy with the higher
sequence number (serial-number arithmetic, so the 16-bit counter may wrap).
Design note: docs/nv_store.md.

Slot layout (big-endian, ``slot_size`` octets; ``OVERHEAD`` = 10):

======  ======  ==============================================================
offset  octets  field
======  ======  ==============================================================
0       1       commit: ``COMMIT`` (0xA5) once the record is complete; a save
                writes 0xFF (erased) here first and ``COMMIT`` last
1       1       format of this layout, ``FORMAT`` (1)
2       2       tag: which record the region holds (``TAG_PARAMETERS``...)
4       2       sequence number, 0..0xFFFF, wrapping
6       2       length n of the payload, 0..``capacity`` (``slot_size - OVERHEAD``,
                at most ``MAX_PAYLOAD``)
8       n       payload
8+n     2       CRC-16/CCITT-FALSE (bus.crc16) of octets 0..8+n-1, with the
                commit octet counted as ``COMMIT``
10+n    rest    0xFF
======  ======  ==============================================================

Allocation: ``save``, ``load_into`` and ``scan`` allocate nothing on
MicroPython beyond what the HAL backend does (the fakes: nothing; the board's
file backend opens a file per call).  ``load()`` returns a new ``bytes`` of the
payload, its one allocation; ``reason_text()`` builds a string for events.
All of it is foreground work: a save of a 1 KiB slot runs two Python loops
over the slot (copy, CRC) plus the device write.
"""

from array import array

from bus.compat import const
from bus.crc16 import crc16

ERASED = const(0xFF)  # what a never-written (or erased) slot reads
COMMIT = const(0xA5)  # commit octet of a complete record
UNCOMMITTED = const(0xFF)  # commit octet while a save is under way: the erased value, so that
# on raw flash (erase, program the slot, program the commit octet) every step only clears bits
FORMAT = const(1)  # slot layout version
HEADER_LEN = const(8)
CRC_LEN = const(2)
OVERHEAD = const(10)  # HEADER_LEN + CRC_LEN
MIN_SLOT = const(11)  # room for a one-octet payload
MAX_SLOT = const(4096)  # one erase sector of the RP2350's flash
# CRC-16/CCITT keeps Hamming distance 4 (every 1-, 2- and 3-bit error caught) for
# up to 32751 covered bits = 4093 octets (Koopman): header + payload stay inside
MAX_PAYLOAD = const(4085)
SEQ_MASK = const(0xFFFF)
_SEQ_HALF = const(0x8000)

# Tags of the records the payload keeps (a store refuses a slot of another record)
TAG_PARAMETERS = const(0x5054)  # "PT": parameter table
TAG_KEYS = const(0x4B53)  # "KS": key store

# Slot status after a scan, and why load() found nothing (``NvStore.reason``)
ST_OK = const(0)  # a complete record with a good CRC
ST_EMPTY = const(1)  # header reads erased: never written (first boot)
ST_TORN = const(2)  # commit octet erased but header written: a save was cut before it committed
ST_FOREIGN = const(3)  # commit or format octet unknown: not a record of this layout
ST_WRONG_TAG = const(4)  # a record, but of another store
ST_BAD_LENGTH = const(5)  # length field beyond the slot
ST_BAD_CRC = const(6)  # complete-looking record whose CRC fails (decay, upset, torn byte)
REASONS = ("ok", "empty", "torn write", "not a record", "wrong tag", "bad length", "bad crc")


def seq_newer(a, b):
    """True when sequence number ``a`` is later than ``b`` (RFC 1982 arithmetic on
    16 bits: ``a`` is newer when it is 1..0x7FFF steps ahead of ``b``)."""
    d = (a - b) & SEQ_MASK
    return 0 < d < _SEQ_HALF


class NvStore:
    """One record kept as two copies in ``2 * slot_size`` octets at ``base`` of ``nv``.

    Slot A is ``[base, base + slot_size)``, slot B follows it.  Each owner (the
    parameter service, the key store) builds its own NvStore on its own region
    with its own ``tag``; regions must not overlap.
    """

    def __init__(self, nv, base, slot_size, tag):
        if slot_size < MIN_SLOT or slot_size > MAX_SLOT:
            raise ValueError("nv_store: slot_size %d outside %d..%d" % (slot_size, MIN_SLOT, MAX_SLOT))
        if base < 0 or base + 2 * slot_size > nv.size:
            raise ValueError("nv_store: %d octets at %d outside the %d-octet device" % (2 * slot_size, base, nv.size))
        if tag < 0 or tag > 0xFFFF:
            raise ValueError("nv_store: tag 0x%X beyond 0xFFFF" % tag)
        self._nv = nv
        self.base = base  # offset of slot A in the device (octets)
        self.slot_size = slot_size  # octets per slot
        self.tag = tag
        cap = slot_size - OVERHEAD
        self.capacity = cap if cap < MAX_PAYLOAD else MAX_PAYLOAD  # largest payload (octets)
        self._buf = bytearray(slot_size)  # one slot image: the record being built or checked
        self._commit = bytearray(1)  # the commit octet, written last by save()
        self._commit[0] = COMMIT
        self.status = bytearray(2)  # per slot (0 = A, 1 = B): ST_* found by the last scan
        self._seqs = array("H", (0, 0))  # per slot: sequence number, valid when status is ST_OK
        self._lens = array("H", (0, 0))  # per slot: payload length, valid when status is ST_OK
        self.slot = -1  # slot holding the latest valid copy; -1: none
        self.seq = -1  # its sequence number; -1: none
        self.length = 0  # its payload length (octets)
        self.reason = ST_EMPTY  # ST_OK after a successful scan, else why nothing was found
        self.saves = 0  # saves completed by this object
        self._scanned = False  # False until the slots have been read once

    # -- reading -----------------------------------------------------------------------

    def _check_slot(self, i):
        """Read slot ``i`` into the buffer; record and return its ST_* status."""
        buf = self._buf
        self._nv.readinto(self.base + i * self.slot_size, buf)
        st = ST_OK
        c = buf[0]
        if c == UNCOMMITTED:
            st = ST_EMPTY
            k = 1
            while k < HEADER_LEN:
                if buf[k] != ERASED:
                    st = ST_TORN
                    break
                k += 1
        elif c != COMMIT:
            st = ST_FOREIGN
        elif buf[1] != FORMAT:
            st = ST_FOREIGN
        elif (buf[2] << 8) | buf[3] != self.tag:
            st = ST_WRONG_TAG
        else:
            n = (buf[6] << 8) | buf[7]
            if n > self.capacity:
                st = ST_BAD_LENGTH
            else:
                end = HEADER_LEN + n
                if crc16(buf, 0, end) != (buf[end] << 8) | buf[end + 1]:
                    st = ST_BAD_CRC
                else:
                    self._seqs[i] = (buf[4] << 8) | buf[5]
                    self._lens[i] = n
        self.status[i] = st
        return st

    def scan(self):
        """Read both slots; return the slot of the latest valid copy (its image is
        left in the buffer) or -1, setting ``slot``, ``seq``, ``length``, ``reason``."""
        st = self.status
        self._check_slot(1)
        self._check_slot(0)  # the buffer now holds slot A
        best = -1
        if st[0] == ST_OK:
            best = 0
            if st[1] == ST_OK and seq_newer(self._seqs[1], self._seqs[0]):
                best = 1
        elif st[1] == ST_OK:
            best = 1
        if best == 1 and self._check_slot(1) != ST_OK:  # bring B's image back; it changed meanwhile
            best = 0 if st[0] == ST_OK and self._check_slot(0) == ST_OK else -1
        self._scanned = True
        if best < 0:
            self.slot = -1
            self.seq = -1
            self.length = 0
            self.reason = st[1] if st[0] == ST_EMPTY else st[0]  # ST_EMPTY only when both are
            return -1
        self.slot = best
        self.seq = self._seqs[best]
        self.length = self._lens[best]
        self.reason = ST_OK
        return best

    def load_into(self, buf):
        """Copy the latest valid payload into ``buf``; return its length, or -1
        when neither copy is valid (``reason`` says why).  Allocates nothing."""
        if self.scan() < 0:
            return -1
        n = self.length
        if len(buf) < n:
            raise ValueError("nv_store: %d-octet record, %d-octet buffer" % (n, len(buf)))
        src = self._buf
        i = 0
        while i < n:
            buf[i] = src[HEADER_LEN + i]
            i += 1
        return n

    def load(self):
        """The latest valid payload as new ``bytes``, or None (``reason`` says why)."""
        if self.scan() < 0:
            return None
        return bytes(self._buf[HEADER_LEN:HEADER_LEN + self.length])

    def reason_text(self):
        """Both slots' status in words, e.g. ``"A: bad crc, B: empty"`` (allocates)."""
        return "A: %s, B: %s" % (REASONS[self.status[0]], REASONS[self.status[1]])

    # -- writing -----------------------------------------------------------------------

    def save(self, data):
        """Write ``data`` (any buffer, up to ``capacity`` octets) as the next copy;
        return its sequence number.

        The target is the slot not holding the latest valid copy.  Order of the
        writes: the whole slot with its commit octet erased (0xFF; the first octet
        to land, so the target stops being a record at once), then the commit octet.  A cut
        anywhere leaves the previous copy as the latest valid one.  Allocates nothing.
        """
        n = len(data)
        if n > self.capacity:
            raise ValueError("nv_store: %d octets > capacity %d" % (n, self.capacity))
        if not self._scanned:
            self.scan()
        if self.slot < 0:
            target = 0
            seq = 1
        else:
            target = 1 - self.slot
            seq = (self.seq + 1) & SEQ_MASK
        buf = self._buf
        tag = self.tag
        buf[0] = COMMIT  # as the CRC counts it
        buf[1] = FORMAT
        buf[2] = tag >> 8
        buf[3] = tag & 0xFF
        buf[4] = seq >> 8
        buf[5] = seq & 0xFF
        buf[6] = n >> 8
        buf[7] = n & 0xFF
        i = 0
        while i < n:
            buf[HEADER_LEN + i] = data[i]
            i += 1
        end = HEADER_LEN + n
        crc = crc16(buf, 0, end)
        buf[end] = crc >> 8
        buf[end + 1] = crc & 0xFF
        i = end + CRC_LEN
        size = self.slot_size
        while i < size:
            buf[i] = ERASED
            i += 1
        buf[0] = UNCOMMITTED
        at = self.base + target * size
        self.status[target] = ST_TORN  # until the commit octet lands
        self._nv.write(at, buf)
        self._nv.write(at, self._commit)
        buf[0] = COMMIT  # the buffer mirrors the slot again
        self.status[target] = ST_OK
        self._seqs[target] = seq
        self._lens[target] = n
        self.slot = target
        self.seq = seq
        self.length = n
        self.reason = ST_OK
        self.saves += 1
        return seq


class NvRecords:
    """The *records* persistence interface of payload/key_store.py on NvStores.

    ``load(name)`` returns the record's bytes or None (never saved, or both
    copies bad: ``store(name).reason`` says which); ``save(name, data)`` writes
    it.  ``layout`` is a sequence of ``(name, slot_size)``: each record gets its
    own NvStore, the regions placed one after another from ``base``, and its
    tag is the CRC-16 of its name, so a region never yields another record's
    data.  A name missing from the layout is a ValueError (a configuration
    error, found at boot).  ``save`` allocates nothing; ``load`` returns new bytes.
    """

    def __init__(self, nv, layout, base=0):
        self._stores = {}  # name -> NvStore
        at = base
        for name, slot_size in layout:
            if name in self._stores:
                raise ValueError("nv_store: record %s laid out twice" % name)
            tag = crc16(name.encode())
            for other in self._stores:
                if self._stores[other].tag == tag:
                    raise ValueError("nv_store: records %s and %s share tag 0x%04X" % (other, name, tag))
            self._stores[name] = NvStore(nv, at, slot_size, tag)
            at += 2 * slot_size
        self.end = at  # first octet after the last region
        self.saves = 0  # records written through this object

    def store(self, name):
        """The NvStore of record ``name`` (its ``reason``, ``seq``, ``status``)."""
        s = self._stores.get(name)
        if s is None:
            raise ValueError("nv_store: no region for record %s" % name)
        return s

    def load(self, name):
        return self.store(name).load()

    def save(self, name, data):
        self.store(name).save(data)
        self.saves += 1
