"""Orbit geometry and pass prediction (sim/orbit.py, sim/stations.py) against independent checks."""

import math

import numpy as np
import pytest

from sim.orbit import (C_KM_S, MU_KM3_S2, Orbit, ecef_to_geodetic, ecef_to_teme, gmst_rad, iso_utc, parse_utc,
                       station_teme, teme_to_ecef)
from sim.stations import WGS84_A_KM, WGS84_F, Station, get_station

MASK_DEG = 10.0


@pytest.fixture(scope="module")
def orbit():
    return Orbit.default()


@pytest.fixture(scope="module")
def delingha():
    return get_station("Delingha")


@pytest.fixture(scope="module")
def passes_2d(orbit, delingha):
    return orbit.passes(delingha, orbit.epoch_unix, 2.0, MASK_DEG)


@pytest.fixture(scope="module")
def high_pass(passes_2d):
    return max(passes_2d, key=lambda p: p.max_elevation_deg)


def _unit(a):
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def _perp(v, n):
    return v - np.sum(v * n, axis=-1, keepdims=True) * n


def _lvlh(r, v):
    """The payload frame built independently: z nadir, y negative orbit normal, x = y cross z."""
    z = -_unit(r)
    y = -_unit(np.cross(r, v))
    return np.cross(y, z), y, z


# --- orbit --------------------------------------------------------------------------------------

def test_default_tle_is_micius_2021(orbit):
    assert orbit.norad_id == 41731 and orbit.name == "MICIUS (QUESS)"
    assert iso_utc(orbit.epoch_unix).startswith("2021-04-27T10:09")


def test_period_and_altitude_near_epoch(orbit):
    t = orbit.epoch_unix + np.arange(-43200.0, 43200.0, 30.0)
    r, v = orbit.state_teme(t)
    # osculating period from the state (vis-viva)
    a = 1.0 / (2.0 / np.linalg.norm(r, axis=1) - np.sum(v * v, axis=1) / MU_KM3_S2)
    period_min = 2 * math.pi * np.sqrt(a**3 / MU_KM3_S2) / 60.0
    assert np.all(np.abs(period_min - 94.4) < 1.0)
    # nodal period: time between successive ascending-node crossings of the propagated orbit
    z = r[:, 2]
    k = np.flatnonzero((z[:-1] < 0) & (z[1:] >= 0))
    t_node = t[k] - z[k] * (t[k + 1] - t[k]) / (z[k + 1] - z[k])
    nodal_min = np.diff(t_node) / 60.0
    assert len(nodal_min) >= 13 and np.all(np.abs(nodal_min - 94.4) < 1.0)
    # geodetic altitude stays in the 500 km class
    _, _, h = orbit.subpoint(t)
    assert 480.0 < h.min() and h.max() < 520.0
    # sun-synchronous inclination, from the angular momentum
    hvec = np.cross(r, v)
    inc = np.degrees(np.arccos(hvec[:, 2] / np.linalg.norm(hvec, axis=1)))
    assert np.all(np.abs(inc - 97.4) < 0.2)


def test_shapes_follow_the_times(orbit):
    t = orbit.epoch_unix + np.zeros((2, 3))
    r, v = orbit.state_ecef(t)
    assert r.shape == v.shape == (2, 3, 3)
    r0, _ = orbit.state_ecef(orbit.epoch_unix)
    assert r0.shape == (3,) and np.allclose(r[1, 2], r0)


