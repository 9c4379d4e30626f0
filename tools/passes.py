"""``qsat passes``: when the satellite is over a ground station, or over two at once.

    qsat passes --station delingha --days 2
    qsat passes --station delingha --with nanshan --days 7 --min-elevation 15

Predicts with SGP4 from the default TLE (Micius, NORAD 41731, epoch 2021-04-27; see
sim/orbit.py).  Prints one line per pass: rise, culmination and set in UTC, duration and
maximum elevation; with ``--with`` the intervals both stations see the satellite above the
mask, with each station's highest elevation within them.
"""

import math
import sys

MAX_DAYS = 30.0
STALE_DAYS = 14.0  # beyond this from the epoch a TLE's along-track error reaches tens of km


def add_parser(sub):
    p = sub.add_parser(
        "passes", help="predict passes over a ground station (or two together) from the TLE",
        description="Predict passes of the satellite over a ground station with SGP4. The default TLE "
                    "is Micius' of 2021-04-27, so the default start is that TLE's epoch: predictions "
                    "far from it (days to weeks) drift by km to tens of km along track.")
    p.add_argument("--station", metavar="NAME", help="ground station: Delingha, Nanshan, Lijiang or Ngari (any case)")
    p.add_argument("--days", default="1", metavar="N", help=f"span to search, days (0 < N <= {MAX_DAYS:g}; default 1)")
    p.add_argument("--start", default=None, metavar="ISO-UTC",
                   help="ISO 8601 UTC start, e.g. 2021-04-28T00:00:00Z (default: the TLE epoch, 2021-04-27)")
    p.add_argument("--min-elevation", default="10", dest="min_elevation", metavar="DEG",
                   help="elevation mask, degrees (0..90; default 10)")
    p.add_argument("--with", default=None, dest="other", metavar="OTHER_STATION",
                   help="list the intervals in which this second station sees the satellite too")
    p.add_argument("--tle", default=None, metavar="PATH", help="a 2- or 3-line TLE file (default sim/data/micius-2021-04-27.tle)")
    p.set_defaults(func=cmd_passes)


def _fail(msg: str) -> int:
    print(f"qsat passes: {msg}", file=sys.stderr)
    return 2


def parse_number(text: str, what: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is not a number: {text!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{what} is not finite: {text!r}")
    return v


def cmd_passes(args) -> int:
    from sim.stations import get_station, known_stations

    # validate everything before importing numpy/sgp4 or propagating anything
    if not args.station:
        return _fail(f"--station is required; known: {', '.join(known_stations())}")
    try:
        station = get_station(args.station)
        other = get_station(args.other) if args.other else None
        days = parse_number(args.days, "--days")
        min_el = parse_number(args.min_elevation, "--min-elevation")
    except ValueError as e:
        return _fail(str(e))
    if not 0 < days <= MAX_DAYS:
        return _fail(f"--days must be in (0, {MAX_DAYS:g}], got {args.days}")
    if not 0 <= min_el <= 90:
        return _fail(f"--min-elevation must be in 0..90 degrees, got {args.min_elevation}")
    if other is not None and other == station:
        return _fail("--with names the same station as --station")

    from sim.orbit import Orbit, iso_utc, parse_utc

    start = None
    if args.start is not None:
        try:
            start = parse_utc(args.start)
        except ValueError:
            return _fail(f"--start is not an ISO 8601 date/time: {args.start!r}")
    try:
        orbit = Orbit.default() if args.tle is None else Orbit.from_file(args.tle)
    except OSError as e:
        return _fail(f"cannot read TLE {args.tle}: {e.strerror or e}")
    except ValueError as e:
        return _fail(f"bad TLE {args.tle}: {e}")
    if start is None:
        start = orbit.epoch_unix
    days_from_epoch = (start - orbit.epoch_unix) / 86400.0

    print(f"{orbit.name} (NORAD {orbit.norad_id}), TLE epoch {iso_utc(orbit.epoch_unix)}; "
          f"from {iso_utc(start)} for {days:g} d ({days_from_epoch:+.1f} d from the epoch); "
          f"elevation mask {min_el:g} deg")
    if abs(days_from_epoch) > STALE_DAYS or abs(days_from_epoch + days) > STALE_DAYS:
        print(f"note: more than {STALE_DAYS:g} d from the TLE epoch; SGP4 errors grow by km per day, "
              "so these times are indicative only")
    try:
        if other is None:
            found = orbit.passes(station, start, days, min_el)
            print(f"passes over {station.name} ({station.lat_deg:.4f} N, {station.lon_deg:.4f} E, {station.alt_m:g} m)")
            print(f"{'rise (UTC)':21s} {'culmination (UTC)':21s} {'set (UTC)':21s} {'dur_s':>6s} {'max_el_deg':>10s}")
            for p in found:
                print(f"{iso_utc(p.rise_unix):21s} {iso_utc(p.culmination_unix):21s} {iso_utc(p.set_unix):21s} "
                      f"{p.duration_s:6.0f} {p.max_elevation_deg:10.2f}")
            total = sum(p.duration_s for p in found)
            print(f"{len(found)} passes, {total:.0f} s above {min_el:g} deg")
        else:
            found = orbit.common_passes(station, other, start, days, min_el)
            a, b = station.name, other.name
            print(f"passes seen by {a} and {b} together")
            print(f"{'start (UTC)':21s} {'end (UTC)':21s} {'dur_s':>6s} {'max_el_' + a:>16s} {'max_el_' + b:>16s}")
            for c in found:
                print(f"{iso_utc(c.start_unix):21s} {iso_utc(c.end_unix):21s} {c.duration_s:6.0f} "
                      f"{c.max_elevation_a_deg:16.2f} {c.max_elevation_b_deg:16.2f}")
            total = sum(c.duration_s for c in found)
            print(f"{len(found)} common passes, {total:.0f} s of common view above {min_el:g} deg")
    except ValueError as e:  # SGP4 gave up (e.g. a decayed orbit far from the TLE epoch)
        return _fail(str(e))
    return 0
