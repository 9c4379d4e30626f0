"""The ground archive: raw TM frames and packets, parameter values, events and the command history in SQLite.

One file (``path``; ``":memory:"`` for tests) in WAL mode, so operator tools read
while the station writes.  Tables (times are UNIX seconds, REAL):

- ``frames``: receive time, VC, master and VC frame counts, the frame's octets;
- ``packets``: receive time, APID, sequence count, service, subtype, packet
  time (from its CDS time stamp), whether it passed the packet checks, octets,
  ``source`` (``realtime``: VC 0 or the lab port; ``playback``: the packet
  store's VC 1), ``crc`` (its packet error control field).  A good packet is
  stored once: one with the APID, sequence count, packet time and CRC of a good
  packet already archived is a copy and is refused whichever way it came
  (``add_packet`` returns None), noted in ``packet_duplicates`` (receive time,
  APID, sequence count, packet time, source).  The CRC keeps apart two
  different packets that share the other three (a payload rebooted without its
  time set restarts both its clock and its sequence counts);
- ``parameters``: packet time, receive time, name, raw value, engineering value
  (a number or the enumeration's text: the column keeps the type), limit state;
- ``events``: packet time, receive time, event ID, name, severity, APID, arguments
  (JSON), text;
- ``commands``: one row per command sent: name, arguments (JSON), APID, sequence
  count, sent time, state (``sent``, ``<stage> ok``, ``completed``, ``<stage>
  failed: <reason>`` or what ``finish_command`` sets, e.g. a timeout), final time;
- ``command_stages``: one row per verification report received for a command:
  stage, success, failure code and text, time;
- ``meta``: ``schema_version`` (2; a version-1 file opened for writing is
  migrated: ``source`` added as ``realtime``, repeated packets moved to
  ``packet_duplicates``).

``sequence_gaps`` and ``completeness`` count what is missing from the merged
real-time and playback set in packet-time order (docs/packet_store.md).

The schema is created idempotently.  Every insert method commits at once
(``autocommit``) unless it runs inside ``with archive.batch():``, which commits
once at the end; samples of a packet go in with one ``executemany``.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from typing import Iterable, NamedTuple

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY, rx_time REAL NOT NULL, vcid INTEGER, mc_count INTEGER, vc_count INTEGER,
    data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS frames_rx_time ON frames (rx_time);
CREATE TABLE IF NOT EXISTS packets (
    id INTEGER PRIMARY KEY, rx_time REAL NOT NULL, apid INTEGER, seq_count INTEGER, service INTEGER,
    subtype INTEGER, pkt_time REAL, ok INTEGER NOT NULL, data BLOB NOT NULL,
    source TEXT NOT NULL DEFAULT 'realtime', crc INTEGER);
CREATE TABLE IF NOT EXISTS packet_duplicates (
    id INTEGER PRIMARY KEY, rx_time REAL NOT NULL, apid INTEGER, seq_count INTEGER, pkt_time REAL, source TEXT);
CREATE INDEX IF NOT EXISTS packet_duplicates_pkt_time ON packet_duplicates (pkt_time);
CREATE INDEX IF NOT EXISTS packets_pkt_time ON packets (pkt_time);
CREATE INDEX IF NOT EXISTS packets_apid ON packets (apid, id);
CREATE TABLE IF NOT EXISTS parameters (
    id INTEGER PRIMARY KEY, pkt_time REAL NOT NULL, rx_time REAL, name TEXT NOT NULL, raw, eng,
    limit_state TEXT);
CREATE INDEX IF NOT EXISTS parameters_name_time ON parameters (name, pkt_time);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, pkt_time REAL NOT NULL, rx_time REAL, event_id INTEGER NOT NULL, name TEXT,
    severity INTEGER, apid INTEGER, args TEXT, text TEXT);
CREATE INDEX IF NOT EXISTS events_pkt_time ON events (pkt_time);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, args TEXT, apid INTEGER, seq_count INTEGER,
    sent_time REAL NOT NULL, state TEXT NOT NULL, final_time REAL);
CREATE INDEX IF NOT EXISTS commands_sent_time ON commands (sent_time);
CREATE INDEX IF NOT EXISTS commands_request ON commands (apid, seq_count);
CREATE TABLE IF NOT EXISTS command_stages (
    id INTEGER PRIMARY KEY, command_id INTEGER NOT NULL REFERENCES commands (id), stage TEXT NOT NULL,
    success INTEGER NOT NULL, code INTEGER, text TEXT, time REAL NOT NULL);
CREATE INDEX IF NOT EXISTS command_stages_command ON command_stages (command_id);
"""