def test_gmst_and_teme_to_ecef_match_vallado():
    # Vallado, Fundamentals of Astrodynamics (4th ed.), example 3-5: 1992-08-20 12:14 UT1
    assert float(np.degrees(gmst_rad(parse_utc("1992-08-20T12:14:00")))) == pytest.approx(152.578787886, abs=1e-6)
    # Vallado et al. 2006 (AIAA 2006-6753) TEME example, 2004-04-06 07:51:28.386009 UTC,
    # DUT1 = -0.4399619 s: its pseudo-Earth-fixed vectors (no polar motion)
    t = parse_utc("2004-04-06T07:51:28.386009Z")
    r_teme = np.array([5094.18016210, 6127.64465950, 6380.34453270])
    v_teme = np.array([-4.746131487, 0.785818041, 5.531931288])
    r, v = teme_to_ecef(r_teme, v_teme, t, dut1_s=-0.4399619)
    assert np.allclose(r, [-1033.4750313, 7901.3055856, 6380.3445327], atol=1e-4)
    assert np.allclose(v, [-3.225632747, -2.872442511, 5.531931288], atol=1e-8)
    r2, v2 = ecef_to_teme(r, v, t, dut1_s=-0.4399619)
    assert np.allclose(r2, r_teme, atol=1e-9) and np.allclose(v2, v_teme, atol=1e-12)


def test_ecef_velocity_is_the_derivative_of_ecef_position(orbit):
    t = orbit.epoch_unix + np.array([0.0, 1000.0, 4000.0])
    h = 0.01
    _, v = orbit.state_ecef(t)
    fd = (orbit.state_ecef(t + h)[0] - orbit.state_ecef(t - h)[0]) / (2 * h)
    # km/s: the omega_E x r term (~0.5 km/s) is in; SGP4's own velocity differs from the derivative of
    # its position by ~1e-5 km/s (its short-period velocity terms are approximate)
    assert np.max(np.abs(fd - v)) < 5e-5


def test_time_text_round_trip():
    t = parse_utc("2021-04-27T10:09:19.801Z")
    assert iso_utc(t, 3) == "2021-04-27T10:09:19.801Z"
    assert parse_utc("2021-04-27T18:09:19.801+08:00") == t
    assert parse_utc("2021-04-27") == parse_utc("2021-04-27T00:00:00Z")
    with pytest.raises(ValueError):
        parse_utc("2021-13-01")


def test_bad_tle_rejected():
    good = Orbit.default().tle_lines
    corrupt = good[2][:20] + ("1" if good[2][20] != "1" else "2") + good[2][21:]
    with pytest.raises(ValueError, match="checksum"):
        Orbit([good[0], good[1], corrupt])
    with pytest.raises(ValueError, match="2 or 3 lines"):
        Orbit(["just one line"])


# --- stations -----------------------------------------------------------------------------------

def test_station_coordinates_from_references():
    d = get_station("DELINGHA")
    assert d.lat_deg == 37 + 22 / 60 + 44.43 / 3600 and d.lon_deg == 97 + 43 / 60 + 37.01 / 3600
    assert d.alt_m == 3153.0
    n = get_station("nanshan")
    assert n.lat_deg == 43 + 28 / 60 + 31.66 / 3600 and n.lon_deg == 87 + 10 / 60 + 36.07 / 3600
    assert {get_station(s).name for s in ("lijiang", "Ngari")} == {"Lijiang", "Ngari"}
    assert all(get_station(s).source for s in ("delingha", "nanshan", "lijiang", "ngari"))
    with pytest.raises(ValueError, match="known: Delingha, Nanshan, Lijiang, Ngari"):
        get_station("Graz")
    # Delingha-Nanshan: 1,120 km apart (Yin et al. 2020)
    chord = np.linalg.norm(np.subtract(d.ecef_km(), n.ecef_km()))
    assert chord == pytest.approx(1120.0, abs=5.0)


def test_station_ecef_by_hand():
    # hand computation for Delingha: phi = 37.379008 deg, lambda = 97.726947 deg, h = 3.153 km;
    # e^2 = f (2 - f) = 0.00669438; N = a / sqrt(1 - e^2 sin^2 phi) = 6386.01974 km;
    # x = (N + h) cos phi cos lambda, y = (N + h) cos phi sin lambda, z = (N (1 - e^2) + h) sin phi
    assert get_station("delingha").ecef_km() == pytest.approx((-682.62396, 5030.97421, 3852.81617), abs=1e-5)
    eq = Station("equator", 0.0, 0.0, 0.0, "test")
    assert eq.ecef_km() == pytest.approx((WGS84_A_KM, 0.0, 0.0), abs=1e-9)
    pole = Station("pole", 90.0, 0.0, 1000.0, "test")
    assert pole.ecef_km() == pytest.approx((0.0, 0.0, WGS84_A_KM * (1 - WGS84_F) + 1.0), abs=1e-9)
    # and back
    lat, lon, h = ecef_to_geodetic(np.array(get_station("delingha").ecef_km()))
    assert (float(lat), float(lon), float(h)) == pytest.approx((37.379008333, 97.726947222, 3.153), abs=1e-8)


