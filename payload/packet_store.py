"""The on-board packet store (PUS service 15): housekeeping and events kept for playback.

Outside a contact the real-time TM goes nowhere; the store keeps a copy of the
selected packets (by default every TM[3,25] housekeeping report and every
TM[5,x] event) as ``payload.tm_out.TmOut`` sends them, and plays them back
*unchanged* (same APID, sequence count, time stamp and CRC) on the playback
virtual channel when the ground asks, so the ground archive can merge the two
streams without gaps or duplicates (docs/packet_store.md).

Layout: one preallocated ``bytearray`` of ``size_octets`` (16 KiB by default, an
RP2040 board's share; the emulator may give 256 KiB) holding whole records back
to back, each a 2-octet big-endian packet length then the packet.  A record
never wraps: when one does not fit before the end of the buffer, a zero length
(when two octets are left) marks the wrap and the record goes to offset 0.

Overflow policy: the newest packet always goes in; the oldest records are
overwritten to make room, each counted in ``overwritten`` (and, when it had not
been played back yet, in ``unplayed_lost``); EV_STORE_OVERWRITE reports the
totals at most once a minute (raised from the 1 Hz tick, never from inside a
``TmOut.send``).  A packet longer than the store can ever hold is refused and
counted in ``refused``.

Records carry consecutive indices (``first_index`` .. ``next_index`` - 1).  The
open retrieval (TC[15,15]) plays every record from ``open_index`` on and moves
it forward as it goes; a by-time-range retrieval (TC[15,9]) plays the records
present when it starts whose packet time lies in the range, and leaves
``open_index`` alone.  Playback runs in the comms group through the link stack
(``payload.link.LinkStack``): ``next_len``/``take`` hand it one record at a time.

Allocation: ``record`` (the path every selected packet takes) allocates
nothing: the copy is an octet loop, not a slice.  Packet times are compared as
(days, ms of day) pairs, both small ints on a 32-bit port.
"""

import struct

from bus import mdb
from bus.compat import const

STORE_OCTETS_DEFAULT = const(16384)  # a board: 16 KiB of the RP2040's heap
STORE_OCTETS_EMULATOR = const(262144)  # the desktop emulator: 256 KiB
SELECTION_DEFAULT = (3, 25, 5, 0)  # (service, subtype) pairs stored; subtype 0: every subtype
MODE_IDLE = const(0)
MODE_OPEN = const(1)  # open retrieval: every record not yet played back
MODE_RANGE = const(2)  # by-time-range retrieval
END_DONE = const(0)  # EV_STORE_PLAYBACK_END reasons
END_ABORTED = const(1)
OVERWRITE_EVENT_S = const(60)  # at most one EV_STORE_OVERWRITE a minute
_LEN = const(2)  # record length prefix (octets)
_DAYS = const(14)  # CDS days in a PUS TM packet: primary 6 + secondary 7 + P-field 1
_MS = const(16)  # CDS ms of day
_MIN_PACKET = const(20)  # a TM packet with a time stamp
# TM[15,13] packet store content summary: store ID, records, octets used, capacity, oldest packet time
# (days, ms), newest packet time (days, ms), overwritten, not yet played back, recording on, playback mode
SUMMARY_FORMAT = ">BIIIHIHIIIBB"
SUMMARY_LEN = const(35)
STORE_ID = const(1)


