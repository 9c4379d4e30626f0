"""On-board pointing ephemeris of one beam: a time-tagged table uploaded by telecommand (MicroPython subset).

The ground propagates the orbit and computes, every ``step_ms``, where the
ground station is seen from the payload: the gimbal angles of the line of
sight (an X-Y mount: ``a`` about the cross-track axis, along-track tilt;
``c`` the cross-track tilt; urad), the point-ahead angle in the fine sensor's
axes (0.1 urad units) and the station's elevation (0.01 deg).  The table is
uploaded in three steps, each a telecommand:

1. ``begin(days, ms_of_day, step_ms, n)``: the epoch of the first point (CDS),
   the spacing and the number of points; the previous table is dropped;
2. ``put(index, points)``: four points at a time, at any order;
3. ``commit(crc)``: every point present, the CRC-16 of the whole table (the
   ground computes it over the points as sent) matches, angles within the
   gimbal's travel, consecutive points no further apart than the gimbal's rate
   limit allows, elevations within -90..90 deg.  Only then is the table valid.

A refusal at any step returns a reason code and leaves the last valid table in
use (a table being loaded lives in a second buffer).  ``at(days, ms, out)``
interpolates linearly (a 500 km pass turns the line of sight by at most about
1 mrad/s^2, so points 2 s apart err by under 0.5 mrad, well inside the coarse
camera's field) and says whether the time is inside the table: outside it the
ephemeris is stale or not yet valid, and pointing will not use it.
"""

from array import array

from bus.compat import const
from bus.crc16 import crc16

MAX_POINTS = const(256)
MS_PER_DAY = const(86400000)
POINT_LEN = const(14)  # octets per point on the wire: a i32, c i32, paa_x i16, paa_y i16, el i16

OK = const(0)
REFUSED_NO_TABLE = const(1)  # put/commit without begin
REFUSED_INDEX = const(2)  # a point index outside the table
REFUSED_INCOMPLETE = const(3)  # commit before every point arrived
REFUSED_CRC = const(4)  # the table differs from what the ground computed
REFUSED_TRAVEL = const(5)  # an angle beyond the gimbal's travel
REFUSED_RATE = const(6)  # consecutive points further apart than the gimbal can slew
REFUSED_ELEVATION = const(7)  # an elevation outside -90..90 deg
REFUSED_SIZE = const(8)  # step or number of points outside the limits


class _Table:
    def __init__(self):
        self.a = array("i", [0] * MAX_POINTS)  # urad
        self.c = array("i", [0] * MAX_POINTS)
        self.px = array("h", [0] * MAX_POINTS)  # 0.1 urad
        self.py = array("h", [0] * MAX_POINTS)
        self.el = array("h", [0] * MAX_POINTS)  # 0.01 deg
        self.have = bytearray(MAX_POINTS)
        self.days = 0
        self.ms = 0
        self.step_ms = 0
        self.n = 0