# --- looking at the satellite -------------------------------------------------------------------

def test_satellite_overhead_is_at_zenith_and_range_is_altitude(orbit):
    t = orbit.epoch_unix + 1234.0
    lat, lon, h = orbit.subpoint(t)
    below = Station("below", float(lat), float(lon), 0.0, "test")
    look = orbit.look(below, t)
    assert float(look.elevation_deg) > 89.999
    assert float(look.range_km) == pytest.approx(float(h), abs=1e-6)
    assert 480 < float(look.range_km) < 520
    r, _ = orbit.state_ecef(t)
    assert np.allclose(look.los_ecef, -_unit(r - np.array(below.ecef_km())))


def test_range_follows_the_spherical_earth_law(orbit, delingha, passes_2d):
    t = np.concatenate([np.arange(p.rise_unix, p.set_unix, 5.0) for p in passes_2d])
    look = orbit.look(delingha, t)
    r, v = orbit.state_ecef(t)
    g = np.array(delingha.ecef_km())
    big_r = np.linalg.norm(g)  # local (geocentric) radius of the station
    sat_r = np.linalg.norm(r, axis=1)

    def law(e_rad):
        return np.sqrt(sat_r**2 - (big_r * np.cos(e_rad)) ** 2) - big_r * np.sin(e_rad)

    # look() measures elevation from the geodetic vertical, which leans from the geocentric one by
    # the deflection delta (0.185 deg at Delingha): the range must lie between law(e -+ delta)
    delta = math.acos(np.dot(g / big_r, delingha.enu_basis()[2]))
    assert 0.0030 < delta < 0.0034
    e = np.radians(look.elevation_deg)
    assert np.all(law(e + delta) - 1e-6 <= look.range_km) and np.all(look.range_km <= law(e - delta) + 1e-6)
    assert np.max(np.abs(law(e) - look.range_km) / look.range_km) < 0.01
    # range 500-1,700 km over passes above 10 deg
    assert 480 < look.range_km.min() and look.range_km.max() < 1750
    # range rate is the derivative of range
    h = 0.05
    fd = (orbit.look(delingha, t + h).range_km - orbit.look(delingha, t - h).range_km) / (2 * h)
    assert np.max(np.abs(fd - look.range_rate_km_s)) < 5e-5  # SGP4 velocity vs position: ~1e-5 km/s
    assert np.max(np.abs(look.range_rate_km_s)) < 7.7


# --- passes -------------------------------------------------------------------------------------

def test_passes_rise_culminate_set(orbit, delingha, passes_2d):
    assert 3 <= len(passes_2d) <= 12
    start = orbit.epoch_unix
    for p in passes_2d:
        assert start <= p.rise_unix < p.culmination_unix < p.set_unix
        el_rise, el_set, el_max = orbit.look(delingha, [p.rise_unix, p.set_unix, p.culmination_unix]).elevation_deg
        assert abs(el_rise - MASK_DEG) < 0.05 and abs(el_set - MASK_DEG) < 0.05
        assert el_max == pytest.approx(p.max_elevation_deg, abs=1e-9)
        # refined to < 0.1 s: the mask is crossed within +-0.05 s of rise and set
        a, b, c, d = orbit.look(delingha, [p.rise_unix - 0.05, p.rise_unix + 0.05,
                                           p.set_unix - 0.05, p.set_unix + 0.05]).elevation_deg
        assert a < MASK_DEG < b and c > MASK_DEG > d
        # the culmination is a local maximum
        around = orbit.look(delingha, p.culmination_unix + np.array([-5.0, -0.5, 0.5, 5.0])).elevation_deg
        assert np.all(around < p.max_elevation_deg)
        assert p.duration_s <= 12 * 60
        if p.max_elevation_deg > 20:
            assert 2 * 60 <= p.duration_s  # grazing passes (max < 20 deg) may be shorter
    # brute force: 1 s samples find the same passes
    t = np.arange(start, start + 2 * 86400.0 + 1800.0, 1.0)
    up = orbit.look(delingha, t).elevation_deg > MASK_DEG
    rises = t[1:][~up[:-1] & up[1:]]
    rises = rises[rises < start + 2 * 86400.0]
    assert np.allclose(rises, [p.rise_unix for p in passes_2d], atol=1.0)


