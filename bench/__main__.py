"""Print the project's benchmark figures (never asserted by the tests).

    .venv/bin/python -m bench [--duration S]

Figures: flight RAM after importing and initialising every flight module on
MicroPython; garbage per fine-loop step on MicroPython; scheduler cost per step
on CPython and MicroPython; link-layer costs on MicroPython (TC frame decode,
FARM-1 step, CLTU decode, TM frame building: bench/mp_link.py); real-time
factor of the lock-step runner.  Wall times on MicroPython come from its
WebAssembly port under Node.js on this machine, not from a board.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAM_TARGET_BYTES = 128 * 1024


def micropython_figures(script: str = "mp_boot.py", bundle: bool = False) -> dict:
    """Run ``bench/<script>`` on MicroPython; return its ``@@BENCH`` figures {name: (value, unit)}.

    ``bundle``: run it against the deploy bundle (.mpy, as a board loads it) instead of the sources;
    the script then finds the bundle's module names in ``FLIGHT_MODULES``.
    """
    if bundle:
        import json
        import tempfile

        from tools.deploy import DEFAULT_ARCH, build_bundle

        tmp = Path(tempfile.mkdtemp(prefix="qsat-bench-"))
        b = build_bundle(ROOT, tmp / "bundle", DEFAULT_ARCH)
        modules = sorted(str(Path(f.path).with_suffix("")).replace("/", ".") for f in b.files if f.path.endswith(".mpy"))
        prelude = ("import sys\nwhile sys.path:\n    sys.path.pop()\nsys.path.append('/bundle')\n"
                   f"FLIGHT_MODULES = {json.dumps(modules)}\n")
        code = tmp / "script.py"
        code.write_text(prelude + (ROOT / "bench" / script).read_text())
        cmd = ["node", str(ROOT / "tests" / "mp" / "mp_bundle.mjs"), str(code), f"{b.root}:/bundle"]
    else:
        cmd = ["node", str(ROOT / "tests" / "mp" / "mp_run.mjs"), str(ROOT), "--script", str(ROOT / "bench" / script)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    figs = {}
    for line in proc.stdout.splitlines():
        if line.startswith("@@BENCH "):
            _, name, value, *unit = line.split()
            figs[name] = (value, " ".join(unit))
    if not figs:
        raise SystemExit(f"bench: MicroPython run of {script} failed: "
                         f"{(proc.stdout + proc.stderr).strip()[-500:]}")
    return figs


def cpython_beam_step_us(steps: int = 20000) -> float:
    """One beam's fine-loop step in feed-forward on CPython, wheels turning (as in mp_boot.py)."""
    from hal.fake import FakeHal
    from payload.app import PayloadApp

    hal = FakeHal()
    app = PayloadApp(hal)
    loop, wheels, tach, s0 = app.beams[0], app.wheels, hal.tachometers, hal.fine_sensor[0]
    for w, f in zip(tach, (17500, 22000, 27500)):
        w.freq_mhz = f
    loop.enabled = True
    loop.mode = 2
    t0 = time.perf_counter()
    for _ in range(steps):
        for w in tach:
            w.phase_q16 = (w.phase_q16 + w.freq_mhz * 65 // 1000) & 0xFFFF
        wheels.step()
        s0.publish(1200, -800)
        loop.step()
    return (time.perf_counter() - t0) / steps * 1e6


def cpython_step_cost(steps: int = 20000) -> tuple[float, float]:
    from hal.fake import FakeHal
    from payload.app import PayloadApp
    from payload.scheduler import Scheduler

    hal = FakeHal()
    app = PayloadApp(hal)
    app.start()
    s0, s1 = hal.fine_sensor
    clock = hal.clock
    t0 = time.perf_counter()
    for _ in range(steps):
        s0.publish(1200, -800)
        s1.publish(-300, 400)
        app.step()
        clock.advance(1000)
    app_us = (time.perf_counter() - t0) / steps * 1e6
    sch = Scheduler(clock)
    g = sch.add_group("bench", 1000, isr=True)
    g.tasks.append(lambda: None)
    sch.start()
    t0 = time.perf_counter()
    for _ in range(steps):
        sch.run(g)
    return app_us, (time.perf_counter() - t0) / steps * 1e6


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=20.0, help="virtual seconds of the lock-step run")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    mp = micropython_figures(bundle=True)
    ram = int(mp["ram_after_boot_bytes"][0])
    print(f"MicroPython {mp['mp_version'][0]} (WebAssembly port, Node.js {os.popen('node --version').read().strip()})")
    mods = int(mp["ram_modules_bytes"][0])
    print(f"  flight RAM after boot:            {ram:>9,d} B  (target <= {RAM_TARGET_BYTES:,d} B: "
          f"{'met' if ram <= RAM_TARGET_BYTES else 'MISSED'}; every flight module loaded from the .mpy deploy bundle)")
    print(f"    modules (bytecode, constants, mission database) {mods:>7,d} B -- in flash if frozen into firmware")
    print(f"    objects (application, services, buffers, fake HAL incl. a "
          f"{int(mp['ram_nvstore_fake_bytes'][0]):,d} B store image) {ram - mods:>7,d} B")
    print(f"  garbage per fine-loop step:       {float(mp['garbage_per_fine_step_bytes'][0]):>9.2f} B/step "
          "(both beams, real dispatcher, 5,000 steps)")
    print(f"  payload step (fine + due groups): {float(mp['app_step_us'][0]):>9.1f} us")
    print(f"  bare dispatch of one task:        {float(mp['dispatch_us'][0]):>9.2f} us")
    print(f"  fine loop, one beam, feed-forward:{float(mp['fine_beam_step_us'][0]):>9.1f} us/step, "
          f"{float(mp['garbage_per_beam_step_bytes'][0]):.2f} B garbage (wheels turning, canceller learning)")
    print(f"  canceller table rebuild (25 Hz):  {float(mp['canceller_refresh_us'][0]):>9.1f} us/call")
    link = micropython_figures("mp_link.py")
    print(f"Link layer on board (MicroPython; {link['tc_frame_len'][0]}-octet TC frames, "
          f"{link['cltu_len'][0]}-octet CLTUs)")
    for label, key, garbage in (
        ("TC frame decode (length, FECF, header)", "tc_decode_us", "tc_decode_garbage"),
        ("FARM-1 state table alone", "farm_process_us", None),
        ("FARM-1 step (decode + FARM-1 + release)", "farm_step_us", "farm_step_garbage"),
        ("CLTU decode (BCH single-error correction)", "cltu_decode_us", "cltu_decode_garbage"),
        ("TM frame of 512 octets from queued packets", "tm_frame_512_us", "tm_frame_512_garbage"),
        ("TM frame of 1115 octets from queued packets", "tm_frame_1115_us", "tm_frame_1115_garbage"),
    ):
        tail = f", {float(link[garbage][0]):.2f} B garbage" if garbage else ""
        print(f"  {label + ':':<45s}{float(link[key][0]):>9.1f} us/frame{tail}")
    print(f"  {'CLTU decode per octet:':<45s}{float(link['cltu_decode_per_octet_us'][0]):>9.2f} us")
    app_us, disp_us = cpython_step_cost()
    print(f"CPython {sys.version.split()[0]}")
    print(f"  payload step (fine + due groups): {app_us:>9.1f} us")
    print(f"  bare dispatch of one task:        {disp_us:>9.2f} us")
    print(f"  fine loop, one beam, feed-forward:{cpython_beam_step_us():>9.1f} us/step")
    from sim.lockstep import LockstepRunner

    res = LockstepRunner(seed=1).run(args.duration)
    print(f"Lock-step runner ({args.duration:g} s virtual, 1 kHz fine loop, thermal and vibration plants)")
    print(f"  wall time {res.wall_s:.2f} s, real-time factor {res.realtime_factor:.1f}x")
    from bench import pus as pus_bench

    pus_bench.main([])
    from bench import ground_decode

    ground_decode.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
