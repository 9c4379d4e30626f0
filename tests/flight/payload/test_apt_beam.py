"""One beam's acquisition, pointing and tracking against a toy plant: open loop, spiral,
coarse, fine with point-ahead, loss and reacquisition, the end of the pass, bad starts."""

from bus.cds_time import FlightTime
from hal.fake import FakeBeaconSensor, FakeGimbal, FakeSteeringMirror, VirtualClock
from payload import apt_beam as ab
from payload import ephemeris as ep
from payload.fine_loop import FinePointingLoop

DAYS = 25000
MS0 = 3600000
N = 60  # points, 2 s apart: a two-minute table
CAM_FOV_NRAD = 35000000
FINE_FOV_NRAD = 200000


def truth_a(t_ms):
    return 200000 + 8 * t_ms  # 8 mrad/s along track


def truth_c(t_ms):
    return -100000 + 2 * t_ms


class Plant:
    """Gimbal that integrates its rate, a camera at 50 Hz and a fine sensor at 1 kHz seeing
    the beacon offset from the boresight, a mirror that follows its command."""

    def __init__(self, bias_a=0, bias_c=0, paa=(3000, -1500)):
        self.clock = VirtualClock()
        self.time = FlightTime(self.clock)
        self.time.set_epoch(DAYS, MS0)
        self.g = FakeGimbal()
        self.cam = FakeBeaconSensor()
        self.fine = FakeBeaconSensor()
        self.m = FakeSteeringMirror()
        self.loop = FinePointingLoop(self.fine, self.m)
        self.eph = ep.Ephemeris()
        self.beam = ab.BeamPointing(0, self.g, self.cam, self.loop, self.eph, self.time)
        self.bias = (bias_a, bias_c)
        self.paa = paa
        self.t_ms = 0
        self.changes = []
        self.beam.on_change = lambda b, o, n: self.changes.append(n)
        self.ga = 0.0  # gimbal angles, urad (floats: the plant)
        self.gc = 0.0
        self.dropout = False
        self.fine_err = (10 ** 9, 10 ** 9)  # the beacon offset after the mirror, last tick

    def load(self, start_ms=0, n=N):
        e = self.eph
        assert e.begin(DAYS, MS0 + start_ms, 2000, n) == ep.OK
        for i in range(n):
            t = start_ms + 2000 * i
            e.put(i, truth_a(t), truth_c(t), self.paa[0] // 100, self.paa[1] // 100, 4500)
        assert e.commit(e.table_crc()) == ep.OK

    def offset_nrad(self):
        """Beacon offset from the gimbal boresight (small angles, c near 0), nrad."""
        ta = truth_a(self.t_ms) + self.bias[0]
        tc = truth_c(self.t_ms) + self.bias[1]
        return int((ta - self.ga) * 1000), int((tc - self.gc) * 1000)

    def run_ms(self, ms):
        for _ in range(ms // 10):
            for k in range(10):  # fine rate; the sensor delivers the frame exposed a tick ago
                ex, ey = self.fine_err
                if not self.dropout and -FINE_FOV_NRAD < ex < FINE_FOV_NRAD and -FINE_FOV_NRAD < ey < FINE_FOV_NRAD:
                    self.fine.publish(ex, ey)
                ox, oy = self.offset_nrad()
                self.fine_err = (ox - self.m.x_nrad, oy - self.m.y_nrad)
                self.loop.step()
                self.clock.advance(1000)
                self.t_ms += 1
                self.ga += self.g.rate_az_urad_s * 0.001  # the gimbal moves continuously
                self.gc += self.g.rate_el_urad_s * 0.001
            if self.t_ms % 20 == 0:
                ox, oy = self.offset_nrad()
                seen = -CAM_FOV_NRAD < ox < CAM_FOV_NRAD and -CAM_FOV_NRAD < oy < CAM_FOV_NRAD
                self.cam.publish(ox, oy, seen and not self.dropout)
            self.beam.step()
            self.g.az_urad = int(self.ga)
            self.g.el_urad = int(self.gc)


def test_start_refused_without_a_table_or_outside_it():
    p = Plant()
    assert p.beam.start() == ep.REFUSED_NO_TABLE
    p.load(start_ms=10000)  # begins in 10 s: not yet
    assert p.beam.start() != ep.OK and p.beam.state == ab.IDLE


def test_open_loop_coarse_fine_with_point_ahead():
    p = Plant(bias_a=3000, bias_c=-2000)  # attitude error: 3 mrad, inside the camera's field
    p.load()
    assert p.beam.start() == ep.OK
    p.run_ms(8000)
    assert p.changes[:3] == [ab.OPEN_LOOP, ab.COARSE, ab.FINE]
    assert p.beam.state == ab.FINE and p.loop.enabled and p.beam.in_view
    ex, ey = p.fine_err
    # the fine sensor holds the beacon the point-ahead angle away (the beam leads it)
    assert abs(ex + 3000) < 400 and abs(ey - 1500) < 400
    assert abs(p.m.x_nrad) < 100000  # the gimbal took the large motion off the mirror
    assert 0 < p.beam.acquisition_ms < 8000


def test_spiral_finds_a_beacon_outside_the_camera():
    p = Plant(bias_a=60000, bias_c=40000)  # 72 mrad away: outside the 35 mrad field
    p.load()
    p.beam.start()
    p.run_ms(14000)  # slew to the ephemeris direction (about 9 s), wait 3 s, then spiral
    assert p.changes == [ab.OPEN_LOOP, ab.ACQUISITION]
    p.run_ms(30000)
    assert p.beam.state == ab.FINE, p.changes


def test_dropout_loses_lock_and_reacquires():
    p = Plant()
    p.load()
    p.beam.start()
    p.run_ms(9000)
    assert p.beam.state == ab.FINE
    p.dropout = True
    p.run_ms(300)
    assert p.beam.state == ab.LOST and p.beam.loss_count == 1 and not p.loop.enabled
    assert abs(p.g.rate_az_urad_s - 8000) < 2000  # coasting on the ephemeris, not running away
    p.dropout = False
    p.run_ms(3000)
    assert p.beam.state == ab.FINE and p.changes[-2:] == [ab.COARSE, ab.FINE]


def test_end_of_the_table_stops_the_beam():
    p = Plant()
    p.load(n=4)  # six seconds
    p.beam.start()
    p.run_ms(7000)
    assert p.beam.state == ab.IDLE and p.g.rate_az_urad_s == 0 and p.m.cmd_x_nrad == 0


def test_gimbal_rate_is_clamped():
    p = Plant(bias_a=1000000)  # a wildly wrong table point: one radian
    p.load()
    p.beam.start()
    p.run_ms(100)
    assert abs(p.g.rate_az_urad_s) == p.beam.rate_limit_urad_s
