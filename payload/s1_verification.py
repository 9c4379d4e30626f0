"""PUS service 1, request verification: TM[1,1..8] for each telecommand.

Success reports follow the request's acknowledgement flags (acceptance 0b0001,
start 0b0010, progress 0b0100, completion 0b1000; ECSS-E-ST-70-41C §7.4.3.1);
failure reports are always sent.  Each report carries the request ID (packet
version, type, secondary-header flag and APID; sequence flags and count) and,
for failures, a 16-bit failure code (``bus.pus`` packet-level codes and
``bus.mdb`` FAILURES) and one failure-parameter octet: the 0-based index of the
command argument at fault, or ``bus.pus.NO_ARGUMENT`` (0xFF).  From the code,
the index and the command it sent, the ground names the limit that was
violated (``ground_segment.commanding.failure_reason``).

Failure report source data (7 octets)::

    0-1  packet ID of the request   2-3  its sequence control
    4-5  failure code (u16)         6    argument index (u8, 0xFF: none)
"""

import struct

from bus.compat import const
from bus.pus import NO_ARGUMENT

ACK_ACCEPTANCE = const(0b0001)
ACK_START = const(0b0010)
ACK_PROGRESS = const(0b0100)
ACK_COMPLETION = const(0b1000)

# success subtype of each stage; its failure subtype is one more
STAGE_ACCEPTANCE = const(1)
STAGE_START = const(3)
STAGE_PROGRESS = const(5)
STAGE_COMPLETION = const(7)
_FLAG_OF_STAGE = {1: ACK_ACCEPTANCE, 3: ACK_START, 5: ACK_PROGRESS, 7: ACK_COMPLETION}


class Verification:
    def __init__(self, tm, apids, default_apid):
        self._tm = tm
        self._apids = apids  # APIDs of the on-board applications
        self._default = default_apid  # reports on requests to an unknown APID
        self._buf = bytearray(8)  # request ID (4) + failure code or step (2) + argument index (1) + spare
        self.successes = 0
        self.failures = 0

    def _request_id(self, tc):
        """Pack the request ID; return the APID the report comes from (the request's)."""
        tc.request_id_into(self._buf, 0)
        return tc.apid if tc.apid in self._apids else self._default

    def report(self, tc, stage):
        """Success report of ``stage`` if the request asked for it."""
        if not tc.ack_flags & _FLAG_OF_STAGE[stage]:
            return
        apid = self._request_id(tc)
        self.successes += 1
        self._tm.send(apid, 1, stage, self._buf, 4)

    def accepted(self, tc):
        self.report(tc, STAGE_ACCEPTANCE)

    def started(self, tc):
        self.report(tc, STAGE_START)

    def progress(self, tc, step):
        if not tc.ack_flags & ACK_PROGRESS:
            return
        apid = self._request_id(tc)
        struct.pack_into(">H", self._buf, 4, step)
        self.successes += 1
        self._tm.send(apid, 1, STAGE_PROGRESS, self._buf, 6)

    def completed(self, tc):
        self.report(tc, STAGE_COMPLETION)

    def fail(self, tc, stage, code, arg_index=NO_ARGUMENT):
        """Failure report of ``stage`` (always sent): failure code and the index of the argument at fault."""
        apid = self._request_id(tc)
        struct.pack_into(">HB", self._buf, 4, code, arg_index)
        self.failures += 1
        self._tm.send(apid, 1, stage + 1, self._buf, 7)
