"""PUS service 3, housekeeping: periodic TM[3,25] per declared packet.

Each housekeeping packet of the mission database is collected from the
parameter table every ``interval_s`` seconds while enabled (all are enabled at
boot) and sent from the APID that owns it: the SID (16 bits) then the values
in declaration order.  TC[3,5]/[3,6] enable/disable, TC[3,27] one-shot,
TC[3,31] new interval.  Runs in the 1 Hz group, where allocation is allowed.
"""

import struct

from bus import mdb
from payload.parameters import fit


class HkPacket:
    def __init__(self, decl, params):
        self.sid = decl[0]
        self.apid = decl[1]
        self.name = decl[2]
        self.interval_s = decl[3]
        self.countdown_s = 1  # first report at the first tick
        self.enabled = True
        self.fmt = mdb.hk_format(decl)
        self.entries = [params.entry(n) for n in decl[4]]
        self.size = 2 + struct.calcsize(self.fmt)


class Housekeeping:
    def __init__(self, tm, params):
        self._tm = tm
        self.packets = [HkPacket(d, params) for d in mdb.HOUSEKEEPING]
        self._buf = bytearray(max(p.size for p in self.packets))
        self.reports = 0

    def find(self, sid):
        for p in self.packets:
            if p.sid == sid:
                return p
        return None

    def tick_1hz(self):
        for p in self.packets:
            if not p.enabled:
                continue
            p.countdown_s -= 1
            if p.countdown_s <= 0:
                p.countdown_s = p.interval_s
                self.report(p)

    def report(self, p):
        values = [fit(getattr(o, a), t) for o, a, t, _ in p.entries]
        struct.pack_into(">H", self._buf, 0, p.sid)
        struct.pack_into(p.fmt, self._buf, 2, *values)
        self.reports += 1
        self._tm.send(p.apid, 3, 25, self._buf, p.size)