def test_higher_mask_gives_fewer_shorter_passes(orbit, delingha, passes_2d):
    high = orbit.passes(delingha, orbit.epoch_unix, 2.0, min_elevation_deg=30.0)
    assert 1 <= len(high) < len(passes_2d)
    for p in high:
        el = orbit.look(delingha, [p.rise_unix, p.set_unix]).elevation_deg
        assert np.all(np.abs(el - 30.0) < 0.05)
        parent = [q for q in passes_2d if q.rise_unix < p.rise_unix and p.set_unix < q.set_unix]
        assert len(parent) == 1 and parent[0].culmination_unix == pytest.approx(p.culmination_unix, abs=0.01)
    with pytest.raises(ValueError):
        orbit.passes(delingha, orbit.epoch_unix, 0.0)


def test_delingha_and_nanshan_see_it_together(orbit, delingha):
    nanshan = get_station("Nanshan")
    common = orbit.common_passes(delingha, nanshan, orbit.epoch_unix, 7.0, MASK_DEG)
    total_s = sum(c.duration_s for c in common)
    print(f"\nDelingha-Nanshan: {len(common)} common passes in 7 days, {total_s:.0f} s of common view above 10 deg")
    assert len(common) >= 1
    for c in common:
        assert c.end_unix > c.start_unix and c.duration_s < 12 * 60
        t = np.linspace(c.start_unix, c.end_unix, 401)
        ea = orbit.look(delingha, t).elevation_deg
        eb = orbit.look(nanshan, t).elevation_deg
        assert np.all(ea > MASK_DEG - 0.05) and np.all(eb > MASK_DEG - 0.05)
        assert c.max_elevation_a_deg >= ea.max() - 1e-6 and c.max_elevation_b_deg >= eb.max() - 1e-6
        assert c.max_elevation_a_deg < ea.max() + 0.02 and c.max_elevation_b_deg < eb.max() + 0.02
        # the interval is maximal: just outside it, one station is below the mask
        for edge, sign in ((c.start_unix, -1), (c.end_unix, 1)):
            te = edge + sign * 0.05
            assert min(orbit.look(delingha, te).elevation_deg, orbit.look(nanshan, te).elevation_deg) < MASK_DEG


# --- payload frame and point-ahead --------------------------------------------------------------

def test_payload_frame_conventions(orbit):
    t = orbit.epoch_unix + 777.0
    r, v = orbit.state_teme(t)
    x, y, z = _lvlh(r, v)

    def ground_station_towards(direction_teme, name):
        """A station on the ground where the ray from the Earth's centre along the direction meets it."""
        p = 6371.0 * _unit(direction_teme)
        p_ecef, _ = teme_to_ecef(p, np.zeros(3), t)
        lat, lon, _ = ecef_to_geodetic(p_ecef)
        return Station(name, float(lat), float(lon), 0.0, "test")

    nadir = ground_station_towards(r, "nadir")
    ang = orbit.payload_angles(nadir, t)
    assert float(ang.el_urad) == pytest.approx(1570796.3, abs=30.0)  # geodetic height 0 vs ray: tiny
    beta = math.radians(4.0)
    ahead = ground_station_towards(math.cos(beta) * _unit(r) + math.sin(beta) * x, "ahead")
    right = ground_station_towards(math.cos(beta) * _unit(r) + math.sin(beta) * y, "right")
    a, b = orbit.payload_angles(ahead, t), orbit.payload_angles(right, t)
    assert abs(float(a.az_urad)) < 2000  # along +x: azimuth 0
    assert float(b.az_urad) == pytest.approx(math.pi / 2 * 1e6, abs=2000)  # along +y: +90 deg
    # payload elevation = 90 deg - the angle between nadir and the station (about 41 deg off nadir here)
    for st, s in ((ahead, a), (right, b)):
        off_nadir = math.acos(float(np.dot(z, _unit(station_teme(st, t)[0] - r))))
        assert 0.65 < off_nadir < 0.75
        assert float(s.el_urad) == pytest.approx((math.pi / 2 - off_nadir) * 1e6, abs=1e-3)


