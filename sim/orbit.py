"""Orbit geometry and pass prediction: SGP4 from a TLE, station look angles, payload pointing.

Conventions
-----------
Time
    Every time argument is ``t_unix``: UTC as float64 POSIX seconds (seconds since
    1970-01-01T00:00:00 UTC, leap seconds not counted), a scalar or a numpy array of any
    shape.  Results keep the shape of ``t_unix`` (vectors add a trailing axis of 3).
    ``parse_utc`` and ``iso_utc`` convert from and to ISO 8601 text.
Frames
    TEME  the frame SGP4 works in (true equator, mean equinox of date); used here as the
          inertial frame for the satellite's attitude frame and for aberration.
    ECEF  Earth-fixed; stations sit still in it.  ECEF = R3(GMST) TEME, and
          v_ecef = R3(GMST) v_teme - omega_E x r_ecef (the transport term of the rotating
          frame).
    ENU   topocentric east/north/up at a station (up = WGS84 ellipsoid normal);
          azimuth from north through east, elevation above the local horizontal.
    Payload (LVLH, nadir-pointing body)
          z toward nadir (-r / |r|), x along the inertial velocity made perpendicular to z
          (along-track), y = z cross x (= the negative orbit normal).  Payload azimuth is
          measured about z from +x towards +y; payload elevation from the x-y plane towards
          +z, so a station at nadir has elevation pi/2 (1,570,796 urad).  This is the
          usual LVLH orbital frame (e.g. Vallado, Fundamentals of Astrodynamics and
          Applications, 4th ed., 2013, sec. 3.3, with z = -R).
Units
    km, km/s, degrees for station look angles; microradians (urad, urad/s) for
    payload angles and point-ahead.

Point-ahead
-----------
With u the unit vector from satellite to station and v_rel = v_sat - v_station, both
inertial (the station moves at omega_E x r with the Earth), first-order aberration gives:
the ground beacon is seen by the moving satellite at u + v_rel_perp / c, and a beam must be
sent along u - v_rel_perp / c to meet the station where it will be one light time later.
The transmitter must therefore lead the received beacon by

    point-ahead = transmit - beacon = -2 v_rel_perp / c = 2 (v_station - v_sat)_perp / c,

magnitude 2 |v_perp| / c, at most about 51 urad for a 500 km orbit (7.6 km/s).  Source:
the classical point-ahead angle of a laser link, 2 v_perp / c (e.g. Hemmati (ed.),
Near-Earth Laser Communications, CRC 2009, ch. 6; Toyoshima & Araki, Opt. Eng. 40(5), 2001,
for an LEO terminal).  The vector is expressed on the payload's (az, el) sky directions
at the station: ``paa_az`` is the angle on the sky along increasing payload azimuth
(the turntable azimuth offset is paa_az / cos(el)), ``paa_el`` along increasing payload
elevation.  ``payload_angles`` gives the geometric (instantaneous) direction, midway
between the beacon direction and the transmit direction: transmit = geometric + paa / 2.
The velocities must be inertial: using Earth-fixed ones would rotate the line of sight by
omega_E x rho and err by up to about 0.7 urad.

Parameters and where each comes from
------------------------------------
=====================  ======================  =========================================
name                   value                   source
=====================  ======================  =========================================
propagator             SGP4, WGS72 constants   the ``sgp4`` package (Vallado et al.,
                                               "Revisiting Spacetrack Report #3", AIAA
                                               2006-6753); TLEs are fitted with WGS72
default TLE            Micius, NORAD 41731,    sim/data/micius-2021-04-27.tle, a public
                       epoch 2021-04-27        element set (shared/REFERENCES.md)
GMST                   IAU-82 polynomial       Aoki et al., A&A 105, 359 (1982); the
                                               TEME->PEF rotation of Vallado et al. 2006
OMEGA_EARTH_RAD_S      7.292115146706979e-5    Earth rotation rate used with TEME by
                                               Vallado et al. 2006 (IERS nominal 7.292115e-5)
MU_KM3_S2, J2, R       398600.8, 1.082616e-3,  WGS72 (the constants SGP4 uses), only for the
                       6378.135 km             acceleration in the attitude-frame rate
C_KM_S                 299792.458              speed of light, exact (SI)
station coordinates    WGS84 geodetic          sim/stations.py
=====================  ======================  =========================================

What is ignored, and what it costs
----------------------------------
- UT1 - UTC (DUT1) is taken as 0 unless ``dut1_s`` is given.  |DUT1| < 0.9 s by IERS rule,
  a rotation error below 0.9 s x 7.29e-5 rad/s = 6.6e-5 rad (about -0.2 s, 1.5e-5 rad, in
  2021): at most 0.45 km east-west at the satellite's radius.
- Polar motion (PEF -> ITRF): |x_p|, |y_p| < 0.6 arcsec = 3e-6 rad, under 20 m.
- The kinematic terms of the equation of the equinoxes in TEME -> PEF (below 0.003 arcsec).
  Together these stay below 1e-4 rad of frame rotation, i.e. below 0.5 km at the satellite and
  below about 1 mrad of look angle from a station at 500 km range (0.2 mrad with 2021's DUT1).
  That is smaller than SGP4's own error -- about 1 km at the TLE epoch, growing by a few km per
  day -- so open-loop angles from a days-old TLE are good to mrad, which is what the beacon
  acquisition has to cover; the fine loop closes on the beacon.  The point-ahead angle depends
  on velocities only and is insensitive to all of this (well below 0.1 urad).
- SGP4's velocity is not exactly the time derivative of its position (they differ by about
  1e-5 km/s, its short-period velocity terms being approximate): 7e-5 urad of point-ahead and
  about 0.02 urad/s in the payload angle rates, which use that velocity.
- Light time in the look angles (the geometric direction at t is returned; see above for how
  the beacon and transmit directions differ from it), atmospheric refraction (it raises the
  apparent elevation of the satellite by about 0.1 deg at 10 deg elevation).
"""

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sgp4.api import WGS72, Satrec

