"""Spontaneous parametric down-conversion source: PPKTP, type-II, 405 nm -> 810 nm + 810 nm.

Model
-----
Pair rate in the collected, degenerate, collinear mode (the pairs the on-board
analysers and the downlink telescopes see through their 810 nm filters)::

    R(P, T) = B * P * eta_pm(T)                                   [pairs/s]
    eta_pm(T) = sinc^2(dk(T) L / 2),   sinc(x) = sin(x) / x
    dk(T) L / 2 = x_h * 2 (T - T_c) / dT_fwhm,   x_h = 1.391557   (sinc^2(x_h) = 1/2)

with ``B`` the brightness in pairs/s/mW at perfect phase matching, ``P`` the pump
power at the crystal, ``T_c`` the phase-matching (centre) temperature and
``dT_fwhm`` the full width at half maximum of the temperature tuning curve.
Near ``T_c`` the phase mismatch is linear in temperature, ``dk(T) = k_T (T - T_c)``,
so ``dT_fwhm = 4 x_h / (k_T L)``.  ``k_T`` for first-order type-II quasi-phase
matching y(405) -> y(810) + z(810) in PPKTP is computed from published KTP data::

    k_T = 2 pi [n1_y(0.405)/0.405 - n1_y(0.810)/0.810 - n1_z(0.810)/0.810] um^-1
          + alpha_x * 2 pi / Lambda
        = 1.82e-4 um^-1/K + 0.04e-4 um^-1/K = 186 m^-1 K^-1          (at 25 C)

where ``n1(lambda)`` are the linear thermo-optic coefficients of Emanueli & Arie,
Appl. Opt. 42, 6661 (2003), ``alpha_x = 6.7e-6 /K`` the thermal expansion along
the grating (same paper) and ``Lambda = 10.1 um`` the poling period that the
Sellmeier equations of Kato & Takaoka, Appl. Opt. 41, 5040 (2002) give for this
process.  A 25 mm crystal therefore has ``dT_fwhm = 1.20 K``, a 30 mm crystal
1.00 K, a 10 mm crystal 2.99 K (:func:`temperature_fwhm_k`).  Tuning the
temperature away from ``T_c`` also moves the pairs off degeneracy; outside the
810 nm filters they are lost, which is what the sinc^2 describes.

Emission in time is a homogeneous Poisson process: over ``[t0, t0 + dt)`` the
number of pairs is ``N ~ Poisson(R dt)`` and, given ``N``, the emission times are
independent and uniform (drawn already sorted, as normalised cumulative sums of
``N + 1`` exponential variates).  Both photons of a pair leave at the same time
(the biphoton correlation time, ~ps for a 25 mm crystal, is far below detector
jitter).

Polarisation state, a Werner mixture of the target Bell state and white noise::

    rho = V |psi(phi)><psi(phi)| + (1 - V) I/4,
    |psi(phi)> = (|HV> + exp(i phi) |VH>) / sqrt(2)

``V`` is the intrinsic visibility; ``phi`` the relative phase set by the source's
birefringent optics, its drift and the liquid-crystal compensator
(sim/polarisation.py).  For linear analysers at angles ``alpha`` (arm A) and
``beta`` (arm B), the probability that A exits the port at ``alpha + j pi/2`` and B
the port at ``beta + k pi/2`` is, with ``a = alpha + j pi/2``, ``b = beta + k pi/2``::

    p_jk = V * [cos^2 a sin^2 b + sin^2 a cos^2 b + (1/2) sin 2a sin 2b cos phi] / 2
           + (1 - V) / 4

so that the correlation ``E = p_00 + p_11 - p_01 - p_10`` is
``V (-cos 2alpha cos 2beta + sin 2alpha sin 2beta cos phi)``: visibility ``V`` in
H/V, ``V cos phi`` in D/A, and a CHSH value ``|S| = 2 sqrt(2) V`` at
:data:`CHSH_ANGLES_RAD` when ``phi = 0`` (for this state the correlation depends on
``alpha + beta``, so B's angles are mirrored relative to the textbook |Phi+> set).

Parameters (defaults; the presets in sim/presets.py override them)
-------------------------------------------------------------------
=========================  =========  ===========================================
name                       default    source
=========================  =========  ===========================================
pump / signal wavelength   405/810nm  Micius source (shared/REFERENCES.md)
crystal_length_mm          25         assumed; gives dT_fwhm 1.20 K (above)
fwhm_k                     1.20       computed from crystal_length_mm (above)
centre_temp_k              298.15     assumed nominal set point, inside the TEC
                                      range of sim/thermal.py
brightness_pairs_s_mw      2.0e5      assumed, order of bulk PPKTP Sagnac
                                      sources; presets calibrate it
visibility                 0.97       Micius preset (calibrated, see presets)
=========================  =========  ===========================================
"""