def test_payload_angles_over_a_high_pass(orbit, delingha, high_pass):
    assert high_pass.max_elevation_deg > 60
    p = high_pass
    t = np.linspace(p.rise_unix, p.set_unix, 41)
    ang = orbit.payload_angles(delingha, t)
    # at culmination the station is near nadir: off-nadir eta from the spherical law
    # sin(eta) = R cos(e) / (R + h) (~10 deg for a 79 deg pass), the payload elevation 90 deg - eta
    r, _ = orbit.state_ecef(p.culmination_unix)
    big_r = np.linalg.norm(delingha.ecef_km())
    eta = math.asin(big_r * math.cos(math.radians(p.max_elevation_deg)) / np.linalg.norm(r))
    el_culm = float(orbit.payload_angles(delingha, p.culmination_unix).el_urad)
    assert el_culm == pytest.approx((math.pi / 2 - eta) * 1e6, abs=math.radians(0.3) * 1e6)
    assert el_culm > math.radians(75) * 1e6 and el_culm >= ang.el_urad.max() - 2000
    # at the 10 deg mask the station is about 66 deg off nadir (payload elevation about 24 deg)
    assert math.radians(20) * 1e6 < ang.el_urad[0] < math.radians(28) * 1e6
    # approaching, the station is ahead (|az| < 90 deg); leaving, behind
    assert abs(ang.az_urad[0]) < math.pi / 2 * 1e6 < abs(ang.az_urad[-1])
    # the analytic rates match a centred difference
    h = 0.01
    a1, a0 = orbit.payload_angles(delingha, t + h), orbit.payload_angles(delingha, t - h)
    fd_el = (a1.el_urad - a0.el_urad) / (2 * h)
    fd_az = (a1.az_urad - a0.az_urad) / (2 * h)
    assert np.max(np.abs(fd_el - ang.el_rate_urad_s)) < 0.1
    assert np.max(np.abs(fd_az - ang.az_rate_urad_s)) < 0.1 + 1e-6 * np.max(np.abs(ang.az_rate_urad_s))
    assert np.max(np.abs(ang.el_rate_urad_s)) > 5000  # it does move: ~v/range near culmination