from sim.stations import Station

C_KM_S = 299792.458
OMEGA_EARTH_RAD_S = 7.292115146706979e-5
MU_KM3_S2 = 398600.8
J2 = 1.082616e-3
R_EQ_WGS72_KM = 6378.135
JD_UNIX_EPOCH = 2440587.5  # Julian date of 1970-01-01T00:00:00
UNIX_J2000 = 946728000.0  # 2000-01-01T12:00:00 (JD 2451545.0) as Unix seconds
DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_TLE = DATA_DIR / "micius-2021-04-27.tle"
PASS_MARGIN_S = 1800.0  # sampled past the window's end so a pass that rises in it can set
URAD = 1e6

_SGP4_ERRORS = {1: "mean eccentricity out of range", 2: "mean motion below zero",
                3: "perturbed eccentricity out of range", 4: "semi-latus rectum below zero",
                6: "orbit decayed"}


# --- time ------------------------------------------------------------------------------------

def parse_utc(text: str) -> float:
    """ISO 8601 date or date-time to Unix seconds; no offset means UTC.  ValueError if malformed."""
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    dt = datetime.fromisoformat(s)  # ValueError on bad text
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def iso_utc(t_unix: float, decimals: int = 0) -> str:
    """Unix seconds to 'YYYY-MM-DDTHH:MM:SS[.f]Z' (rounded to ``decimals`` of a second)."""
    t = round(float(t_unix), decimals)
    dt = datetime.fromtimestamp(t, tz=timezone.utc)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if decimals > 0:
        frac = f"{t - math.floor(t):.{decimals}f}"[1:]
        text += frac
    return text + "Z"


def gmst_rad(t_unix, dut1_s: float = 0.0):
    """Greenwich mean sidereal time (IAU-82, Aoki et al. 1982), radians in [0, 2 pi).

    GMST = 67310.54841 s + (876600 h + 8640184.812866 s) T + 0.093104 s T^2 - 6.2e-6 s T^3,
    T in Julian centuries of UT1 from J2000.  The 876600 h T term is one turn per day,
    86400 s x (days since J2000), kept apart so its fraction of a day stays exact.
    """
    d = (np.asarray(t_unix, dtype=np.float64) + dut1_s - UNIX_J2000) / 86400.0
    t = d / 36525.0
    sec = 67310.54841 + 86400.0 * (d - np.floor(d)) + (8640184.812866 + (0.093104 - 6.2e-6 * t) * t) * t
    return np.mod(sec, 86400.0) * (2.0 * math.pi / 86400.0)


