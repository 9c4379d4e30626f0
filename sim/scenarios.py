"""Named lock-step scenarios for ``qsat pass``: which source, which truth, which operations plan.

A scenario fixes what the simulator knows and the flight software does not
(the crystal's true phase-matching temperature, the source preset, the orbit
and the ground stations) and the telecommands the ground sends, with their
times.  ``plan()`` builds the pass geometry and the commands:

- scenarios with stations run over a common pass of the two stations (the
  ``pass_index``-th after ``pass_after_utc``), starting ``lead_s`` before the
  common view so the source warms up, locks and calibrates first; beam b points
  at station b (sim/pass_geometry.py).  The pass is operated as in flight
  (sim/pass_plan.py, docs/pass_operations.md): the run starts with immediate
  uploads (time, ephemerides, the TC[11,4] packets of service 11) and every
  operation of the pass is a time-tagged activity released on board;
- scenarios without stations are bench runs of the source alone: the
  ground-test permit stands in for the pointing's emission permission, and the
  set-up and warm-up go up as immediate commands at t = 0 (no on-board time).
"""

from dataclasses import dataclass, field

from sim.pass_plan import param_set as _set

MAX_SEARCH_DAYS = 32.0  # common passes are looked for up to this far after pass_after_utc


@dataclass(frozen=True)
class Plan:
    t0_unix: float | None  # UTC of the run's start (None: bench run)
    duration_s: float
    geometry: object  # sim.pass_geometry.PassGeometry or None
    uplink: tuple  # (t_s, command name, {argument: value}) sent at t_s on the lab port, in time order
    schedule: tuple = ()  # (t_s, command name, {argument: value}) released on board by service 11, in order
    emission_window_s: tuple | None = None  # (start, end) run time: the source may emit (the common view)
    common_pass: object = None  # sim.orbit.CommonPass operated (None: bench run)

    def commands(self):
        """The uplink as (t_s, TC packet) pairs, numbered 1, 2, ... as a ground would; the scheduled
        activities inside the TC[11,4] packets are numbered after them (``schedule_seq_counts``)."""
        from ground_segment.commanding import build_tc

        return [(t, build_tc(name, args, seq_count=i + 1)) for i, (t, name, args) in enumerate(self.uplink)]

    def schedule_seq_counts(self) -> list[int]:
        """Sequence count of each scheduled activity's packet (the request ID of its reports)."""
        return [len(self.uplink) + 1 + i for i in range(len(self.schedule))]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    preset: str  # sim/presets.py
    phase_match_offset_k: float  # true phase-matching temperature minus the nominal set point
    egse_permit: bool  # the ground-test permit: emission without tracking (bench runs only)
    duration_s: float  # default run length (pass scenarios: from the pass)
    source_setup: tuple = field(default=())  # (name, args) sent with the warm-up, before it
    stations: tuple = ()  # (station of beam 0, station of beam 1)
    pass_after_utc: str = ""  # the first common pass after this time
    lead_s: float = 420.0  # run start before the common view begins
    tail_s: float = 20.0  # run end after it ends
    el_mask_deg: float = 10.0
    pointing: bool = True  # False: no beacon and no pointing plant (bench runs of the source alone)

    def common_passes(self, n: int = 1, days: float | None = None) -> list:
        """The first ``n`` common passes of the two stations after ``pass_after_utc`` (sim.orbit.CommonPass),
        or every one within ``days`` when given.  ValueError if there are fewer within 32 days."""
        from sim.orbit import Orbit, parse_utc
        from sim.stations import get_station

        if not self.stations:
            raise ValueError(f"scenario {self.name} has no ground stations")
        orbit = Orbit.default()
        a, b = (get_station(s) for s in self.stations)
        start = parse_utc(self.pass_after_utc)
        if days is not None:
            return orbit.common_passes(a, b, start, days, self.el_mask_deg)
        span = 2.0
        while True:
            found = orbit.common_passes(a, b, start, span, self.el_mask_deg)
            if len(found) >= n:
                return found[:n]
            if span >= MAX_SEARCH_DAYS:
                raise ValueError(f"scenario {self.name}: {len(found)} common passes of {a.name} and {b.name} "
                                 f"within {MAX_SEARCH_DAYS:g} days, {n} asked for")
            span *= 2

    def plan(self, duration_s: float | None = None, pass_index: int = 0) -> Plan:
        """The run over the ``pass_index``-th common pass (0: the first) after ``pass_after_utc``;
        ``duration_s`` None: from ``lead_s`` before the common view to ``tail_s`` after it."""
        if not self.stations:
            src = [(0.0, name, args) for name, args in self.source_setup]
            src.append((0.0, *_set("src_auto_emit", 1)))
            src.append((0.0, "SRC_MODE", {"mode": 1}))
            return Plan(None, duration_s or self.duration_s, None, tuple(src))
        if pass_index < 0:
            raise ValueError(f"pass_index must be >= 0, got {pass_index}")
        return self.plan_for(self.common_passes(pass_index + 1)[pass_index], duration_s)

    def plan_for(self, common_pass, duration_s: float | None = None) -> Plan:
        """The run over ``common_pass`` (sim.orbit.CommonPass of this scenario's stations)."""
        from ground_segment.schedule import insert_data, time_tag
        from sim.orbit import Orbit
        from sim.pass_geometry import PassGeometry
        from sim.pass_plan import beam_tracks, pass_schedule, pass_uploads

        cp = common_pass
        t0 = cp.start_unix - self.lead_s
        whole = self.lead_s + cp.duration_s + self.tail_s
        dur = duration_s or whole
        # the geometry (and so the ephemerides) covers the whole pass even when the run is shorter:
        # the ground uploads the pass it plans, whatever part of it a run looks at
        geo = PassGeometry((cp.station_a, cp.station_b), t0, max(dur, whole) + 1.0, Orbit.default())
        tracks = beam_tracks(geo, self.el_mask_deg)
        window = (self.lead_s, self.lead_s + cp.duration_s)
        schedule = pass_schedule(tracks, window, self.source_setup)
        uploads = pass_uploads(geo, t0, tracks)  # TIME_SET first, then the ephemerides
        # number the immediate packets 1..N and the scheduled ones after them
        n_inserts = len(insert_data(time_tag([(t0 + t, n, a) for t, n, a in schedule])))
        tagged = time_tag([(t0 + t, n, a) for t, n, a in schedule], first_seq_count=len(uploads) + n_inserts + 1)
        inserts = [(0.0, "SCHED_INSERT", {"data": d.hex()}) for d in insert_data(tagged)]
        uplink = uploads[:1] + inserts + uploads[1:]
        return Plan(t0, dur, geo, tuple(uplink), tuple(schedule), window, cp)


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
