"""Named lock-step scenarios for ``qsat pass``: which source, which truth, which operations plan.

A scenario fixes what the simulator knows and the flight software does not
(the crystal's true phase-matching temperature, the source preset) and the
telecommands the ground sends, with their times.  The whole-pass issue adds the
orbit, the two ground stations and the quantum channel to the same entries.
"""

from dataclasses import dataclass, field

from bus import mdb


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    preset: str  # sim/presets.py
    phase_match_offset_k: float  # true phase-matching temperature minus the nominal set point
    station_in_view: bool  # emission permission, standing in for pointing's fine-tracking report
    duration_s: float  # default run length
    uplink: tuple = field(default=())  # (t_s, command name, {argument: value}) in time order

    def commands(self):
        """The uplink as (t_s, TC packet) pairs, numbered as a ground would."""
        from ground_segment.commanding import build_tc

        return [(t, build_tc(name, args, seq_count=i + 1)) for i, (t, name, args) in enumerate(self.uplink)]


def _set(name, value):
    return "PARAM_SET", {"pid": mdb.parameter(name)[0], "value": value}


def _cold_start_plan(*setup):
    """Source set-up, warm-up from OFF, and let the source emit by itself once calibrated."""
    plan = [(0.0, name, args) for name, args in setup]
    plan += [(0.0, *_set("src_auto_emit", 1)), (0.0, "SRC_MODE", {"mode": 1})]
    return tuple(plan)


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("micius-2020", "Micius-class source, Delingha-Nanshan key distribution (Yin et al. 2020); the "
                 "crystal's true phase-matching temperature is 1 K below its nominal set point",
                 preset="micius", phase_match_offset_k=-1.0, station_in_view=True, duration_s=900.0,
                 uplink=_cold_start_plan()),
        Scenario("cubesat", "SpooQy-1-class source from a cold start, phase matching 0.5 K above nominal",
                 preset="cubesat", phase_match_offset_k=0.5, station_in_view=True, duration_s=900.0,
                 # a 10 mm crystal's tuning curve is ~3 K wide: scan +/- 4 K; 6.25 mW from the diode
                 # gives the preset's 5 mW at the crystal
                 uplink=_cold_start_plan(("SRC_PUMP_POWER", {"power_uw": 6250}),
                                         _set("autotune_half_range_mk", 4000), _set("autotune_step_mk", 200))),
    )
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None