class PacketStore:
    def __init__(self, size_octets=STORE_OCTETS_DEFAULT, selection=SELECTION_DEFAULT):
        if size_octets < 256:
            raise ValueError("packet store of %d octets: at least 256" % size_octets)
        self.buf = bytearray(size_octets)  # the ring of records
        self.size_octets = size_octets
        self.selection = bytearray(selection)  # (service, subtype) pairs; subtype 0 matches any
        self.enabled = True  # recording (TC[15,1] / TC[15,2])
        self.events = None  # payload.s5_events.EventService, bound by the application
        self.head = 0  # offset of the oldest record (normalised when records exist)
        self.tail = 0  # offset the next record is written at (before any wrap)
        self.last_off = 0  # offset of the newest record
        self.count = 0  # records held
        self.used_octets = 0  # octets of the records held, length prefixes included
        self.first_index = 0  # index of the oldest record
        self.next_index = 0  # index the next record gets
        self.open_index = 0  # open retrieval: first record not yet played back
        self.recorded = 0  # packets recorded since boot
        self.overwritten = 0  # oldest records overwritten to make room, since boot
        self.unplayed_lost = 0  # of those, records not played back yet
        self.refused = 0  # packets too long for the store
        self.deleted = 0  # records deleted by TC[15,11], since boot
        self.played = 0  # packets played back since boot
        self.mode = MODE_IDLE  # playback in progress
        self._cur_index = 0  # playback: index of the next record to consider
        self._cur_off = 0  # and its offset
        self._end_index = 0  # range playback: records from _end_index on were not there at its start
        self._range = [0, 0, 0, 0]  # range playback: days0, ms0, days1, ms1
        self._session_played = 0  # packets played by the playback in progress
        self._ov_reported = 0  # overwritten total last reported by EV_STORE_OVERWRITE
        self._ov_wait_s = 0  # seconds before the next EV_STORE_OVERWRITE may go
        self.summary = bytearray(SUMMARY_LEN)  # TM[15,13] source data
        self._ev_start = mdb.event("EV_STORE_PLAYBACK_START")[0]
        self._ev_end = mdb.event("EV_STORE_PLAYBACK_END")[0]
        self._ev_overwrite = mdb.event("EV_STORE_OVERWRITE")[0]
        self._ev_state = mdb.event("EV_STORE_STATE")[0]
        self._ev_deleted = mdb.event("EV_STORE_DELETED")[0]

    @property
    def unplayed(self):
        """Records the open retrieval has not played back yet."""
        first = self.open_index if self.open_index > self.first_index else self.first_index
        return self.next_index - first

    # -- recording (TmOut sink) -----------------------------------------------------------
    def selected(self, buf, n):
        """True when the TM packet ``buf[0:n]`` is of a stored type."""
        if n < _MIN_PACKET or not buf[0] & 0x08:
            return False
        service = buf[7]
        subtype = buf[8]
        sel = self.selection
        i = 0
        while i < len(sel):
            if sel[i] == service and (sel[i + 1] == 0 or sel[i + 1] == subtype):
                return True
            i += 2
        return False

    def record(self, buf, n):
        """TmOut sink: keep a copy of ``buf[0:n]`` when recording is on and its type is selected."""
        if not self.enabled or not self.selected(buf, n):
            return False
        need = n + _LEN
        if need > self.size_octets:
            self.refused += 1
            return False
        off = self._make_room(need)
        b = self.buf
        b[off] = n >> 8
        b[off + 1] = n & 0xFF
        j = off + _LEN
        i = 0
        while i < n:
            b[j + i] = buf[i]
            i += 1
        self.tail = off + need
        self.last_off = off
        self.count += 1
        self.used_octets += need
        self.next_index += 1
        self.recorded += 1
        return True

    def _make_room(self, need):
        """Offset where ``need`` octets fit, overwriting the oldest records as needed."""
        b = self.buf
        size = self.size_octets
        while True:
            if self.count == 0:
                self.head = 0
                self.tail = 0
                return 0
            h = self.head
            t = self.tail
            if t > h:  # records in [h, t): free space after t, then before h
                if size - t >= need:
                    return t
                if size - t >= _LEN:
                    b[t] = 0  # wrap marker
                    b[t + 1] = 0
                self.tail = 0
                continue
            if h - t >= need:  # wrapped: free space in [t, h)
                return t
            self._pop_oldest(True)

    def _at(self, off):
        """A record offset with the wrap applied (a marker or no room for a length: offset 0)."""
        if self.size_octets - off < _LEN or (self.buf[off] == 0 and self.buf[off + 1] == 0):
            return 0
        return off

    def _len_at(self, off):
        return (self.buf[off] << 8) | self.buf[off + 1]

    def _pop_oldest(self, overwrite):
        """Remove the oldest record (overwritten to make room, or deleted)."""
        off = self.head
        need = self._len_at(off) + _LEN
        if overwrite:
            self.overwritten += 1
            if self.first_index >= self.open_index:
                self.unplayed_lost += 1
        self.count -= 1
        self.used_octets -= need
        self.first_index += 1
        if self.count == 0:
            self.head = 0
            self.tail = 0
        else:
            self.head = self._at(off + need)
        if self.mode != MODE_IDLE and self._cur_index < self.first_index:  # playback overtaken
            self._cur_index = self.first_index
            self._cur_off = self.head

    def _before(self, off, days, ms):
        """-1, 0 or 1 as the packet time of the record at ``off`` is before, at or after (days, ms)."""
        b = self.buf
        p = off + _LEN
        d = (b[p + _DAYS] << 8) | b[p + _DAYS + 1]
        if d != days:
            return -1 if d < days else 1
        m = (b[p + _MS] << 24) | (b[p + _MS + 1] << 16) | (b[p + _MS + 2] << 8) | b[p + _MS + 3]
        if m != ms:
            return -1 if m < ms else 1
        return 0

    def _time_of(self, off):
        b = self.buf
        p = off + _LEN
        return ((b[p + _DAYS] << 8) | b[p + _DAYS + 1],
                (b[p + _MS] << 24) | (b[p + _MS + 1] << 16) | (b[p + _MS + 2] << 8) | b[p + _MS + 3])

    def _offset_of(self, index):
        """Offset of the record with this index (first_index <= index < next_index): a walk."""
        off = self.head
        i = self.first_index
        while i < index:
            off = self._at(off + _LEN + self._len_at(off))
            i += 1
        return off

    # -- commands (service 15; each returns 0 or a failure code) ----------------------------
    def set_enabled(self, on):
        self.enabled = bool(on)
        self._raise(self._ev_state, 1 if on else 0)
        return 0

    def start_open(self):
        """TC[15,15]: play back every record not yet played back, oldest first."""
        if self.mode != MODE_IDLE:
            return mdb.FAIL_STORE_BUSY
        index = self.open_index if self.open_index > self.first_index else self.first_index
        self._start(MODE_OPEN, index, self.unplayed)
        return 0

    def start_range(self, days0, ms0, days1, ms1):
        """TC[15,9]: play back the records held now whose packet time lies in [t0, t1]."""
        if self.mode != MODE_IDLE:
            return mdb.FAIL_STORE_BUSY
        if days1 < days0 or (days1 == days0 and ms1 < ms0):
            return mdb.FAIL_STORE_RANGE
        r = self._range
        r[0] = days0
        r[1] = ms0
        r[2] = days1
        r[3] = ms1
        self._end_index = self.next_index
        self._start(MODE_RANGE, self.first_index, self.count)
        return 0

    def _start(self, mode, index, records):
        self._cur_index = index
        self._cur_off = self._offset_of(index) if index < self.next_index else self.tail
        self._session_played = 0
        self.mode = mode
        self._raise(self._ev_start, mode, records)

    def abort(self):
        """TC[15,17]: end the playback in progress (nothing when none runs)."""
        if self.mode != MODE_IDLE:
            self.finish(END_ABORTED)
        return 0

    def finish(self, reason):
        mode = self.mode
        self.mode = MODE_IDLE
        self._raise(self._ev_end, mode, self._session_played, reason)

    def delete_until(self, days, ms):
        """TC[15,11]: delete from the oldest record up to the first one later than (days, ms)."""
        if self.mode != MODE_IDLE:
            return mdb.FAIL_STORE_BUSY
        n = 0
        while self.count and self._before(self.head, days, ms) <= 0:
            self._pop_oldest(False)
            n += 1
        self.deleted += n
        self._raise(self._ev_deleted, n)
        return 0

    def summary_into(self, buf=None):
        """TM[15,13] source data into ``buf`` (default ``self.summary``); returns its length."""
        if buf is None:
            buf = self.summary
        d0 = m0 = d1 = m1 = 0
        if self.count:
            d0, m0 = self._time_of(self.head)
            d1, m1 = self._time_of(self.last_off)
        struct.pack_into(SUMMARY_FORMAT, buf, 0, STORE_ID, self.count, self.used_octets, self.size_octets,
                         d0, m0, d1, m1, self.overwritten, self.unplayed, 1 if self.enabled else 0, self.mode)
        return SUMMARY_LEN

    # -- playback (comms group, through the link stack) ------------------------------------------
    def next_len(self):
        """Length of the next packet to play back, 0 when the playback has nothing more."""
        while self.mode != MODE_IDLE:
            end = self.next_index if self.mode == MODE_OPEN else self._end_index
            if self._cur_index >= end:
                return 0
            # the oldest record is at head (the store may have emptied and restarted at 0 meanwhile)
            off = self.head if self._cur_index == self.first_index else self._at(self._cur_off)
            self._cur_off = off
            n = self._len_at(off)
            if self.mode == MODE_RANGE:
                r = self._range
                if self._before(off, r[0], r[1]) < 0 or self._before(off, r[2], r[3]) > 0:
                    self._cur_off = off + _LEN + n  # outside the range: passed over
                    self._cur_index += 1
                    continue
            return n
        return 0

    def take(self, out):
        """Copy the packet ``next_len`` announced into ``out``; return its length."""
        off = self._cur_off
        n = self._len_at(off)
        b = self.buf
        j = off + _LEN
        i = 0
        while i < n:
            out[i] = b[j + i]
            i += 1
        self._cur_off = off + _LEN + n
        self._cur_index += 1
        if self.mode == MODE_OPEN:
            self.open_index = self._cur_index
        self.played += 1
        self._session_played += 1
        return n

    # -- 1 Hz ------------------------------------------------------------------------------------
    def tick_1hz(self):
        """Report overwriting (EV_STORE_OVERWRITE, at most once a minute)."""
        if self._ov_wait_s:
            self._ov_wait_s -= 1
        elif self.overwritten != self._ov_reported:
            self._ov_reported = self.overwritten
            self._ov_wait_s = OVERWRITE_EVENT_S
            self._raise(self._ev_overwrite, self.overwritten, self.unplayed_lost)

    def _raise(self, event_id, *values):
        if self.events is not None:
            self.events.raise_args(event_id, *values)