def test_point_ahead_over_a_pass(orbit, delingha, high_pass):
    p = high_pass
    t = np.linspace(p.rise_unix, p.set_unix, 61)
    paa_az, paa_el = orbit.point_ahead_urad(delingha, t)
    mag = np.hypot(paa_az, paa_el)
    print(f"\npoint-ahead over the {p.max_elevation_deg:.1f} deg pass: {mag.min():.1f}..{mag.max():.1f} urad")
    assert np.all(mag < 60) and mag.max() > 40 and mag.min() > 10

    # independent 1: 2 rho/c times the finite-difference rate of the inertial line of sight
    r_s, v_s = orbit.state_teme(t)
    h = 0.01

    def los(tt):
        return _unit(station_teme(delingha, tt)[0] - orbit.state_teme(tt)[0])

    rho = np.linalg.norm(station_teme(delingha, t)[0] - r_s, axis=1, keepdims=True)
    paa_fd = 2 * rho / C_KM_S * (los(t + h) - los(t - h)) / (2 * h) * 1e6
    assert np.allclose(np.linalg.norm(paa_fd, axis=1), mag, atol=0.01)

    # independent 2: light time and aberration, done explicitly.  The beam must go from the
    # satellite at t to the station at t + tau (aberrated by the satellite's velocity); the beacon
    # seen at t left the station at t - tau.  Transmit minus beacon is the point-ahead.
    def station_at(tt):
        return station_teme(delingha, tt)[0]

    tau_f = tau_b = rho[:, 0] / C_KM_S
    for _ in range(4):
        tau_f = np.linalg.norm(station_at(t + tau_f) - r_s, axis=1) / C_KM_S
        tau_b = np.linalg.norm(station_at(t - tau_b) - r_s, axis=1) / C_KM_S
    n_tx = _unit(station_at(t + tau_f) - r_s)
    n_bc = _unit(station_at(t - tau_b) - r_s)
    transmit = _unit(n_tx - _perp(v_s, n_tx) / C_KM_S)
    beacon = _unit(n_bc + _perp(v_s, n_bc) / C_KM_S)
    diff = (transmit - beacon) * 1e6
    x, y, z = _lvlh(r_s, v_s)
    ang = orbit.payload_angles(delingha, t)
    az, el = ang.az_urad[:, None] / 1e6, ang.el_urad[:, None] / 1e6
    e_az = -np.sin(az) * x + np.cos(az) * y
    e_el = -np.sin(el) * (np.cos(az) * x + np.sin(az) * y) + np.cos(el) * z
    assert np.allclose(np.sum(diff * e_az, axis=1), paa_az, atol=0.01)
    assert np.allclose(np.sum(diff * e_el, axis=1), paa_el, atol=0.01)


def test_ephemeris_table(orbit, delingha, high_pass):
    t0 = high_pass.rise_unix
    table = orbit.ephemeris_table(delingha, t0, 600.0, 10.0)
    assert table.shape == (61,)
    assert set(table.dtype.names) >= {"t_s", "az_urad", "el_urad", "paa_az_urad", "paa_el_urad"}
    assert table["az_urad"].dtype == np.int32 and table["el_urad"].dtype == np.int32
    assert np.all(np.diff(table["t_s"]) == 10.0) and table["t_s"][0] == 0.0 and table["t_s"][-1] == 600.0
    ang = orbit.payload_angles(delingha, t0 + table["t_s"])
    assert np.array_equal(table["el_urad"], np.rint(ang.el_urad).astype(np.int32))
    paa_az, _ = orbit.point_ahead_urad(delingha, t0 + table["t_s"])
    assert np.allclose(table["paa_az_urad"], paa_az, atol=0.05)
    assert np.all(np.abs(table["el_urad"]) <= 1570797) and np.all(np.abs(table["az_urad"]) <= 3141593)
    assert table["station_el_deg"][0] == pytest.approx(MASK_DEG, abs=0.05)
    assert orbit.ephemeris_table(delingha, t0, 25.0, 10.0)["t_s"].tolist() == [0.0, 10.0, 20.0]
    with pytest.raises(ValueError):
        orbit.ephemeris_table(delingha, t0, 60.0, 0.0)


def test_sun_elevation_at_delingha():
    """Low-precision Sun: local solar noon near 05:29 UTC (97.7 deg E), 90 - 37.4 + declination high."""
    from sim.orbit import parse_utc, sun_elevation_deg
    from sim.stations import get_station

    d = get_station("Delingha")
    assert float(sun_elevation_deg(d, parse_utc("2021-06-21T05:29:00Z"))) == pytest.approx(90 - 37.38 + 23.44, abs=0.3)
    assert float(sun_elevation_deg(d, parse_utc("2021-04-27T18:00:00Z"))) < -30  # local midnight


def test_scenario_passes_are_at_night():
    from sim.orbit import sun_elevation_deg
    from sim.scenarios import get_scenario

    sc = get_scenario("micius-2020")
    for cp in sc.common_passes(4):
        for st in (cp.station_a, cp.station_b):
            assert float(sun_elevation_deg(st, cp.start_unix)) < -12.0
