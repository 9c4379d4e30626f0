"""The quantum downlinks and the stations' chain, without the flight software: synthetic passes.

A straight-line geometry (ranges changing at orbital speed), a steady source
and known station clocks go through sim/photon_channel.py into time-tag files;
the ground chain (ground_segment/bbm92.py) must recover the coincidences, the
QBER and S the simulator put there, from the files alone.
"""

import math
from dataclasses import replace

import numpy as np
import pytest

from ground_segment import bbm92, clock_sync, timetags
from sim import quantum_link as ql
from sim.photon_channel import PhotonChannel

T0_UNIX = 1_619_546_346.25  # a fractional start, as a real pass has


class LineGeometry:
    """Two stations whose ranges change linearly (one closing, one opening), elevations fixed."""

    def __init__(self, duration_s, r0_km=(900.0, 1200.0), rate_km_s=(-5.0, 3.0), el_deg=(40.0, 30.0)):
        self.t_s = np.arange(0.0, duration_s + 1.0, 0.1)
        self.range_km = np.array([r + v * self.t_s for r, v in zip(r0_km, rate_km_s)])
        self.el_deg = np.array([np.full_like(self.t_s, e) for e in el_deg])


def _station(**kw):
    base = dict(aperture_m=1.2, eta_rx=0.3, background_hz=3000.0, zenith_transmission=0.85,
                clock_offset_s=2.4e-6, clock_drift=3e-8, photon_delay_ns=53.0, sync_delay_ns=12.0)
    base.update(kw)
    return ql.StationOptics(**base)


STATIONS = [("A", _station()), ("B", _station(clock_offset_s=-1.7e-6, clock_drift=-5e-8, photon_delay_ns=117.0,
                                              sync_delay_ns=31.0))]
LINK = ql.Downlink(divergence_urad=10.0, tx_efficiency=0.7)


def light_times(duration_s=30.0):
    """The stations' predicted light time at a tag time (the synthetic geometry's, exactly)."""
    geo = LineGeometry(duration_s)
    frac = T0_UNIX - math.floor(T0_UNIX)
    return [lambda t_ps, b=b: float(np.interp(t_ps * 1e-12 - frac, geo.t_s, geo.range_km[b])) * 1e15 / ql.C_M_S
            for b in (0, 1)]


def _run(tmp_path, mode="key", eve=0.0, seed=3, duration_s=30.0, rate_hz=1e7, phase=0.0, visibility=0.97,
         sync=True):
    geo = LineGeometry(duration_s)
    dt = 1e-3
    n = int(duration_s / dt)
    chan = PhotonChannel(np.random.default_rng(seed), LINK, STATIONS, 0.1, visibility, mode=mode, eve_fraction=eve)
    src_t = np.arange(0.0, duration_s, 0.1)
    ones = np.ones(len(src_t), bool)
    det, truth = chan.run(T0_UNIX, geo, dt, np.full((2, n), 0.5), src_t, np.full(len(src_t), rate_hz),
                          np.full(len(src_t), phase), ones, ones if sync else ~ones)
    epoch = math.floor(T0_UNIX)
    paths = []
    for name, (t_run, ch) in det.items():
        p = tmp_path / f"{name}.tags"
        timetags.write(p, name, epoch, np.rint((t_run + (T0_UNIX - epoch)) * 1e12).astype(np.int64), ch,
                       sync_period_ps=100_000_000, mode=mode)
        paths.append(p)
    tags = [timetags.read(p) for p in paths]
    return tags, truth


def test_link_budget_pieces():
    # diffraction: w = 5 urad x 1000 km = 5 m; a 1.2 m aperture collects 1 - exp(-2 0.36 / 25)
    assert ql.diffraction_efficiency(1e6, 10.0, 1.2) == pytest.approx(1 - math.exp(-2 * 0.36 / 25.0))
    assert ql.pointing_efficiency(2.5, 10.0) == pytest.approx(math.exp(-0.5))
    assert ql.air_mass(90.0) == pytest.approx(1.0, abs=1e-3)
    assert 5.5 < ql.air_mass(10.0) < 5.7  # Kasten-Young at 10 deg
    assert ql.atmosphere_transmission(90.0, 0.85) == pytest.approx(0.85, rel=1e-3)
    with pytest.raises(ValueError, match="background_hz"):
        _station(background_hz=-1.0).check("X")
    with pytest.raises(ValueError, match="loss must be >= 0"):
        _station(zenith_transmission=1.2).check("X")


def test_stations_recover_pairs_and_qber(tmp_path):
    (a, b), truth = _run(tmp_path)
    pd = bbm92.process_pass(a, b, "key", 1000, light_times())
    assert pd.note == ""
    assert pd.link_s == pytest.approx(30.0, abs=0.2)
    # every true pair found (the window holds > 4 sigma of the jitter), plus the accidentals
    acc_expected = 2 * truth.expected_accidentals_sifted
    assert pd.coincidences == pytest.approx(truth.pairs_both + acc_expected, abs=4 * math.sqrt(acc_expected) + 5)
    n = len(pd.alice_bits)
    qber = float(np.mean(pd.alice_bits != pd.bob_bits))
    assert n == pytest.approx(truth.sifted_pairs + truth.expected_accidentals_sifted, rel=0.03)
    assert qber == pytest.approx(truth.qber, abs=3 * math.sqrt(truth.qber / n))
    # the sync pulses took out the clocks' drifts (3e-8 and -5e-8): nothing left for the photons
    assert abs(pd.drift) < 1e-9
    # the classical channel carried B's tags to A and the sifting back
    assert pd.messages_bits[0] > 64 * 1000


