"""PUS service 11, time-based scheduling of telecommands.

TC[11,4] inserts activities: ``N`` (u8), then N times a release time (CDS short,
7 octets with P-field 0x40, ``bus.cds_time``) followed by a complete TC packet.
The insert is atomic: every activity is checked (time set, release in the
future, well-formed TC packet that fits a slot, a free slot for each) before
any is stored.  At release the packet goes through the same acceptance path as
one from the ground.  TC[11,1]/[11,2] enable/disable release, TC[11,3] resets,
TC[11,5] deletes by request ID (APID, sequence count), TC[11,16] reports every
activity in TM[11,10] packets (as many activities per packet as fit).

Hazardous commands (payload/hazard_gate.py): a TC[11,4] that embeds one must
be armed.  While that armed insert is stored, each embedded activity the gate
finds hazardous is marked; at release a marked activity runs on the authority
of the armed insert (no second arm), an unmarked one takes the gate like any
command.

Storage is a fixed pool of slots allocated at boot (no allocation on insert).
"""

import struct

from bus import mdb
from bus.compat import const

MAX_ACTIVITIES = mdb.SCHEDULE_MAX_ACTIVITIES  # slots (the ground plans against the same number)
SLOT_LEN = mdb.SCHEDULE_SLOT_LEN  # largest scheduled TC packet (octets)
_CDS_P_FIELD = const(0x40)
_REPORT_MAX = const(1000)  # application data octets per TM[11,10]


def _before_or_at(d1, ms1, d2, ms2):
    return d1 < d2 or (d1 == d2 and ms1 <= ms2)


class Schedule:
    def __init__(self, tm, now, release):
        """``now()`` -> (valid, days, ms_of_day); ``release(buf, n, authorised)`` executes a TC packet
        (``authorised`` 1: marked at insertion, runs on the authority of its armed insert)."""
        self._tm = tm
        self._now = now
        self._release = release
        self.enabled = True
        self.slots = [bytearray(SLOT_LEN) for _ in range(MAX_ACTIVITIES)]
        self.used = bytearray(MAX_ACTIVITIES)  # 1: slot holds an activity
        self.authorised = bytearray(MAX_ACTIVITIES)  # 1: hazardous, inserted by an armed TC[11,4]
        self.gate = None  # payload.hazard_gate.HazardGate, bound at boot (None: nothing is marked)
        self.length = [0] * MAX_ACTIVITIES  # packet length per slot
        self.days = [0] * MAX_ACTIVITIES
        self.ms = [0] * MAX_ACTIVITIES
        self.count = 0
        self.released = 0
        self._report = bytearray(_REPORT_MAX + 1)

    def reset(self):
        for i in range(MAX_ACTIVITIES):
            self.used[i] = 0
        self.count = 0

    def _parse(self, buf, offset, end, store):
        """Walk the activities of a TC[11,4]; store them when ``store``. Returns 0 or a code."""
        if end - offset < 1:
            return mdb.FAIL_LENGTH
        n = buf[offset]
        pos = offset + 1
        valid, now_d, now_ms = self._now()
        if not valid:
            return mdb.FAIL_TIME_NOT_SET
        if n == 0 or n > MAX_ACTIVITIES - self.count:
            return mdb.FAIL_SCHEDULE_FULL if n else mdb.FAIL_LENGTH
        slot = 0
        for _ in range(n):
            if end - pos < 7 + 6:
                return mdb.FAIL_SCHEDULE_ENTRY
            if buf[pos] != _CDS_P_FIELD:
                return mdb.FAIL_SCHEDULE_ENTRY
            d, ms = struct.unpack_from(">HI", buf, pos + 1)
            if ms >= 86400000:
                return mdb.FAIL_SCHEDULE_ENTRY
            if _before_or_at(d, ms, now_d, now_ms):
                return mdb.FAIL_RELEASE_IN_PAST
            p = pos + 7
            word0, _, dlen = struct.unpack_from(">HHH", buf, p)
            plen = dlen + 7
            if (word0 >> 12) & 1 != 1 or plen > SLOT_LEN or p + plen > end:
                return mdb.FAIL_SCHEDULE_ENTRY
            if store:
                while self.used[slot]:
                    slot += 1
                self.slots[slot][:plen] = buf[p:p + plen]
                self.length[slot] = plen
                self.days[slot] = d
                self.ms[slot] = ms
                self.used[slot] = 1
                gate = self.gate
                self.authorised[slot] = 1 if (gate is not None and gate.armed_now
                                              and gate.packet_hazardous(buf, p, plen)) else 0
                self.count += 1
            pos = p + plen
        if pos != end:
            return mdb.FAIL_LENGTH
        return 0

    def insert(self, buf, offset, n):
        code = self._parse(buf, offset, offset + n, False)
        if code:
            return code
        return self._parse(buf, offset, offset + n, True)

    def delete(self, apid, seq_count):
        for i in range(MAX_ACTIVITIES):
            if self.used[i]:
                w0, w1 = struct.unpack_from(">HH", self.slots[i], 0)
                if (w0 & 0x7FF) == apid and (w1 & 0x3FFF) == seq_count:
                    self.used[i] = 0
                    self.count -= 1
                    return 0
        return mdb.FAIL_SCHEDULE_NOT_FOUND

    def tick(self):
        """Release every due activity (10 Hz group)."""
        if not self.enabled or not self.count:
            return
        valid, now_d, now_ms = self._now()
        if not valid:
            return
        for i in range(MAX_ACTIVITIES):
            if self.used[i] and _before_or_at(self.days[i], self.ms[i], now_d, now_ms):
                self.used[i] = 0
                self.count -= 1
                self.released += 1
                self._release(self.slots[i], self.length[i], self.authorised[i])

    def report(self, apid):
        """TM[11,10] detail reports of every activity; returns how many packets were sent."""
        sent = 0
        pos = 1
        k = 0
        for i in range(MAX_ACTIVITIES + 1):
            full = i < MAX_ACTIVITIES and self.used[i] and pos + 7 + self.length[i] > _REPORT_MAX
            if i == MAX_ACTIVITIES or full:
                if k or not sent:
                    self._report[0] = k
                    self._tm.send(apid, 11, 10, self._report, pos)
                    sent += 1
                pos = 1
                k = 0
                if i == MAX_ACTIVITIES:
                    break
            if self.used[i]:
                self._report[pos] = _CDS_P_FIELD
                struct.pack_into(">HI", self._report, pos + 1, self.days[i], self.ms[i])
                n = self.length[i]
                self._report[pos + 7:pos + 7 + n] = self.slots[i][:n]
                pos += 7 + n
                k += 1
        return sent
