"""Fault injection into the emulated payload: the faults, and when they start and end.

Every fault acts where the real one would: on the plant (a failed TEC, a torn
thermistor, a pump driver leaking current, an aged diode, an attitude drift
that saturates the mirror, a seized mirror, a hidden beacon, a wheel speed
step), on the emulated hardware (the processor's timer jumping) or, for the
faults of the processor itself, through the lock-step runner, the one place
that sees both sides (a bit flipped in a RAM parameter, a hung foreground, a
link carrying nothing).  The flight software only ever sees the consequences
through the HAL.

A fault is injected at a run time for a duration (``None``: until the run
ends); a scenario file lists them (``load_schedule``), an operator injects one
live into ``qsat emulate`` (``qsat inject``), and ``qsat faults`` runs the
campaign of tools/faults.py over them.  Magnitudes, and where they come from:

===================  ===========================================  ==============================================
fault                what the plant does                           magnitude (source)
===================  ===========================================  ==============================================
tec_failure          the crystal TEC delivers no power             total loss: an open driver or heater
thermistor_open      the crystal bridge reads the positive rail    +3.3 V, beyond -59 degC (open NTC: the bridge
                                                                   saturates)
thermistor_short     ... the negative rail                         -3.3 V, beyond +107 degC (shorted NTC)
pump_overcurrent     the pump driver adds current of its own       +20 mA over the 90 mA interlock when added to
                                                                   the ~75 mA operating point (failed sense
                                                                   transistor)
diode_ageing         the pump diode ages by 150,000 h at once      threshold x1.77 (sim/pump_laser.py ageing law):
                                                                   the 37.5 mW target needs more than the 90 mA
                                                                   limit
mirror_saturation    the platform drifts 700 urad/s on one axis    above what the 0.5 /s offload keeps inside the
                                                                   mirror's +/-1 mrad (ARCHITECTURE: a mirror
                                                                   saturation); beam 0
mirror_stuck         beam 0's mirror stops where it is             seized flexure or dead driver
beacon_loss          beam 0's station beacon is hidden             cloud over the station
wheel_speed_jump     wheel 0 runs 10 % faster, phase continuous    a momentum-management glitch
param_bit_flip       bit 11 of crystal_kp flips in RAM             a single-event upset
hung_rate_group      the foreground loop hangs (timer ISR runs)    a software lock-up: only the watchdog helps
tm_link_down         the link carries nothing either way           loss of the RF link
clock_jump           the processor's timer jumps 10 s forward      a counter upset; the watchdog's own
                                                                   oscillator does not jump
===================  ===========================================  ==============================================
"""

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FaultKind:
    name: str
    what: str
    params: dict = field(default_factory=dict)  # default magnitudes, overridable per injection


def _tec(runner, on, p):
    runner.thermal.tec_failed = on


def _thermistor(rail_uv):
    def apply(runner, on, p):
        runner.thermal.thermistor_fault_uv = p.get("uv", rail_uv) if on else None
    return apply


def _pump_overcurrent(runner, on, p):
    runner.source.extra_current_ma = p["extra_ma"] if on else 0.0


def _ageing(runner, on, p):
    if on:  # ageing does not heal: clearing leaves the diode as old as it became
        runner.source.diode.operating_hours += p["hours"]


def _mirror_saturation(runner, on, p):
    ps = runner.pointing
    ps.bias_rate_urad_s = (p["rate_urad_s"], 0.0) if on else (0.0, 0.0)


def _mirror_stuck(runner, on, p):
    runner.pointing._mirrors[p["beam"]].stuck = on


def _beacon(runner, on, p):
    runner.pointing.beacon_blocked[p["beam"]] = on


def _wheel(runner, on, p):
    if on:  # a step in speed: it stays (clearing it is another step, not modelled)
        vib = runner.pointing.vib
        vib.speed_step(p["wheel"], p["fraction"])
        # the model draws 10 s blocks ahead: the step starts with the next one (its run time kept here)
        p["effective_at_s"] = vib.n0 * vib.dt