def sun_elevation_deg(station: Station, t_unix) -> np.ndarray:
    """Elevation of the Sun's centre at a station (deg, geometric, no refraction).

    The Astronomical Almanac's low-precision solar coordinates (section C, "Low
    precision formulas for the Sun": mean longitude 280.460 + 0.9856474 d,
    anomaly 357.528 + 0.9856003 d, ecliptic longitude with 1.915 and 0.020 deg
    terms, obliquity 23.439 - 4e-7 d; about 0.01 deg from 1950 to 2050), turned
    to ECEF by GMST.  Enough to tell night passes (Micius worked at night) from day.
    """
    d = (np.asarray(t_unix, dtype=np.float64) - UNIX_J2000) / 86400.0
    g = np.radians(357.528 + 0.9856003 * d)
    lam = np.radians(280.460 + 0.9856474 * d + 1.915 * np.sin(g) + 0.020 * np.sin(2 * g))
    eps = np.radians(23.439 - 4e-7 * d)
    ra = np.arctan2(np.cos(eps) * np.sin(lam), np.cos(lam))
    dec = np.arcsin(np.sin(eps) * np.sin(lam))
    ha = ra - gmst_rad(t_unix)  # right ascension less GMST: longitude of the sub-solar point, negated
    sun = np.stack([np.cos(dec) * np.cos(ha), np.cos(dec) * np.sin(ha), np.sin(dec)], axis=-1)
    up = np.asarray(station.enu_basis()[2])
    return np.degrees(np.arcsin(np.clip(sun @ up, -1.0, 1.0)))


# --- small vector helpers --------------------------------------------------------------------

def _dot(a, b):
    return np.einsum("...i,...i->...", a, b)


def _norm(a):
    return np.sqrt(_dot(a, a))


def _rot_z(vec, theta):
    """Frame rotation R3(theta): the coordinates of ``vec`` in a frame turned by theta about z."""
    c, s = np.cos(theta), np.sin(theta)
    out = np.empty_like(vec)
    out[..., 0] = c * vec[..., 0] + s * vec[..., 1]
    out[..., 1] = -s * vec[..., 0] + c * vec[..., 1]
    out[..., 2] = vec[..., 2]
    return out


def _omega_cross(r):
    """omega_E z-hat x r."""
    out = np.zeros_like(r)
    out[..., 0] = -OMEGA_EARTH_RAD_S * r[..., 1]
    out[..., 1] = OMEGA_EARTH_RAD_S * r[..., 0]
    return out


def teme_to_ecef(r_teme, v_teme, t_unix, dut1_s: float = 0.0):
    """TEME position (km) and velocity (km/s) to ECEF; the velocity loses omega_E x r."""
    theta = gmst_rad(t_unix, dut1_s)
    r = _rot_z(np.asarray(r_teme, float), theta)
    v = _rot_z(np.asarray(v_teme, float), theta) - _omega_cross(r)
    return r, v


def ecef_to_teme(r_ecef, v_ecef, t_unix, dut1_s: float = 0.0):
    """ECEF position and velocity to TEME (the inverse of ``teme_to_ecef``)."""
    theta = gmst_rad(t_unix, dut1_s)
    r = np.asarray(r_ecef, float)
    v = np.asarray(v_ecef, float) + _omega_cross(r)
    return _rot_z(r, -theta), _rot_z(v, -theta)


def ecef_to_geodetic(r_ecef):
    """ECEF (km) to WGS84 geodetic latitude (deg), longitude (deg) and height (km).

    Fixed-point iteration on latitude (converges to < 1e-12 rad in 5 steps away from the poles).
    """
    from sim.stations import WGS84_A_KM, WGS84_E2

    r = np.asarray(r_ecef, float)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - WGS84_E2))
    for _ in range(6):
        s = np.sin(lat)
        n = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * s * s)
        lat = np.arctan2(z + WGS84_E2 * n * s, p)
    s = np.sin(lat)
    n = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * s * s)
    h = np.where(np.abs(np.cos(lat)) > 1e-9, p / np.cos(lat) - n, np.abs(z) - n * (1.0 - WGS84_E2))
    return np.degrees(lat), np.degrees(np.arctan2(y, x)), h


def station_teme(station: Station, t_unix, dut1_s: float = 0.0):
    """The station's inertial (TEME) position (km) and velocity omega_E x r (km/s)."""
    t = np.asarray(t_unix, float)
    g = np.broadcast_to(np.array(station.ecef_km()), t.shape + (3,))
    return ecef_to_teme(g, np.zeros_like(g), t, dut1_s)


