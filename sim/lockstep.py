"""Lock-step co-simulation: plant models, emulated HAL and flight software together.

Each fine tick (1 ms by default) the runner

1. publishes the plant's sensor outputs into the emulated HAL's registers,
2. runs the flight scheduler once (``PayloadApp.step``: the fine group, then any
   slower group that is due), exactly as the board's timer and main loop would,
3. reads the flight code's commands back and advances the plant,
4. advances the virtual clock.

The clock is virtual, so a run is as fast as the code allows and two runs with
the same seed are bit-for-bit identical (``RunResult.digest``).  This module is
the one place that sees both sides: sim/ models and the flight application.
"""

import hashlib
import time
from dataclasses import dataclass, field

import numpy as np

from hal.emulated import EmulatedHal
from hal.interface import RESET_WATCHDOG
from payload.app import PayloadApp
from payload.packet_store import STORE_OCTETS_EMULATOR
from payload.source_modes import EMITTING
from sim.presets import get_preset
from sim.source_plant import SourcePlant
from sim.thermal import CrystalThermalPlant
from sim.pointing_sim import PointingSim
from sim.smallint import SmallIntCheck

THERMAL_PLANT_STEP_US = 10_000  # thermal plant integrated at 100 Hz
SOURCE_PLANT_STEP_US = 100_000  # source optics and counters at the flight's 10 Hz source cycle


@dataclass
class RunResult:
    seed: int
    duration_s: float
    fine_steps: int
    wall_s: float
    hk_rows: list = field(default_factory=list)  # {parameter: raw value} per housekeeping cycle, decoded
    tm_packets: list = field(default_factory=list)  # every TM packet the payload sent (lab port)
    t_s: np.ndarray = None  # truth time base of the fine loop
    error_x_nrad: np.ndarray = None  # truth line-of-sight error per beam (beams x steps)
    error_y_nrad: np.ndarray = None
    crystal_temp_k: np.ndarray = None  # truth crystal temperature at 100 Hz
    tm_times_s: list = field(default_factory=list)  # virtual time each of tm_packets was sent
    source_truth: dict = None  # 10 Hz arrays (SourceTruth.arrays()) when the run has a source plant
    pointing: dict = None  # per-tick pointing truth (sim/pointing_sim.py PointingSim.rec), per beam

    @property
    def realtime_factor(self) -> float:
        return self.duration_s / self.wall_s if self.wall_s > 0 else float("inf")

    def residual_rms_urad(self, beam: int, settle_s: float = 1.0) -> float:
        """Per-axis rms of the truth pointing error, both axes pooled, after settling."""
        k = self.t_s >= settle_s
        e = np.concatenate([self.error_x_nrad[beam, k], self.error_y_nrad[beam, k]])
        return float(np.sqrt(np.mean(np.square(e.astype(np.float64))))) / 1000.0

    def digest(self) -> str:
        """SHA-256 over the housekeeping and the truth arrays: equal seeds, equal digests."""
        h = hashlib.sha256()
        for row in self.hk_rows:
            h.update(repr(sorted(row.items())).encode())
        for arr in (self.error_x_nrad, self.error_y_nrad, self.crystal_temp_k):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()