def _bit_flip(runner, on, p):
    if on:
        obj, attr, _, _ = runner.app.params.entry(p["parameter"])
        setattr(obj, attr, getattr(obj, attr) ^ (1 << p["bit"]))


def _hung(runner, on, p):
    runner.hung = on


def _link(runner, on, p):
    runner.link_down = on


def _clock(runner, on, p):
    if on:
        runner.hal.clock.advance(int(p["jump_s"] * 1e6))  # the timer only: plant time and watchdog go on


KINDS = {k.name: k for k in (
    FaultKind("tec_failure", "crystal heater/cooler (TEC) failure"),
    FaultKind("thermistor_open", "crystal thermistor open circuit", {"uv": 3_300_000}),
    FaultKind("thermistor_short", "crystal thermistor short circuit", {"uv": -3_300_000}),
    FaultKind("pump_overcurrent", "pump laser over-current", {"extra_ma": 20.0}),
    FaultKind("diode_ageing", "pump laser diode ageing", {"hours": 150_000.0}),
    FaultKind("mirror_saturation", "fine steering mirror saturation (attitude drift)", {"rate_urad_s": 700.0}),
    FaultKind("mirror_stuck", "fine steering mirror stuck", {"beam": 0}),
    FaultKind("beacon_loss", "ground beacon lost", {"beam": 0}),
    FaultKind("wheel_speed_jump", "reaction-wheel speed jump", {"wheel": 0, "fraction": 0.10}),
    FaultKind("param_bit_flip", "bit flip in a RAM parameter", {"parameter": "crystal_kp", "bit": 11}),
    FaultKind("hung_rate_group", "hung rate group (watchdog)"),
    FaultKind("tm_link_down", "TM link down"),
    FaultKind("clock_jump", "on-board clock jump", {"jump_s": 10.0}),
)}
_APPLY = {
    "tec_failure": _tec, "thermistor_open": _thermistor(3_300_000), "thermistor_short": _thermistor(-3_300_000),
    "pump_overcurrent": _pump_overcurrent, "diode_ageing": _ageing, "mirror_saturation": _mirror_saturation,
    "mirror_stuck": _mirror_stuck, "beacon_loss": _beacon, "wheel_speed_jump": _wheel,
    "param_bit_flip": _bit_flip, "hung_rate_group": _hung, "tm_link_down": _link, "clock_jump": _clock,
}


@dataclass
class Injection:
    fault: str
    at_s: float  # run time (the runner's virtual time since boot)
    duration_s: float | None = None  # None: until the run ends
    params: dict = field(default_factory=dict)
    active: bool = False
    done: bool = False


def check_injection(fault: str, at_s: float, duration_s, params: dict | None = None) -> dict:
    """The injection's parameters (defaults merged); ValueError with a one-line reason when it is wrong."""
    kind = KINDS.get(fault)
    if kind is None:
        raise ValueError(f"unknown fault {fault!r}; known: {', '.join(KINDS)}")
    if not at_s >= 0:
        raise ValueError(f"fault {fault}: start time {at_s} must be >= 0 s")
    if duration_s is not None and not duration_s > 0:
        raise ValueError(f"fault {fault}: duration {duration_s} must be > 0 s")
    merged = dict(kind.params)
    for key, value in (params or {}).items():
        if key not in merged:
            raise ValueError(f"fault {fault}: no parameter {key!r} (has: {', '.join(merged) or 'none'})")
        merged[key] = value
    for key in ("beam", "wheel"):
        if key in merged and merged[key] not in ((0, 1) if key == "beam" else (0, 1, 2)):
            raise ValueError(f"fault {fault}: {key} {merged[key]} out of range")
    return merged


