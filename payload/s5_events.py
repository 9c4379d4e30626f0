"""PUS service 5, event reporting: TM[5,1..4] by severity, TC[5,5]/[5,6] enable/disable.

An event report is the event ID (16 bits) and its auxiliary data as declared in
the mission database.  Each event is reported from the APID that owns it.
A disabled event is counted but not sent.
"""

import struct

from bus import mdb


class EventService:
    def __init__(self, tm):
        self._tm = tm
        self._buf = bytearray(64)  # event ID + auxiliary data
        self._decl = {}  # event ID -> (severity, apid)
        self._fmt = {}  # event ID -> struct format of its arguments
        for e in mdb.EVENTS:
            self._decl[e[0]] = (e[2], e[3])
            self._fmt[e[0]] = mdb.args_format(e[4])
        self.disabled = []  # event IDs not to be reported
        self.generated = 0  # reports sent
        self.suppressed = 0  # raised while disabled

    def known(self, event_id):
        return event_id in self._decl

    def raise_event(self, event_id, aux=None, aux_len=0):
        """Report ``event_id`` with ``aux_len`` octets of already-packed data."""
        if aux_len:
            self._buf[2:2 + aux_len] = aux[:aux_len]
        self._send(event_id, aux_len)

    def raise_args(self, event_id, *values):
        """Report ``event_id`` packing its declared arguments (slow path)."""
        fmt = self._fmt[event_id]
        struct.pack_into(fmt, self._buf, 2, *values)
        self._send(event_id, struct.calcsize(fmt))

    def _send(self, event_id, aux_len):
        sev, apid = self._decl[event_id]
        if event_id in self.disabled:
            self.suppressed += 1
            return
        struct.pack_into(">H", self._buf, 0, event_id)
        self.generated += 1
        self._tm.send(apid, 5, sev, self._buf, 2 + aux_len)

    def enable(self, event_id, on):
        if event_id in self.disabled:
            if on:
                self.disabled.remove(event_id)
        elif not on:
            self.disabled.append(event_id)
