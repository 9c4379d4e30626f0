"""The quantum downlink's budget: from a pair leaving the source to a click at a ground station.

For one downlink (one beam, one station) the probability that a photon of a
pair is detected is the product

    eta = eta_tx * G(L) * P(e) * T_atm(el) * eta_rx

- ``eta_tx``: the payload's side, the part of each arm that goes to the
  telescope, ``1 - monitor_tap`` (sim/presets.py), times the transmit optics;
- ``G(L)``: diffraction.  The beam is Gaussian with far-field divergence
  ``divergence_urad`` taken as the FULL angle between the 1/e^2 intensity
  points (the definition sim/pointing_plant.pointing_efficiency states), so at
  range ``L`` its 1/e^2 radius is ``w = theta_0 L`` with ``theta_0`` half that
  angle, and a receiver of diameter ``D`` centred in it collects
  ``1 - exp(-2 (D/2)^2 / w^2)``;
- ``P(e)``: the instantaneous pointing error ``e`` from the pointing plant's
  truth moves the receiver off the beam's axis: ``exp(-2 e^2 / theta_0^2)``
  (exact while ``D << w``, which holds: w >= 2.5 m for Micius);
- ``T_atm(el) = T_zenith ** m(el)``, ``m`` the Kasten & Young (1989) relative
  air mass;
- ``eta_rx``: telescope, polarisation analysis, coupling and detector
  efficiency together, the one number the literature does not give (calibrated,
  see the scenario tables).

Background: each station sees ``background_hz`` counts per second spread over
its four detectors (sky light in the field of view, stray light and dark
counts), independent of the satellite.  Both numbers are per station.

Everything here is vectorised over time: the pass emulation evaluates it at
every fine tick (sim/photon_channel.py).
"""

from dataclasses import dataclass

import numpy as np

C_M_S = 299_792_458.0


@dataclass(frozen=True)
class StationOptics:
    """One ground station's receiver and clock (values per scenario, sources in sim/scenarios.py)."""

    aperture_m: float  # receiving telescope diameter
    eta_rx: float  # telescope optics x analysis optics x coupling x detector efficiency
    background_hz: float  # uncorrelated counts, all four detectors together
    zenith_transmission: float  # clear-sky atmosphere at 810 nm, zenith, from the station's altitude
    jitter_fwhm_ps: float = 350.0  # detector timing jitter
    clock_offset_s: float = 0.0  # the station clock minus UTC at the run's start
    clock_drift: float = 0.0  # fractional frequency error of the station clock
    photon_delay_ns: float = 0.0  # photon detector + cable delay (unknown to the ground chain)
    sync_delay_ns: float = 0.0  # sync detector + cable delay (unknown to the ground chain)
    sync_detect_probability: float = 0.9  # of each sync pulse (a bright beam; turbulence fades lose some)
    sync_jitter_ps: float = 100.0  # sync detector jitter, rms

    def check(self, name: str) -> None:
        """Refuse inconsistent parameters before any work starts."""
        bad = []
        if not self.aperture_m > 0:
            bad.append(f"aperture_m {self.aperture_m} must be > 0")
        if not 0 < self.eta_rx <= 1:
            bad.append(f"eta_rx {self.eta_rx} must be in (0, 1]")
        if not self.background_hz >= 0:
            bad.append(f"background_hz {self.background_hz} must be >= 0 (a negative count rate)")
        if not 0 < self.zenith_transmission <= 1:
            bad.append(f"zenith_transmission {self.zenith_transmission} must be in (0, 1] (a loss must be >= 0 dB)")
        if not self.jitter_fwhm_ps >= 0 or not self.sync_jitter_ps >= 0:
            bad.append("jitter must be >= 0")
        if not 0 < self.sync_detect_probability <= 1:
            bad.append(f"sync_detect_probability {self.sync_detect_probability} must be in (0, 1]")
        if bad:
            raise ValueError(f"station {name}: " + "; ".join(bad))


@dataclass(frozen=True)
class Downlink:
    """The satellite's side of a downlink."""

    divergence_urad: float  # full angle between the 1/e^2 intensity points
    tx_efficiency: float  # transmit optics after the monitor tap

    def check(self) -> None:
        if not self.divergence_urad > 0:
            raise ValueError(f"divergence_urad {self.divergence_urad} must be > 0")
        if not 0 < self.tx_efficiency <= 1:
            raise ValueError(f"tx_efficiency {self.tx_efficiency} must be in (0, 1] (a loss must be >= 0 dB)")


def air_mass(elevation_deg):
    """Kasten & Young (1989, Appl. Opt. 28, 4735) relative optical air mass; 1 at the zenith."""
    h = np.asarray(elevation_deg, dtype=np.float64)
    return 1.0 / (np.sin(np.radians(h)) + 0.50572 * (h + 6.07995) ** -1.6364)


def atmosphere_transmission(elevation_deg, zenith_transmission: float):
    return zenith_transmission ** air_mass(np.maximum(elevation_deg, 0.0))


def diffraction_efficiency(range_m, divergence_urad: float, aperture_m: float):
    """Fraction of a Gaussian beam (full 1/e^2 divergence) a centred aperture collects at ``range_m``."""
    w = 0.5 * divergence_urad * 1e-6 * np.asarray(range_m, dtype=np.float64)
    return -np.expm1(-2.0 * (0.5 * aperture_m) ** 2 / (w * w))


def pointing_efficiency(error_urad, divergence_urad: float):
    theta0 = 0.5 * divergence_urad
    return np.exp(-2.0 * np.square(error_urad) / theta0 ** 2)


def link_efficiency(range_m, elevation_deg, error_urad, monitor_tap: float, link: Downlink,
                    station: StationOptics):
    """Detection probability of one photon of a pair at the station, per sample (arrays broadcast)."""
    return ((1.0 - monitor_tap) * link.tx_efficiency
            * diffraction_efficiency(range_m, link.divergence_urad, station.aperture_m)
            * pointing_efficiency(error_urad, link.divergence_urad)
            * atmosphere_transmission(elevation_deg, station.zenith_transmission)
            * station.eta_rx)


def loss_db(eta):
    eta = np.asarray(eta, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return -10.0 * np.log10(eta)

