"""Named lock-step scenarios for ``qsat pass``: which source, which truth, which operations plan.

A scenario fixes what the simulator knows and the flight software does not
(the crystal's true phase-matching temperature, the source preset, the orbit
and the ground stations) and the telecommands the ground sends, with their
times.  ``plan()`` builds the pass geometry and the command list:

- scenarios with stations run over a common pass of the two stations (the
  first after ``pass_after_utc``), starting ``lead_s`` before the common view
  so the source warms up, locks and calibrates first; beam b points at station
  b (sim/pass_geometry.py, sim/pass_plan.py);
- scenarios without stations are bench runs of the source alone: the
  ground-test permit stands in for the pointing's emission permission.
"""

from dataclasses import dataclass, field

from bus import mdb


@dataclass(frozen=True)
class Plan:
    t0_unix: float | None  # UTC of the run's start (None: bench run)
    duration_s: float
    geometry: object  # sim.pass_geometry.PassGeometry or None
    uplink: tuple  # (t_s, command name, {argument: value}) in time order

    def commands(self):
        """The uplink as (t_s, TC packet) pairs, numbered as a ground would."""
        from ground_segment.commanding import build_tc

        return [(t, build_tc(name, args, seq_count=i + 1)) for i, (t, name, args) in enumerate(self.uplink)]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    preset: str  # sim/presets.py
    phase_match_offset_k: float  # true phase-matching temperature minus the nominal set point
    egse_permit: bool  # the ground-test permit: emission without tracking (bench runs only)
    duration_s: float  # default run length (pass scenarios: from the pass)
    source_setup: tuple = field(default=())  # (name, args) sent at t = 0 before the warm-up
    stations: tuple = ()  # (station of beam 0, station of beam 1)
    pass_after_utc: str = ""  # the first common pass after this time
    lead_s: float = 420.0  # run start before the common view begins
    tail_s: float = 20.0  # run end after it ends
    el_mask_deg: float = 10.0
    pointing: bool = True  # False: no beacon and no pointing plant (bench runs of the source alone)

    def plan(self, duration_s: float | None = None) -> Plan:
        src = [(0.0, name, args) for name, args in self.source_setup]
        src += [(0.0, *_set("src_auto_emit", 1)), (0.0, "SRC_MODE", {"mode": 1})]
        if not self.stations:
            return Plan(None, duration_s or self.duration_s, None, tuple(src))
        from sim.orbit import Orbit, parse_utc
        from sim.pass_geometry import PassGeometry
        from sim.pass_plan import pass_commands
        from sim.stations import get_station

        orbit = Orbit.default()
        a, b = (get_station(s) for s in self.stations)
        common = orbit.common_passes(a, b, parse_utc(self.pass_after_utc), 2.0, self.el_mask_deg)
        if not common:
            raise ValueError(f"scenario {self.name}: no common pass of {a.name} and {b.name}")
        cp = common[0]
        t0 = cp.start_unix - self.lead_s
        dur = duration_s or (self.lead_s + cp.duration_s + self.tail_s)
        geo = PassGeometry((a, b), t0, dur + 1.0, orbit)
        cmds = pass_commands(geo, t0, self.el_mask_deg)
        uplink = sorted(cmds + src, key=lambda c: c[0])
        return Plan(t0, dur, geo, tuple(uplink))


def _set(name, value):
    return "PARAM_SET", {"pid": mdb.parameter(name)[0], "value": value}


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("micius-2020", "Micius-class source over a Delingha-Nanshan common pass (Yin et al. 2020); the "
                 "crystal's true phase-matching temperature is 1 K below its nominal set point",
                 preset="micius", phase_match_offset_k=-1.0, egse_permit=False, duration_s=0.0,
                 stations=("Delingha", "Nanshan"), pass_after_utc="2021-04-27T12:00:00Z"),
        Scenario("source-bench", "the micius-2020 source alone on the bench (no pointing: the ground-test "
                 "permit allows emission), for runs of an orbit and more",
                 preset="micius", phase_match_offset_k=-1.0, egse_permit=True, duration_s=900.0,
                 pointing=False),
        Scenario("cubesat", "SpooQy-1-class source from a cold start on the bench, phase matching 0.5 K above "
                 "nominal",
                 preset="cubesat", phase_match_offset_k=0.5, egse_permit=True, duration_s=900.0, pointing=False,
                 # a 10 mm crystal's tuning curve is ~3 K wide: scan +/- 4 K; 6.25 mW from the diode
                 # gives the preset's 5 mW at the crystal
                 source_setup=(("SRC_PUMP_POWER", {"power_uw": 6250}), _set("autotune_half_range_mk", 4000),
                               _set("autotune_step_mk", 200))),
    )
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None
