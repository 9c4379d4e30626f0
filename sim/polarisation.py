"""Slow polarisation drift of the source and the liquid-crystal retarder that compensates it.

Drift
-----
Thermally driven birefringence in the source's optics (wave plates, beam
splitter coatings, crystal) changes the relative phase ``phi`` of
``|HV> + exp(i phi)|VH>``: a rotation about the H/V axis of the Poincare sphere,
seen as a loss of visibility in the D/A basis, ``V_DA = V cos phi``, while H/V is
untouched (sim/spdc.py).  The model is an orbital sinusoid (the thermal cycle)
plus a random walk::

    phi_drift(t) = phi_0 + A sin(2 pi t / T_orb + psi) + W(t)
    W(t + dt) - W(t) ~ Normal(0, sigma_w^2 dt)                    [rad]

Liquid-crystal retarder
-----------------------
A nematic variable retarder in arm B, slow axis along H, adds ``Gamma`` to the
phase: ``phi = phi_drift + Gamma``.  Its retardance falls with the rms drive
voltage once the Freedericksz threshold is passed; an empirical monotonic
curve of the usual shape is used::

    V_rms  = V_max * drive / 65535                                 (16-bit drive)
    Gamma(V) = Gamma_max                                            V <= V_th
             = Gamma_res + (Gamma_max - Gamma_res) / (1 + ((V - V_th)/V_0)^p)
                                                                    V >  V_th
    dGamma/dt = (Gamma(V) - Gamma) / tau_lc                         (cell response)

The span ``Gamma_max - Gamma(V_max)`` exceeds one wave (2 pi), so some drive nulls
any drift phase modulo 2 pi (:meth:`LiquidCrystalRetarder.drive_for_retardance_u16`).

Parameters (defaults; the presets override them)
--------------------------------------------------
===================  ============  ============================================
name                 default       source
===================  ============  ============================================
amplitude_rad        0.3           assumed orbital thermal birefringence swing
orbit_period_s       5640          Micius: about 94 min (shared/REFERENCES.md)
walk_rad_per_sqrt_s  0.005         assumed: 0.38 rad rms per orbit if left alone
phi_0                uniform       unknown initial phase of an uncompensated
                                   source: drawn from [-pi, pi)
v_max_v              10.0          assumed drive range of the LC controller
                                   (bench controllers go to 20-25 V)
v_th_v               0.9           assumed Freedericksz threshold, ~1 V for
                                   nematic cells
v_0_v                1.2, p = 1.8  assumed curve shape, fitted by eye to the
                                   usual falling retardance-voltage curves
gamma_max_rad        2.5 pi        assumed: 1.25 waves at 810 nm at 0 V
gamma_res_rad        0.1 pi        assumed residual retardance at high voltage
response_s           0.03          assumed cell response time (tens of ms is
                                   typical of nematic cells)
===================  ============  ============================================
Liquid-crystal polarisation rotators are flight heritage on the CubeSat line
(Cheng et al., "Space qualified nanosatellite electronics platform for photon
pair experiments", arXiv 1505.06523, 2015).
"""


import math

import numpy as np

from sim.params import check as _check

__all__ = ["DRIVE_FULL_SCALE", "PolarisationDrift", "LiquidCrystalRetarder", "wrap_rad"]

DRIVE_FULL_SCALE = 65535  # 16-bit DAC


def wrap_rad(phase_rad):
    """Wrap a phase into ``[-pi, pi)``."""
    p = np.asarray(phase_rad, dtype=np.float64)
    out = (p + np.pi) % (2 * np.pi) - np.pi
    return float(out) if out.ndim == 0 else out


class PolarisationDrift:
    """Relative phase drift of the Bell state (see the module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator
        Seeded generator for the initial phase, orbital phase and random walk.
    amplitude_rad : float
        Orbital sinusoid amplitude ``A`` [rad], >= 0.
    orbit_period_s : float
        ``T_orb`` [s], > 0.
    walk_rad_per_sqrt_s : float
        Random-walk strength ``sigma_w`` [rad/sqrt(s)], >= 0.
    phase0_rad : float, optional
        ``phi_0`` [rad]; drawn uniformly from [-pi, pi) when omitted.
    """

    def __init__(self, rng, amplitude_rad=0.3, orbit_period_s=5640.0, walk_rad_per_sqrt_s=0.005,
                 phase0_rad=None):
        self.rng = rng
        self.amplitude_rad = _check("amplitude_rad", amplitude_rad, 0.0)
        self.orbit_period_s = _check("orbit_period_s", orbit_period_s, 0.0, strict=True)
        self.walk_rad_per_sqrt_s = _check("walk_rad_per_sqrt_s", walk_rad_per_sqrt_s, 0.0)
        self.phase0_rad = (float(rng.uniform(-math.pi, math.pi)) if phase0_rad is None
                           else _check("phase0_rad", phase0_rad))
        self.orbit_phase_rad = float(rng.uniform(0.0, 2 * math.pi))  # psi
        self.t_s = 0.0  # s, model time
        self.walk_rad = 0.0  # W(t)

    @property
    def phase_rad(self):
        """Current drift phase ``phi_drift(t)`` [rad] (unwrapped)."""
        return (self.phase0_rad + self.walk_rad
                + self.amplitude_rad * math.sin(2 * math.pi * self.t_s / self.orbit_period_s
                                                + self.orbit_phase_rad))

    def step(self, dt_s):
        """Advance by ``dt_s`` [s] and return the new drift phase [rad]."""
        dt = _check("dt_s", dt_s, 0.0)
        if dt > 0 and self.walk_rad_per_sqrt_s > 0:
            self.walk_rad += self.walk_rad_per_sqrt_s * math.sqrt(dt) * float(self.rng.standard_normal())
        self.t_s += dt
        return self.phase_rad

    def sample(self, dt_s, n_steps):
        """Advance ``n_steps`` steps of ``dt_s`` at once; return the phase after each [rad]."""
        dt = _check("dt_s", dt_s, 0.0)
        n = int(n_steps)
        if n < 0:
            raise ValueError(f"n_steps must be >= 0, got {n_steps!r}")
        walk = self.walk_rad + np.cumsum(self.walk_rad_per_sqrt_s * math.sqrt(dt) * self.rng.standard_normal(n))
        t = self.t_s + dt * np.arange(1, n + 1)
        if n:
            self.walk_rad = float(walk[-1])
            self.t_s = float(t[-1])
        return (self.phase0_rad + walk
                + self.amplitude_rad * np.sin(2 * np.pi * t / self.orbit_period_s + self.orbit_phase_rad))


