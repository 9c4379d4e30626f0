"""PUS service 9, time management, on the on-board clock of bus.cds_time.

The ground sets the time by TC[9,128] (mission subtype: days and ms of day in
CDS) and asks for periodic TM[9,3] CDS time reports with TC[9,1] (every
2**exponent seconds of uptime; 0 switches them off).  Every TM packet carries
the same time in its secondary header.
"""

from bus.cds_time import TIME_SET, CDS_LEN


class TimeService:
    def __init__(self, tm, flight_time):
        self._tm = tm
        self.clock = flight_time  # bus.cds_time.FlightTime: stamps every TM packet too
        self._buf = bytearray(1 + CDS_LEN)  # TM[9,3]: rate exponent, then CDS time
        self.exponent = 0

    @property
    def valid(self):
        """1 once the ground has set the time (parameter time_valid)."""
        return 1 if self.clock.time_ref_status == TIME_SET else 0

    def set(self, days, ms_of_day):
        self.clock.set_epoch(days, ms_of_day)

    def now(self):
        """(valid, days, ms_of_day) now (slow path: allocates a tuple)."""
        c = self.clock
        c.rebase()
        return self.valid, c.days, c.ms_of_day

    def report(self, apid):
        self._buf[0] = self.exponent
        self.clock.now_into(self._buf, 1)
        self._tm.send(apid, 9, 3, self._buf, len(self._buf))