class FaultInjector:
    """Injections on a runner (``runner.faults``); ``tick`` is called every 10 ms of virtual time."""

    def __init__(self):
        self.injections = []
        self.log = []  # (run time s, fault, "start" | "end")

    @classmethod
    def from_rows(cls, rows) -> "FaultInjector":
        """An injector with the rows of a fault file (``load_schedule``) added."""
        inj = cls()
        for row in rows:
            inj.add(row["fault"], float(row["at_s"]), row.get("duration_s"), **(row.get("params") or {}))
        return inj

    def add(self, fault: str, at_s: float, duration_s=None, **params) -> Injection:
        merged = check_injection(fault, at_s, duration_s, params)
        inj = Injection(fault, float(at_s), duration_s, merged)
        self.injections.append(inj)
        return inj

    def tick(self, runner) -> None:
        t = runner.t_us * 1e-6
        for inj in self.injections:
            if inj.done:
                continue
            if not inj.active and t >= inj.at_s:
                inj.active = True
                _APPLY[inj.fault](runner, True, inj.params)
                self.log.append((t, inj.fault, "start"))
            if inj.active and inj.duration_s is not None and t >= inj.at_s + inj.duration_s:
                inj.active = False
                inj.done = True
                _APPLY[inj.fault](runner, False, inj.params)
                self.log.append((t, inj.fault, "end"))


def load_schedule(path) -> list[dict]:
    """A scenario file of faults: a JSON list of {"fault", "at_s", "duration_s"?, "params"?}; each
    entry checked (ValueError with a one-line reason)."""
    try:
        rows = json.loads(Path(path).read_text())
    except OSError as e:
        raise ValueError(f"cannot read fault file {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"fault file {path}: not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(rows, list):
        raise ValueError(f"fault file {path}: expected a JSON list of faults")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "fault" not in row or "at_s" not in row:
            raise ValueError(f"fault file {path}: entry {i} needs 'fault' and 'at_s'")
        unknown = set(row) - {"fault", "at_s", "duration_s", "params"}
        if unknown:
            raise ValueError(f"fault file {path}: entry {i} has unknown keys {sorted(unknown)}")
        try:
            check_injection(row["fault"], float(row["at_s"]), row.get("duration_s"), row.get("params"))
        except (TypeError, ValueError) as e:
            raise ValueError(f"fault file {path}: entry {i}: {e}") from None
        out.append(row)
    return out


PORT_FAULTS = 7320  # UDP loopback: the emulator's fault-injection port (EGSE side, not the spacecraft's)


class FaultPort:
    """Live injection into a running emulation: one JSON datagram per fault,
    ``{"fault": NAME, "duration_s": S or null, "params": {...}}``, answered with
    ``{"ok": true, "fault": NAME, "at_s": T}`` or ``{"ok": false, "error": REASON}``.
    ``poll(runner)`` (every 10 ms of the run) starts what arrived at the present run time."""

    def __init__(self, host: str = "127.0.0.1", port: int = PORT_FAULTS):
        import socket

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.setblocking(False)
        self.received = 0

    def poll(self, runner) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self.received += 1
            self.sock.sendto(json.dumps(self._take(runner, data)).encode(), peer)

    def _take(self, runner, data: bytes) -> dict:
        try:
            msg = json.loads(data)
            if not isinstance(msg, dict) or not isinstance(msg.get("fault"), str):
                raise ValueError("expected {\"fault\": NAME, ...}")
            if runner.faults is None:
                runner.faults = FaultInjector()
            at = runner.t_us * 1e-6
            params = msg.get("params") or {}
            if not isinstance(params, dict):
                raise ValueError("params must be an object")
            runner.faults.add(msg["fault"], at, msg.get("duration_s"), **params)
        except (ValueError, TypeError) as e:
            return {"ok": False, "error": str(e)}
        return {"ok": True, "fault": msg["fault"], "at_s": round(at, 3)}

    def close(self) -> None:
        self.sock.close()