# --- results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Look:
    """The satellite seen from a station (arrays shaped like the times)."""

    range_km: np.ndarray
    range_rate_km_s: np.ndarray  # positive when receding
    elevation_deg: np.ndarray
    azimuth_deg: np.ndarray  # from north through east, [0, 360)
    elevation_rate_deg_s: np.ndarray
    los_ecef: np.ndarray  # (..., 3) unit vector from the satellite to the station, ECEF


@dataclass(frozen=True)
class PayloadAngles:
    """Direction from the satellite to a station in the payload (LVLH) frame, and its rate."""

    az_urad: np.ndarray  # about z from +x towards +y, (-pi, pi]
    el_urad: np.ndarray  # from the x-y plane towards +z (nadir = 1,570,796)
    az_rate_urad_s: np.ndarray
    el_rate_urad_s: np.ndarray


@dataclass(frozen=True)
class Pass:
    station: Station
    rise_unix: float
    culmination_unix: float
    set_unix: float
    max_elevation_deg: float

    @property
    def duration_s(self) -> float:
        return self.set_unix - self.rise_unix


@dataclass(frozen=True)
class CommonPass:
    """An interval in which both stations see the satellite above the elevation mask."""

    station_a: Station
    station_b: Station
    start_unix: float
    end_unix: float
    max_elevation_a_deg: float  # highest elevation from station_a within [start, end]
    max_elevation_b_deg: float

    @property
    def duration_s(self) -> float:
        return self.end_unix - self.start_unix


EPHEMERIS_DTYPE = np.dtype([
    ("t_s", np.float64),  # offset from t0
    ("az_urad", np.int32), ("el_urad", np.int32),  # payload frame, geometric direction
    ("az_rate_urad_s", np.float64), ("el_rate_urad_s", np.float64),
    ("paa_az_urad", np.float64), ("paa_el_urad", np.float64),  # point-ahead, 0.1 urad steps
    ("station_el_deg", np.float64),  # topocentric elevation: the link needs it above the mask
])


def _tle_checksum_ok(line: str) -> bool:
    total = sum(int(ch) if ch.isdigit() else (1 if ch == "-" else 0) for ch in line[:68])
    return line[68].isdigit() and total % 10 == int(line[68])


# --- the orbit -------------------------------------------------------------------------------

