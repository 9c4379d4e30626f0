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
from sim.pass_plan import with_arms

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
    tle: str = ""  # the orbit: a file in sim/data ("" = Micius, sim/orbit.py's default)
    ephemeris_step_s: float = 2.0  # spacing of the uploaded ephemeris (slower orbits can take longer steps)
    contact_limit_s: float | None = None  # a run covers at most this much of the common view (hours-long MEO passes)
    activities: tuple = ()  # (t_s, name, args) of the scenario's own, released on board at those run times
    night_sun_deg: float | None = -12.0  # passes only while the Sun is this far below both stations' horizon

    def orbit(self):
        from sim.orbit import DATA_DIR, Orbit

        return Orbit.from_file(DATA_DIR / self.tle) if self.tle else Orbit.default()

    def common_passes(self, n: int = 1, days: float | None = None) -> list:
        """The first ``n`` common night passes of the two stations after ``pass_after_utc``
        (sim.orbit.CommonPass), or every one within ``days`` when given.  ValueError if there are fewer within 32 days."""
        from sim.orbit import parse_utc, sun_elevation_deg
        from sim.stations import get_station

        if not self.stations:
            raise ValueError(f"scenario {self.name} has no ground stations")
        orbit = self.orbit()
        a, b = (get_station(s) for s in self.stations)
        start = parse_utc(self.pass_after_utc)

        def dark(cp):  # Micius worked at night: daylight swamps the detectors
            if self.night_sun_deg is None:
                return True
            return all(float(sun_elevation_deg(st, t)) < self.night_sun_deg
                       for st in (a, b) for t in (cp.start_unix, cp.end_unix))

        if days is not None:
            return [cp for cp in orbit.common_passes(a, b, start, days, self.el_mask_deg) if dark(cp)]
        span = 2.0
        while True:
            found = [cp for cp in orbit.common_passes(a, b, start, span, self.el_mask_deg) if dark(cp)]
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
            return Plan(None, duration_s or self.duration_s, None, tuple(with_arms(src)))
        if pass_index < 0:
            raise ValueError(f"pass_index must be >= 0, got {pass_index}")
        return self.plan_for(self.common_passes(pass_index + 1)[pass_index], duration_s)

    def plan_for(self, common_pass, duration_s: float | None = None) -> Plan:
        """The run over ``common_pass`` (sim.orbit.CommonPass of this scenario's stations)."""
        from ground_segment.schedule import insert_data, time_tag
        from sim.pass_geometry import PassGeometry
        from sim.pass_plan import arms_needed, beam_tracks, pass_schedule, pass_uploads

        cp = common_pass
        t0 = cp.start_unix - self.lead_s
        contact = cp.duration_s if self.contact_limit_s is None else min(cp.duration_s, self.contact_limit_s)
        whole = self.lead_s + contact + self.tail_s
        dur = duration_s or whole
        # the geometry (and so the ephemerides) covers the whole pass even when the run is shorter:
        # the ground uploads the pass it plans, whatever part of it a run looks at
        geo = PassGeometry((cp.station_a, cp.station_b), t0, max(dur, whole) + 1.0, self.orbit())
        tracks = beam_tracks(geo, self.el_mask_deg)
        window = (self.lead_s, self.lead_s + contact)
        schedule = pass_schedule(tracks, window, self.source_setup, extra=self.activities)
        uploads = pass_uploads(geo, t0, tracks, step_s=self.ephemeris_step_s)  # TIME_SET, then the ephemerides
        # number the immediate packets 1..N (a HAZ_ARM before each hazardous one) and the scheduled ones
        # after them; packing into inserts, and what is hazardous, do not depend on the numbering
        first = [(0.0, "SCHED_INSERT", {"data": d.hex()})
                 for d in insert_data(time_tag([(t0 + t, n, a) for t, n, a in schedule]))]
        n_immediate = len(uploads) + len(first) + arms_needed(uploads + first)
        tagged = time_tag([(t0 + t, n, a) for t, n, a in schedule], first_seq_count=n_immediate + 1)
        inserts = [(0.0, "SCHED_INSERT", {"data": d.hex()}) for d in insert_data(tagged)]
        uplink = with_arms(uploads[:1] + inserts + uploads[1:])
        assert len(uplink) == n_immediate
        return Plan(t0, dur, geo, tuple(uplink), tuple(schedule), window, cp)


# a 10 mm crystal's tuning curve is ~3 K wide: scan +/- 4 K; 6.25 mW from the diode gives the preset's
# 5 mW at the crystal
_CUBESAT_SETUP = (("SRC_PUMP_POWER", {"power_uw": 6250}), _set("autotune_half_range_mk", 4000),
                  _set("autotune_step_mk", 200))

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
        Scenario("micius-2017", "Micius-class source over a Delingha-Lijiang common pass with the 2017 ground optics "
                 "(Yin et al. 2017): a Bell test, as the 2017 experiment ran",
                 preset="micius", phase_match_offset_k=-1.0, egse_permit=False, duration_s=0.0,
                 stations=("Delingha", "Lijiang"), pass_after_utc="2021-04-29T12:00:00Z"),
        Scenario("cubesat", "SpooQy-1-class source with a small downlink telescope over two portable stations at "
                 "Delingha and Nanshan (the Micius orbit stands in for a CubeSat's); phase matching 0.5 K above "
                 "nominal",
                 preset="cubesat", phase_match_offset_k=0.5, egse_permit=False, duration_s=0.0,
                 stations=("Delingha", "Nanshan"), pass_after_utc="2021-04-27T12:00:00Z",
                 source_setup=_CUBESAT_SETUP),
        Scenario("cubesat-bench", "SpooQy-1-class source from a cold start on the bench, phase matching 0.5 K above "
                 "nominal",
                 preset="cubesat", phase_match_offset_k=0.5, egse_permit=True, duration_s=900.0, pointing=False,
                 source_setup=_CUBESAT_SETUP),
        Scenario("meo", "Micius-class source on a 10,000 km orbit (synthetic TLE, 55 deg) with a 600 mm telescope "
                 "over Delingha and Nanshan: the first 600 s of a two-hour common view",
                 preset="micius", phase_match_offset_k=-1.0, egse_permit=False, duration_s=0.0,
                 stations=("Delingha", "Nanshan"), pass_after_utc="2021-04-27T12:00:00Z",
                 tle="meo-10000km.tle", ephemeris_step_s=10.0, contact_limit_s=600.0),
    )
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None


WARM_LEAD_S = 200.0  # a warm pass: warm-up 50 s, lock 30 s, retarder sweep ~20 s, then the beams' pre-roll
WARM_SWEEP_S = 120.0  # the retarder sweep, once the source is READY (80 s after the warm-up)


def warm(sc: Scenario, tuned_set_point_mk: int) -> Scenario:
    """The scenario as operators run the passes after the first: the crystal set point the last
    phase-matching scan found (from its EV_SRC_AUTOTUNE report) uploaded with the warm-up, no scan on
    READY, a retarder sweep instead, and a lead time without the scan's four minutes."""
    from dataclasses import replace

    setup = sc.source_setup + (_set("crystal_set_point_mk", int(tuned_set_point_mk)), _set("autotune_on_ready", 0))
    return replace(sc, source_setup=setup, lead_s=WARM_LEAD_S,
                   activities=sc.activities + ((WARM_SWEEP_S, "SRC_RETARDER_SWEEP", {}),))
