"""405 nm GaN (InGaN multi-quantum-well) pump laser diode: L-I curve, temperature, ageing.

Model
-----
Above threshold the output is linear in current; below it the (spontaneous)
output is neglected::

    P(I) = eta(T_j) * max(I - I_th(T_j, h), 0)                              [mW]
    I_th(T_j, h) = I_th0 * exp((T_j - T_ref) / T_0) * (1 + a_age * h^m)     [mA]
    eta(T_j) = eta_0 * exp(-(T_j - T_ref) / T_1)                            [mW/mA]

``T_0`` is the characteristic temperature of the threshold, ``T_1`` that of the
slope efficiency, ``h`` the accumulated operating hours; the ageing law is a power
law in time with ``a_age = r_ref / h_ref^m`` so that the threshold has risen by
the fraction ``r_ref`` after ``h_ref`` hours.  The junction runs above the case
by the dissipated power::

    T_j = T_case + R_th * (I V_f - P) * 1e-3                                [K]

solved by fixed-point iteration (the correction converges in a few steps since
``R_th eta I_th / T_0 << 1``).  This self-heating bends the L-I curve over at
high current (thermal roll-over).  The back-facet monitor photodiode gives
``I_mon = k_mon * P`` [uA].  The electrical input is ``I V_f``.

Over-current region: above ``max_current_ma`` (the absolute maximum rating) the
model ages ``overcurrent_ageing_factor`` times faster; a current at or above
``cod_current_ma`` destroys the facet (catastrophic optical damage): the output
is zero from then on.  The flight code's interlock must keep the current below
the rating; this region exists so that tests can see what happens if it does not.

Parameters (defaults: a single-mode 405 nm diode of the 40 mW class; the presets
in sim/presets.py override them)
-----------------------------------------------------------------------------------
========================  =========  ===============================================
name                      default    source
========================  =========  ===============================================
threshold_ma              35.0       assumed: 405 nm single-mode TO-56 diodes list
                                     thresholds of 20-40 mA on their datasheets
slope_mw_ma               1.0        assumed: datasheet slope efficiencies of such
                                     diodes lie near 1-1.5 mW/mA
ref_temp_k                298.15     datasheet reference temperature, 25 C
t0_k                      170.0      Nakamura et al., "High-power, long-lifetime
                                     InGaN multi-quantum-well-structure laser
                                     diodes", Jpn. J. Appl. Phys. (1997):
                                     T0 = 170 K
t1_k                      400.0      assumed (slope falls ~ 6 % over 25 K)
forward_voltage_v         5.0        GaN diodes operate at 4-5 V (high band gap)
thermal_res_k_w           28.0       25-30 K/W junction to case for a TO-56 package
                                     (TopGaN "laser reliability" note,
                                     topganlasers.com)
monitor_ua_mw             5.0        assumed: 0.1-0.5 mA monitor current at rated
                                     power is the usual datasheet range
max_current_ma            100.0      assumed absolute maximum rating
cod_current_ma            150.0      assumed catastrophic optical damage level
ageing_rise               0.20       assumed end-of-life criterion: threshold +20 %
ageing_ref_hours          10000      ... after 10,000 h of operation
ageing_exponent           0.5        power-law degradation in stress time, the
                                     dominant failure mode of InGaN diodes being
                                     a threshold increase ("Degradation
                                     mechanisms and lifetime of
                                     state-of-the-art green laser diodes", Phys.
                                     Status Solidi A, 2015); m = 0.5 assumed
                                     (diffusion-limited defect growth)
overcurrent_ageing_factor 1000       assumed
========================  =========  ===============================================
"""


import numpy as np

from sim.params import check as _check

__all__ = ["PumpLaserDiode"]

_JUNCTION_ITERATIONS = 8


def _currents(current_ma):
    i = np.asarray(current_ma, dtype=np.float64)
    if not np.all(np.isfinite(i)) or np.any(i < 0):
        raise ValueError(f"current_ma must be finite and >= 0 (forward bias), got {current_ma!r}")
    return i


def _out(x):
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