# after any migration: a good packet (APID, sequence count, packet time) is archived once
_SCHEMA_KEYS = """
CREATE UNIQUE INDEX IF NOT EXISTS packets_key ON packets (apid, seq_count, pkt_time, crc) WHERE ok = 1;
"""

_REPEATS = ("SELECT id FROM packets p WHERE ok = 1 AND id > (SELECT MIN(id) FROM packets q WHERE q.ok = 1 "
            "AND q.apid = p.apid AND q.seq_count = p.seq_count AND q.pkt_time = p.pkt_time AND q.crc = p.crc)")


class FrameRow(NamedTuple):
    id: int
    rx_time: float
    vcid: int | None
    mc_count: int | None
    vc_count: int | None
    data: bytes


class PacketRow(NamedTuple):
    id: int
    rx_time: float
    apid: int | None
    seq_count: int | None
    service: int | None
    subtype: int | None
    pkt_time: float | None
    ok: bool
    data: bytes
    source: str = "realtime"


class ParameterRow(NamedTuple):
    pkt_time: float
    rx_time: float | None
    name: str
    raw: int | float
    eng: int | float | str
    limit_state: str | None


class EventRow(NamedTuple):
    pkt_time: float
    rx_time: float | None
    event_id: int
    name: str
    severity: int
    apid: int
    args: dict
    text: str


class StageRow(NamedTuple):
    stage: str
    success: bool
    code: int | None
    text: str | None
    time: float


class _CommandFields(NamedTuple):
    id: int
    name: str
    args: dict
    apid: int
    seq_count: int
    sent_time: float
    state: str
    final_time: float | None
    stages: tuple  # StageRow, in order received


class CommandRow(_CommandFields):
    """A command sent and its verification stages."""

    __slots__ = ()

    def _asdict(self):  # the stages as dicts too (JSON output of the tools)
        d = dict(zip(self._fields, self))
        d["stages"] = [s._asdict() for s in self.stages]
        return d


class SequenceGaps(NamedTuple):
    gaps: int  # places where the 14-bit sequence count skipped
    missing: int  # packets missing in all


class ApidCompleteness(NamedTuple):
    """What the archive holds of one APID over a time span (``Archive.completeness``)."""

    apid: int
    received: int  # good packets archived (each once)
    expected: int  # received + missing: what the sequence counts say was sent
    gaps: int  # places where the sequence count skipped
    missing: int  # packets the sequence counts say are missing
    duplicates: int  # copies refused (already archived)
    realtime: int  # of the received, archived from the real-time stream
    playback: int  # of the received, archived from a playback


SEQ_COUNT_MOD = 16384  # 14-bit packet sequence count (CCSDS 133.0-B-2 §4.1.3.4.2)


_EPOCH_OFFSET_S = 4383 * 86400.0  # 1958-01-01 to 1970-01-01


