"""Where each beam's ground station is, as the payload's gimbal and fine sensor see it, over a run.

The payload's two-axis gimbal is an X-Y mount in the LVLH frame (x along
track, y across, z to nadir; sim/orbit.py): a line of sight ``d`` has the
gimbal angles ``a = atan2(d_x, d_z)`` (tilt along track) and ``c = asin(d_y)``
(tilt across), smooth everywhere a station can be (an azimuth-elevation
turntable would have its keyhole at nadir, where a high pass culminates).
Small angles about the boresight are taken in the tangent directions
``e_a = (cos a, 0, -sin a)`` and ``e_c = (-sin a sin c, cos c, -cos a sin c)``:
an offset ``da`` of the ``a`` axis moves the line of sight by ``da cos c`` along
``e_a``, and the fine sensor's x and y axes are ``e_a`` and ``e_c``.

``PassGeometry`` samples, every ``dt_s`` (0.1 s) over the run, per beam: the
gimbal angles of the station (urad), the point-ahead angle on the sensor axes
(urad; sim/orbit.py: ``2 v_perp / c``), the station's elevation (deg) and the
range (km); ``at(t_s)`` interpolates linearly.  The interpolated path is the
simulator's truth for both the sensors and the error, so it stays consistent;
it departs from the true orbit by at most ``accel dt^2 / 8``, about 1 urad for
the ~1 mrad/s^2 of a 500 km pass's culmination: a smoothing of the target's
path, not an error the loops see.  ``ephemeris_points`` gives what the ground
uploads (payload/ephemeris.py).
"""

import math

import numpy as np

from sim.orbit import Orbit
from sim.stations import get_station

URAD = 1e6


def xy_mount(az_urad, el_urad, paa_az_urad, paa_el_urad):
    """Turntable (az, el) and the point-ahead on its directions -> X-Y (a, c) and the point-ahead on
    the sensor axes (e_a, e_c); all in urad, vectorised."""
    az = np.asarray(az_urad) / URAD
    el = np.asarray(el_urad) / URAD
    d = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    a = np.arctan2(d[0], d[2])
    c = np.arcsin(np.clip(d[1], -1.0, 1.0))
    e_az = np.stack([-np.sin(az), np.cos(az), np.zeros_like(az)])
    e_el = np.stack([-np.sin(el) * np.cos(az), -np.sin(el) * np.sin(az), np.cos(el)])
    paa = np.asarray(paa_az_urad) * e_az + np.asarray(paa_el_urad) * e_el
    e_a = np.stack([np.cos(a), np.zeros_like(a), -np.sin(a)])
    e_c = np.stack([-np.sin(a) * np.sin(c), np.cos(c), -np.cos(a) * np.sin(c)])
    return a * URAD, c * URAD, np.sum(paa * e_a, axis=0), np.sum(paa * e_c, axis=0)


class PassGeometry:
    """Per-beam station geometry sampled over ``[t0_unix, t0_unix + duration_s]``."""

    def __init__(self, stations, t0_unix: float, duration_s: float, orbit: Orbit | None = None,
                 dt_s: float = 0.1):
        self.orbit = orbit or Orbit.default()
        self.stations = [get_station(s) if isinstance(s, str) else s for s in stations]
        self.t0_unix = float(t0_unix)
        self.dt_s = float(dt_s)
        n = int(math.ceil(duration_s / dt_s)) + 2
        self.t_s = np.arange(n) * dt_s
        t = self.t0_unix + self.t_s
        self.a_urad = np.empty((len(self.stations), n))
        self.c_urad = np.empty_like(self.a_urad)
        self.paa_x_urad = np.empty_like(self.a_urad)
        self.paa_y_urad = np.empty_like(self.a_urad)
        self.el_deg = np.empty_like(self.a_urad)
        self.range_km = np.empty_like(self.a_urad)
        for b, st in enumerate(self.stations):
            ang = self.orbit.payload_angles(st, t)
            paz, pel = self.orbit.point_ahead_urad(st, t)
            a, c, px, py = xy_mount(ang.az_urad, ang.el_urad, paz, pel)
            look = self.orbit.look(st, t)
            self.a_urad[b], self.c_urad[b] = a, c
            self.paa_x_urad[b], self.paa_y_urad[b] = px, py
            self.el_deg[b] = look.elevation_deg
            self.range_km[b] = look.range_km
        # per-tick interpolation works on plain lists (faster than numpy for scalars)
        self._cols = [[arr[b].tolist() for arr in (self.a_urad, self.c_urad, self.paa_x_urad, self.paa_y_urad,
                                                   self.el_deg)] for b in range(len(self.stations))]

    @property
    def beams(self) -> int:
        return len(self.stations)

    def at(self, beam: int, t_s: float):
        """(a_urad, c_urad, paa_x_urad, paa_y_urad, el_deg) of a beam's station at run time ``t_s``."""
        x = t_s / self.dt_s
        i = int(x)
        last = len(self.t_s) - 2
        if i > last:
            i = last
        f = x - i
        return tuple(col[i] + (col[i + 1] - col[i]) * f for col in self._cols[beam])

    def visible_span(self, beam: int, min_elevation_deg: float):
        """(first, last) run time with the station above ``min_elevation_deg``, or None."""
        k = np.nonzero(self.el_deg[beam] >= min_elevation_deg)[0]
        if len(k) == 0:
            return None
        return float(self.t_s[k[0]]), float(self.t_s[k[-1]])

    def ephemeris_points(self, beam: int, t_start_s: float, n: int, step_s: float):
        """The table the ground uploads: per point (a_urad, c_urad, paa_x in 0.1 urad, paa_y, el in 0.01 deg)."""
        pts = []
        for i in range(n):
            a, c, px, py, el = self.at(beam, t_start_s + i * step_s)
            pts.append((int(round(a)), int(round(c)), int(round(px * 10)), int(round(py * 10)), int(round(el * 100))))
        return pts
