"""Line-of-sight micro-vibration and the fine beacon sensor (per beam, per axis).

The disturbance is a sum of reaction-wheel tones (fundamental plus second and
third harmonics), one untracked tone, and broadband noise through a
second-order low-pass, generated in vectorised blocks so that the lock-step
loop only indexes arrays.  This is the scheduler issue's stand-in; the pointing
issue replaces it with the stated default profile (about 9.3 urad rms, see
shared/REFERENCES.md) and a mirror with second-order dynamics.

Parameters: wheel fundamentals 15-30 Hz (about 8 urad rms together) and the untracked ~2 urad tone follow
the pointing issue's default profile (together about 9.3 urad rms per axis); ``noise_urad_rms`` 4 urad through a 5 Hz
low-pass likewise; the fine sensor's noise-equivalent angle is 0.3 urad
(1 sigma per frame).
"""

import numpy as np


class LineOfSightDisturbance:
    """Two-axis disturbance history in nrad at a fixed sample period."""

    def __init__(self, rng: np.random.Generator, dt_s: float, block: int = 10000,
                 wheel_hz=(17.0, 22.5, 27.0), wheel_urad_rms=(4.5, 4.5, 5.0),
                 harmonic_ratio=(0.35, 0.15), other_hz=41.0, other_urad_rms=2.0,
                 noise_urad_rms=4.0, noise_corner_hz=5.0):
        self.rng = rng
        self.dt = dt_s
        self.block = block
        self.t0 = 0
        self.tones = []  # (freq Hz, amplitude urad, phase x, phase y)
        for f, a_rms in zip(wheel_hz, wheel_urad_rms):
            amps = [1.0, *harmonic_ratio]
            norm = np.sqrt(np.sum(np.square(amps)))
            for h, rel in enumerate(amps, start=1):
                amp = a_rms * np.sqrt(2.0) * rel / norm
                self.tones.append((f * h, amp, rng.uniform(0, 2 * np.pi), rng.uniform(0, 2 * np.pi)))
        self.tones.append((other_hz, other_urad_rms * np.sqrt(2.0), rng.uniform(0, 2 * np.pi),
                           rng.uniform(0, 2 * np.pi)))
        # second-order low-pass (critically damped) on white noise, discretised
        w = 2 * np.pi * noise_corner_hz
        self.a = np.exp(-w * dt_s)
        self.noise_gain = noise_urad_rms
        self.state = np.zeros((2, 2))
        self.x = np.zeros(0, dtype=np.int64)
        self.y = np.zeros(0, dtype=np.int64)

    def _noise_block(self, n: int) -> np.ndarray:
        a = self.a
        # two cascaded one-pole stages y = a y + (1 - a) w on unit white noise give
        # var = (1 - a)^4 (1 + a^2) / (1 - a^2)^3; scale to the stated rms
        scale = self.noise_gain / ((1 - a) ** 2 * np.sqrt((1 + a * a) / (1 - a * a) ** 3))
        out = np.empty((2, n))
        white = self.rng.standard_normal((2, n))
        for ax in range(2):
            s1, s2 = self.state[ax]
            for i in range(n):  # n is a block; the loop is cheap next to the flight code
                s1 = a * s1 + (1 - a) * white[ax, i]
                s2 = a * s2 + (1 - a) * s1
                out[ax, i] = s2
            self.state[ax] = (s1, s2)
        return out * scale

    def next_block(self) -> tuple[np.ndarray, np.ndarray]:
        """The next ``block`` samples of (x, y) in nrad, as int64 arrays."""
        n = self.block
        t = (self.t0 + np.arange(n)) * self.dt
        x = np.zeros(n)
        y = np.zeros(n)
        for f, amp, px, py in self.tones:
            x += amp * np.sin(2 * np.pi * f * t + px)
            y += amp * np.sin(2 * np.pi * f * t + py)
        nz = self._noise_block(n)
        x += nz[0]
        y += nz[1]
        self.t0 += n
        return np.round(x * 1000.0).astype(np.int64), np.round(y * 1000.0).astype(np.int64)
