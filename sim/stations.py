"""Optical ground stations of the Micius network, and their geodetic-to-ECEF geometry.

Coordinates are geodetic on the WGS84 ellipsoid; the positions come from ECEF
(Earth-centred, Earth-fixed) formulas that need nothing but ``math``, so the
command line can validate a station name without importing numpy.

Parameters and where each comes from:

==================  =====================  ==============================================
name                value                  source
==================  =====================  ==============================================
WGS84_A_KM          6378.137 km            WGS84 semi-major axis (NIMA TR8350.2, 3rd ed.,
                                           2000, table 3.1)
WGS84_F             1 / 298.257223563      WGS84 flattening (same table)
Delingha            37 22'44.43"N          shared/REFERENCES.md (Yin et al., Nature 582,
                    97 43'37.01"E 3,153 m  501, 2020, and the USTC release on the network)
Nanshan             43 28'31.66"N          shared/REFERENCES.md (same sources)
                    87 10'36.07"E 2,028 m
Lijiang             26 41'38.15"N          shared/REFERENCES.md; REFERENCES gives no
                    100 01'45.55"E         height: 3,193 m is the Gaomeigu site of the
                    3,193 m                Yunnan Observatories that hosts the station
                                           (Xinhua, 14 June 2001) -- an assumption
Ngari               32 19'30.07"N          shared/REFERENCES.md; REFERENCES gives no
                    80 01'34.18"E          height: about 5,100 m is the altitude given
                    5,100 m                for the Ngari station in Ren et al., Nature
                                           549, 70 (2017) -- an assumption
==================  =====================  ==============================================

The heights are treated as heights above the ellipsoid.  The published ones are
probably above sea level; the geoid lies some tens of metres below the ellipsoid
in western China (EGM96 undulation about -30 to -50 m), which moves a station by
well under 0.1 km: negligible beside the ~1 km error of a TLE at its epoch.
"""

import math
from dataclasses import dataclass

WGS84_A_KM = 6378.137
WGS84_F = 1.0 / 298.257223563
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)  # first eccentricity squared


def dms(deg: int, minutes: int, seconds: float) -> float:
    """Degrees, arc-minutes and arc-seconds (all >= 0) to decimal degrees."""
    return deg + minutes / 60.0 + seconds / 3600.0


def geodetic_to_ecef_km(lat_deg: float, lon_deg: float, alt_m: float) -> tuple[float, float, float]:
    """WGS84 geodetic latitude, longitude, height to ECEF (km).

    x = (N + h) cos(phi) cos(lambda), y = (N + h) cos(phi) sin(lambda),
    z = (N (1 - e^2) + h) sin(phi), with N = a / sqrt(1 - e^2 sin^2 phi) the prime-vertical
    radius of curvature (the standard closed form, e.g. NIMA TR8350.2 eq. 4-14).
    """
    phi = math.radians(lat_deg)
    lam = math.radians(lon_deg)
    h_km = alt_m / 1000.0
    s = math.sin(phi)
    n = WGS84_A_KM / math.sqrt(1.0 - WGS84_E2 * s * s)
    return ((n + h_km) * math.cos(phi) * math.cos(lam),
            (n + h_km) * math.cos(phi) * math.sin(lam),
            (n * (1.0 - WGS84_E2) + h_km) * s)


@dataclass(frozen=True)
class Station:
    """An optical ground station: WGS84 geodetic position and where the numbers come from."""

    name: str
    lat_deg: float  # geodetic latitude, north positive
    lon_deg: float  # longitude, east positive
    alt_m: float  # height above the WGS84 ellipsoid
    source: str

    def ecef_km(self) -> tuple[float, float, float]:
        """Position in ECEF (km)."""
        return geodetic_to_ecef_km(self.lat_deg, self.lon_deg, self.alt_m)

    def enu_basis(self) -> tuple[tuple[float, float, float], ...]:
        """ECEF unit vectors (east, north, up) of the local topocentric frame.

        Up is the ellipsoid normal (geodetic vertical), which is what a telescope's
        elevation axis refers to.
        """
        phi = math.radians(self.lat_deg)
        lam = math.radians(self.lon_deg)
        sp, cp, sl, cl = math.sin(phi), math.cos(phi), math.sin(lam), math.cos(lam)
        east = (-sl, cl, 0.0)
        north = (-sp * cl, -sp * sl, cp)
        up = (cp * cl, cp * sl, sp)
        return east, north, up


_REF = "shared/REFERENCES.md (Yin et al., Nature 582, 501, 2020)"
STATIONS = {
    s.name.lower(): s
    for s in (
        Station("Delingha", dms(37, 22, 44.43), dms(97, 43, 37.01), 3153.0, _REF),
        Station("Nanshan", dms(43, 28, 31.66), dms(87, 10, 36.07), 2028.0, _REF),
        Station("Lijiang", dms(26, 41, 38.15), dms(100, 1, 45.55), 3193.0,
                "lat/lon " + _REF + "; height 3,193 m of the Gaomeigu site (Xinhua 2001), assumed"),
        Station("Ngari", dms(32, 19, 30.07), dms(80, 1, 34.18), 5100.0,
                "lat/lon " + _REF + "; height about 5,100 m (Ren et al., Nature 549, 70, 2017), assumed"),
    )
}


def known_stations() -> list[str]:
    return [s.name for s in STATIONS.values()]


def get_station(name: str) -> Station:
    """The station called ``name`` (case-insensitive); ValueError naming the known ones otherwise."""
    try:
        return STATIONS[name.strip().lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown station {name!r}; known: {', '.join(known_stations())}") from None