def _packet_fields(data: bytes):
    """(apid, seq_count, service, subtype, pkt_time, ok) of a TM packet's octets, as far as they go."""
    from bus import pus

    n = len(data)
    apid = seq = service = subtype = t = None
    if n >= 4:
        apid = ((data[0] & 0x07) << 8) | data[1]
        seq = ((data[2] & 0x3F) << 8) | data[3]
    if n >= 20 and data[0] & 0x08:
        service, subtype = data[7], data[8]
        days = (data[14] << 8) | data[15]
        ms = (data[16] << 24) | (data[17] << 16) | (data[18] << 8) | data[19]
        t = days * 86400.0 - _EPOCH_OFFSET_S + ms / 1000.0
    ok = pus.check_tm(data, 0, n) == pus.OK
    return apid, seq, service, subtype, t, ok


def _crc_of(data: bytes) -> int | None:
    """The packet error control field (last two octets) of a TM packet."""
    return (data[-2] << 8) | data[-1] if len(data) >= 2 else None


def _where(time_column: str, t0, t1, **equal) -> tuple[str, list]:
    """SQL ``WHERE`` clause (or "") and its parameters: ``t0 <= time <= t1`` and ``column = value``
    for every keyword whose value is not None."""
    terms, params = [], []
    if t0 is not None:
        terms.append(f"{time_column} >= ?")
        params.append(t0)
    if t1 is not None:
        terms.append(f"{time_column} <= ?")
        params.append(t1)
    for column, value in equal.items():
        if value is not None:
            terms.append(f"{column} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(terms)) if terms else "", params


def _py(v):
    """A value sqlite3 can bind (numpy scalars to Python numbers)."""
    return v.item() if hasattr(v, "item") else v


class Archive:
    """The SQLite archive.  ``readonly`` opens an existing file for queries only."""

    def __init__(self, path=":memory:", readonly: bool = False, autocommit: bool = True, timeout_s: float = 10.0):
        self.path = str(path)
        self.readonly = readonly
        self.autocommit = autocommit
        self._batch = 0
        if readonly:
            self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=timeout_s)
        else:
            self.conn = sqlite3.connect(self.path, timeout=timeout_s)
            if self.path != ":memory:":
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(_SCHEMA)
            self.conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                              (str(SCHEMA_VERSION),))
            if self.schema_version == 1:
                self._migrate_1_to_2()
            self.conn.executescript(_SCHEMA_KEYS)
            self.conn.commit()
        v = self.schema_version
        if v != SCHEMA_VERSION:
            raise RuntimeError(f"archive {self.path}: schema version {v}, this software reads {SCHEMA_VERSION}")

    def _migrate_1_to_2(self) -> None:
        """Version 1 to 2: packets get ``source`` (the old ones came real time); repeated good packets
        (same APID, sequence count and packet time) move to ``packet_duplicates``, keeping the first."""
        c = self.conn
        columns = [r[1] for r in c.execute("PRAGMA table_info(packets)")]
        if "source" not in columns:
            c.execute("ALTER TABLE packets ADD COLUMN source TEXT NOT NULL DEFAULT 'realtime'")
        if "crc" not in columns:
            c.execute("ALTER TABLE packets ADD COLUMN crc INTEGER")
        c.executemany("UPDATE packets SET crc = ? WHERE id = ?",
                      [(_crc_of(bytes(d)), i) for i, d in c.execute("SELECT id, data FROM packets WHERE ok = 1")])
        c.execute("INSERT INTO packet_duplicates (rx_time, apid, seq_count, pkt_time, source) "
                  f"SELECT rx_time, apid, seq_count, pkt_time, source FROM packets WHERE id IN ({_REPEATS})")
        c.execute(f"DELETE FROM packets WHERE id IN ({_REPEATS})")
        c.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")

    # -- housekeeping of the connection ------------------------------------------------------
    @property
    def schema_version(self) -> int | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return None if row is None else int(row[0])

    def commit(self) -> None:
        if not self.readonly:
            self.conn.commit()

    def close(self) -> None:
        self.commit()
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def batch(self):
        """Group inserts into one transaction (committed at the end, rolled back on an exception)."""
        self._batch += 1
        try:
            yield self
        except BaseException:
            self._batch -= 1
            if self._batch == 0:
                self.conn.rollback()
            raise
        self._batch -= 1
        if self._batch == 0:
            self.conn.commit()

    def _done(self) -> None:
        if self.autocommit and self._batch == 0:
            self.conn.commit()

    # -- inserts -------------------------------------------------------------------------------
    def add_frame(self, rx_time: float, frame: bytes, vcid=None, mc_count=None, vc_count=None) -> int:
        """Archive one TM frame (VC and counts read from its header unless given)."""
        if len(frame) >= 4:
            vcid = (frame[1] >> 1) & 7 if vcid is None else vcid
            mc_count = frame[2] if mc_count is None else mc_count
            vc_count = frame[3] if vc_count is None else vc_count
        cur = self.conn.execute("INSERT INTO frames (rx_time, vcid, mc_count, vc_count, data) VALUES (?, ?, ?, ?, ?)",
                                (rx_time, vcid, mc_count, vc_count, bytes(frame)))
        self._done()
        return cur.lastrowid

    def add_frames(self, frames: Iterable[tuple[float, bytes]]) -> None:
        """Archive many ``(rx_time, frame)`` in one statement."""
        rows = [(t, (f[1] >> 1) & 7, f[2], f[3], bytes(f)) for t, f in frames]
        self.conn.executemany("INSERT INTO frames (rx_time, vcid, mc_count, vc_count, data) VALUES (?, ?, ?, ?, ?)",
                              rows)
        self._done()

    def add_packet(self, rx_time: float, packet: bytes, source: str = "realtime") -> int | None:
        """Archive one TM packet's octets (good or bad: ``ok`` says which); header fields read from them.

        Returns the row ID, or None when a good packet with the same APID, sequence count, packet time
        and CRC is already archived: the copy is refused and noted in ``packet_duplicates``.
        """
        fields = _packet_fields(packet)
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO packets (rx_time, apid, seq_count, service, subtype, pkt_time, ok, data, source, "
            "crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rx_time, *fields, bytes(packet), source, _crc_of(packet) if fields[5] else None))
        row = cur.lastrowid if cur.rowcount else None
        if row is None:
            self.conn.execute("INSERT INTO packet_duplicates (rx_time, apid, seq_count, pkt_time, source) "
                              "VALUES (?, ?, ?, ?, ?)", (rx_time, fields[0], fields[1], fields[4], source))
        self._done()
        return row

    def add_packets(self, packets: Iterable[tuple[float, bytes]], source: str = "realtime") -> int:
        """Archive many ``(rx_time, packet)`` in one transaction; return how many were new."""
        with self.batch():
            return sum(1 for t, p in packets if self.add_packet(t, p, source) is not None)

    def add_samples(self, samples: Iterable, rx_time: float | None = None, states: Iterable | None = None) -> None:
        """Archive ``mdb_decode.Sample``s (one ``executemany``); ``states``: their limit states, in order."""
        samples = list(samples)
        st = [None] * len(samples) if states is None else list(states)
        self.conn.executemany(
            "INSERT INTO parameters (pkt_time, rx_time, name, raw, eng, limit_state) VALUES (?, ?, ?, ?, ?, ?)",
            [(s.t_unix, rx_time, s.name, _py(s.raw), _py(s.eng), state) for s, state in zip(samples, st)])
        self._done()

    def add_columns(self, columns: dict, rx_time: float | None = None) -> int:
        """Archive the columns of ``mdb_decode.decode_frames`` (a replayed stream); return the rows added."""
        n = 0
        for c in columns.values():
            rows = [(t, rx_time, c.name, raw, eng, None)
                    for t, raw, eng in zip(c.t_unix.tolist(), c.raw.tolist(), c.eng.tolist())]
            self.conn.executemany(
                "INSERT INTO parameters (pkt_time, rx_time, name, raw, eng, limit_state) VALUES (?, ?, ?, ?, ?, ?)",
                rows)
            n += len(rows)
        self._done()
        return n

    def add_event(self, event, rx_time: float | None = None) -> int:
        """Archive a ``mdb_decode.Event``."""
        cur = self.conn.execute(
            "INSERT INTO events (pkt_time, rx_time, event_id, name, severity, apid, args, text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (event.t_unix, rx_time, event.event_id, event.name, event.severity, event.apid,
             json.dumps(event.args), event.text))
        self._done()
        return cur.lastrowid

    def add_records(self, records: Iterable, rx_time: float | None = None, limits=None) -> None:
        """Archive the samples and events among a packet's decoded records, in one transaction.

        ``limits`` (a ``limits.LimitMonitor``, optional) gives each sample the
        limit state of its own value (``classify``; it changes no persistence
        state, so the caller may run ``check`` before or after).  Verification
        reports are not archived here: ``add_stage`` / ``add_verification`` tie
        them to their command.
        """
        samples, events = [], []
        for r in records:
            kind = type(r).__name__
            if kind == "Sample":
                samples.append(r)
            elif kind == "Event":
                events.append(r)
        with self.batch():
            if samples:
                states = None if limits is None else [limits.classify(s.name, s.raw) for s in samples]
                self.add_samples(samples, rx_time, states)
            for e in events:
                self.add_event(e, rx_time)

    def add_command(self, name: str, args, apid: int, seq_count: int, sent_time: float, state: str = "sent") -> int:
        """Archive a command sent; return its row ID (for ``add_stage`` and ``finish_command``)."""
        cur = self.conn.execute(
            "INSERT INTO commands (name, args, apid, seq_count, sent_time, state) VALUES (?, ?, ?, ?, ?, ?)",
            (name, json.dumps(args if args is not None else {}, default=str), apid, seq_count, sent_time, state))
        self._done()
        return cur.lastrowid

    def add_stage(self, command_id: int, stage: str, success: bool, code: int | None, text: str | None,
                  time: float) -> None:
        """Archive one verification stage of a command and move its state on."""
        self.conn.execute(
            "INSERT INTO command_stages (command_id, stage, success, code, text, time) VALUES (?, ?, ?, ?, ?, ?)",
            (command_id, stage, 1 if success else 0, code, text, time))
        if not success:
            self.conn.execute("UPDATE commands SET state = ?, final_time = ? WHERE id = ?",
                              (f"{stage} failed: {text}", time, command_id))
        elif stage == "completion":
            self.conn.execute("UPDATE commands SET state = 'completed', final_time = ? WHERE id = ?",
                              (time, command_id))
        else:
            self.conn.execute("UPDATE commands SET state = ? WHERE id = ? AND final_time IS NULL",
                              (f"{stage} ok", command_id))
        self._done()

    def command_id(self, apid: int, seq_count: int) -> int | None:
        """Row ID of the latest command sent with this request ID, or None."""
        row = self.conn.execute("SELECT id FROM commands WHERE apid = ? AND seq_count = ? ORDER BY id DESC LIMIT 1",
                                (apid, seq_count)).fetchone()
        return None if row is None else row[0]

    def add_verification(self, v, time: float | None = None) -> int | None:
        """Archive a ``mdb_decode.Verification`` as a stage of the latest command it answers.

        ``time`` defaults to the report's packet time; a failure's text names
        the limit violated, as the ground station's does
        (``commanding.failure_reason``, from the archived command).  Returns
        the command's row ID, or None when no archived command has that
        request ID.
        """
        cid = self.command_id(v.apid, v.seq_count)
        if cid is not None:
            text = v.reason
            if not v.success:
                from ground_segment.commanding import failure_reason

                name, args = self.conn.execute("SELECT name, args FROM commands WHERE id = ?", (cid,)).fetchone()
                text = failure_reason(name, json.loads(args), v.code, v.arg_index)
            self.add_stage(cid, v.stage, v.success, v.code, text, v.t_unix if time is None else time)
        return cid

    def finish_command(self, command_id: int, state: str, time: float | None = None) -> None:
        """Set a command's final state (e.g. ``completed``, a failure reason, a timeout)."""
        if time is None:
            self.conn.execute("UPDATE commands SET state = ?, final_time = COALESCE(final_time, "
                              "(SELECT MAX(time) FROM command_stages WHERE command_id = ?)) WHERE id = ?",
                              (state, command_id, command_id))
        else:
            self.conn.execute("UPDATE commands SET state = ?, final_time = ? WHERE id = ?", (state, time, command_id))
        self._done()

    def last_seq_count(self, apid: int) -> int:
        """Sequence count of the last command archived for ``apid`` (-1: none)."""
        row = self.conn.execute("SELECT seq_count FROM commands WHERE apid = ? ORDER BY id DESC LIMIT 1",
                                (apid,)).fetchone()
        return -1 if row is None else row[0]

    # -- queries ------------------------------------------------------------------------------
    def parameters(self, name: str, t0: float | None = None, t1: float | None = None,
                   by: str = "packet") -> list[ParameterRow]:
        """Samples of ``name`` with packet time (``by="receive"``: receive time) in [t0, t1], oldest first."""
        col = {"packet": "pkt_time", "receive": "rx_time"}[by]
        where, params = _where(col, t0, t1, name=name)
        rows = self.conn.execute(
            f"SELECT pkt_time, rx_time, name, raw, eng, limit_state FROM parameters{where} "
            f"ORDER BY {col}, id", params).fetchall()
        return [ParameterRow(*r) for r in rows]

    def latest(self, name: str) -> ParameterRow | None:
        """The sample of ``name`` with the latest packet time (the last archived among equals)."""
        r = self.conn.execute(
            "SELECT pkt_time, rx_time, name, raw, eng, limit_state FROM parameters WHERE name = ? "
            "ORDER BY pkt_time DESC, id DESC LIMIT 1", (name,)).fetchone()
        return None if r is None else ParameterRow(*r)

    def parameter_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT name FROM parameters ORDER BY name")]

    def events(self, t0: float | None = None, t1: float | None = None, name: str | None = None) -> list[EventRow]:
        """Events with packet time in [t0, t1] (of one name if given), oldest first."""
        where, params = _where("pkt_time", t0, t1, name=name)
        rows = self.conn.execute("SELECT pkt_time, rx_time, event_id, name, severity, apid, args, text FROM events"
                                 f"{where} ORDER BY pkt_time, id", params).fetchall()
        return [EventRow(*r[:6], json.loads(r[6]) if r[6] else {}, r[7]) for r in rows]

    def commands(self, t0: float | None = None, t1: float | None = None) -> list[CommandRow]:
        """Commands sent in [t0, t1], oldest first, each with its verification stages."""
        where, params = _where("sent_time", t0, t1)
        rows = self.conn.execute("SELECT id, name, args, apid, seq_count, sent_time, state, final_time FROM commands"
                                 f"{where} ORDER BY sent_time, id", params).fetchall()
        stages: dict[int, list] = {r[0]: [] for r in rows}
        if rows:
            lo, hi = min(stages), max(stages)
            for cid, stage, success, code, text, t in self.conn.execute(
                    "SELECT command_id, stage, success, code, text, time FROM command_stages "
                    "WHERE command_id BETWEEN ? AND ? ORDER BY id", (lo, hi)):
                if cid in stages:
                    stages[cid].append(StageRow(stage, bool(success), code, text, t))
        return [CommandRow(r[0], r[1], json.loads(r[2]) if r[2] else {}, r[3], r[4], r[5], r[6], r[7],
                           tuple(stages[r[0]])) for r in rows]

    def packets(self, t0: float | None = None, t1: float | None = None, apid: int | None = None) -> list[PacketRow]:
        """Packets with packet time in [t0, t1] (of one APID if given), in order of arrival."""
        where, params = _where("pkt_time", t0, t1, apid=apid)
        sql = f"SELECT id, rx_time, apid, seq_count, service, subtype, pkt_time, ok, data, source FROM packets{where}"
        return [PacketRow(*r[:7], bool(r[7]), r[8], r[9]) for r in self.conn.execute(sql + " ORDER BY id", params)]

    def frames(self, t0: float | None = None, t1: float | None = None, vcid: int | None = None) -> list[FrameRow]:
        """Frames received in [t0, t1] (of one VC if given), in order of arrival."""
        where, params = _where("rx_time", t0, t1, vcid=vcid)
        sql = f"SELECT id, rx_time, vcid, mc_count, vc_count, data FROM frames{where}"
        return [FrameRow(*r) for r in self.conn.execute(sql + " ORDER BY id", params)]

    def sequence_gaps(self, apid: int, t0: float | None = None, t1: float | None = None) -> SequenceGaps:
        """Gaps in the 14-bit sequence counts of the good packets archived for ``apid`` (packet time in
        [t0, t1] if given), real-time and playback merged, in packet-time order.

        Packets of one time stamp (a housekeeping second sends several) are put in sequence-count order
        from the count before them, modulo 2**14, so a wrap inside such a group is no gap.  A repeated
        count (a packet with the same count at another time) is not a gap; a count that goes back (a
        reboot) counts as the packets it would take to get there by wrapping, since the archive cannot
        tell the two apart.
        """
        return self._gaps(self._seq_counts(apid, t0, t1))

    def _seq_counts(self, apid, t0, t1) -> list[int]:
        """Sequence counts of ``apid``'s good packets in packet-time order (ties: see ``sequence_gaps``)."""
        where, params = _where("pkt_time", t0, t1, apid=apid)
        rows = self.conn.execute(f"SELECT pkt_time, seq_count FROM packets{where} AND ok = 1 ORDER BY pkt_time, id",
                                 params).fetchall()  # ``where`` always names the APID
        out: list[int] = []
        i = 0
        while i < len(rows):
            j = i
            while j < len(rows) and rows[j][0] == rows[i][0]:
                j += 1
            group = [r[1] for r in rows[i:j]]
            if len(group) > 1:
                prev = out[-1] if out else group[0] - 1
                group.sort(key=lambda s: (s - prev - 1) % SEQ_COUNT_MOD)
            out.extend(group)
            i = j
        return out

    @staticmethod
    def _gaps(seqs: list[int]) -> SequenceGaps:
        gaps = missing = 0
        for a, b in zip(seqs, seqs[1:]):
            d = (b - a - 1) % SEQ_COUNT_MOD
            if d and d != SEQ_COUNT_MOD - 1:
                gaps += 1
                missing += d
        return SequenceGaps(gaps, missing)

    def completeness(self, t0: float | None = None, t1: float | None = None) -> dict[int, ApidCompleteness]:
        """Per APID over packet times [t0, t1]: packets expected (from the sequence counts) against
        received, gaps, and the duplicate copies refused; real-time and playback merged."""
        where, params = _where("pkt_time", t0, t1)
        ok = (where + " AND" if where else " WHERE") + " ok = 1 AND apid IS NOT NULL"
        counts = {apid: (n, rt) for apid, n, rt in self.conn.execute(
            f"SELECT apid, COUNT(*), SUM(source = 'realtime') FROM packets{ok} GROUP BY apid", params)}
        dups = dict(self.conn.execute(
            f"SELECT apid, COUNT(*) FROM packet_duplicates{where} GROUP BY apid", params).fetchall())
        out = {}
        for apid in sorted(set(counts) | set(dups)):
            n, rt = counts.get(apid, (0, 0))
            g = self._gaps(self._seq_counts(apid, t0, t1))
            out[apid] = ApidCompleteness(apid, n, n + g.missing, g.gaps, g.missing, dups.get(apid, 0), rt or 0,
                                         n - (rt or 0))
        return out