class Ephemeris:
    def __init__(self, travel_urad=1396263, rate_limit_urad_s=52360):
        self.travel_urad = travel_urad  # |a|, |c| limit (80 deg: the X-Y mount's stops)
        self.rate_limit_urad_s = rate_limit_urad_s  # gimbal slew limit (3 deg/s)
        self._live = _Table()
        self._load = _Table()
        self.valid = False  # a committed table is in use
        self.loading = False
        self.commits = 0
        self._wire = bytearray(POINT_LEN)

    def begin(self, days, ms_of_day, step_ms, n):
        if step_ms < 100 or step_ms > 10000 or n < 2 or n > MAX_POINTS or ms_of_day >= MS_PER_DAY:
            return REFUSED_SIZE
        t = self._load
        t.days = days
        t.ms = ms_of_day
        t.step_ms = step_ms
        t.n = n
        for i in range(MAX_POINTS):
            t.have[i] = 0
        self.loading = True
        return OK

    def put(self, index, a_urad, c_urad, paa_x_durad, paa_y_durad, el_cdeg):
        """One point (the command handler calls this for each of its four)."""
        if not self.loading:
            return REFUSED_NO_TABLE
        t = self._load
        if index < 0 or index >= t.n:
            return REFUSED_INDEX
        t.a[index] = a_urad
        t.c[index] = c_urad
        t.px[index] = paa_x_durad
        t.py[index] = paa_y_durad
        t.el[index] = el_cdeg
        t.have[index] = 1
        return OK

    def table_crc(self, t=None):
        """CRC-16 of the points in wire order (big-endian, POINT_LEN octets each)."""
        t = self._load if t is None else t
        w = self._wire
        crc = 0xFFFF
        for i in range(t.n):
            a = t.a[i]  # signed: an arithmetic shift and a byte mask give two's complement octets
            c = t.c[i]
            for k in range(4):
                w[k] = (a >> (24 - 8 * k)) & 0xFF
                w[4 + k] = (c >> (24 - 8 * k)) & 0xFF
            for k, v in ((8, t.px[i]), (10, t.py[i]), (12, t.el[i])):
                w[k] = (v >> 8) & 0xFF
                w[k + 1] = v & 0xFF
            crc = crc16(w, 0, POINT_LEN, crc)
        return crc

    def commit(self, crc):
        if not self.loading:
            return REFUSED_NO_TABLE
        t = self._load
        for i in range(t.n):
            if not t.have[i]:
                return REFUSED_INCOMPLETE
        if self.table_crc(t) != crc:
            return REFUSED_CRC
        lim = self.travel_urad
        max_step = self.rate_limit_urad_s * t.step_ms // 1000
        for i in range(t.n):
            if t.a[i] > lim or t.a[i] < -lim or t.c[i] > lim or t.c[i] < -lim:
                return REFUSED_TRAVEL
            if t.el[i] > 9000 or t.el[i] < -9000:
                return REFUSED_ELEVATION
            if i:
                da = t.a[i] - t.a[i - 1]
                dc = t.c[i] - t.c[i - 1]
                if da > max_step or da < -max_step or dc > max_step or dc < -max_step:
                    return REFUSED_RATE
        self._live, self._load = t, self._live
        self.loading = False
        self.valid = True
        self.commits += 1
        return OK

    def offset_ms(self, days, ms_of_day):
        """Time since the table's first point (ms; negative before it)."""
        t = self._live
        return (days - t.days) * MS_PER_DAY + (ms_of_day - t.ms)

    @property
    def span_ms(self):
        t = self._live
        return (t.n - 1) * t.step_ms if self.valid else 0

    def at(self, days, ms_of_day, out):
        """Interpolate into ``out``: a, c (urad), a_rate, c_rate (urad/s), paa_x, paa_y (nrad),
        el (0.01 deg).  Returns False (and leaves ``out``) outside the table or without one."""
        if not self.valid:
            return False
        t = self._live
        dt = self.offset_ms(days, ms_of_day)
        if dt < 0 or dt > (t.n - 1) * t.step_ms:
            return False
        s = t.step_ms
        i = dt // s
        if i >= t.n - 1:
            i = t.n - 2
        f = (dt - i * s) * 1024 // s  # fraction of the segment, Q10
        j = i + 1
        da = t.a[j] - t.a[i]  # |da| <= 3 deg/s x 10 s: x 1024 stays a small int
        dc = t.c[j] - t.c[i]
        out[0] = t.a[i] + ((da * f) >> 10)
        out[1] = t.c[i] + ((dc * f) >> 10)
        out[2] = da * 1000 // s
        out[3] = dc * 1000 // s
        out[4] = (t.px[i] + (((t.px[j] - t.px[i]) * f) >> 10)) * 100
        out[5] = (t.py[i] + (((t.py[j] - t.py[i]) * f) >> 10)) * 100
        out[6] = t.el[i] + (((t.el[j] - t.el[i]) * f) >> 10)
        return True
