"""Micro-vibration profile (sim/vibration.py): levels, spectrum, tachometers, determinism."""

import numpy as np
import pytest

from sim.vibration import (DEFAULT_PROFILE, PHASE_Q16, MicroVibration, VibrationProfile,
                           expm)

DT = 1e-3
SECONDS = 120  # 12 blocks of 10,000: the 5 Hz broadband's rms is known to ~2 % over this record
HARMONICS = 3


def _record(seed=2024, seconds=SECONDS, block=10000, profile=None, beams=2):
    v = MicroVibration(np.random.default_rng(seed), DT, beams=beams, block=block, profile=profile)
    blocks = [v.next_block(components=True) for _ in range(int(seconds / (block * DT)))]
    rec = {k: np.concatenate([b[k] for b in blocks], axis=-1)
           for k in ("t_s", "x_nrad", "y_nrad", "wheel_freq_mhz", "wheel_phase_q16")}
    for name in ("wheels", "cryocooler", "broadband"):
        for ax in ("x_nrad", "y_nrad"):
            rec[name + "_" + ax] = np.concatenate([b["components"][name][ax] for b in blocks], axis=-1)
    rec["model"] = v
    return rec


@pytest.fixture(scope="module")
def rec():
    return _record()


def _channels(rec, prefix=""):
    """(beams * 2, n) in urad: x, y of beam 0, x, y of beam 1 (the model's channel order)."""
    x, y = rec[prefix + "x_nrad"], rec[prefix + "y_nrad"]
    return np.stack([x, y], axis=1).reshape(-1, x.shape[-1]) / 1000.0


def _rms(a):
    return np.sqrt(np.mean(np.square(a), axis=-1))


def test_stated_profile():
    p = DEFAULT_PROFILE
    assert p.total_urad_rms == pytest.approx(np.sqrt(84.0))  # sqrt(8^2 + 2^2 + 4^2) = 9.17
    assert p.total_urad_rms == pytest.approx(9.3, rel=0.02)  # Micius before suppression (REFERENCES)
    assert p.unreferenced_urad_rms == pytest.approx(np.sqrt(20.0))
    assert all(15.0 <= f <= 30.0 for f in p.wheel_hz)
    assert all(15.0 <= f * (1 + p.speed_variation_frac) <= 30.0 for f in p.wheel_hz)
    assert all(15.0 <= f * (1 - p.speed_variation_frac) for f in p.wheel_hz)


def test_component_and_total_rms_per_axis(rec):
    p = DEFAULT_PROFILE
    for name, stated in (("wheels_", p.wheels_urad_rms), ("cryocooler_", p.cryo_urad_rms),
                         ("broadband_", p.broadband_urad_rms), ("", p.total_urad_rms)):
        rms = _rms(_channels(rec, name))
        assert rms.shape == (4,)
        assert np.all(np.abs(rms / stated - 1) < 0.05), (name, rms)
    # the tones are deterministic in level: far tighter than 5 %
    assert np.allclose(_rms(_channels(rec, "wheels_")), 8.0, rtol=0.005)
    assert np.allclose(_rms(_channels(rec, "cryocooler_")), 2.0, rtol=0.001)
    # the broadband pooled over the four axes
    assert np.sqrt(np.mean(np.square(_channels(rec, "broadband_")))) == pytest.approx(4.0, rel=0.03)
    # components add up to the total
    tot = _channels(rec, "wheels_") + _channels(rec, "cryocooler_") + _channels(rec, "broadband_")
    assert np.allclose(tot, _channels(rec), atol=1e-9)


def test_beams_share_wheels_but_not_couplings(rec):
    v = rec["model"]
    amp = v.wheel_amp_urad_rms  # (channels, wheels, harmonics)
    assert amp.shape == (4, 3, HARMONICS)
    assert np.allclose(np.sqrt(np.sum(amp ** 2, axis=(1, 2))), 8.0)
    assert not np.allclose(amp[0], amp[2])  # beam 0 x and beam 1 x couple differently
    assert not np.allclose(v.wheel_phase[0], v.wheel_phase[2])
    assert rec["wheel_freq_mhz"].shape == (3, SECONDS * 1000)  # one set of wheels for both beams
    c = _channels(rec, "wheels_")
    assert np.all(_rms(c[:2] - c[2:]) > 2.0)  # beam 1 does not see a copy of beam 0's disturbance


def _power_spectrum(sig, dt=DT):
    """One-sided power per bin (urad^2): sums to the variance."""
    n = sig.shape[-1]
    f = np.fft.rfftfreq(n, dt)
    s = np.abs(np.fft.rfft(sig, axis=-1)) ** 2 / n ** 2
    s[..., 1:] *= 2
    if n % 2 == 0:
        s[..., -1] /= 2
    return f, s


