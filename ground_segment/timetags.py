"""A ground station's time-tag file: every detection its time tagger recorded, on the station's own clock.

Layout (little-endian): one line of JSON (the header, ending in ``\\n``), then
``records`` 8-octet words ``(t_ps << 3) | channel``: ``t_ps`` is picoseconds
since ``epoch_unix`` on the station clock (which runs off UTC by an offset and
a drift the station does not know to the picosecond) and ``channel`` is

    0, 1  analyser setting 0, ports 0 and 1  (key mode: H, V)
    2, 3  analyser setting 1, ports 0 and 1  (key mode: D, A)
    4     synchronisation laser pulse

With 3 bits for the channel the time field spans 2^60 ps, 13 days from the
epoch.  Records are in time order.  ``analyser_deg`` in the header gives the
two settings' angles (key mode 0/45 at both stations; Bell mode 0/45 at one
and 22.5/67.5 at the other); ``sync_period_ps`` the satellite's pulse period.
"""

import json
from dataclasses import dataclass, field

import numpy as np

FORMAT = "qsat-timetags/1"
CH_SYNC = 4
_CH_BITS = 3


@dataclass
class TimeTags:
    station: str
    epoch_unix: int
    t_ps: np.ndarray  # int64, ascending
    channel: np.ndarray  # uint8
    header: dict = field(default_factory=dict)

    def photons(self):
        k = self.channel < CH_SYNC
        return self.t_ps[k], self.channel[k]

    def sync(self):
        return self.t_ps[self.channel == CH_SYNC]


def write(path, station: str, epoch_unix: int, t_ps, channel, **header) -> int:
    """Write a file; returns the number of records."""
    t = np.asarray(t_ps, dtype=np.int64)
    ch = np.asarray(channel, dtype=np.int64)
    if len(t) and (t.min() < 0 or t.max() >= 1 << 60):
        raise ValueError("time tags must lie within 2^60 ps after the epoch")
    order = np.argsort(t, kind="stable")
    words = (t[order] << _CH_BITS) | ch[order]
    head = dict(header, format=FORMAT, station=station, epoch_unix=int(epoch_unix), records=int(len(t)))
    with open(path, "wb") as f:
        f.write(json.dumps(head, sort_keys=True).encode() + b"\n")
        f.write(words.astype("<i8").tobytes())
    return len(t)


def read(path) -> TimeTags:
    """Read a file; a malformed or empty one raises ValueError with the reason."""
    with open(path, "rb") as f:
        line = f.readline()
        try:
            head = json.loads(line)
        except ValueError:
            raise ValueError(f"{path}: not a time-tag file (no JSON header line)") from None
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} file")
        body = f.read()
    if len(body) % 8:
        raise ValueError(f"{path}: truncated ({len(body)} octets of records is not a whole number of words)")
    words = np.frombuffer(body, dtype="<i8")
    if len(words) != head.get("records"):
        raise ValueError(f"{path}: header says {head.get('records')} records, file holds {len(words)}")
    if len(words) == 0:
        raise ValueError(f"{path}: empty: no detections recorded")
    t = words >> _CH_BITS
    if np.any(np.diff(t) < 0):
        raise ValueError(f"{path}: records out of time order")
    return TimeTags(head["station"], head["epoch_unix"], t, (words & 7).astype(np.uint8), head)