import math

import numpy as np

from sim.params import check as _check_finite

__all__ = [
    "X_HALF",
    "DK_DT_PER_M_K",
    "CHSH_ANGLES_RAD",
    "phase_matching_efficiency",
    "temperature_fwhm_k",
    "outcome_probabilities",
    "SpdcSource",
    "visibility_from_counts",
    "correlation_from_counts",
    "chsh_s",
    "qber_from_visibility",
    "expected_qber",
]

X_HALF = 1.3915573956  # sinc^2(x) = 1/2 at x = X_HALF
# d(dk)/dT for type-II y(405) -> y(810) + z(810) PPKTP at 25 C, per metre of crystal per kelvin
# (Emanueli & Arie 2003 thermo-optic coefficients, Kato & Takaoka 2002 Sellmeier; module docstring)
DK_DT_PER_M_K = 186.0

# CHSH analyser angles for (|HV> + |VH>)/sqrt(2): S = E(a,b) - E(a,b') + E(a',b) + E(a',b'),
# |S| = 2 sqrt(2) V at phi = 0
CHSH_ANGLES_RAD = {
    "a": 0.0,
    "a_prime": math.pi / 4,
    "b": -math.pi / 8,
    "b_prime": -3 * math.pi / 8,
}


def phase_matching_efficiency(crystal_temp_k, centre_temp_k, fwhm_k):
    """Relative pair rate ``sinc^2(dk L / 2)`` of the temperature tuning curve.

    Parameters
    ----------
    crystal_temp_k : float or array_like
        Crystal temperature [K].
    centre_temp_k : float
        Phase-matching temperature [K], where the efficiency is 1.
    fwhm_k : float
        Full width at half maximum of the curve [K], > 0.

    Returns
    -------
    float or ndarray
        ``sinc^2(x)``, ``x = X_HALF * 2 (T - T_c) / fwhm_k``; 0.5 at ``T_c +/- fwhm_k/2``.
    """
    fwhm = _check_finite("fwhm_k", fwhm_k, 0.0, strict=True)
    x = X_HALF * 2.0 * (np.asarray(crystal_temp_k, dtype=np.float64) - float(centre_temp_k)) / fwhm
    eta = np.sinc(x / np.pi) ** 2  # numpy's sinc is sin(pi u)/(pi u)
    return float(eta) if eta.ndim == 0 else eta


def temperature_fwhm_k(crystal_length_mm, dk_dt_per_m_k=DK_DT_PER_M_K):
    """FWHM of the temperature tuning curve, ``4 x_h / (k_T L)`` [K].

    Parameters
    ----------
    crystal_length_mm : float
        Crystal length [mm], > 0.
    dk_dt_per_m_k : float
        ``k_T = d(dk)/dT`` [1/(m K)]; default for type-II 405 -> 810 nm PPKTP.
    """
    length_m = _check_finite("crystal_length_mm", crystal_length_mm, 0.0, strict=True) * 1e-3
    k_t = _check_finite("dk_dt_per_m_k", dk_dt_per_m_k, 0.0, strict=True)
    return 4.0 * X_HALF / (k_t * length_m)


def outcome_probabilities(angle_a_rad, angle_b_rad, visibility, phase_rad=0.0):
    """Joint outcome probabilities of two linear polarisation analysers.

    Parameters
    ----------
    angle_a_rad, angle_b_rad : float or array_like
        Analyser angles from H of arm A and arm B [rad]; broadcast together.
    visibility : float
        Intrinsic visibility ``V`` in [0, 1] (Werner weight of the Bell state).
    phase_rad : float or array_like
        Relative phase ``phi`` of ``|HV> + exp(i phi)|VH>`` [rad].

    Returns
    -------
    ndarray, shape ``broadcast + (2, 2)``
        ``p[..., j, k]``: A at port ``j`` (0: along ``alpha``, 1: along
        ``alpha + 90 deg``) and B at port ``k``; see the module docstring.
    """
    v = _check_finite("visibility", visibility, 0.0, maximum=1.0)
    alpha, beta, phi = np.broadcast_arrays(np.asarray(angle_a_rad, dtype=np.float64),
                                           np.asarray(angle_b_rad, dtype=np.float64),
                                           np.asarray(phase_rad, dtype=np.float64))
    out = np.empty(alpha.shape + (2, 2))
    cphi = np.cos(phi)
    for j in (0, 1):
        a = alpha + j * (np.pi / 2)
        ca2, sa2, s2a = np.cos(a) ** 2, np.sin(a) ** 2, np.sin(2 * a)
        for k in (0, 1):
            b = beta + k * (np.pi / 2)
            cb2, sb2, s2b = np.cos(b) ** 2, np.sin(b) ** 2, np.sin(2 * b)
            pure = 0.5 * (ca2 * sb2 + sa2 * cb2 + 0.5 * s2a * s2b * cphi)
            out[..., j, k] = v * pure + (1.0 - v) / 4.0
    return out


