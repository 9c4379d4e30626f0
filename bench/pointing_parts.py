"""One beam's fine loop against the default micro-vibration profile, part by part (figures, not tests).

    .venv/bin/python -m bench.pointing_parts [--seconds S]

The flight's fine loop and canceller (payload/) on the plant models (sim/): the
vibration profile or one of its parts, the 800 Hz mirror, the fine sensor with
one frame of latency; no gimbal, no geometry.  Prints the truth residual (rms
per axis, both axes pooled) after the first half of the run.
"""

import argparse

import numpy as np

from hal.fake import FakeBeaconSensor, FakeSteeringMirror, FakeTachometer
from payload import fine_loop as fl
from payload.vib_canceller import VibrationCanceller, WheelPhases
from sim.pointing_plant import FineBeaconSensor, SteeringMirrorPlant
from sim.pointing_sim import MirrorAxes
from sim.vibration import MicroVibration

ZERO = 1e-9
CASES = (
    ("whole profile, feedback + feed-forward", None, 300, fl.FEEDFORWARD),
    ("whole profile, feedback only", None, 300, fl.FEEDBACK),
    ("wheels alone, no sensor noise, feed-forward", dict(cryo_urad_rms=ZERO, broadband_urad_rms=ZERO), 0, fl.FEEDFORWARD),
    ("cryocooler alone, no sensor noise, feed-forward", dict(wheels_urad_rms=ZERO, broadband_urad_rms=ZERO), 0,
     fl.FEEDFORWARD),
    ("broadband + 0.3 urad sensor noise, feedback", dict(wheels_urad_rms=ZERO, cryo_urad_rms=ZERO), 300, fl.FEEDBACK),
)


def residual_urad(profile, nea_nrad, mode, seconds, seed=1):
    rng = np.random.default_rng(seed)
    vib = MicroVibration(rng, 1e-3, beams=1, profile=profile)
    mirror_plant = MirrorAxes(SteeringMirrorPlant(beams=1))
    sensor_plant = FineBeaconSensor(np.random.default_rng(seed + 100), nea_nrad=nea_nrad)
    sensor, mirror = FakeBeaconSensor(), FakeSteeringMirror()
    mirror.follow = False
    tachs = [FakeTachometer() for _ in range(3)]
    wheels = WheelPhases(tachs)
    loop = fl.FinePointingLoop(sensor, mirror, VibrationCanceller(wheels))
    loop.mode = mode
    loop.enabled = True
    n = int(seconds * 1000)
    err = np.zeros((2, n))
    mx = my = 0.0
    blk = None
    for k in range(n):
        j = k % vib.block
        if j == 0:
            b = vib.next_block()
            blk = (b["x_nrad"][0].tolist(), b["y_nrad"][0].tolist(), b["wheel_freq_mhz"].tolist(),
                   b["wheel_phase_q16"].tolist())
        ex = blk[0][j] - mx
        ey = blk[1][j] - my
        err[0, k], err[1, k] = ex, ey
        f = sensor_plant.step(ex, ey)
        if f is not None:
            sensor.publish(*f)
        for w in range(3):
            tachs[w].freq_mhz = blk[2][w][j]
            tachs[w].phase_q16 = blk[3][w][j]
        wheels.step()
        loop.step()
        if k % 40 == 0:
            loop.canceller.refresh()
        mx, my = mirror_plant.step(mirror.cmd_x_nrad, mirror.cmd_y_nrad)
        mirror.x_nrad, mirror.y_nrad = int(mx), int(my)
    return float(np.sqrt(np.mean(err[:, n // 2:] ** 2))) / 1000.0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pointing_parts")
    p.add_argument("--seconds", type=float, default=30.0, help="virtual seconds per case (default 30)")
    args = p.parse_args(argv)
    print(f"Fine loop, one beam, default profile parts ({args.seconds:g} s each, residual after the first half)")
    for label, profile, nea, mode in CASES:
        print(f"  {label + ':':<52s}{residual_urad(profile, nea, mode, args.seconds):7.3f} urad rms per axis",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