class PumpLaserDiode:
    """405 nm pump diode with temperature-dependent threshold, ageing and self-heating.

    Parameters are those of the module docstring's table (units in their names).
    ``operating_hours`` is the age at construction.  The diode is stateful only
    through its age and its ``failed`` flag, both advanced by :meth:`step`.
    """

    def __init__(self, threshold_ma=35.0, slope_mw_ma=1.0, ref_temp_k=298.15, t0_k=170.0, t1_k=400.0,
                 forward_voltage_v=5.0, thermal_res_k_w=28.0, monitor_ua_mw=5.0, max_current_ma=100.0,
                 cod_current_ma=150.0, ageing_rise=0.20, ageing_ref_hours=10000.0, ageing_exponent=0.5,
                 overcurrent_ageing_factor=1000.0, operating_hours=0.0):
        self.threshold_ma = _check("threshold_ma", threshold_ma, 0.0, strict=True)  # I_th0 at ref_temp_k, new
        self.slope_mw_ma = _check("slope_mw_ma", slope_mw_ma, 0.0, strict=True)  # eta_0 at ref_temp_k
        self.ref_temp_k = _check("ref_temp_k", ref_temp_k, 0.0, strict=True)
        self.t0_k = _check("t0_k", t0_k, 0.0, strict=True)  # threshold characteristic temperature
        self.t1_k = _check("t1_k", t1_k, 0.0, strict=True)  # slope characteristic temperature
        self.forward_voltage_v = _check("forward_voltage_v", forward_voltage_v, 0.0, strict=True)
        self.thermal_res_k_w = _check("thermal_res_k_w", thermal_res_k_w, 0.0)  # 0: no self-heating
        self.monitor_ua_mw = _check("monitor_ua_mw", monitor_ua_mw, 0.0)
        self.max_current_ma = _check("max_current_ma", max_current_ma, 0.0, strict=True)
        self.cod_current_ma = _check("cod_current_ma", cod_current_ma, self.max_current_ma)
        self.ageing_rise = _check("ageing_rise", ageing_rise, 0.0)
        self.ageing_ref_hours = _check("ageing_ref_hours", ageing_ref_hours, 0.0, strict=True)
        self.ageing_exponent = _check("ageing_exponent", ageing_exponent, 0.0, strict=True)
        self.overcurrent_ageing_factor = _check("overcurrent_ageing_factor", overcurrent_ageing_factor, 1.0)
        self.operating_hours = _check("operating_hours", operating_hours, 0.0)  # h, accumulated under bias
        self.failed = False  # True after catastrophic optical damage: no output ever again

    # --- static characteristics -------------------------------------------------------

    def ageing_factor(self, hours=None):
        """``1 + a_age h^m``: threshold multiplier after ``hours`` (default: the diode's age)."""
        h = self.operating_hours if hours is None else _check("hours", hours, 0.0)
        a = self.ageing_rise / self.ageing_ref_hours ** self.ageing_exponent
        return 1.0 + a * h ** self.ageing_exponent

    def threshold_at_ma(self, junction_temp_k, hours=None):
        """Threshold current ``I_th0 exp((T_j - T_ref)/T_0) (1 + a h^m)`` [mA]."""
        t = np.asarray(junction_temp_k, dtype=np.float64)
        return _out(self.threshold_ma * np.exp((t - self.ref_temp_k) / self.t0_k) * self.ageing_factor(hours))

    def slope_at_mw_ma(self, junction_temp_k):
        """Slope efficiency ``eta_0 exp(-(T_j - T_ref)/T_1)`` [mW/mA]."""
        t = np.asarray(junction_temp_k, dtype=np.float64)
        return _out(self.slope_mw_ma * np.exp(-(t - self.ref_temp_k) / self.t1_k))

    def _solve(self, current_ma, case_temp_k):
        i = _currents(current_ma)
        tc = _check("case_temp_k", case_temp_k, 0.0, strict=True)
        if self.failed:
            return np.zeros_like(i), tc + self.thermal_res_k_w * i * self.forward_voltage_v * 1e-3
        p = np.zeros_like(i)
        tj = np.full_like(i, tc)
        for _ in range(_JUNCTION_ITERATIONS):
            tj = tc + self.thermal_res_k_w * (i * self.forward_voltage_v - p) * 1e-3
            ith = self.threshold_ma * np.exp((tj - self.ref_temp_k) / self.t0_k) * self.ageing_factor()
            eta = self.slope_mw_ma * np.exp(-(tj - self.ref_temp_k) / self.t1_k)
            p = eta * np.maximum(i - ith, 0.0)
        return p, tj

    def optical_power_mw(self, current_ma, case_temp_k):
        """Optical output ``P(I)`` [mW] at a case temperature [K] (vectorised over current)."""
        return _out(self._solve(current_ma, case_temp_k)[0])

    def junction_temp_k(self, current_ma, case_temp_k):
        """Junction temperature ``T_case + R_th (I V_f - P)`` [K]."""
        return _out(self._solve(current_ma, case_temp_k)[1])

    def monitor_current_ua(self, current_ma, case_temp_k):
        """Back-facet monitor photodiode current ``k_mon P`` [uA]."""
        return _out(self.monitor_ua_mw * np.asarray(self.optical_power_mw(current_ma, case_temp_k)))

    def electrical_power_w(self, current_ma):
        """Electrical input ``I V_f`` [W] (the driver's own losses are not included)."""
        return _out(_currents(current_ma) * self.forward_voltage_v * 1e-3)

    def is_overcurrent(self, current_ma):
        """True where the current exceeds the absolute maximum rating."""
        return _out(_currents(current_ma) > self.max_current_ma)

    def current_for_power_ma(self, power_mw, case_temp_k):
        """Current [mA] that gives ``power_mw`` at ``case_temp_k`` (bisection on the L-I curve).

        Raises ValueError when the power is not reachable below ``max_current_ma``.
        """
        target = _check("power_mw", power_mw, 0.0)
        if target == 0.0:
            return 0.0
        lo, hi = 0.0, self.max_current_ma
        if self.optical_power_mw(hi, case_temp_k) < target:
            raise ValueError(f"power_mw {target} not reachable below max_current_ma {self.max_current_ma}")
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if self.optical_power_mw(mid, case_temp_k) < target:
                lo = mid
            else:
                hi = mid
        return hi

    # --- time evolution ---------------------------------------------------------------

    def step(self, dt_s, current_ma, case_temp_k):
        """Advance the diode by ``dt_s`` at a constant current; return the optical power [mW].

        Ageing accrues while the current is above zero, ``overcurrent_ageing_factor``
        times faster above ``max_current_ma``; a current at or above
        ``cod_current_ma`` sets ``failed`` (zero output from then on).
        """
        dt = _check("dt_s", dt_s, 0.0)
        i = float(_currents(current_ma))
        if i >= self.cod_current_ma:
            self.failed = True
        if i > 0.0:
            rate = self.overcurrent_ageing_factor if i > self.max_current_ma else 1.0
            self.operating_hours += dt / 3600.0 * rate
        return self.optical_power_mw(i, case_temp_k)