class SpdcSource:
    """Type-II PPKTP pair source with a sinc^2 temperature tuning curve.

    Parameters
    ----------
    brightness_pairs_s_mw : float
        Pairs/s per mW of pump at the crystal, at perfect phase matching (>= 0).
    centre_temp_k : float
        Phase-matching temperature ``T_c`` [K] (> 0).  Attribute; a scenario may
        move it (e.g. the true ``T_c`` 1 K away from the nominal set point).
    fwhm_k : float
        FWHM of the temperature tuning curve [K] (> 0); see :func:`temperature_fwhm_k`.
    visibility : float
        Intrinsic visibility ``V`` of the polarisation state, in [0, 1].
    """

    def __init__(self, brightness_pairs_s_mw=2.0e5, centre_temp_k=298.15, fwhm_k=None,
                 visibility=0.97, crystal_length_mm=25.0):
        self.brightness_pairs_s_mw = _check_finite("brightness_pairs_s_mw", brightness_pairs_s_mw, 0.0)
        self.centre_temp_k = _check_finite("centre_temp_k", centre_temp_k, 0.0, strict=True)
        self.crystal_length_mm = _check_finite("crystal_length_mm", crystal_length_mm, 0.0, strict=True)
        if fwhm_k is None:
            fwhm_k = temperature_fwhm_k(self.crystal_length_mm)
        self.fwhm_k = _check_finite("fwhm_k", fwhm_k, 0.0, strict=True)  # K, tuning-curve FWHM
        self.visibility = _check_finite("visibility", visibility, 0.0, maximum=1.0)  # Werner weight

    def pair_rate_hz(self, pump_mw, crystal_temp_k):
        """Mean pair rate ``R = B P sinc^2(...)`` [pairs/s] (vectorised over both arguments)."""
        p = np.asarray(pump_mw, dtype=np.float64)
        if not np.all(np.isfinite(p)) or np.any(p < 0):
            raise ValueError(f"pump_mw must be finite and >= 0, got {pump_mw!r}")
        t = np.asarray(crystal_temp_k, dtype=np.float64)
        if not np.all(np.isfinite(t)) or np.any(t <= 0):
            raise ValueError(f"crystal_temp_k must be finite and > 0 K, got {crystal_temp_k!r}")
        rate = self.brightness_pairs_s_mw * p * phase_matching_efficiency(t, self.centre_temp_k, self.fwhm_k)
        rate = np.asarray(rate)
        return float(rate) if rate.ndim == 0 else rate

    def emit(self, t0_s, dt_s, pump_mw, crystal_temp_k, rng):
        """Pair emission times over ``[t0_s, t0_s + dt_s)``, a Poisson process.

        Parameters
        ----------
        t0_s : float
            Start of the interval [s].
        dt_s : float
            Length of the interval [s], >= 0.
        pump_mw : float
            Pump power at the crystal [mW], >= 0, constant over the interval.
        crystal_temp_k : float
            Crystal temperature [K], constant over the interval.
        rng : numpy.random.Generator
            The caller's seeded generator.

        Returns
        -------
        ndarray of float64
            Sorted emission times [s]; both photons of a pair share the time.
        """
        t0 = _check_finite("t0_s", t0_s)
        dt = _check_finite("dt_s", dt_s, 0.0)
        rate = self.pair_rate_hz(float(pump_mw), float(crystal_temp_k))
        n = int(rng.poisson(rate * dt))
        if n == 0:
            return np.empty(0)
        # order statistics of n uniforms: cumulative sums of n + 1 exponentials, normalised
        c = np.cumsum(rng.standard_exponential(n + 1))
        return t0 + dt * (c[:-1] / c[-1])

    def outcome_probabilities(self, angle_a_rad, angle_b_rad, phase_rad=0.0):
        """:func:`outcome_probabilities` with this source's visibility."""
        return outcome_probabilities(angle_a_rad, angle_b_rad, self.visibility, phase_rad)

    def analyse(self, n_pairs, angle_a_rad, angle_b_rad, rng, phase_rad=0.0):
        """Draw each pair's analyser outcome.

        Parameters
        ----------
        n_pairs : int
            Number of pairs (e.g. ``len(emit(...))``).
        angle_a_rad, angle_b_rad, phase_rad : float or array_like of length n_pairs
            Analyser angles [rad] and state phase [rad], per pair or shared.
        rng : numpy.random.Generator

        Returns
        -------
        port_a, port_b : ndarray of int8
            0 when the photon leaves its analyser along the analyser angle, 1 when
            along the orthogonal port (the other output of a polarising beam
            splitter; blocked by a plain polariser).
        """
        n = int(n_pairs)
        if n < 0:
            raise ValueError(f"n_pairs must be >= 0, got {n_pairs!r}")
        p = self.outcome_probabilities(angle_a_rad, angle_b_rad, phase_rad)
        cum = np.cumsum(p.reshape(p.shape[:-2] + (4,)), axis=-1)  # order: 00, 01, 10, 11
        u = rng.random(n)
        if cum.ndim == 1:
            code = np.searchsorted(cum[:3], u, side="right")
        else:
            if cum.shape[0] != n:
                raise ValueError(f"per-pair angles have length {cum.shape[0]}, expected n_pairs = {n}")
            code = (u[:, None] >= cum[:, :3]).sum(axis=1)
        code = code.astype(np.int8)
        return code >> 1, code & 1