class Orbit:
    """A satellite's orbit from a two-line element set, propagated with SGP4."""

    def __init__(self, tle_lines, dut1_s: float = 0.0):
        lines = [ln.rstrip() for ln in tle_lines if ln.strip()]
        if len(lines) == 3:
            name, line1, line2 = lines
        elif len(lines) == 2:
            name, (line1, line2) = "", lines
        else:
            raise ValueError(f"a TLE has 2 or 3 lines, got {len(lines)}")
        for k, line in ((1, line1), (2, line2)):
            if len(line) < 69 or not line.startswith(f"{k} "):
                raise ValueError(f"TLE line {k} malformed: {line!r}")
            if not _tle_checksum_ok(line):
                raise ValueError(f"TLE line {k} fails its checksum: {line!r}")
        self.satrec = Satrec.twoline2rv(line1, line2, WGS72)
        self.name = name.strip() or f"NORAD {self.satrec.satnum}"
        self.norad_id = int(self.satrec.satnum)
        self.tle_lines = (name, line1, line2)
        self.dut1_s = float(dut1_s)
        self.epoch_unix = ((self.satrec.jdsatepoch - JD_UNIX_EPOCH) + self.satrec.jdsatepochF) * 86400.0

    @classmethod
    def from_file(cls, path, dut1_s: float = 0.0) -> "Orbit":
        return cls(Path(path).read_text().splitlines(), dut1_s)

    @classmethod
    def default(cls) -> "Orbit":
        """Micius from the 2021-04-27 TLE (sim/data/micius-2021-04-27.tle)."""
        return cls.from_file(DEFAULT_TLE)

    def __repr__(self):
        return f"Orbit({self.name!r}, NORAD {self.norad_id}, epoch {iso_utc(self.epoch_unix)})"

    # states

    def state_teme(self, t_unix):
        """Position (km) and velocity (km/s) in TEME at ``t_unix``: two arrays shaped t + (3,)."""
        t = np.asarray(t_unix, dtype=np.float64)
        flat = t.ravel()
        whole = np.floor(flat / 86400.0)
        fr = (flat - whole * 86400.0) / 86400.0
        err, r, v = self.satrec.sgp4_array(JD_UNIX_EPOCH + whole, fr)
        if np.any(err):
            k = int(np.flatnonzero(err)[0])
            code = int(err[k])
            raise ValueError(f"SGP4 failed at {iso_utc(flat[k])} (error {code}: "
                             f"{_SGP4_ERRORS.get(code, 'unknown')})")
        return r.reshape(t.shape + (3,)), v.reshape(t.shape + (3,))

    def state_ecef(self, t_unix):
        """Position (km) and velocity (km/s, relative to the rotating Earth) in ECEF."""
        r, v = self.state_teme(t_unix)
        return teme_to_ecef(r, v, t_unix, self.dut1_s)

    def subpoint(self, t_unix):
        """Geodetic latitude (deg), longitude (deg) and height above WGS84 (km) of the satellite."""
        r, _ = self.state_ecef(t_unix)
        return ecef_to_geodetic(r)

    # seen from a station

    def look(self, station: Station, t_unix) -> Look:
        """Topocentric range, range rate, elevation, azimuth and line of sight from ``station``."""
        r, v = self.state_ecef(t_unix)
        rho_vec = r - np.array(station.ecef_km())
        rho = _norm(rho_vec)
        east, north, up = (np.array(e) for e in station.enu_basis())
        e, n, u = rho_vec @ east, rho_vec @ north, rho_vec @ up
        rho_dot = _dot(rho_vec, v) / rho
        el = np.arctan2(u, np.hypot(e, n))
        sin_el_dot = (v @ up) / rho - u * rho_dot / rho**2
        return Look(
            range_km=rho,
            range_rate_km_s=rho_dot,
            elevation_deg=np.degrees(el),
            azimuth_deg=np.mod(np.degrees(np.arctan2(e, n)), 360.0),
            elevation_rate_deg_s=np.degrees(sin_el_dot / np.cos(el)),
            los_ecef=-rho_vec / rho[..., None],
        )

    def _inertial_geometry(self, station: Station, t_unix):
        r_s, v_s = self.state_teme(t_unix)
        r_g, v_g = station_teme(station, t_unix, self.dut1_s)
        return r_s, v_s, r_g, v_g

    @staticmethod
    def _acceleration(r):
        """Two-body plus J2 acceleration (km/s^2) in TEME, whose z is the Earth's axis of date.

        Only the attitude frame's rate uses it: what it leaves out (J3 and higher, drag, sun and
        moon) is below 1e-7 km/s^2 and moves the frame by below 0.02 urad/s.
        """
        rn = _norm(r)[..., None]
        zr2 = (r[..., 2:3] / rn) ** 2
        k = 1.5 * J2 * MU_KM3_S2 * R_EQ_WGS72_KM**2 / rn**5
        a = -MU_KM3_S2 * r / rn**3
        a[..., :2] -= k * r[..., :2] * (1.0 - 5.0 * zr2)
        a[..., 2:] -= k * r[..., 2:] * (3.0 - 5.0 * zr2)
        return a

    @classmethod
    def payload_frame(cls, r, v):
        """LVLH axes x, y, z (inertial unit vectors) and their time derivatives.

        z = -r/|r|; x = the part of v perpendicular to z, normalised; y = z x x.  The
        derivatives follow from v and the J2 acceleration analytically.
        """
        a = cls._acceleration(r)
        rn = _norm(r)[..., None]
        rhat = r / rn
        z = -rhat
        z_dot = -(v - _dot(rhat, v)[..., None] * rhat) / rn
        vz = _dot(v, z)[..., None]
        w = v - vz * z
        wn = _norm(w)[..., None]
        x = w / wn
        w_dot = a - (_dot(a, z) + _dot(v, z_dot))[..., None] * z - vz * z_dot
        x_dot = (w_dot - _dot(x, w_dot)[..., None] * x) / wn
        y = np.cross(z, x)
        y_dot = np.cross(z_dot, x) + np.cross(z, x_dot)
        return (x, y, z), (x_dot, y_dot, z_dot)

    def _payload_geometry(self, station, t_unix):
        r_s, v_s, r_g, v_g = self._inertial_geometry(station, t_unix)
        rho_vec = r_g - r_s
        rho = _norm(rho_vec)[..., None]
        u = rho_vec / rho
        rho_vec_dot = v_g - v_s
        u_dot = (rho_vec_dot - _dot(u, rho_vec_dot)[..., None] * u) / rho  # (v_g - v_s)_perp / rho
        axes, axes_dot = self.payload_frame(r_s, v_s)
        d = np.stack([_dot(ax, u) for ax in axes], axis=-1)
        d_dot = np.stack([_dot(axd, u) + _dot(ax, u_dot) for ax, axd in zip(axes, axes_dot)], axis=-1)
        return axes, u, u_dot, rho[..., 0], d, d_dot

    def payload_angles(self, station: Station, t_unix) -> PayloadAngles:
        """Turntable azimuth/elevation (urad) of the station from the satellite, and their rates.

        The rates are analytic (LVLH frame rate from the state and the J2 acceleration,
        line-of-sight rate from the inertial relative velocity).  The azimuth is undefined at
        nadir and its rate grows as 1 / cos(el) near it.
        """
        _, _, _, _, d, d_dot = self._payload_geometry(station, t_unix)
        dx, dy, dz = d[..., 0], d[..., 1], d[..., 2]
        dxd, dyd, dzd = d_dot[..., 0], d_dot[..., 1], d_dot[..., 2]
        h2 = dx * dx + dy * dy
        h = np.sqrt(h2)
        az = np.arctan2(dy, dx)
        el = np.arctan2(dz, h)
        with np.errstate(divide="ignore", invalid="ignore"):
            az_rate = (dx * dyd - dy * dxd) / h2
            el_rate = (h * dzd - dz * (dx * dxd + dy * dyd) / h) / (h2 + dz * dz)
        return PayloadAngles(az * URAD, el * URAD, az_rate * URAD, el_rate * URAD)

    def point_ahead_urad(self, station: Station, t_unix):
        """Point-ahead angle 2 (v_station - v_sat)_perp / c on the payload's (az, el) directions, urad.

        Returns ``(paa_az_urad, paa_el_urad)``: sky-angle components along increasing payload
        azimuth and elevation (see the module notes for the sign and the source).
        """
        (x, y, z), u, u_dot, rho, d, _ = self._payload_geometry(station, t_unix)
        paa = (2.0 / C_KM_S) * rho[..., None] * u_dot  # = 2 (v_g - v_s)_perp / c, rad
        az = np.arctan2(d[..., 1], d[..., 0])[..., None]
        el = np.arctan2(d[..., 2], np.hypot(d[..., 0], d[..., 1]))[..., None]
        e_az = -np.sin(az) * x + np.cos(az) * y
        e_el = -np.sin(el) * (np.cos(az) * x + np.sin(az) * y) + np.cos(el) * z
        return _dot(paa, e_az) * URAD, _dot(paa, e_el) * URAD

    # passes

    def _elevation_deg(self, station, t):
        return self.look(station, t).elevation_deg

    @staticmethod
    def _bisect(fun, lo, hi, tol_s):
        """Vectorised bisection: fun(lo) <= 0 < fun(hi) elementwise; returns midpoints to tol_s."""
        lo = np.array(lo, dtype=np.float64)
        hi = np.array(hi, dtype=np.float64)
        if lo.size == 0:
            return lo
        n = max(1, int(math.ceil(math.log2(max(float(np.max(np.abs(hi - lo))), tol_s) / tol_s))))
        for _ in range(n):
            mid = 0.5 * (lo + hi)
            pos = fun(mid) > 0
            hi = np.where(pos, mid, hi)
            lo = np.where(pos, lo, mid)
        return 0.5 * (lo + hi)

    def passes(self, station: Station, start_unix: float, days: float, min_elevation_deg: float = 10.0,
               step_s: float = 10.0, tol_s: float = 1e-3) -> list[Pass]:
        """Passes over ``station`` that rise above ``min_elevation_deg`` in [start, start + days).

        Elevation is sampled every ``step_s`` (a pass spending less than that above the mask
        may be missed; it would be useless anyway), rise and set are refined by bisection to
        ``tol_s`` and the culmination by bisection on the sign of the elevation rate.  A pass
        already in progress at ``start_unix`` is left out; one that rises before the end is
        followed until it sets.
        """
        if not days > 0:
            raise ValueError(f"days must be > 0, got {days}")
        end = start_unix + days * 86400.0
        t = start_unix + step_s * np.arange(int(math.ceil((end - start_unix + PASS_MARGIN_S) / step_s)) + 1)
        el = self._elevation_deg(station, t)
        above = el > min_elevation_deg
        rise_k = np.flatnonzero(~above[:-1] & above[1:])
        set_k = np.flatnonzero(above[:-1] & ~above[1:])
        j = np.searchsorted(set_k, rise_k + 1)
        ok = j < len(set_k)
        rise_k, set_k = rise_k[ok], set_k[j[ok]]
        def above_mask(tt):
            return self._elevation_deg(station, tt) - min_elevation_deg

        def below_mask(tt):
            return min_elevation_deg - self._elevation_deg(station, tt)

        rises = self._bisect(above_mask, t[rise_k], t[rise_k + 1], tol_s)
        sets = self._bisect(below_mask, t[set_k], t[set_k + 1], tol_s)
        keep = (rises >= start_unix) & (rises < end)
        rise_k, set_k, rises, sets = rise_k[keep], set_k[keep], rises[keep], sets[keep]
        # the highest sample of each pass brackets its culmination to +-step_s
        peaks = np.array([t[k0 + 1 + np.argmax(el[k0 + 1:k1 + 1])] for k0, k1 in zip(rise_k, set_k)],
                         dtype=np.float64)
        lo = np.maximum(rises, peaks - step_s)
        hi = np.minimum(sets, peaks + step_s)
        culms = self._bisect(lambda tt: -self.look(station, tt).elevation_rate_deg_s, lo, hi, tol_s)
        max_el = self._elevation_deg(station, culms)
        return [Pass(station, float(a), float(b), float(c), float(e))
                for a, b, c, e in zip(rises, culms, sets, max_el)]

    def common_passes(self, station_a: Station, station_b: Station, start_unix: float, days: float,
                      min_elevation_deg: float = 10.0) -> list[CommonPass]:
        """Intervals in which both stations see the satellite above the mask.

        Built from each station's passes (so an interval belongs to passes rising in the window).
        Within an interval each station's elevation is unimodal, so its maximum there is at its
        culmination when that falls inside, else at the nearer end.
        """
        pa = self.passes(station_a, start_unix, days, min_elevation_deg)
        pb = self.passes(station_b, start_unix, days, min_elevation_deg)
        out = []
        for a in pa:
            for b in pb:
                start, end = max(a.rise_unix, b.rise_unix), min(a.set_unix, b.set_unix)
                if end > start:
                    ta = min(max(a.culmination_unix, start), end)
                    tb = min(max(b.culmination_unix, start), end)
                    out.append(CommonPass(station_a, station_b, start, end,
                                          float(self._elevation_deg(station_a, ta)),
                                          float(self._elevation_deg(station_b, tb))))
        return sorted(out, key=lambda c: c.start_unix)

    # what the ground uploads

    def ephemeris_table(self, station: Station, t0_unix: float, duration_s: float, step_s: float) -> np.ndarray:
        """Open-loop pointing table for ``station`` from t0 every ``step_s`` over ``duration_s``.

        A structured array (EPHEMERIS_DTYPE): t_s offsets 0, step, ... up to duration; payload
        az/el in whole urad (geometric direction) and their rates; point-ahead components rounded
        to 0.1 urad; the station's elevation, so the ground can see where the link is usable.
        """
        if not step_s > 0:
            raise ValueError(f"step_s must be > 0, got {step_s}")
        if not duration_s >= 0:
            raise ValueError(f"duration_s must be >= 0, got {duration_s}")
        n = int(math.floor(duration_s / step_s + 1e-9)) + 1
        t_s = step_s * np.arange(n, dtype=np.float64)
        t = t0_unix + t_s
        ang = self.payload_angles(station, t)
        paa_az, paa_el = self.point_ahead_urad(station, t)
        table = np.zeros(n, dtype=EPHEMERIS_DTYPE)
        table["t_s"] = t_s
        table["az_urad"] = np.rint(ang.az_urad)
        table["el_urad"] = np.rint(ang.el_urad)
        table["az_rate_urad_s"] = ang.az_rate_urad_s
        table["el_rate_urad_s"] = ang.el_rate_urad_s
        table["paa_az_urad"] = np.round(paa_az, 1)
        table["paa_el_urad"] = np.round(paa_el, 1)
        table["station_el_deg"] = self._elevation_deg(station, t)
        return table