def test_spectrum_has_wheel_harmonic_and_cryocooler_peaks(rec):
    f, s = _power_spectrum(_channels(rec))
    fw = rec["wheel_freq_mhz"] / 1000.0
    assert np.all((fw >= 15.0) & (fw <= 30.0))  # fundamentals in the reaction-wheel band
    background = np.median(s[:, (f > 10) & (f < 100)], axis=1)
    amp = rec["model"].wheel_amp_urad_rms
    bands = []  # (low Hz, high Hz, power per channel)
    for w in range(3):
        for h in range(1, HARMONICS + 1):
            # the wheel's speed drifts by a few percent: its line h f_w sweeps the band the tachometer saw
            lo, hi = h * fw[w].min() - 0.05, h * fw[w].max() + 0.05
            band = (f >= lo) & (f <= hi)
            assert np.all(s[:, band].max(axis=1) > 100 * background), (w, h)
            bands.append([lo, hi, amp[:, w, h - 1] ** 2])
    # the power in each band is that harmonic's coupled level (where two bands overlap the lines may
    # cross during the record and beat: those are left out)
    for i, (lo, hi, pw) in enumerate(bands):
        if any(j != i and lo2 <= hi and hi2 >= lo for j, (lo2, hi2, _) in enumerate(bands)):
            continue
        band = (f >= lo) & (f <= hi)
        assert np.allclose(s[:, band].sum(axis=1), pw, rtol=0.05), (lo, hi)
    # the cryocooler: a fixed line at 47.3 Hz (120 s x 47.3 Hz: a whole number of cycles, one bin)
    k = int(np.argmin(np.abs(f - 47.3)))
    assert f[k] == pytest.approx(47.3)
    near = (f > 46.0) & (f < 48.6)
    assert np.all(np.argmax(np.where(near, s, 0), axis=1) == k)
    assert np.all(s[:, k] > 0.5 * 4.0)  # most of the 2 urad rms tone's 4 urad^2 is in the line


def test_spectrum_lines_exact_at_constant_wheel_speed():
    r = _record(seed=5, seconds=20, profile={"speed_variation_frac": 0.0})
    f, s = _power_spectrum(_channels(r))
    lines = sorted([h * fw for fw in DEFAULT_PROFILE.wheel_hz for h in (1, 2, 3)] + [47.3])
    for ch in s:
        top = np.sort(f[np.argsort(np.where(f > 10, ch, 0))[-len(lines):]])
        assert np.allclose(top, lines, atol=1e-9), top
    assert np.all(r["wheel_freq_mhz"] == np.array([17500, 22000, 27500])[:, None])


def test_most_variance_below_30_hz(rec):
    f, s = _power_spectrum(_channels(rec))
    share = s[:, (f > 0) & (f < 30)].sum(axis=1) / s[:, f > 0].sum(axis=1)
    assert np.all(share > 0.5)  # Micius: "mostly below 30 Hz" (REFERENCES)
    # predicted: the wheel fundamentals of each axis plus nearly all of the broadband
    amp = rec["model"].wheel_amp_urad_rms
    predicted = (np.sum(amp[:, :, 0] ** 2, axis=1) + 16.0) / 84.0
    assert np.allclose(share, predicted, atol=0.04), (share, predicted)
    assert 0.65 < share.mean() < 0.85  # about 77 % by construction


def test_tachometer_phase_integrates_frequency(rec):
    ph = rec["wheel_phase_q16"]
    fq = rec["wheel_freq_mhz"]
    assert ph.dtype == np.int64 and fq.dtype == np.int64
    assert ph.min() >= 0 and ph.max() < PHASE_Q16
    inc = np.diff(ph, axis=1) % PHASE_Q16  # wrapping counter: increments modulo one revolution
    expect = 0.5 * (fq[:, 1:] + fq[:, :-1]) / 1000.0 * DT * PHASE_Q16
    assert np.max(np.abs(inc - expect)) < 1.5  # phase and frequency roundings only
    # the slow speed variation: a few percent, bounded
    rel = fq / (np.array(DEFAULT_PROFILE.wheel_hz)[:, None] * 1000.0) - 1
    assert np.max(np.abs(rel)) <= DEFAULT_PROFILE.speed_variation_frac + 1e-4
    assert np.all(np.ptp(rel, axis=1) > 0.002)  # it does move over two minutes


