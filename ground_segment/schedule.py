"""Time-tagged commands for PUS service 11: TC[11,4] packets from (release UTC, command, arguments).

An activity is a command of the mission database, by name with its arguments (as
``commanding.build_tc`` takes them), and the UTC at which the payload releases it.
``time_tag`` numbers and builds each activity's TC packet; ``insert_data`` packs them
into the application data of as few TC[11,4] packets as the link allows::

    N (u8), then N times: release time (CDS short: P-field 0x40, days since 1958 u16,
    ms of day u32) and the complete TC packet

(docs/icd.md, payload/s11_schedule.py).  The payload holds
``mdb.SCHEDULE_MAX_ACTIVITIES`` (16) activities at once and refuses a whole TC[11,4]
whose activities would not all fit, so a plan with more is refused here, before
anything is sent (``ScheduleError``).  Each TC[11,4] is atomic on board; when a plan
needs several, one refused (a release already past, the schedule full) leaves the
earlier ones stored: the verification reports say which.

The on-board time scale counts every day as 86,400 s (bus/cds_time.py): UNIX seconds
map to CDS days and milliseconds without leap seconds, as the ground sets the time.
"""

import math
from dataclasses import dataclass

from bus import mdb
from bus.cds_time import P_FIELD, check_time
from bus.pus import ACK_ALL, CRC_LEN, TC_APP_DATA_OFFSET
from ground_segment.commanding import CommandError, build_tc

__all__ = ["CDS_UNIX_DAY", "MAX_ACTIVITIES", "ScheduleError", "TimeTagged", "cds", "insert_data", "time_tag"]

CDS_UNIX_DAY = 4383  # days from 1958-01-01 (the CDS epoch) to 1970-01-01
MAX_ACTIVITIES = mdb.SCHEDULE_MAX_ACTIVITIES
_N_MAX = 0xFF  # the count octet of a TC[11,4]


class ScheduleError(CommandError):
    """The activities cannot be scheduled as asked; the message says why."""


@dataclass(frozen=True)
class TimeTagged:
    """One activity as it goes up: release time, the command and its built TC packet."""

    release_unix: float
    name: str
    args: dict
    seq_count: int  # of the embedded packet: its verification reports quote it
    packet: bytes

    @property
    def release_cds(self) -> tuple[int, int]:
        return cds(self.release_unix)

    def encoded(self) -> bytes:
        """Release time (CDS short with P-field) followed by the TC packet."""
        days, ms = self.release_cds
        return bytes([P_FIELD]) + days.to_bytes(2, "big") + ms.to_bytes(4, "big") + self.packet


def cds(t_unix: float) -> tuple[int, int]:
    """(days since 1958-01-01, ms of day) of a UNIX time, to the nearest ms; ScheduleError outside CDS."""
    if not math.isfinite(t_unix):
        raise ScheduleError(f"release time {t_unix!r} is not finite")
    days, ms_of_day = divmod(int(round(t_unix * 1000)), 86_400_000)
    days += CDS_UNIX_DAY
    try:
        check_time(days, ms_of_day)
    except ValueError as e:
        raise ScheduleError(f"release time outside the CDS range: {e}") from None
    return days, ms_of_day


def time_tag(activities, first_seq_count: int = 1, free_slots: int = MAX_ACTIVITIES,
             ack_flags: int = ACK_ALL) -> list[TimeTagged]:
    """Build the TC packet of each ``(release_unix, name, args)`` activity, in release order.

    Activities with the same release time keep their order (the payload releases a
    due batch in slot order, which is insertion order on an empty schedule).  Packets
    are numbered ``first_seq_count``, ``first_seq_count + 1``, ... in that order.
    ``ScheduleError`` if there are more activities than ``free_slots`` (the on-board
    schedule's 16, by default) or a packet is longer than a slot; ``CommandError``
    from ``build_tc`` for an unknown command or an argument outside its range.
    """
    acts = sorted(activities, key=lambda a: a[0])
    if len(acts) > free_slots:
        raise ScheduleError(f"{len(acts)} time-tagged commands, but the on-board schedule has room for "
                            f"{free_slots} (of {MAX_ACTIVITIES}): split the plan or send some immediately")
    out = []
    for i, (t, name, args) in enumerate(acts):
        seq = (first_seq_count + i) & 0x3FFF
        packet = build_tc(name, dict(args), seq_count=seq, ack_flags=ack_flags)
        if len(packet) > mdb.SCHEDULE_SLOT_LEN:
            raise ScheduleError(f"{name}: a {len(packet)}-octet packet does not fit a schedule slot "
                                f"({mdb.SCHEDULE_SLOT_LEN} octets)")
        cds(t)
        out.append(TimeTagged(float(t), name.upper(), dict(args), seq, packet))
    return out


def insert_data(tagged, max_packet_len: int = mdb.TC_PACKET_MAX_LEN) -> list[bytes]:
    """Application data of the TC[11,4] packets carrying ``tagged`` (from ``time_tag``), in order.

    Activities are packed in order, as many per TC[11,4] as keep the whole packet
    (13 octets of header and CRC, the count, the activities) within ``max_packet_len``.
    """
    room = max_packet_len - TC_APP_DATA_OFFSET - CRC_LEN - 1
    chunks, cur, n = [], bytearray(), 0
    for a in tagged:
        e = a.encoded()
        if len(e) > room:
            raise ScheduleError(f"{a.name}: activity of {len(e)} octets does not fit a TC[11,4] of "
                                f"{max_packet_len} octets")
        if n and (len(cur) + len(e) > room or n == _N_MAX):
            chunks.append(bytes([n]) + bytes(cur))
            cur, n = bytearray(), 0
        cur += e
        n += 1
    if n:
        chunks.append(bytes([n]) + bytes(cur))
    return chunks