class LockstepRunner:
    """Composes the plant, the emulated HAL and the payload application."""

    def __init__(self, seed: int = 1, fine_period_us: int = 1000, start_us: int = 0, links: dict | None = None,
                 lab_enabled: bool = True, preset: str | None = "micius", phase_match_offset_k: float = 0.0,
                 station_in_view: bool = False, geometry=None, attitude_bias_urad=(0.0, 0.0),
                 pointing: bool = True, small_int_every: int = 0):
        if fine_period_us <= 0 or 1_000_000 % fine_period_us:
            raise ValueError(f"fine period {fine_period_us} us must divide one second")
        self.seed = seed
        self.dt_us = fine_period_us
        root = np.random.SeedSequence(seed)
        seq_thermal, seq_pointing, seq_source = root.spawn(3)
        rng_thermal, rng_source = np.random.default_rng(seq_thermal), np.random.default_rng(seq_source)
        self.hal = EmulatedHal(start_us=start_us, links=links)
        self.hal.digital_in["station_in_view"].level = station_in_view  # the ground-test permit (EGSE)
        self.lab_enabled = lab_enabled
        self.app = self._boot()
        self.thermal = CrystalThermalPlant(rng_thermal)
        self.source = (SourcePlant(get_preset(preset), rng_source, self.hal, phase_match_offset_k)
                       if preset else None)
        self.source_truth = SourceTruth()
        self.pointing = PointingSim(self.hal, seq_pointing, fine_period_us * 1e-6, geometry=geometry,
                                    attitude_bias_urad=attitude_bias_urad)
        self.pointing_on = pointing  # False: no beacon, no vibration stepping (bench runs of the source)
        self.small_int_every = small_int_every  # > 0: trace one flight step in this many (sim/smallint.py)
        self.small_ints = SmallIntCheck() if small_int_every else None
        self.t_us = 0  # virtual time since boot, unwrapped (the HAL clock wraps)
        # faults (sim/faults.py): an injector polled every 10 ms, and what the runner itself models
        self.faults = None  # sim.faults.FaultInjector
        self.hung = False  # the processor's foreground is stuck: only the fine timer interrupt runs
        self.link_down = False  # the lab/space link carries nothing either way
        self.link_lost_tm = 0  # TM packets the link lost (truth)
        self.link_lost_packets = []  # ... and their octets
        self.link_lost_tc = 0  # telecommands the link lost (truth)
        self.resets = []  # (run time s, reset cause) of every processor reset

    def run(self, duration_s: float, on_hk=None, progress=None, realtime: bool = False,
            stop=None, uplink=()) -> RunResult:
        """Run for ``duration_s`` of virtual time; ``on_hk(row)`` sees each HK sample.

        ``realtime``: pace virtual time to the wall clock (real-time emulation);
        ``stop()``: polled every virtual 10 ms, True ends the run early;
        ``uplink``: ``(t_s, packet)`` telecommands delivered on the lab port at that
        virtual time (since this run's start), as a ground would send them.
        """
        if duration_s <= 0:
            raise ValueError("duration must be > 0 s")
        hal, app, dt_us = self.hal, self.app, self.dt_us
        steps = int(round(duration_s * 1e6 / dt_us))
        temps = np.zeros(steps * dt_us // THERMAL_PLANT_STEP_US + 1)
        thermistor = hal.analog_in["crystal_thermistor"]
        tec = hal.analog_out["crystal_tec"]
        hk_rows = []
        ps = self.pointing
        ps.begin(steps)
        block = ps.block
        apt = app.apt
        thermal_every = THERMAL_PLANT_STEP_US // dt_us or 1
        source_every = SOURCE_PLANT_STEP_US // dt_us or 1
        truth = self.source_truth
        tm_times = []
        n_temp = 0
        if not app.sched.started:
            app.start()
        lab_tx = getattr(hal.links.get("lab"), "tx", None)  # a fake link's sent datagrams; None on UDP
        lab_rx = getattr(hal.links.get("lab"), "rx", None)
        pending = sorted(uplink, key=lambda c: c[0])
        if pending and lab_rx is None:
            raise ValueError("uplink needs the emulated lab port")
        packets = []
        wall0 = time.perf_counter()
        t_run0 = self.t_us
        for k in range(steps):
            j = (self.t_us // dt_us) % block
            if k % thermal_every == 0:
                self.thermal.step(self.t_us * 1e-6, thermal_every * dt_us * 1e-6, tec.value)
                thermistor.uv = self.thermal.thermistor_uv()
                temps[n_temp] = self.thermal.temp_k
                n_temp += 1
            if k % source_every == 0:
                t_s = self.t_us * 1e-6
                if self.source is not None:
                    self.source.step(source_every * dt_us * 1e-6, self.thermal.temp_k, self.thermal.ambient_k(t_s))
                truth.record(t_s, self.thermal.temp_k, app, self.source)
            if self.pointing_on:
                ps.before(k, j, self.t_us * 1e-6)
            if k % 10 == 0:
                if self.faults is not None:
                    self.faults.tick(self)
                if hal.watchdog.expired():
                    self.reset(RESET_WATCHDOG)
                    app, apt = self.app, self.app.apt
            while pending and pending[0][0] * 1e6 <= k * dt_us:
                packet = bytes(pending.pop(0)[1])
                if self.link_down:
                    self.link_lost_tc += 1
                else:
                    lab_rx.append(packet)
            if self.hung:  # the timer interrupt still runs the fine group; nothing else runs
                if app.sched.due(app.fine):
                    app.sched.run(app.fine)
            elif self.small_ints is not None and k % self.small_int_every == 0:
                self.small_ints.call(app.step)
            else:
                app.step()
            if self.pointing_on:
                ps.record_state(k, [b.state for b in apt])
                ps.after()
            if lab_tx and self.link_down:
                self.link_lost_tm += len(lab_tx)
                self.link_lost_packets.extend(lab_tx)
                lab_tx.clear()
            if lab_tx:  # TM from this step: housekeeping rows are decoded as the ground would
                row = _hk_row(lab_tx)
                packets.extend(lab_tx)
                tm_times.extend([self.t_us * 1e-6] * len(lab_tx))
                lab_tx.clear()
                if row:
                    hk_rows.append(row)
                    if on_hk is not None:
                        on_hk(row)
            if progress is not None and k % 1000 == 0:
                progress(k, steps)
            if (realtime or stop is not None) and k % 10 == 0:
                if stop is not None and stop():
                    steps = k + 1
                    break
                if realtime:
                    ahead = (k * dt_us) * 1e-6 - (time.perf_counter() - wall0)
                    if ahead > 0.002:
                        time.sleep(ahead)
            hal.advance(dt_us)
            self.t_us += dt_us
        wall = time.perf_counter() - wall0
        rec = {key: v[:, :steps] for key, v in ps.rec.items()}
        return RunResult(seed=self.seed, duration_s=steps * dt_us * 1e-6, fine_steps=steps, wall_s=wall,
                         hk_rows=hk_rows, tm_packets=packets, t_s=(t_run0 + np.arange(steps) * dt_us) * 1e-6,
                         error_x_nrad=np.round(rec["err_x"] * 1000).astype(np.int32),
                         error_y_nrad=np.round(rec["err_y"] * 1000).astype(np.int32),
                         crystal_temp_k=temps[:n_temp], tm_times_s=tm_times,
                         source_truth=truth.arrays(), pointing=rec)


    def reset(self, cause: int) -> None:
        """A processor reset: the outputs fall to their reset state, RAM is gone, the flight software
        boots again on the same hardware (its non-volatile store survives) and reports ``cause``."""
        hal = self.hal
        hal.power_on_reset_outputs()
        hal.watchdog.cause = cause
        hal.watchdog.timeout_ms = 0  # stopped until the new boot starts it
        self.hung = False
        self.resets.append((self.t_us * 1e-6, cause))
        self.app = self._boot()
        self.app.start()

    def _boot(self) -> PayloadApp:
        """The flight software on this hardware, with the emulator's larger packet store."""
        return PayloadApp(self.hal, fine_period_us=self.dt_us, lab_enabled=self.lab_enabled,
                          store_octets=STORE_OCTETS_EMULATOR)


class SourceTruth:
    """The simulator's own record of the source at 10 Hz (what summary figures are computed from).

    The set point and its held flag are the flight's commands to the plant, read
    where the plant receives them; everything else is plant truth.
    """

    def __init__(self):
        self._rows = []

    def record(self, t_s, crystal_temp_k, app, source):
        crystal = app.crystal
        # held: the reference has arrived and no auto-tune scan is moving the set point
        held = crystal.held and crystal.enabled and not app.source_app.tuner.active
        pm = source.source.centre_temp_k if source is not None else float("nan")
        i_ma = source.current_ma if source is not None else 0.0
        rate = source.pair_rate_hz if source is not None else 0.0
        phase = source.phase_rad if source is not None else 0.0
        emitting = app.source_app.modes.mode == EMITTING  # the output to the telescopes is open
        sync_on = app.hal.digital_out["sync_enable"].on
        self._rows.append((t_s, crystal_temp_k, crystal.set_point_mk / 1000.0, held,
                           pm, i_ma, rate, phase, emitting, sync_on))

    def arrays(self) -> dict:
        names = ("t_s", "crystal_temp_k", "setpoint_k", "setpoint_held", "phase_match_temp_k", "pump_current_ma",
                 "pair_rate_hz", "polarisation_phase_rad", "emitting", "sync_on")
        cols = list(zip(*self._rows)) if self._rows else [()] * len(names)
        out = {n: np.asarray(c, dtype=np.float64) for n, c in zip(names, cols)}
        for name in ("setpoint_held", "emitting", "sync_on"):
            out[name] = out[name].astype(bool)
        return out


def _hk_row(packets: list) -> dict:
    """{parameter: raw} from the TM[3,25] packets among ``packets`` (ground decoders)."""
    from ground_segment.mdb_decode import DecodeError, decode_bytes

    row = {}
    for p in packets:
        if p[7] != 3 or p[8] != 25:  # service, subtype of the PUS TM secondary header
            continue
        try:
            for rec in decode_bytes(p):
                row[rec.name] = rec.raw
        except DecodeError:
            continue
    return row
