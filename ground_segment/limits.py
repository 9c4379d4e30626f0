"""Limit monitoring of telemetry parameters, from the limits declared in the mission database.

Each parameter with limits ``(red_lo, yellow_lo, yellow_hi, red_hi)`` (raw units,
bus/mdb.py) is checked sample by sample (as docs/icd.md states them)::

    raw < red_lo                        RED
    red_lo <= raw < yellow_lo           YELLOW
    yellow_lo <= raw <= yellow_hi       NOMINAL
    yellow_hi < raw <= red_hi           YELLOW
    raw > red_hi                        RED

The monitored state changes only when a new state persists: N consecutive samples
(``persistence``, default 2, per parameter if wanted) all more severe than the
current state raise it to the least severe of them; N consecutive samples all
less severe lower it to the most severe of them.  So a value flickering between
yellow and red from nominal becomes YELLOW, then RED only if red persists; a
single outlier changes nothing.  Every change is returned as a ``Transition``
for the station to log and broadcast; tools colour values by ``state(name)``
(persisted) or ``classify(name, raw)`` (this value alone).

Every monitored parameter starts NOMINAL.  Parameters without declared limits
are not monitored: their state is ``None`` and they never make a transition.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from bus import mdb

NOMINAL = "NOMINAL"
YELLOW = "YELLOW"
RED = "RED"
SEVERITY = {NOMINAL: 0, YELLOW: 1, RED: 2}
_STATES = (NOMINAL, YELLOW, RED)
DEFAULT_PERSISTENCE = 2


class Transition(NamedTuple):
    """A parameter's monitored state changed."""

    name: str
    old: str
    new: str
    value: int | float  # the raw value of the sample that completed the change
    t_unix: float | None = None  # that sample's time, when given


def declared_limits() -> dict[str, tuple]:
    """{parameter name: (red_lo, yellow_lo, yellow_hi, red_hi)} of every parameter that has limits."""
    return {p[1]: tuple(p[6]) for p in mdb.PARAMETERS if p[6] is not None}


def classify_value(raw, limits) -> str:
    """NOMINAL, YELLOW or RED of one raw value against ``(red_lo, yellow_lo, yellow_hi, red_hi)``."""
    red_lo, yellow_lo, yellow_hi, red_hi = limits
    if raw < red_lo or raw > red_hi:
        return RED
    if raw < yellow_lo or raw > yellow_hi:
        return YELLOW
    return NOMINAL


class _Track:
    __slots__ = ("limits", "persistence", "state", "run", "run_lo", "run_hi", "direction")

    def __init__(self, limits, persistence):
        self.limits = limits
        self.persistence = persistence
        self.state = 0  # severity of the monitored state
        self.run = 0  # consecutive samples on the same side of the state
        self.direction = 0  # +1: those samples are more severe, -1: less severe
        self.run_lo = 0  # least severe of the run
        self.run_hi = 0  # most severe of the run


class LimitMonitor:
    """Persistence-filtered limit states per parameter.

    ``limits``: {name: (red_lo, yellow_lo, yellow_hi, red_hi)}, default the
    mission database's; ``persistence``: samples a change needs (>= 1), with
    ``persistence_of`` {name: n} overriding it per parameter.
    """

    def __init__(self, persistence: int = DEFAULT_PERSISTENCE, limits: dict | None = None,
                 persistence_of: dict | None = None):
        if persistence < 1:
            raise ValueError("persistence %d: at least 1 sample" % persistence)
        self.persistence = persistence
        self.limits = declared_limits() if limits is None else dict(limits)
        for name, lim in self.limits.items():
            if len(lim) != 4 or not lim[0] <= lim[1] <= lim[2] <= lim[3]:
                raise ValueError("%s: limits %r not ordered (red_lo, yellow_lo, yellow_hi, red_hi)" % (name, lim))
        per = persistence_of or {}
        for name, n in per.items():
            if n < 1:
                raise ValueError("%s: persistence %d: at least 1 sample" % (name, n))
        self._tracks = {name: _Track(lim, per.get(name, persistence)) for name, lim in self.limits.items()}
        self.transitions = 0  # transitions reported since creation

    def monitored(self, name: str) -> bool:
        return name in self._tracks

    def classify(self, name: str, raw) -> str | None:
        """State of this one value (no persistence); None when ``name`` has no limits."""
        tr = self._tracks.get(name)
        return None if tr is None else classify_value(raw, tr.limits)

    def state(self, name: str) -> str | None:
        """Monitored (persisted) state of ``name``; None when it has no limits."""
        tr = self._tracks.get(name)
        return None if tr is None else _STATES[tr.state]

    def states(self) -> dict[str, str]:
        """{name: monitored state} of every monitored parameter."""
        return {name: _STATES[tr.state] for name, tr in self._tracks.items()}

    def check(self, name: str, raw, t_unix: float | None = None) -> tuple[str | None, Transition | None]:
        """Take one sample; return (monitored state after it, Transition or None)."""
        tr = self._tracks.get(name)
        if tr is None:
            return None, None
        sev = SEVERITY[classify_value(raw, tr.limits)]
        cur = tr.state
        if sev == cur:
            tr.run = 0
            return _STATES[cur], None
        direction = 1 if sev > cur else -1
        if tr.run and tr.direction == direction:
            tr.run += 1
            tr.run_lo = min(tr.run_lo, sev)
            tr.run_hi = max(tr.run_hi, sev)
        else:
            tr.run, tr.direction, tr.run_lo, tr.run_hi = 1, direction, sev, sev
        if tr.run < tr.persistence:
            return _STATES[cur], None
        new = tr.run_lo if direction > 0 else tr.run_hi
        tr.state = new
        tr.run = 0
        self.transitions += 1
        return _STATES[new], Transition(name, _STATES[cur], _STATES[new], raw, t_unix)

    def update(self, samples: Iterable) -> list[Transition]:
        """Check every sample (anything with ``name``, ``raw`` and optionally ``t_unix``); return the transitions."""
        out = []
        for s in samples:
            _, t = self.check(s.name, s.raw, getattr(s, "t_unix", None))
            if t is not None:
                out.append(t)
        return out

    def reset(self, name: str | None = None) -> None:
        """Back to NOMINAL with no pending samples (one parameter, or all)."""
        for n, tr in self._tracks.items():
            if name is None or n == name:
                tr.state = tr.run = 0