def visibility_from_counts(c_max, c_min, acc_max=0.0, acc_min=0.0):
    """Visibility ``(C_max - C_min) / (C_max + C_min)`` after subtracting accidentals.

    Parameters
    ----------
    c_max, c_min : float
        Coincidences in the correlated and anti-correlated settings.
    acc_max, acc_min : float
        Expected accidentals in those counts (``2 tau S_1 S_2 T``); 0 for raw.
    """
    hi = float(c_max) - float(acc_max)
    lo = float(c_min) - float(acc_min)
    if hi + lo <= 0:
        raise ValueError("no coincidences left after subtracting accidentals")
    return (hi - lo) / (hi + lo)


def correlation_from_counts(c_00, c_01, c_10, c_11, acc=(0.0, 0.0, 0.0, 0.0)):
    """Correlation ``E = (C_00 + C_11 - C_01 - C_10) / sum`` after subtracting accidentals.

    ``acc`` holds the expected accidentals of the four counts, in the same order.
    """
    c = np.array([c_00, c_01, c_10, c_11], dtype=np.float64) - np.asarray(acc, dtype=np.float64)
    total = c.sum()
    if total <= 0:
        raise ValueError("no coincidences left after subtracting accidentals")
    return float((c[0] + c[3] - c[1] - c[2]) / total)


def chsh_s(e_ab, e_abp, e_apb, e_apbp):
    """CHSH value ``S = E(a,b) - E(a,b') + E(a',b) + E(a',b')`` (absolute value returned).

    With :data:`CHSH_ANGLES_RAD` and the state of this module at ``phi = 0``,
    ``|S| = 2 sqrt(2) V``; the local-realist bound is 2.
    """
    return abs(float(e_ab) - float(e_abp) + float(e_apb) + float(e_apbp))


def qber_from_visibility(visibility):
    """Quantum bit error ratio of a basis with visibility ``V``: ``(1 - V) / 2``."""
    return (1.0 - _check_finite("visibility", visibility, -1.0, maximum=1.0)) / 2.0


def expected_qber(visibility, signal_to_noise):
    """QBER once uncorrelated (accidental/background) coincidences are counted.

    With a fraction ``1 / (1 + SNR)`` of the coincidences uncorrelated (error
    probability 1/2 each) and the rest from the source::

        QBER = SNR/(1 + SNR) * (1 - V)/2 + 1/(1 + SNR) * 1/2

    Parameters
    ----------
    visibility : float
        Intrinsic visibility ``V``.
    signal_to_noise : float
        Ratio of source coincidences to uncorrelated ones (> 0); Micius 2020: 15.
    """
    snr = _check_finite("signal_to_noise", signal_to_noise, 0.0, strict=True)
    return snr / (1.0 + snr) * qber_from_visibility(visibility) + 0.5 / (1.0 + snr)