def test_eavesdropper_raises_the_error_rate(tmp_path):
    (a, b), truth = _run(tmp_path, eve=1.0)
    pd = bbm92.process_pass(a, b, "key", 1000, light_times())
    qber = float(np.mean(pd.alice_bits != pd.bob_bits))
    # intercept-resend of every photon: 25 % on the true pairs, on top of the intrinsic errors
    assert truth.eve_intercepted == truth.pairs_both
    assert qber > 0.2
    assert qber == pytest.approx(truth.qber, abs=0.03)


def test_bell_mode_violates_chsh(tmp_path):
    (a, b), truth = _run(tmp_path, mode="bell")
    pd = bbm92.process_pass(a, b, "bell", 1000, light_times())
    s, sigma = bbm92.chsh(pd.bell_counts)
    # 2 sqrt(2) V for the pairs, 0 for the accidentals the window lets in
    acc = 2 * truth.expected_accidentals_sifted
    expected = 2 * math.sqrt(2) * 0.97 * truth.pairs_both / (truth.pairs_both + acc)
    assert s == pytest.approx(expected, abs=3 * sigma)
    assert (s - 2) / sigma > 5
    # an intercept-resend eavesdropper breaks the entanglement: no violation
    (a, b), _ = _run(tmp_path, mode="bell", eve=1.0, seed=4)
    s_eve, sigma_eve = bbm92.chsh(bbm92.process_pass(a, b, "bell", 1000, light_times()).bell_counts)
    assert s_eve < 2.0 + 2 * sigma_eve


def test_without_sync_pulses_the_pass_says_so(tmp_path):
    (a, b), _ = _run(tmp_path, sync=False, duration_s=5.0)
    pd = bbm92.process_pass(a, b, "key", 1000, light_times())
    assert pd.coincidences == 0
    assert "sync pulses" in pd.note


def test_time_tag_files(tmp_path):
    p = tmp_path / "s.tags"
    timetags.write(p, "X", 100, [5, 3, 9], [4, 0, 1], sync_period_ps=100)
    t = timetags.read(p)
    assert t.t_ps.tolist() == [3, 5, 9] and t.channel.tolist() == [0, 4, 1]
    assert t.sync().tolist() == [5]
    timetags.write(p, "X", 100, [], [], sync_period_ps=100)
    with pytest.raises(ValueError, match="empty"):
        timetags.read(p)
    p.write_bytes(b"garbage\n")
    with pytest.raises(ValueError, match="not a time-tag file"):
        timetags.read(p)
    timetags.write(p, "X", 100, [1, 2], [0, 0], sync_period_ps=100)
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        timetags.read(p)


def test_sync_mapping_is_exact_for_a_moving_satellite():
    """Pulses every 100 us, light time growing 10 us/s, 10 % of pulses lost: photons map to emission time."""
    rng = np.random.default_rng(1)
    period = 100_000_000
    n = np.arange(200_000)
    emit = n * period
    light = 3_000_000_000 + 1e-5 * emit  # ps
    seen = rng.random(len(n)) > 0.1
    sync = np.rint(emit + light + 12_000 + rng.normal(0, 100, len(n)))[seen].astype(np.int64)
    t_emit = np.sort(rng.uniform(emit[200], emit[-200], 1000))
    t_tag = t_emit + 3_000_000_000 + 1e-5 * t_emit + 53_000
    mapped, keep = clock_sync.map_to_satellite(t_tag, sync, period)
    assert keep.all()
    resid = mapped - t_emit
    # a whole number of periods (the first pulse's number) plus the detectors' delay difference
    k = np.rint(np.median(resid) / period)
    assert np.std(resid) < 20.0  # ps
    assert np.median(resid) - k * period == pytest.approx(53_000 - 12_000, abs=50)
    with pytest.raises(clock_sync.SyncError, match="too few"):
        clock_sync.map_to_satellite(t_tag, sync[:10], period)


def test_bad_parameters_refused():
    with pytest.raises(ValueError, match="mode"):
        PhotonChannel(np.random.default_rng(0), LINK, STATIONS, 0.1, 0.97, mode="qkd")
    with pytest.raises(ValueError, match="fraction"):
        PhotonChannel(np.random.default_rng(0), LINK, STATIONS, 0.1, 0.97, eve_fraction=1.5)
    with pytest.raises(ValueError, match="divergence"):
        PhotonChannel(np.random.default_rng(0), replace(LINK, divergence_urad=-1.0), STATIONS, 0.1, 0.97)