def test_least_squares_on_tachometer_phase_removes_wheels(rec):
    theta = rec["wheel_phase_q16"] / PHASE_Q16
    cols = []
    for w in range(3):
        for h in range(1, HARMONICS + 1):
            cols += [np.sin(2 * np.pi * h * theta[w]), np.cos(2 * np.pi * h * theta[w])]
    basis = np.array(cols).T  # (n, 18)
    sig = _channels(rec)
    wheels = _channels(rec, "wheels_")
    coef = np.linalg.lstsq(basis, sig.T, rcond=None)[0]
    fit = (basis @ coef).T
    resid = sig - fit
    assert np.all(np.abs(_rms(resid) / np.sqrt(20.0) - 1) < 0.05), _rms(resid)  # sqrt(2^2 + 4^2) = 4.47
    assert np.all(_rms(fit - wheels) < 0.1)  # the fit is the wheel part, to 0.1 urad
    assert np.all(_rms(resid) < 0.6 * _rms(sig))


def test_same_seed_same_output_different_seed_different():
    a = MicroVibration(np.random.default_rng(11), DT, block=3000).next_block()
    b = MicroVibration(np.random.default_rng(11), DT, block=3000).next_block()
    c = MicroVibration(np.random.default_rng(12), DT, block=3000).next_block()
    for k in ("x_nrad", "y_nrad", "wheel_freq_mhz", "wheel_phase_q16"):
        assert np.array_equal(a[k], b[k])
    assert not np.allclose(a["x_nrad"], c["x_nrad"])
    assert not np.array_equal(a["wheel_phase_q16"], c["wheel_phase_q16"])


def test_blocks_join_without_a_seam():
    one = MicroVibration(np.random.default_rng(3), DT, block=10000).next_block()
    v = MicroVibration(np.random.default_rng(3), DT, block=2500)
    parts = [v.next_block() for _ in range(4)]
    for k in ("x_nrad", "y_nrad"):
        joined = np.concatenate([p[k] for p in parts], axis=-1)
        assert np.allclose(joined, one[k], rtol=0, atol=1e-6)  # nrad
    for k in ("wheel_freq_mhz", "wheel_phase_q16", "t_s"):
        assert np.array_equal(np.concatenate([p[k] for p in parts], axis=-1), one[k])
    # an odd block length that does not fill the scan's chunks
    w = MicroVibration(np.random.default_rng(3), DT, block=777)
    odd = np.concatenate([w.next_block()["x_nrad"] for _ in range(12)], axis=-1)
    assert np.allclose(odd[:, :9324], one["x_nrad"][:, :9324], rtol=0, atol=1e-6)


def test_broadband_level_and_shape_independent_of_sample_period():
    for dt in (1e-3, 2.5e-4):
        v = MicroVibration(np.random.default_rng(9), dt, beams=2, block=int(30 / dt) // 4)
        bb = np.concatenate([v.next_block(components=True)["components"]["broadband"]["x_nrad"]
                             for _ in range(4)], axis=-1) / 1000.0
        assert np.sqrt(np.mean(bb ** 2)) == pytest.approx(4.0, rel=0.08)
        f, s = _power_spectrum(bb, dt)
        lo = s[:, (f > 0.5) & (f < 2.0)].mean()
        hi = s[:, (f > 15) & (f < 25)].mean()
        # Butterworth at 5 Hz: |H|^2 is ~1 below 2 Hz and 1/(1 + (f/5)^4) ~ 1/200 at 15-25 Hz
        assert 80 < lo / hi < 600


def test_expm_matches_closed_form():
    a = np.array([[0.0, 1.0], [-4.0, -0.4]])
    t = 0.7
    e = expm(a * t)
    # x'' + 0.4 x' + 4 x = 0 from x = 1, x' = 0
    z, wn = 0.1, 2.0
    wd = wn * np.sqrt(1 - z * z)
    x = np.exp(-z * wn * t) * (np.cos(wd * t) + z / np.sqrt(1 - z * z) * np.sin(wd * t))
    assert e[0, 0] == pytest.approx(x, rel=1e-12)
    assert np.allclose(expm(np.diag([-300.0, 2.0])), np.diag(np.exp([-300.0, 2.0])), rtol=1e-12, atol=1e-300)


def test_profile_overrides_and_validation():
    v = MicroVibration(np.random.default_rng(1), DT, profile={"cryo_urad_rms": 0.0, "wheels_urad_rms": 4.0})
    assert v.profile.cryo_urad_rms == 0.0 and v.profile.broadband_urad_rms == 4.0
    assert isinstance(v.profile, VibrationProfile)
    with pytest.raises(ValueError):
        MicroVibration(np.random.default_rng(1), DT, profile={"no_such_field": 1})
    with pytest.raises(ValueError):
        MicroVibration(np.random.default_rng(1), DT, profile={"wheel_hz": (20.0, 25.0)})


def test_block_shapes_and_types():
    d = MicroVibration(np.random.default_rng(1), DT, beams=2, block=500).next_block()
    assert d["x_nrad"].shape == d["y_nrad"].shape == (2, 500)
    assert d["x_nrad"].dtype == np.float64
    assert d["wheel_freq_mhz"].shape == d["wheel_phase_q16"].shape == (3, 500)
    assert "components" not in d