class LiquidCrystalRetarder:
    """Nematic variable retarder on a 16-bit drive (see the module docstring).

    Parameters are those of the module docstring's table; ``retardance_rad`` is
    the cell's present retardance (it starts settled at zero drive).
    """

    def __init__(self, v_max_v=10.0, v_th_v=0.9, v_0_v=1.2, exponent=1.8, gamma_max_rad=2.5 * math.pi,
                 gamma_res_rad=0.1 * math.pi, response_s=0.03):
        self.v_max_v = _check("v_max_v", v_max_v, 0.0, strict=True)
        self.v_th_v = _check("v_th_v", v_th_v, 0.0)
        self.v_0_v = _check("v_0_v", v_0_v, 0.0, strict=True)
        self.exponent = _check("exponent", exponent, 0.0, strict=True)
        self.gamma_max_rad = _check("gamma_max_rad", gamma_max_rad, 0.0, strict=True)
        self.gamma_res_rad = _check("gamma_res_rad", gamma_res_rad, 0.0)
        if self.gamma_res_rad >= self.gamma_max_rad:
            raise ValueError(f"gamma_res_rad {self.gamma_res_rad} must be below gamma_max_rad {self.gamma_max_rad}")
        self.response_s = _check("response_s", response_s, 0.0)
        self.retardance_rad = self.gamma_max_rad  # present retardance (settled at drive 0)

    @staticmethod
    def _drive(drive_u16):
        d = np.asarray(drive_u16)
        if not np.all(np.isfinite(d)) or np.any(d < 0) or np.any(d > DRIVE_FULL_SCALE):
            raise ValueError(f"drive_u16 must be in 0..{DRIVE_FULL_SCALE}, got {drive_u16!r}")
        return d.astype(np.float64)

    def voltage_v(self, drive_u16):
        """RMS drive voltage ``V_max drive / 65535`` [V]."""
        out = self.v_max_v * self._drive(drive_u16) / DRIVE_FULL_SCALE
        return float(out) if out.ndim == 0 else out

    def settled_retardance_rad(self, drive_u16):
        """Steady-state retardance ``Gamma(V)`` at a drive [rad] (vectorised)."""
        v = np.asarray(self.voltage_v(drive_u16))
        x = np.maximum(v - self.v_th_v, 0.0) / self.v_0_v
        out = self.gamma_res_rad + (self.gamma_max_rad - self.gamma_res_rad) / (1.0 + x ** self.exponent)
        return float(out) if out.ndim == 0 else out

    @property
    def gamma_min_rad(self):
        """Retardance at full drive [rad], the low end of the usable range."""
        return self.settled_retardance_rad(DRIVE_FULL_SCALE)

    def drive_for_retardance_u16(self, gamma_rad):
        """Drive whose settled retardance equals ``gamma_rad`` modulo 2 pi.

        The target is moved by whole waves into ``[gamma_min, gamma_max]`` (choosing
        the lowest voltage when two representatives fit), then the curve is inverted::

            V = V_th + V_0 ((Gamma_max - Gamma_res) / (Gamma - Gamma_res) - 1)^(1/p)
        """
        g = _check("gamma_rad", gamma_rad)
        lo, hi = self.gamma_min_rad, self.gamma_max_rad
        if hi - lo < 2 * math.pi:
            raise ValueError("retarder span below one wave: not every phase can be reached")
        g = hi - ((hi - g) % (2 * math.pi))  # highest representative <= hi, i.e. the lowest voltage
        if g >= hi:
            return 0
        ratio = (self.gamma_max_rad - self.gamma_res_rad) / (g - self.gamma_res_rad) - 1.0
        v = self.v_th_v + self.v_0_v * ratio ** (1.0 / self.exponent)
        return int(min(DRIVE_FULL_SCALE, max(0, round(v / self.v_max_v * DRIVE_FULL_SCALE))))

    def step(self, dt_s, drive_u16):
        """Advance the cell by ``dt_s`` [s] under a constant drive; return the retardance [rad]."""
        dt = _check("dt_s", dt_s, 0.0)
        target = float(self.settled_retardance_rad(drive_u16))
        if self.response_s == 0.0:
            self.retardance_rad = target
        else:
            self.retardance_rad = target + (self.retardance_rad - target) * math.exp(-dt / self.response_s)
        return self.retardance_rad
